"""Read a Linux machine into plain facts: psutil plus /proc, /sys and standard files.

The probe never guesses and never fails: whatever the machine denies (no
root, no /sys in a container, a firmware without SMBIOS, a placeholder value
such as "To Be Filled By O.E.M.") stays unknown and gets a line in the notes,
so an officer can tell "not ready" from "not visible". Readers take a
``root`` so the odd machines can be rebuilt as file trees in tests.
"""
from __future__ import annotations

import os
import re
import shlex
import socket
from datetime import datetime
from pathlib import Path
from typing import Optional, Union

import psutil

from inventory.report import rfc3339

from .builder import Facts
from .host_psutil import psutil_fact, read_core_counts, read_interfaces, read_memory
from .linux_software import Runner, read_software, run_command
from inventory.smbios import CHASSIS_CLASS, is_placeholder, names_a_hypervisor, smbios_uuid
from .textclip import clip

PathLike = Union[str, Path]

_DMI = "sys/class/dmi/id"
_SECURE_BOOT_VAR = "SecureBoot-8be4df61-93ca-11d2-aa0d-e98c0cb5d2ee"
_MACHINE_ID = re.compile(r"^[0-9a-f]{32}$")

# Block devices that are not the machine's disks: loop images, RAM disks,
# device-mapper/RAID volumes (their members are listed), optical, floppy, network.
_NOT_A_DISK = re.compile(r"^(loop|ram|zram|dm-|md|sr|fd|nbd)|^mmcblk\d+boot\d+$")
# Paravirtual disks: the kernel's rotational flag is a default, not a property of the backing store.
_VIRTUAL_DISK = re.compile(r"^(vd|xvd)[a-z]+$")


class _Tree:
    """Files below ``root``; a file the machine denies becomes a note, not an exception."""

    def __init__(self, root: PathLike, notes: list) -> None:
        self.root = Path(root)
        self.notes = notes

    def path(self, rel: str) -> Path:
        return self.root / rel

    def exists(self, rel: str) -> bool:
        return self.path(rel).exists()

    def read_bytes(self, rel: str, what: Optional[str] = None) -> Optional[bytes]:
        """``what`` names the fact for the note; without it a missing file is expected and silent."""
        try:
            return self.path(rel).read_bytes()
        except FileNotFoundError:
            reason = "not present"
        except PermissionError:
            reason = "permission denied (readable by root)"
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
        if what:
            self.notes.append(f"{what}: /{rel} {reason}")
        return None

    def read(self, rel: str, what: Optional[str] = None) -> Optional[str]:
        data = self.read_bytes(rel, what)
        return None if data is None else data.decode("utf-8", "replace").strip()


def probe(root: PathLike = "/", run: Optional[Runner] = None) -> Facts:
    """Read everything the machine will tell this user; root only adds facts (serial, SMBIOS UUID).

    ``run`` answers the package query; :func:`agents.linux_software.prefetch`
    gives one that started it early, so the probe need not wait for it.
    """
    collected_at = rfc3339()
    notes: list = []
    if Path(root, ".dockerenv").exists() or Path(root, "run/.containerenv").exists():
        notes.append("running in a container: CPU, memory and disks are the host's as the container sees them")
    device = read_device(root, notes)
    disks, system_disk = read_disks(root, notes)
    hardware = {"cpu": read_cpu(root, notes), "memory_bytes": read_memory(notes),
                "disks": disks, "system_disk": system_disk}
    return Facts(device=device, hardware=hardware, firmware=read_firmware(root, notes),
                 os=read_os(root, notes), software=read_software(notes, run or run_command),
                 interfaces=read_interfaces(notes), notes=notes, collected_at=collected_at)


# --- device -----------------------------------------------------------------

def read_device(root: PathLike, notes: list) -> dict:
    """Identity and class. The SMBIOS UUID survives reinstalls; machine-id and hostname do not."""
    tree = _Tree(root, notes)
    has_dmi = tree.path(_DMI).is_dir()
    if not has_dmi:
        notes.append(f"no SMBIOS data: /{_DMI} not present (container, or firmware without SMBIOS); "
                     "serial, manufacturer, model, chassis and BIOS unknown")
    hostname = clip(socket.gethostname(), 255)
    if not hostname:
        notes.append("hostname: empty")
        hostname = "unknown"
    device = {
        "hostname": hostname,
        "serial": _dmi_value(tree, "product_serial", "serial") if has_dmi else None,
        "manufacturer": _dmi_value(tree, "sys_vendor", "manufacturer") if has_dmi else None,
        "model": _dmi_value(tree, "product_name", "model") if has_dmi else None,
    }
    device["id"], device["id_source"] = _identity(tree, has_dmi, hostname)
    device["class"] = _device_class(tree, has_dmi)
    return device


