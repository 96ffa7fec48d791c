"""The wheels tests install offline, fetched once at install time (`make`), never while the tests run.

The tests talk only to this machine. Some of them install Python packages
into an interpreter that is not the test venv's: the Ansible roles (the
agent's and the collector's dependencies, as a machine without internet gets
them from the controller) and the snmpsim server (made from Debian's own
python3). All install from this folder with ``--no-index``; ``make test``
fills it first, for the version of Debian's ``/usr/bin/python3``, which is
the interpreter they install into.

Run as a script (``make .venv/wheelhouse``) by the test venv's python: the folder is its ``wheelhouse``.
"""
from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

TARGET_PYTHON = "/usr/bin/python3"
# The agent and its `snmp` extra, pinned to what the test venv runs, without their own dependencies: the
# Ansible role installs exactly these.
AGENT_DEPENDENCIES = ("psutil", "PyYAML", "pysnmp", "pyasn1", "cryptography", "cffi", "pycparser")
# snmpsim 1.2 imports pysmi without declaring it (issue #21): both, with everything they need.
SNMPSIM = ("snmpsim>=1.2,<1.3", "pysmi>=1.5")
HOME = Path(sys.prefix) / "wheelhouse"
AGENT_DIR, COLLECTOR_DIR, SNMPSIM_DIR = HOME / "agent", HOME / "collector", HOME / "snmpsim"


def target_version() -> str:
    """Debian's python3 version as pip's ``--python-version`` wants it (``3.11``)."""
    done = subprocess.run([TARGET_PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def collector_pins() -> list[str]:
    """The collector's requirements (its own and its ``collector`` extra's), pinned to what the test venv runs;
    pip adds what they need."""
    pins = []
    for line in metadata.requires("hdc-readiness") or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": "collector"}):
            pins.append(f"{requirement.name}=={metadata.version(requirement.name)}")
    return pins


def missing(folder: Path) -> str | None:
    """Why ``folder`` cannot serve an offline install, or None when it can."""
    if not (folder / ".complete").exists():
        return f"{folder} not filled: run `make .venv/wheelhouse` (it needs PyPI once)"
    return None


def _download(folder: Path, version: str, requirements: list[str], deps: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "download", "-q",
               "--only-binary=:all:", "--python-version", version, "-d", str(folder), *requirements]
    if not deps:
        command.insert(-len(requirements), "--no-deps")
    subprocess.run(command, check=True, timeout=900)
    (folder / ".complete").write_text(version + "\n")


def fill() -> None:
    """Both folders, for the target interpreter's version (none without it: its tests then say so)."""
    if not Path(TARGET_PYTHON).exists():
        print(f"{TARGET_PYTHON} not found: no wheelhouse (the Ansible and snmpsim tests need Debian's python3)")
        return
    version = target_version()
    pins = [f"{name}=={metadata.version(name)}" for name in AGENT_DEPENDENCIES]
    _download(AGENT_DIR, version, pins, deps=False)
    _download(COLLECTOR_DIR, version, collector_pins(), deps=True)
    _download(SNMPSIM_DIR, version, list(SNMPSIM), deps=True)


if __name__ == "__main__":
    fill()
