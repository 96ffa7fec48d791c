"""Device class, CPU, memory and disks from a GLPI-format content tree.

Units are the format's, converted exactly: ``hardware.memory``,
``drives.total`` and ``drives.free`` are MiB (2^20 bytes), ``storages.disksize``
is MB (10^6 bytes, as disk vendors count; OCS even sends fractions of it).
"""
from __future__ import annotations

import re
from typing import Any, Optional

from ..identity import real_value
from .values import Path, entries, flag, integer, loose_int, number, section, text

MiB = 1024 ** 2
MB = 1000 ** 2

# FusionInventory/GLPI chassis names (SMBIOS chassis types spelt out) -> device class,
# the same split as the Linux probe's numeric table.
_CHASSIS = {
    **dict.fromkeys(("desktop", "lowprofiledesktop", "pizzabox", "minitower", "tower", "allinone",
                     "spacesaving", "lunchbox", "sealedcasepc", "minipc"), "workstation"),
    **dict.fromkeys(("portable", "laptop", "notebook", "subnotebook", "tablet", "convertible", "detachable"),
                    "laptop"),
    **dict.fromkeys(("mainserverchassis", "rackmountchassis", "blade", "bladeenclosure", "multisystemchassis"),
                    "server"),
}
# VMSYSTEM values that are containers, not virtual machines: the hardware they show is the host's.
_CONTAINERS = {"docker", "lxc", "openvz", "virtuozzo", "solariszone", "bsdjail", "podman", "systemd-nspawn",
               "wsl", "containerd"}
# Block devices that are not the machine's disks (same rule as the Linux probe).
_NOT_A_DISK = re.compile(r"^(/dev/)?(loop|ram|zram|dm-|md|sr|fd|nbd)|cdrom|dvd|floppy", re.IGNORECASE)
_NOT_A_DISK_TYPE = re.compile(r"cd|dvd|rom|removable|floppy|tape|usb", re.IGNORECASE)
_SOLID = re.compile(r"\bssd\b|nvme|solid.state", re.IGNORECASE)
_CPUID_FIELDS = re.compile(r"family\s+(\d+)\s+model\s+(\d+)\s+stepping\s+(\d+)", re.IGNORECASE)
_CPU_VENDORS = {"intel": "GenuineIntel", "genuineintel": "GenuineIntel", "amd": "AuthenticAMD",
                "authenticamd": "AuthenticAMD", "advanced micro devices": "AuthenticAMD",
                "hygon": "HygonGenuine", "hygongenuine": "HygonGenuine"}
_WHOLE_DISK = (re.compile(r"(nvme\d+n\d+|mmcblk\d+)(?:p\d+)?"), re.compile(r"([a-z]+)\d*"))


def device_class(content: dict, notes: list[str]) -> str:
    """VM or container first (a VM reports a chassis too), then the chassis name."""
    hardware, path = section(content, "hardware")
    vm = (text(hardware, "vmsystem", path) or "").strip()
    if vm and vm.lower() != "physical":
        if vm.lower() in _CONTAINERS:
            notes.append(f"device class: runs in a container ({vm}); CPU, memory and disks are the host's")
            return "other"
        return "virtual_machine"
    bios_, bios_path = section(content, "bios")
    # FusionInventory and GLPI name the chassis in HARDWARE; OCS agents in BIOS/TYPE.
    chassis = text(hardware, "chassis_type", path) or text(bios_, "type", bios_path)
    if chassis is None:
        notes.append("device class: the inventory names no chassis type")
        return "other"
    cls = _CHASSIS.get(re.sub(r"[^a-z]", "", chassis.lower()))
    if cls is None:
        notes.append(f"device class: chassis {chassis[:60]!r} is neither desktop, laptop nor server")
        return "other"
    return cls