def _dmi_value(tree: _Tree, name: str, what: str) -> Optional[str]:
    value = tree.read(f"{_DMI}/{name}", what)
    if value is not None and is_placeholder(value):
        tree.notes.append(f"{what}: firmware placeholder {value!r} ignored")
        return None
    return clip(value, 128)


def _identity(tree: _Tree, has_dmi: bool, hostname: str) -> tuple:
    if has_dmi:
        uuid = tree.read(f"{_DMI}/product_uuid", "device id (SMBIOS UUID)")
        if uuid is not None:
            if smbios_uuid(uuid) is not None:
                return smbios_uuid(uuid), "smbios-uuid"
            tree.notes.append(f"device id: SMBIOS UUID {uuid!r} is a placeholder, not an identity")
    machine_id = tree.read("etc/machine-id", "device id (machine-id)")
    if machine_id is not None:
        if _MACHINE_ID.match(machine_id):
            return machine_id, "machine-id"
        tree.notes.append(f"device id: /etc/machine-id holds {machine_id[:40]!r}, not an id")
    tree.notes.append("device id: falling back to the hostname, which may not be unique or stable")
    return clip(hostname, 128), "hostname"


def _device_class(tree: _Tree, has_dmi: bool) -> str:
    """A VM reports a chassis too (usually "Other"), so virtualization is checked first."""
    if has_dmi:
        for name in ("sys_vendor", "product_name", "bios_vendor", "board_vendor"):
            value = tree.read(f"{_DMI}/{name}") or ""
            if names_a_hypervisor(value):
                return "virtual_machine"
    if "hypervisor" in _cpuinfo(tree).get("flags", "").split():
        return "virtual_machine"
    if not has_dmi:
        return "other"
    chassis = _int(tree.read(f"{_DMI}/chassis_type", "device class (chassis type)"))
    if chassis is None:
        return "other"
    cls = CHASSIS_CLASS.get(chassis)
    if cls is None:
        tree.notes.append(f"device class: SMBIOS chassis type {chassis} is neither desktop, laptop nor server")
        return "other"
    return cls


# --- hardware ---------------------------------------------------------------

def _cpuinfo(tree: _Tree, what: Optional[str] = None) -> dict:
    """The first processor's block of /proc/cpuinfo; all cores of a PC report the same model."""
    text = tree.read("proc/cpuinfo", what) or ""
    info: dict = {}
    for line in text.splitlines():
        if not line.strip():
            if info:
                break
            continue
        key, sep, value = line.partition(":")
        if sep:
            info.setdefault(key.strip(), value.strip())
    return info


def read_cpu(root: PathLike, notes: list) -> dict:
    """CPUID identity (vendor, family, model, stepping) is what CPU-support lists are keyed on."""
    tree = _Tree(root, notes)
    info = _cpuinfo(tree, "cpu")
    cpu = {
        "model": clip(info.get("model name") or None, 256),
        "vendor": clip(info.get("vendor_id") or None, 64),
        "family": _bounded_int(info.get("cpu family"), 1024),
        "model_number": _bounded_int(info.get("model"), 1024),
        "stepping": _bounded_int(info.get("stepping"), 1024),
        "logical_cores": None,
        "physical_cores": None,
        "max_mhz": None,
    }
    cpu["logical_cores"], cpu["physical_cores"] = read_core_counts(notes)
    if info and cpu["vendor"] is None:
        notes.append("cpu: /proc/cpuinfo carries no x86 identification (vendor_id, cpu family, model)")
    khz = _int(tree.read("sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"))
    if khz:
        cpu["max_mhz"] = khz / 1000
    else:
        notes.append("cpu max frequency: not exposed (no cpufreq driver, usual in virtual machines)")
    return cpu


