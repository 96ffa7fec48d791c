"""Where the Linux probe reads from: this machine's files, or another machine's over SSH.

The probe's parsers take a :class:`Host` and never touch the file system or
a process themselves, so the same parsing serves the local agent
(:class:`LocalHost`, optionally below a ``root`` that rebuilds an odd
machine as a file tree in tests) and the SSH prober (``agents.ssh_host``).
Paths are absolute as on the host (``/sys/class/dmi/id/product_uuid``).
Failures are the usual ``OSError`` subclasses (``FileNotFoundError``,
``PermissionError``), so the probe turns them into notes the same way
whichever host denied them.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Protocol, Sequence, Union

from .linux_software import Runner, run_command


class Host(Protocol):
    """Read-only access to one machine."""

    def read_bytes(self, path: str) -> bytes:
        """The file's content; ``OSError`` (FileNotFoundError, PermissionError, ...) when denied."""

    def listdir(self, path: str) -> list:
        """Names in a directory; ``OSError`` when it is not one or cannot be read."""

    def kind(self, path: str) -> Optional[str]:
        """``"dir"``, ``"file"`` (anything else that exists) or None; symbolic links are followed."""

    def realpath(self, path: str) -> str:
        """The path with every symbolic link resolved (the kernel's /sys links name devices)."""

    def run(self, argv: Sequence[str]) -> str:
        """A read-only command's output; :class:`~agents.linux_software.CommandFailed` when it fails."""


class LocalHost:
    """This machine, or a file tree standing in for one (``root``); commands run here."""

    def __init__(self, root: Union[str, Path] = "/", run: Optional[Runner] = None) -> None:
        self.root = Path(root)
        self._run = run or run_command

    def _path(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def read_bytes(self, path: str) -> bytes:
        return self._path(path).read_bytes()

    def listdir(self, path: str) -> list:
        return os.listdir(self._path(path))

    def kind(self, path: str) -> Optional[str]:
        target = self._path(path)
        try:
            return "dir" if target.is_dir() else "file" if target.exists() else None
        except OSError:
            return None

    def realpath(self, path: str) -> str:
        resolved = os.path.realpath(self._path(path))
        root = os.path.realpath(self.root)
        within = resolved == root or resolved.startswith(root.rstrip("/") + "/")
        inside = os.path.relpath(resolved, root) if within else resolved.lstrip("/")
        return "/" + ("" if inside == "." else inside)

    def run(self, argv: Sequence[str]) -> str:
        return self._run(argv)
