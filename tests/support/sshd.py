"""A throwaway OpenSSH server for tests: Debian's sshd, a temp directory, a loopback port.

It logs in the user running the tests with a generated key only (no
passwords, no PAM), and hands out a known_hosts file that pins its generated
host key, so clients under test verify the host key as they must in
production. ``other_known_hosts`` pins a different key, for the
"changed host key is refused" case.
"""
from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

SSHD = "/usr/sbin/sshd"


def available() -> bool:
    return Path(SSHD).exists() and shutil.which("ssh-keygen") is not None


def _keygen(path: Path, comment: str) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, capture_output=True, timeout=30)
    return Path(f"{path}.pub").read_text().strip()


class SshServer:
    """``start()`` then connect to ``host``:``port`` as ``user`` with ``client_key``."""

    def __init__(self, port: int, workdir: Optional[Path] = None):
        self.host, self.port = "127.0.0.1", port
        self.user = getpass.getuser()
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="hdc-sshd-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        self.host_key = self.dir / "ssh_host_ed25519_key"
        self.client_key = self.dir / "id_ed25519"
        self.known_hosts = self.dir / "known_hosts"
        self.other_known_hosts = self.dir / "known_hosts.other"
        self.log = self.dir / "sshd.log"
        self.proc: Optional[subprocess.Popen] = None

    def _config(self) -> Path:
        authorized = self.dir / "authorized_keys"
        authorized.write_text(Path(str(self.client_key) + ".pub").read_text())
        os.chmod(authorized, 0o600)
        config = self.dir / "sshd_config"
        config.write_text("\n".join([
            f"Port {self.port}",
            f"ListenAddress {self.host}",
            f"HostKey {self.host_key}",
            f"PidFile {self.dir / 'sshd.pid'}",
            f"AuthorizedKeysFile {authorized}",
            f"AllowUsers {self.user}",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "Subsystem sftp internal-sftp",
            "LogLevel VERBOSE",
            "",
        ]))
        return config

    def start(self) -> "SshServer":
        host_pub = _keygen(self.host_key, "hdc-test-host")
        _keygen(self.client_key, "hdc-test-client")
        other = self.dir / "other_host_key"
        other_pub = _keygen(other, "hdc-test-impostor")
        algo, key = host_pub.split()[:2]
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {algo} {key}\n")
        algo, key = other_pub.split()[:2]
        self.other_known_hosts.write_text(f"[{self.host}]:{self.port} {algo} {key}\n")
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
        config = self._config()
        check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"sshd refused its test config: {check.stderr}")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                                     stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log.read_text(errors='replace')}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"SSH-2.0"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("sshd did not answer within 30 s")

    def ssh_args(self) -> list[str]:
        """Arguments for OpenSSH's own client, with strict host-key checking against ``known_hosts``."""
        return ["-p", str(self.port), "-i", str(self.client_key), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "IdentitiesOnly=yes", f"{self.user}@{self.host}"]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def targets_file(tmp_path: Path, server, *extra_targets: str, known_hosts=None, target_extra: str = "") -> Path:
    """The SSH prober's targets file for ``server`` (a started SshServer) and any ``extra_targets``."""
    path = tmp_path / "targets.yaml"
    path.write_text(f"connect_timeout_seconds: 5\ndefaults:\n  user: {server.user}\n"
                    f"  key_file: {server.client_key}\n  known_hosts: {known_hosts or server.known_hosts}\n"
                    f"targets:\n  - host: {server.host}\n    port: {server.port}\n{target_extra}"
                    + "".join(extra_targets))
    return path