def read_disks(root: PathLike, notes: list) -> tuple:
    """Physical disks from /sys/block, and the volume holding ``/`` with the media under it."""
    tree = _Tree(root, notes)
    system_names = _system_disk_names(tree)
    disks = []
    block = tree.path("sys/block")
    try:
        names = sorted(os.listdir(block))
    except OSError as exc:
        notes.append(f"disks: /sys/block unreadable ({exc.strerror or exc})")
        names = []
    for name in names:
        if _NOT_A_DISK.match(name) or tree.read(f"sys/block/{name}/removable") == "1":
            continue
        sectors = _int(tree.read(f"sys/block/{name}/size", f"disk {name} size"))
        if sectors == 0:
            continue  # a card reader or optical drive without media
        disks.append({
            "name": clip(name, 256),
            "model": clip(tree.read(f"sys/block/{name}/device/model") or None, 256),
            "size_bytes": None if sectors is None else sectors * 512,  # /sys counts 512-byte sectors always
            "media": _media(tree, name),
            "system": (name in system_names) if system_names else None,
        })
    if len(disks) > 256:
        notes.append(f"disks: {len(disks) - 256} more disks left out")
        disks = disks[:256]
    by_name = {d["name"]: d["media"] for d in disks}
    media = {by_name.get(n) or _media(tree, n) for n in system_names}
    system_disk = {"mount": "/", "size_bytes": None, "free_bytes": None,
                   "media": media.pop() if len(media) == 1 else "unknown"}
    if not system_names:
        notes.append("system disk: could not find the block device holding / (overlay or network root?)")
    elif system_disk["media"] == "unknown":
        names = ", ".join(sorted(system_names))
        why = ("paravirtual disk: the kernel cannot tell SSD from HDD"
               if all(_VIRTUAL_DISK.match(n) for n in system_names) else "rotational flag missing or mixed")
        notes.append(f"system disk media unknown ({names}: {why})")
    usage = psutil_fact(lambda: psutil.disk_usage(str(root)), "system disk usage", notes)
    if usage is not None:
        system_disk["size_bytes"], system_disk["free_bytes"] = usage.total, usage.free
    return disks, system_disk


def _media(tree: _Tree, name: str) -> str:
    if _VIRTUAL_DISK.match(name):
        return "unknown"
    rotational = tree.read(f"sys/block/{name}/queue/rotational")
    return {"0": "ssd", "1": "hdd"}.get(rotational or "", "unknown")


def _system_disk_names(tree: _Tree) -> set:
    """Whole disks under ``/``: through partitions, LVM, LUKS and RAID down to their members."""
    mountinfo = tree.read("proc/self/mountinfo", "system disk")
    entry = None
    for line in (mountinfo or "").splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] == "/" and "-" in fields:
            entry = fields  # the last mount on / is the visible one
    if entry is None:
        return set()
    separator = entry.index("-")
    source = entry[separator + 2] if len(entry) > separator + 2 else ""
    start = None
    link = tree.path(f"sys/dev/block/{entry[2]}")
    if link.exists():
        start = os.path.basename(os.path.realpath(link))
    elif source.startswith("/dev/"):
        # btrfs reports an anonymous major:minor; its source names the real device.
        start = os.path.basename(os.path.realpath(tree.path(source.lstrip("/"))))
    return _whole_disks(tree, start, depth=0) if start else set()


def _whole_disks(tree: _Tree, name: str, depth: int) -> set:
    node = tree.path(f"sys/class/block/{name}")
    if depth > 8 or not node.exists():
        return set()
    if (node / "partition").exists():
        return {os.path.basename(os.path.dirname(os.path.realpath(node)))}
    slaves = node / "slaves"
    members = sorted(os.listdir(slaves)) if slaves.is_dir() else []
    if members:
        return set().union(*(_whole_disks(tree, m, depth + 1) for m in members))
    return {name}


# --- firmware ---------------------------------------------------------------

def read_firmware(root: PathLike, notes: list) -> dict:
    """Boot mode, Secure Boot, TPM and BIOS: the facts Windows 11 and modern baselines gate on."""
    tree = _Tree(root, notes)
    firmware = {"boot_mode": "unknown", "secure_boot": "unknown",
                "tpm": {"present": "unknown", "spec_version": None},
                "bios": {"vendor": None, "version": None, "date": None}}
    if not tree.path("sys/firmware").is_dir():
        notes.append("firmware: /sys not mounted; boot mode, Secure Boot and TPM unknown")
        return firmware
    if tree.path("sys/firmware/efi").is_dir():
        firmware["boot_mode"] = "uefi"
        firmware["secure_boot"] = _secure_boot(tree)
    else:
        firmware["boot_mode"] = "legacy"
        firmware["secure_boot"] = "unsupported"
        notes.append("secure boot: unsupported in legacy (BIOS/CSM) boot mode")
    firmware["tpm"] = _tpm(tree)
    if tree.path(_DMI).is_dir():
        firmware["bios"] = {
            "vendor": _dmi_value(tree, "bios_vendor", "bios vendor"),
            "version": _dmi_value(tree, "bios_version", "bios version"),
            "date": _bios_date(tree),
        }
    return firmware


