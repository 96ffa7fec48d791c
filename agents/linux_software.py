"""Installed packages on Linux: dpkg, or rpm where dpkg is absent.

Asking the package database is the slowest part of a Linux inventory (a
separate process reading a megabyte of status), so this module stays free
of psutil and the rest of the probe: :func:`prefetch` starts the query
before the probe's own imports, and the answer is ready when it is needed.
"""
from __future__ import annotations

import subprocess
import threading
from typing import Callable, Sequence

from .textclip import clip

# dpkg-query answers in well under a second; rpm -qa on a cold cache can take
# several. A hung package database must not hang the agent's timer forever.
COMMAND_TIMEOUT = 60.0
DPKG = ["dpkg-query", "-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\t${Maintainer}\n"]
RPM = ["rpm", "-qa", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\t%{VENDOR}\n"]
_MAX_SOFTWARE = 20000


class CommandFailed(Exception):
    """A command gave no usable output; ``missing`` when it is not installed at all."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


Runner = Callable[[Sequence[str]], str]


def run_command(argv: Sequence[str], timeout: float = COMMAND_TIMEOUT) -> str:
    """Output of a command, always time-bounded; raises :class:`CommandFailed` with the reason."""
    try:
        done = subprocess.run(list(argv), capture_output=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise CommandFailed(f"{argv[0]} not installed", missing=True) from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(f"{argv[0]} timed out after {timeout:g} s") from exc
    except OSError as exc:
        raise CommandFailed(f"{argv[0]}: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise CommandFailed(f"{argv[0]} exited {done.returncode}" + (f": {err[0][:200]}" if err else ""))
    return done.stdout.decode("utf-8", "replace")


def prefetch(argv: Sequence[str] = DPKG, run: Runner = run_command) -> Runner:
    """Start ``argv`` now, in a thread; the returned runner hands its answer over when asked for it
    (and runs any other command as usual)."""
    answer: dict = {}

    def ask() -> None:
        try:
            answer["output"] = run(argv)
        except CommandFailed as exc:
            answer["error"] = exc

    worker = threading.Thread(target=ask, name="package-query", daemon=True)
    worker.start()

    def runner(asked: Sequence[str]) -> str:
        if list(asked) != list(argv):
            return run(asked)
        worker.join()
        if "error" in answer:
            raise answer["error"]
        return answer["output"]

    return runner


def read_software(notes: list, run: Runner = run_command) -> list:
    """Installed packages from dpkg, or rpm where dpkg is absent.

    Packages removed with their configuration left behind (dpkg state "rc")
    are not installed software and are left out.
    """
    try:
        output = run(DPKG)
    except CommandFailed as exc:
        if not exc.missing:
            notes.append(f"software: {exc}")
            return []
        return _rpm_packages(notes, run)
    packages = []
    for line in output.splitlines():
        fields = line.split("\t")
        if len(fields) < 4 or len(fields[0]) < 2 or fields[0][1] not in "iWt" or not fields[1]:
            continue
        packages.append(_package(fields[1], fields[2], fields[3]))
    return _bounded_software(packages, notes)


def _rpm_packages(notes: list, run: Runner) -> list:
    try:
        output = run(RPM)
    except CommandFailed as exc:
        notes.append("software: neither dpkg nor rpm found" if exc.missing else f"software: {exc}")
        return []
    packages = []
    for line in output.splitlines():
        fields = line.split("\t")
        if len(fields) < 3 or not fields[0] or fields[0] == "gpg-pubkey":  # keys, not software
            continue
        packages.append(_package(fields[0], fields[1], "" if fields[2] == "(none)" else fields[2]))
    return _bounded_software(packages, notes)


def _package(name: str, version: str, publisher: str) -> dict:
    return {"name": clip(name, 512), "version": clip(version or None, 256),
            "publisher": clip(publisher or None, 512)}


def _bounded_software(packages: list, notes: list) -> list:
    if len(packages) > _MAX_SOFTWARE:
        notes.append(f"software: {len(packages) - _MAX_SOFTWARE} more packages left out")
        packages = packages[:_MAX_SOFTWARE]
    return packages