def cpu(content: dict, notes: list[str]) -> dict:
    """The first processor names the model; cores add up over sockets."""
    cpus = entries(content, "cpus")
    hardware, hw_path = section(content, "hardware")
    result: dict[str, Any] = {"model": None, "vendor": None, "family": None, "model_number": None,
                              "stepping": None, "logical_cores": None, "physical_cores": None, "max_mhz": None}
    if not cpus:
        result["model"] = text(hardware, "processort", hw_path, 256)
        notes.append("cpu: the inventory lists no processor; family, model and cores unknown")
        return result
    first, path = cpus[0]
    result["model"] = text(first, "name", path, 256) or text(first, "type", path, 256)
    vendor = text(first, "manufacturer", path, 64)
    result["vendor"] = _CPU_VENDORS.get(vendor.lower(), vendor) if vendor else None
    family, model, stepping = _cpuid_numbers(first, path)
    result.update(family=family, model_number=model, stepping=stepping)
    if family is None or model is None:
        notes.append("cpu: family/model not in the inventory")
    speed = number(first, "speed", path)
    result["max_mhz"] = speed if speed and speed <= 100000 else None
    physical = [_cores(c, p) for c, p in cpus]
    logical = [_threads(c, p, n) for (c, p), n in zip(cpus, physical)]
    result["physical_cores"] = _total(physical)
    result["logical_cores"] = _total(logical)
    return result


def _cpuid_numbers(entry: dict, path: Path) -> tuple[Optional[int], Optional[int], Optional[int]]:
    """Display family/model/stepping: the fields, else Windows' description, else the CPUID signature."""
    family, model, stepping = loose_int(entry, "familynumber", path), loose_int(entry, "model", path), None
    if entry.get("stepping") not in (None, ""):
        stepping = integer(entry, "stepping", path)
    described = _CPUID_FIELDS.search(text(entry, "description", path) or "")
    signature = _signature(text(entry, "id", path))
    for source in (described and tuple(int(x) for x in described.groups()), signature):
        if source:
            family = family if family is not None else source[0]
            model = model if model is not None else source[1]
            stepping = stepping if stepping is not None else source[2]
    return tuple(v if v is not None and v <= 1024 else None for v in (family, model, stepping))  # type: ignore


def _signature(cpu_id: Optional[str]) -> Optional[tuple[int, int, int]]:
    """``"51 06 04 00 FF FB EB BF"``: CPUID leaf 1 EAX, little-endian, then EDX; decode EAX as CPUID does."""
    parts = (cpu_id or "").split()
    if len(parts) != 8 or not all(re.fullmatch(r"[0-9A-Fa-f]{2}", p) for p in parts):
        return None
    eax = int("".join(reversed(parts[:4])), 16)
    if eax == 0:
        return None
    base_family, base_model, stepping = (eax >> 8) & 0xF, (eax >> 4) & 0xF, eax & 0xF
    family = base_family + ((eax >> 20) & 0xFF) if base_family == 0xF else base_family
    model = base_model + (((eax >> 16) & 0xF) << 4) if base_family in (6, 0xF) else base_model
    return family, model, stepping


def _cores(entry: dict, path: Path) -> Optional[int]:
    for key in ("core", "cores", "corecount"):
        value = integer(entry, key, path)
        if value:
            return value
    return None


def _threads(entry: dict, path: Path, cores: Optional[int]) -> Optional[int]:
    """Logical processors of one socket.

    OCS says it outright (``LOGICAL_CPUS``). FusionInventory and GLPI send
    ``THREAD``, which their agents fill with the socket's thread count
    (dmidecode "Thread Count", WMI NumberOfLogicalProcessors): 4 for a
    2-core Hyper-Threading CPU in every shared fixture. A value below the
    core count can only be threads per core, and is read that way.
    """
    logical = integer(entry, "logical_cpus", path)
    if logical:
        return logical
    thread = integer(entry, "thread", path)
    if not thread:
        return cores
    if cores and thread < cores:
        return thread * cores
    return thread


def _total(values: list[Optional[int]]) -> Optional[int]:
    if not values or any(v is None for v in values):
        return None
    total = sum(values)  # type: ignore[arg-type]
    return total if 1 <= total <= 65536 else None


