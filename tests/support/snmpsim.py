"""snmpsim serving recorded SNMP walks on a loopback UDP port, and Debian's snmpd with an SNMPv3 user.

snmpsim (PyPI, not packaged by Debian) runs from a virtual environment made
once per test session from Debian's ``/usr/bin/python3`` under ``/tmp``:
run as root it insists on dropping to ``nobody``, which must then read its
interpreter, its data and write its cache, none of which it can under
``/root``. snmpsim 1.2 imports pysmi without declaring it, so both are installed,
from the wheelhouse ``make`` fetched (``support.wheelhouse``).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterable, Optional

from support.wheelhouse import SNMPSIM as PACKAGES
from support.wheelhouse import SNMPSIM_DIR, missing

DEBIAN_PYTHON = "/usr/bin/python3"
SNMPD = "/usr/sbin/snmpd"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _world_readable(path: Path) -> None:
    for root, _dirs, files in os.walk(path):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)


class Snmpsim:
    """One ``snmpsim-command-responder`` serving ``recordings``; the community is a file's name without .snmprec."""

    def __init__(self, venv: Path, recordings: Iterable[Path]):
        self.home = Path(tempfile.mkdtemp(prefix="hdc-snmpsim-"))
        self.data, self.cache = self.home / "data", self.home / "cache"
        self.data.mkdir()
        self.cache.mkdir()
        for path in recordings:
            shutil.copy(path, self.data / path.name)
        _world_readable(self.home)
        self.venv, self.port = venv, free_udp_port()
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> "Snmpsim":
        command = [str(self.venv / "bin" / "snmpsim-command-responder"), f"--data-dir={self.data}",
                   f"--cache-dir={self.cache}", f"--agent-udpv4-endpoint=127.0.0.1:{self.port}"]
        if os.geteuid() == 0:
            shutil.chown(self.cache, "nobody", "nogroup")
            command += ["--process-user=nobody", "--process-group=nogroup"]
        self.log = self.home / "snmpsim.log"
        self.proc = subprocess.Popen(command, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120  # it indexes every recording before listening
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"snmpsim exited: {self.log.read_text()[-2000:]}")
            if "Listening at UDP/IPv4 endpoint" in self.log.read_text():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"snmpsim did not start listening: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.home, ignore_errors=True)


def snmpsim_venv() -> Path:
    """A fresh venv with snmpsim, made from Debian's interpreter under /tmp (readable by nobody), installed from
    the wheelhouse `make` filled."""
    why = missing(SNMPSIM_DIR)
    if why is not None:
        raise RuntimeError(why)
    home = Path(tempfile.mkdtemp(prefix="hdc-snmpsim-venv-"))
    subprocess.run([DEBIAN_PYTHON, "-m", "venv", str(home)], check=True, capture_output=True, timeout=120)
    done = subprocess.run([str(home / "bin" / "pip"), "install", "--quiet", "--no-index", "--find-links",
                           str(SNMPSIM_DIR), *PACKAGES], capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"pip install {' '.join(PACKAGES)} failed: {done.stderr[-2000:]}")
    _world_readable(home)
    for tool in (home / "bin").iterdir():
        tool.chmod(0o755)
    return home


class Snmpd:
    """Debian's net-snmp agent on a loopback port with one SNMPv3 authPriv user, its own config and state."""

    user, auth_key, priv_key = "hdc-probe", "auth-key-for-tests", "priv-key-for-tests"

    def __init__(self):
        self.home = Path(tempfile.mkdtemp(prefix="hdc-snmpd-"))
        self.port = free_udp_port()
        (self.home / "persist").mkdir()
        self.config = self.home / "snmpd.conf"
        self.config.write_text(f"agentAddress udp:127.0.0.1:{self.port}\n"
                               f"createUser {self.user} SHA-256 {self.auth_key} AES {self.priv_key}\n"
                               f"rouser {self.user} priv\nsysName snmpd-under-test\nsysLocation loopback\n")
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> "Snmpd":
        self.log = self.home / "snmpd.log"
        self.proc = subprocess.Popen([SNMPD, "-f", "-C", "-c", str(self.config), "-Lo", "-M", "/dev/null", "-m", ""],
                                     stdout=self.log.open("w"), stderr=subprocess.STDOUT,
                                     env={**os.environ, "SNMP_PERSISTENT_DIR": str(self.home / "persist")})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"snmpd exited: {self.log.read_text()[-2000:]}")
            if "NET-SNMP version" in self.log.read_text():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"snmpd did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.home, ignore_errors=True)
