"""Facts psutil reads the same way on Linux and Windows.

Both probes take memory, core counts, volume usage and interfaces from here,
so the numbers a ward sees do not depend on which probe ran; a psutil
failure becomes a note, never an exception.
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Any, Callable, Optional

import psutil

from .textclip import clip

MAX_INTERFACES = 256


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
    """Interfaces with their MAC and addresses, loopback left out; helps find a machine on site.

    MACs are written ``aa:bb:cc:dd:ee:ff`` on every OS (Windows says ``AA-BB-...``).
    """
    table = psutil_fact(psutil.net_if_addrs, "network interfaces", notes) or {}
    interfaces = []
    for name in sorted(table):
        mac = next((a.address for a in table[name] if a.family == psutil.AF_LINK), None)
        addresses = [a.address.split("%")[0] for a in table[name]
                     if a.family in (socket.AF_INET, socket.AF_INET6)]
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