def _secure_boot(tree: _Tree) -> str:
    efivars = tree.path("sys/firmware/efi/efivars")
    try:
        mounted = efivars.is_dir() and any(efivars.iterdir())
    except OSError:
        mounted = False
    if not mounted:
        tree.notes.append("secure boot: efivarfs not mounted at /sys/firmware/efi/efivars")
        return "unknown"
    data = tree.read_bytes(f"sys/firmware/efi/efivars/{_SECURE_BOOT_VAR}")
    if data is None:
        if tree.exists(f"sys/firmware/efi/efivars/{_SECURE_BOOT_VAR}"):
            tree.notes.append("secure boot: SecureBoot variable unreadable")
            return "unknown"
        return "unsupported"  # UEFI firmware that does not implement Secure Boot
    # efivarfs prepends 4 bytes of attributes; the value is the last byte.
    if len(data) < 5 or data[-1] not in (0, 1):
        tree.notes.append(f"secure boot: unexpected SecureBoot variable {data.hex()}")
        return "unknown"
    return "enabled" if data[-1] == 1 else "disabled"


def _tpm(tree: _Tree) -> dict:
    if not tree.path("sys/class/tpm").is_dir():
        tree.notes.append("tpm: /sys/class/tpm not present (TPM driver not loaded, or no TPM)")
        return {"present": "unknown", "spec_version": None}
    if not tree.path("sys/class/tpm/tpm0").exists():
        return {"present": "no", "spec_version": None}
    major = tree.read("sys/class/tpm/tpm0/tpm_version_major")
    if major in ("1", "2"):
        return {"present": "yes", "spec_version": "2.0" if major == "2" else "1.2"}
    # Kernels before 5.6 only expose a 1.2 chip's version through its caps file.
    caps = tree.read("sys/class/tpm/tpm0/device/caps") or ""
    found = re.search(r"TCG version:\s*([0-9]+\.[0-9]+)", caps)
    if found:
        return {"present": "yes", "spec_version": found.group(1)}
    tree.notes.append("tpm: present, specification version not exposed by this kernel")
    return {"present": "yes", "spec_version": None}


def _bios_date(tree: _Tree) -> Optional[str]:
    text = tree.read(f"{_DMI}/bios_date", "bios date")
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%m/%d/%Y").strftime("%Y-%m-%d")
    except ValueError:
        tree.notes.append(f"bios date: {text[:40]!r} is not MM/DD/YYYY")
        return None


# --- operating system -------------------------------------------------------

def read_os(root: PathLike, notes: list) -> dict:
    """Distribution and release from os-release: ID and VERSION_ID are what end-of-support tables use."""
    tree = _Tree(root, notes)
    text = tree.read("etc/os-release") or tree.read("usr/lib/os-release")
    if text is None:
        notes.append("os: neither /etc/os-release nor /usr/lib/os-release is readable; distribution unknown")
    values = _parse_os_release(text or "", notes)
    os_facts = {"family": "linux", "name": "unknown", "id": "unknown", "version": None, "release": None,
                "edition": None, "build": clip(values.get("BUILD_ID") or None, 64),
                "kernel": clip(os.uname().release or None, 128),
                "architecture": clip(os.uname().machine or None, 32)}
    name = values.get("PRETTY_NAME") or " ".join(filter(None, (values.get("NAME"), values.get("VERSION"))))
    if name:
        os_facts["name"] = clip(name, 256)
    if values.get("ID"):
        os_facts["id"] = clip(values["ID"].lower(), 64)
    elif text:
        notes.append("os: os-release has no ID")
    os_facts["version"] = clip(values.get("VERSION_ID") or None, 64)
    return os_facts


def _parse_os_release(text: str, notes: list) -> dict:
    values = {}
    for line in text.splitlines():
        key, sep, raw = line.strip().partition("=")
        if not sep or key.startswith("#"):
            continue
        try:
            parts = shlex.split(raw)
        except ValueError:
            notes.append(f"os: unparsable os-release line for {key}")
            continue
        values[key] = " ".join(parts)
    return values


# --- helpers ----------------------------------------------------------------

def _int(text: Optional[str]) -> Optional[int]:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _bounded_int(text: Optional[str], maximum: int) -> Optional[int]:
    value = _int(text)
    return value if value is not None and 0 <= value <= maximum else None