def memory_bytes(content: dict, notes: list[str]) -> Optional[int]:
    """What the OS sees (``hardware.memory``), as our agent reports; else the sum of installed modules."""
    hardware, path = section(content, "hardware")
    mib = number(hardware, "memory", path)
    if mib:
        return int(mib * MiB)
    modules = [number(m, "capacity", p) for m, p in entries(content, "memories")]
    if modules and all(modules):
        notes.append("memory: total from the installed modules (the inventory gives no system total)")
        return int(sum(modules) * MiB)  # type: ignore[arg-type]
    notes.append("memory: not in the inventory")
    return None


def disks(content: dict, notes: list[str]) -> list[dict]:
    """Physical disks from ``storages``; optical, removable and virtual block devices are left out."""
    out = []
    for entry, path in entries(content, "storages"):
        name = text(entry, "name", path, 256) or text(entry, "model", path, 256)
        kind = text(entry, "type", path) or ""
        if name is None or _NOT_A_DISK.search(name) or _NOT_A_DISK_TYPE.search(kind):
            continue
        size = number(entry, "disksize", path)
        described = " ".join(filter(None, (name, text(entry, "model", path), text(entry, "description", path),
                                           text(entry, "interface", path), kind)))
        out.append({"name": name, "model": text(entry, "model", path, 256),
                    "size_bytes": int(round(size * MB)) if size else None,
                    "media": "ssd" if _SOLID.search(described) else "unknown", "system": None})
    if len(out) > 256:
        notes.append(f"disks: {len(out) - 256} more left out")
        out = out[:256]
    if out and all(d["media"] == "unknown" for d in out):
        notes.append("disk media: the inventory does not say SSD or HDD")
    return out


def system_disk(content: dict, windows: bool, disk_list: list[dict], notes: list[str]) -> dict:
    """The volume holding the OS: Windows' system drive (C:) or the Unix mount ``/``; marks its disk."""
    chosen: Optional[tuple[dict, Path]] = None
    for entry, path in entries(content, "drives"):
        mount = text(entry, "type", path)
        letter = (text(entry, "letter", path) or "").rstrip("/\\").upper()  # OCS writes "C:/"
        if windows:
            if flag(entry, "systemdrive") or (chosen is None and letter == "C:"):
                chosen = (entry, path)
        elif mount == "/":
            chosen = (entry, path)
            break
    default_mount = "C:" if windows else "/"
    if chosen is None:
        notes.append(f"system disk: no {default_mount} volume in the inventory")
        return {"mount": default_mount, "size_bytes": None, "free_bytes": None, "media": "unknown"}
    entry, path = chosen
    total, free = number(entry, "total", path), number(entry, "free", path)
    disk = _disk_of(text(entry, "volumn", path), disk_list)
    if disk is not None:
        for d in disk_list:
            d["system"] = d is disk
    letter = (text(entry, "letter", path) or "").rstrip("/\\").upper()
    return {"mount": (letter if windows else None) or default_mount,
            "size_bytes": int(total * MiB) if total is not None else None,
            "free_bytes": int(free * MiB) if free is not None else None,
            "media": disk["media"] if disk is not None else "unknown"}


def _disk_of(volume: Optional[str], disk_list: list[dict]) -> Optional[dict]:
    """The disk a volume lives on, by device name (``/dev/nvme0n1p2`` -> ``nvme0n1``); with one disk, that one."""
    name = (volume or "").removeprefix("/dev/")
    for pattern in _WHOLE_DISK:
        match = pattern.fullmatch(name)
        if match:
            found = [d for d in disk_list if d["name"].removeprefix("/dev/") == match.group(1)]
            if found:
                return found[0]
    return disk_list[0] if len(disk_list) == 1 else None


def bios(content: dict) -> tuple[dict, Path]:
    return section(content, "bios")


def serial_and_maker(content: dict) -> tuple[Optional[str], Optional[str], Optional[str]]:
    """System serial, manufacturer and model from ``bios`` (SMBIOS type 1), placeholders dropped."""
    section_, path = bios(content)
    return (real_value(text(section_, "ssn", path, 128)), real_value(text(section_, "smanufacturer", path, 128)),
            real_value(text(section_, "smodel", path, 128)))
