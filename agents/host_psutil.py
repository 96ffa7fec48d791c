"""Facts psutil reads the same way on Linux and Windows.

Both probes take memory, core counts, volume usage and interfaces from here,
so the numbers a ward sees do not depend on which probe ran; a psutil
failure becomes a note, never an exception. :class:`LiveFacts` is what the
Linux probe asks of the running kernel; :class:`PsutilFacts` answers for this
machine, ``agents.host_text.TextFacts`` from the same kernel's text files
and commands for a host over SSH.
"""
from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Any, Callable, Optional, Protocol, Union

import psutil

from .textclip import clip

MAX_INTERFACES = 256


class LiveFacts(Protocol):
    """Facts the running kernel answers rather than a file the probe parses itself."""

    def names(self, notes: list) -> tuple:
        """(hostname, kernel release, machine architecture), as ``uname -n -r -m`` prints them."""

    def memory_bytes(self, notes: list) -> Optional[int]:
        """Memory the OS sees: MemTotal of /proc/meminfo."""

    def core_counts(self, notes: list) -> tuple:
        """(logical, physical) cores; None for what cannot be read."""

    def root_usage(self, notes: list) -> Optional[tuple]:
        """(size, free) bytes of the file system holding ``/``, free as available to users (statvfs)."""

    def interfaces(self, notes: list) -> list:
        """Interfaces as the report lists them, by name, loopback left out."""


class PsutilFacts:
    """This machine through psutil; ``root`` is where ``/`` is (a file tree in tests)."""

    def __init__(self, root: Union[str, Path] = "/") -> None:
        self.root = str(root)

    def names(self, notes: list) -> tuple:
        uname = os.uname()
        return socket.gethostname(), uname.release, uname.machine

    def memory_bytes(self, notes: list) -> Optional[int]:
        return read_memory(notes)

    def core_counts(self, notes: list) -> tuple:
        return read_core_counts(notes)

    def root_usage(self, notes: list) -> Optional[tuple]:
        usage = psutil_fact(lambda: psutil.disk_usage(self.root), "system disk usage", notes)
        return None if usage is None else (usage.total, usage.free)

    def interfaces(self, notes: list) -> list:
        return read_interfaces(notes)


def psutil_fact(call: Callable[[], Any], what: str, notes: list) -> Any:
    """``call()``, or None with a note naming ``what`` when the OS refuses."""
    try:
        return call()
    except (OSError, RuntimeError, psutil.Error) as exc:
        notes.append(f"{what}: psutil could not read it ({exc})")
        return None


def read_memory(notes: list) -> Optional[int]:
    """Installed memory as the OS sees it (what psutil reports, so tools agree)."""
    return psutil_fact(lambda: psutil.virtual_memory().total, "memory", notes)


def read_core_counts(notes: list) -> tuple:
    """(logical, physical) cores as the OS schedules them."""
    return (psutil_fact(lambda: psutil.cpu_count(logical=True), "cpu logical cores", notes),
            psutil_fact(lambda: psutil.cpu_count(logical=False), "cpu physical cores", notes))


def read_interfaces(notes: list) -> list:
    """Interfaces with their MAC and addresses, loopback left out; helps find a machine on site."""
    table = psutil_fact(psutil.net_if_addrs, "network interfaces", notes) or {}
    return interface_list({name: (next((a.address for a in table[name] if a.family == psutil.AF_LINK), None),
                                  [a.address for a in table[name] if a.family in (socket.AF_INET, socket.AF_INET6)])
                           for name in table})


def interface_list(table: dict) -> list:
    """``{name: (mac, addresses)}`` -> the report's interfaces, the same whichever way they were read.

    MACs are written ``aa:bb:cc:dd:ee:ff`` on every OS (Windows says ``AA-BB-...``);
    an IPv6 address loses its ``%zone``.
    """
    interfaces = []
    for name in sorted(table):
        mac, addresses = table[name]
        addresses = [a.split("%")[0] for a in addresses]
        if name == "lo" or (addresses and all(_is_loopback(a) for a in addresses)):
            continue
        mac = mac.replace("-", ":").lower() if mac else None
        interfaces.append({"name": clip(name, 128),
                           "mac": None if not mac or mac == "00:00:00:00:00:00" else clip(mac, 64),
                           "addresses": [clip(a, 64) for a in addresses[:64]]})
    return interfaces[:MAX_INTERFACES]


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
