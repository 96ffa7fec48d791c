"""The facts psutil gives the local probe, read as text from any :class:`~agents.host.Host`.

The SSH prober cannot run psutil on the far machine, so it reads what psutil
itself reads on Linux, and the numbers match the local agent's report for
the same machine:

- memory: ``MemTotal`` of /proc/meminfo, in bytes (psutil's ``virtual_memory().total``);
- logical cores: the online CPUs in /sys/devices/system/cpu/online (glibc's
  ``sysconf(_SC_NPROCESSORS_ONLN)``, which psutil calls); physical cores: the
  distinct ``topology/core_cpus_list`` of the CPUs (psutil's first method),
  else ``physical id``/``cpu cores`` of /proc/cpuinfo (its second);
- size and free space of ``/``: ``df -P -B1 /`` (statvfs ``f_blocks`` and
  ``f_bavail`` times ``f_frsize``, as ``psutil.disk_usage``);
- interfaces: names from /sys/class/net, MACs from their ``address`` files,
  addresses from ``ip -o addr show`` (psutil asks the kernel through getifaddrs);
  without ``ip``, IPv6 addresses from /proc/net/if_inet6 and IPv4 ones unknown, with a note;
- hostname, kernel release and architecture: ``uname -n -r -m``.

Free space moves between two readings, of course; everything else is equal.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Optional

from .host import Host
from .host_psutil import interface_list
from .linux_software import CommandFailed

_CPU_DIR = re.compile(r"^cpu[0-9]+$")


class TextFacts:
    """:class:`~agents.host_psutil.LiveFacts` of a host reached only through files and commands."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def _read(self, path: str, what: str, notes: list) -> Optional[str]:
        try:
            return self.host.read_bytes(path).decode("utf-8", "replace")
        except OSError as exc:
            notes.append(f"{what}: {path} unreadable ({exc.strerror or exc.__class__.__name__})")
            return None

    def _run(self, argv: list, what: str, notes: list) -> Optional[str]:
        try:
            return self.host.run(argv)
        except CommandFailed as exc:
            notes.append(f"{what}: {exc}")
            return None

    def names(self, notes: list) -> tuple:
        fields = (self._run(["uname", "-n", "-r", "-m"], "hostname and kernel", notes) or "").split()
        return tuple(fields) if len(fields) == 3 else (None, None, None)

    def memory_bytes(self, notes: list) -> Optional[int]:
        return parse_meminfo(self._read("/proc/meminfo", "memory", notes) or "", notes)

    def core_counts(self, notes: list) -> tuple:
        online = self._read("/sys/devices/system/cpu/online", "cpu logical cores", notes)
        logical = count_cpu_list(online) if online else None
        siblings = set()
        try:
            cpus = [name for name in self.host.listdir("/sys/devices/system/cpu") if _CPU_DIR.match(name)]
        except OSError:
            cpus = []
        for name in cpus:
            for leaf in ("core_cpus_list", "thread_siblings_list"):
                try:
                    siblings.add(self.host.read_bytes(f"/sys/devices/system/cpu/{name}/topology/{leaf}").strip())
                    break
                except OSError:
                    continue
        physical = len(siblings) or cores_from_cpuinfo(self._read("/proc/cpuinfo", "cpu physical cores", notes)
                                                       or "")
        if logical is None:
            notes.append("cpu logical cores: /sys/devices/system/cpu/online unreadable")
        return logical, physical

    def root_usage(self, notes: list) -> Optional[tuple]:
        output = self._run(["df", "-P", "-B1", "/"], "system disk usage", notes)
        usage = parse_df(output) if output is not None else None
        if output is not None and usage is None:
            notes.append("system disk usage: df printed no line for /")
        return usage

    def interfaces(self, notes: list) -> list:
        try:
            names = self.host.listdir("/sys/class/net")
        except OSError as exc:
            notes.append(f"network interfaces: /sys/class/net unreadable ({exc.strerror or exc})")
            return []
        try:
            addresses = parse_ip_addr(self.host.run(["ip", "-o", "addr", "show"]))
        except CommandFailed as exc:
            addresses = self._addresses_without_ip(exc, notes)
        table = {}
        for name in names:
            try:
                mac = self.host.read_bytes(f"/sys/class/net/{name}/address").decode("ascii", "replace").strip()
            except OSError:
                mac = ""
            table[name] = (mac or None, addresses.get(name, []))
        return interface_list(table)

    def _addresses_without_ip(self, failure: CommandFailed, notes: list) -> dict:
        """Where ``ip`` cannot run (minimal and container images lack iproute2), the kernel's own table of
        IPv6 addresses; IPv4 ones have no such file, so they stay unknown, and a note says so."""
        text = self._read("/proc/net/if_inet6", "network IPv6 addresses", notes)
        hint = " (Debian package iproute2)" if failure.missing else ""
        found = "" if text is None else ", IPv6 ones read from /proc/net/if_inet6"
        notes.append(f"network addresses: {failure}{hint}; IPv4 addresses unknown{found}")
        return parse_if_inet6(text or "")


def parse_meminfo(text: str, notes: list) -> Optional[int]:
    """MemTotal in bytes (the kernel writes kB, meaning KiB)."""
    found = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.MULTILINE)
    if found is None:
        notes.append("memory: /proc/meminfo has no MemTotal")
        return None
    return int(found.group(1)) * 1024


def count_cpu_list(text: str) -> Optional[int]:
    """``0-3,8-11`` -> 8; None when it is not a CPU list."""
    total = 0
    for part in text.strip().split(","):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            return None
        total += (int(high) - int(low) + 1) if high else 1
    return total or None


def cores_from_cpuinfo(text: str) -> Optional[int]:
    """Sum of ``cpu cores`` over distinct ``physical id``s, as psutil falls back to."""
    sockets: dict = {}
    for block in text.split("\n\n"):
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in block.splitlines())}
        if "physical id" in fields and fields.get("cpu cores", "").isdigit():
            sockets[fields["physical id"]] = int(fields["cpu cores"])
    return sum(sockets.values()) or None


def parse_df(text: str) -> Optional[tuple]:
    """(size, available) bytes from ``df -P -B1 /``: the columns before ``Capacity`` and the mount point."""
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 6 and fields[-1] == "/" and fields[-5].isdigit() and fields[-3].isdigit():
            return int(fields[-5]), int(fields[-3])
    return None


def parse_ip_addr(text: str) -> dict:
    """``ip -o addr show`` -> {interface: [address, ...]} in the kernel's order, prefix lengths dropped."""
    table: dict = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[2] not in ("inet", "inet6"):
            continue
        name = fields[1].split("@")[0]  # veth0@if5: the peer is not part of the name
        table.setdefault(name, []).append(fields[3].split("/")[0])
    return table


def parse_if_inet6(text: str) -> dict:
    """/proc/net/if_inet6 (32 hex digits, index, prefix length, scope, flags, name) -> {interface: [address]}."""
    table: dict = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 6 or len(fields[0]) != 32:
            continue
        try:
            address = ipaddress.IPv6Address(bytes.fromhex(fields[0]))
        except ValueError:
            continue
        table.setdefault(fields[5], []).append(str(address))
    return table
