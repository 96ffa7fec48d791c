"""Read a Linux machine into plain facts: /proc, /sys, standard files and a few read-only commands.

The probe never guesses and never fails: whatever the machine denies (no
root, no /sys in a container, a firmware without SMBIOS, a placeholder value
such as "To Be Filled By O.E.M.") stays unknown and gets a line in the notes,
so an officer can tell "not ready" from "not visible".

Reading goes through a :class:`~agents.host.Host` (this machine, a file tree
standing in for one in tests, or a host over SSH) and the facts the running
kernel answers through a :class:`~agents.host_psutil.LiveFacts` (psutil
here, their text equivalents over SSH), so the parsing below is the same
for the agent and the SSH prober.
"""
from __future__ import annotations

import posixpath
import re
import shlex
from datetime import datetime
from pathlib import Path
from typing import Optional, Union

from inventory.identity import Clues
from inventory.report import rfc3339
from inventory.smbios import CHASSIS_CLASS, is_placeholder, names_a_hypervisor

from .builder import Facts
from .host import Host, LocalHost
from .host_psutil import LiveFacts, PsutilFacts
from .linux_software import Runner, read_software
from .textclip import clip

PathLike = Union[str, Path]
# The readers take a Host, or the root of a file tree standing in for a machine (tests, tools).
HostOrRoot = Union[Host, str, Path]

_DMI = "/sys/class/dmi/id"
_SECURE_BOOT_VAR = "SecureBoot-8be4df61-93ca-11d2-aa0d-e98c0cb5d2ee"
_MACHINE_ID = re.compile(r"^[0-9a-f]{32}$")

# Block devices that are not the machine's disks: loop images, RAM disks,
# device-mapper/RAID volumes (their members are listed), optical, floppy, network.
_NOT_A_DISK = re.compile(r"^(loop|ram|zram|dm-|md|sr|fd|nbd)|^mmcblk\d+boot\d+$")
# Paravirtual disks: the kernel's rotational flag is a default, not a property of the backing store.
_VIRTUAL_DISK = re.compile(r"^(vd|xvd)[a-z]+$")


class _Reader:
    """One host's files for one probe; a file the machine denies becomes a note, not an exception."""

    def __init__(self, host: HostOrRoot, notes: list) -> None:
        self.host = LocalHost(host) if isinstance(host, (str, Path)) else host
        self.notes = notes

    def kind(self, path: str) -> Optional[str]:
        return self.host.kind(path)

    def is_dir(self, path: str) -> bool:
        return self.host.kind(path) == "dir"

    def exists(self, path: str) -> bool:
        return self.host.kind(path) is not None

    def listdir(self, path: str) -> list:
        return sorted(self.host.listdir(path))

    def realpath(self, path: str) -> str:
        return self.host.realpath(path)

    def read_bytes(self, path: str, what: Optional[str] = None) -> Optional[bytes]:
        """``what`` names the fact for the note; without it a missing file is expected and silent."""
        try:
            return self.host.read_bytes(path)
        except FileNotFoundError:
            reason = "not present"
        except PermissionError:
            reason = "permission denied (readable by root)"
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
        if what:
            self.notes.append(f"{what}: {path} {reason}")
        return None

    def read(self, path: str, what: Optional[str] = None) -> Optional[str]:
        data = self.read_bytes(path, what)
        return None if data is None else data.decode("utf-8", "replace").strip()


def probe(root: PathLike = "/", run: Optional[Runner] = None) -> Facts:
    """This machine (or the file tree at ``root``); root only adds facts (serial, SMBIOS UUID).

    ``run`` answers the package query; :func:`agents.linux_software.prefetch`
    gives one that started it early, so the probe need not wait for it.
    """
    return probe_host(LocalHost(root, run), PsutilFacts(root))


def probe_host(host: Host, live: LiveFacts) -> Facts:
    """Read everything ``host`` will tell this user, the same way whichever host it is."""
    collected_at = rfc3339()
    notes: list = []
    reader = _Reader(host, notes)
    if reader.exists("/.dockerenv") or reader.exists("/run/.containerenv"):
        notes.append("running in a container: CPU, memory and disks are the host's as the container sees them")
    hostname, kernel, architecture = live.names(notes)
    device = read_device(host, notes, hostname)
    disks, system_disk = read_disks(host, notes, live.root_usage(notes))
    hardware = {"cpu": read_cpu(host, notes, live.core_counts(notes)), "memory_bytes": live.memory_bytes(notes),
                "disks": disks, "system_disk": system_disk}
    return Facts(device=device, hardware=hardware, firmware=read_firmware(host, notes),
                 os=read_os(host, notes, kernel, architecture), software=read_software(notes, host.run),
                 interfaces=live.interfaces(notes), notes=notes, collected_at=collected_at,
                 identity=read_identity(host, notes))


# --- device -----------------------------------------------------------------

def read_device(host: HostOrRoot, notes: list, hostname: Optional[str] = None) -> dict:
    """Hostname, SMBIOS serial, maker, model and class; the device id is the builder's (inventory.identity)."""
    reader = _Reader(host, notes)
    has_dmi = reader.is_dir(_DMI)
    if not has_dmi:
        notes.append(f"no SMBIOS data: {_DMI} not present (container, or firmware without SMBIOS); "
                     "serial, manufacturer, model, chassis and BIOS unknown")
    hostname = clip(hostname, 255)
    if not hostname:
        notes.append("hostname: empty")
        hostname = "unknown"
    return {
        "hostname": hostname,
        "serial": _dmi_value(reader, "product_serial", "serial") if has_dmi else None,
        "manufacturer": _dmi_value(reader, "sys_vendor", "manufacturer") if has_dmi else None,
        "model": _dmi_value(reader, "product_name", "model") if has_dmi else None,
        "class": _device_class(reader, has_dmi),
    }


def read_identity(host: HostOrRoot, notes: list) -> Clues:
    """The SMBIOS UUID (survives reinstalls; root only) and /etc/machine-id (this installation's id)."""
    reader = _Reader(host, notes)
    uuid = reader.read(f"{_DMI}/product_uuid", "device id (SMBIOS UUID)") if reader.is_dir(_DMI) else None
    machine_id = reader.read("/etc/machine-id", "device id (machine-id)")
    if machine_id is not None and not _MACHINE_ID.match(machine_id):
        notes.append(f"device id: /etc/machine-id holds {machine_id[:40]!r}, not an id")
        machine_id = None
    return Clues(smbios_uuid=uuid, installation_id=machine_id, installation_source="machine-id")


def _dmi_value(reader: _Reader, name: str, what: str) -> Optional[str]:
    value = reader.read(f"{_DMI}/{name}", what)
    if value is not None and is_placeholder(value):
        reader.notes.append(f"{what}: firmware placeholder {value!r} ignored")
        return None
    return clip(value, 128)


def _device_class(reader: _Reader, has_dmi: bool) -> str:
    """A VM reports a chassis too (usually "Other"), so virtualization is checked first."""
    if has_dmi:
        for name in ("sys_vendor", "product_name", "bios_vendor", "board_vendor"):
            value = reader.read(f"{_DMI}/{name}") or ""
            if names_a_hypervisor(value):
                return "virtual_machine"
    if "hypervisor" in _cpuinfo(reader).get("flags", "").split():
        return "virtual_machine"
    if not has_dmi:
        return "other"
    chassis = _int(reader.read(f"{_DMI}/chassis_type", "device class (chassis type)"))
    if chassis is None:
        return "other"
    cls = CHASSIS_CLASS.get(chassis)
    if cls is None:
        reader.notes.append(f"device class: SMBIOS chassis type {chassis} is neither desktop, laptop nor server")
        return "other"
    return cls


# --- hardware ---------------------------------------------------------------

def _cpuinfo(reader: _Reader, what: Optional[str] = None) -> dict:
    """The first processor's block of /proc/cpuinfo; all cores of a PC report the same model."""
    text = reader.read("/proc/cpuinfo", what) or ""
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


def read_cpu(host: HostOrRoot, notes: list, core_counts: tuple = (None, None)) -> dict:
    """CPUID identity (vendor, family, model, stepping) is what CPU-support lists are keyed on."""
    reader = _Reader(host, notes)
    info = _cpuinfo(reader, "cpu")
    cpu = {
        "model": clip(info.get("model name") or None, 256),
        "vendor": clip(info.get("vendor_id") or None, 64),
        "family": _bounded_int(info.get("cpu family"), 1024),
        "model_number": _bounded_int(info.get("model"), 1024),
        "stepping": _bounded_int(info.get("stepping"), 1024),
        "logical_cores": core_counts[0],
        "physical_cores": core_counts[1],
        "max_mhz": None,
    }
    if info and cpu["vendor"] is None:
        notes.append("cpu: /proc/cpuinfo carries no x86 identification (vendor_id, cpu family, model)")
    khz = _int(reader.read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"))
    if khz:
        cpu["max_mhz"] = khz / 1000
    else:
        notes.append("cpu max frequency: not exposed (no cpufreq driver, usual in virtual machines)")
    return cpu


def read_disks(host: HostOrRoot, notes: list, root_usage: Optional[tuple] = None) -> tuple:
    """Physical disks from /sys/block, and the volume holding ``/`` with the media under it.

    ``root_usage`` is (size, free) bytes of ``/`` as statvfs counts them, or None when unknown.
    """
    reader = _Reader(host, notes)
    system_names = _system_disk_names(reader)
    disks = []
    try:
        names = reader.listdir("/sys/block")
    except OSError as exc:
        notes.append(f"disks: /sys/block unreadable ({exc.strerror or exc})")
        names = []
    for name in names:
        if _NOT_A_DISK.match(name) or reader.read(f"/sys/block/{name}/removable") == "1":
            continue
        sectors = _int(reader.read(f"/sys/block/{name}/size", f"disk {name} size"))
        if sectors == 0:
            continue  # a card reader or optical drive without media
        disks.append({
            "name": clip(name, 256),
            "model": clip(reader.read(f"/sys/block/{name}/device/model") or None, 256),
            "size_bytes": None if sectors is None else sectors * 512,  # /sys counts 512-byte sectors always
            "media": _media(reader, name),
            "system": (name in system_names) if system_names else None,
        })
    if len(disks) > 256:
        notes.append(f"disks: {len(disks) - 256} more disks left out")
        disks = disks[:256]
    by_name = {d["name"]: d["media"] for d in disks}
    media = {by_name.get(n) or _media(reader, n) for n in system_names}
    system_disk = {"mount": "/", "size_bytes": None, "free_bytes": None,
                   "media": media.pop() if len(media) == 1 else "unknown"}
    if not system_names:
        notes.append("system disk: could not find the block device holding / (overlay or network root?)")
    elif system_disk["media"] == "unknown":
        listed = ", ".join(sorted(system_names))
        why = ("paravirtual disk: the kernel cannot tell SSD from HDD"
               if all(_VIRTUAL_DISK.match(n) for n in system_names) else "rotational flag missing or mixed")
        notes.append(f"system disk media unknown ({listed}: {why})")
    if root_usage is not None:
        system_disk["size_bytes"], system_disk["free_bytes"] = root_usage
    return disks, system_disk


def _media(reader: _Reader, name: str) -> str:
    if _VIRTUAL_DISK.match(name):
        return "unknown"
    rotational = reader.read(f"/sys/block/{name}/queue/rotational")
    return {"0": "ssd", "1": "hdd"}.get(rotational or "", "unknown")


def _system_disk_names(reader: _Reader) -> set:
    """Whole disks under ``/``: through partitions, LVM, LUKS and RAID down to their members."""
    mountinfo = reader.read("/proc/self/mountinfo", "system disk")
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
    link = f"/sys/dev/block/{entry[2]}"
    if reader.exists(link):
        start = posixpath.basename(reader.realpath(link))
    elif source.startswith("/dev/"):
        # btrfs reports an anonymous major:minor; its source names the real device.
        start = posixpath.basename(reader.realpath(source))
    return _whole_disks(reader, start, depth=0) if start else set()


def _whole_disks(reader: _Reader, name: str, depth: int) -> set:
    node = f"/sys/class/block/{name}"
    if depth > 8 or not reader.exists(node):
        return set()
    if reader.exists(f"{node}/partition"):
        return {posixpath.basename(posixpath.dirname(reader.realpath(node)))}
    try:
        members = reader.listdir(f"{node}/slaves") if reader.is_dir(f"{node}/slaves") else []
    except OSError:
        members = []
    if members:
        return set().union(*(_whole_disks(reader, m, depth + 1) for m in members))
    return {name}


# --- firmware ---------------------------------------------------------------

def read_firmware(host: HostOrRoot, notes: list) -> dict:
    """Boot mode, Secure Boot, TPM and BIOS: the facts Windows 11 and modern baselines gate on."""
    reader = _Reader(host, notes)
    firmware = {"boot_mode": "unknown", "secure_boot": "unknown",
                "tpm": {"present": "unknown", "spec_version": None},
                "bios": {"vendor": None, "version": None, "date": None}}
    if not reader.is_dir("/sys/firmware"):
        notes.append("firmware: /sys not mounted; boot mode, Secure Boot and TPM unknown")
        return firmware
    if reader.is_dir("/sys/firmware/efi"):
        firmware["boot_mode"] = "uefi"
        firmware["secure_boot"] = _secure_boot(reader)
    else:
        firmware["boot_mode"] = "legacy"
        firmware["secure_boot"] = "unsupported"
        notes.append("secure boot: unsupported in legacy (BIOS/CSM) boot mode")
    firmware["tpm"] = _tpm(reader)
    if reader.is_dir(_DMI):
        firmware["bios"] = {
            "vendor": _dmi_value(reader, "bios_vendor", "bios vendor"),
            "version": _dmi_value(reader, "bios_version", "bios version"),
            "date": _bios_date(reader),
        }
    return firmware


def _secure_boot(reader: _Reader) -> str:
    efivars = "/sys/firmware/efi/efivars"
    try:
        mounted = reader.is_dir(efivars) and bool(reader.listdir(efivars))
    except OSError:
        mounted = False
    if not mounted:
        reader.notes.append("secure boot: efivarfs not mounted at /sys/firmware/efi/efivars")
        return "unknown"
    data = reader.read_bytes(f"{efivars}/{_SECURE_BOOT_VAR}")
    if data is None:
        if reader.exists(f"{efivars}/{_SECURE_BOOT_VAR}"):
            reader.notes.append("secure boot: SecureBoot variable unreadable")
            return "unknown"
        return "unsupported"  # UEFI firmware that does not implement Secure Boot
    # efivarfs prepends 4 bytes of attributes; the value is the last byte.
    if len(data) < 5 or data[-1] not in (0, 1):
        reader.notes.append(f"secure boot: unexpected SecureBoot variable {data.hex()}")
        return "unknown"
    return "enabled" if data[-1] == 1 else "disabled"


def _tpm(reader: _Reader) -> dict:
    if not reader.is_dir("/sys/class/tpm"):
        reader.notes.append("tpm: /sys/class/tpm not present (TPM driver not loaded, or no TPM)")
        return {"present": "unknown", "spec_version": None}
    if not reader.exists("/sys/class/tpm/tpm0"):
        return {"present": "no", "spec_version": None}
    major = reader.read("/sys/class/tpm/tpm0/tpm_version_major")
    if major in ("1", "2"):
        return {"present": "yes", "spec_version": "2.0" if major == "2" else "1.2"}
    # Kernels before 5.6 only expose a 1.2 chip's version through its caps file.
    caps = reader.read("/sys/class/tpm/tpm0/device/caps") or ""
    found = re.search(r"TCG version:\s*([0-9]+\.[0-9]+)", caps)
    if found:
        return {"present": "yes", "spec_version": found.group(1)}
    reader.notes.append("tpm: present, specification version not exposed by this kernel")
    return {"present": "yes", "spec_version": None}


def _bios_date(reader: _Reader) -> Optional[str]:
    text = reader.read(f"{_DMI}/bios_date", "bios date")
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%m/%d/%Y").strftime("%Y-%m-%d")
    except ValueError:
        reader.notes.append(f"bios date: {text[:40]!r} is not MM/DD/YYYY")
        return None


# --- operating system -------------------------------------------------------

def read_os(host: HostOrRoot, notes: list, kernel: Optional[str] = None,
            architecture: Optional[str] = None) -> dict:
    """Distribution and release from os-release: ID and VERSION_ID are what end-of-support tables use."""
    reader = _Reader(host, notes)
    text = reader.read("/etc/os-release") or reader.read("/usr/lib/os-release")
    if text is None:
        notes.append("os: neither /etc/os-release nor /usr/lib/os-release is readable; distribution unknown")
    values = _parse_os_release(text or "", notes)
    os_facts = {"family": "linux", "name": "unknown", "id": "unknown", "version": None, "release": None,
                "edition": None, "build": clip(values.get("BUILD_ID") or None, 64),
                "kernel": clip(kernel or None, 128), "architecture": clip(architecture or None, 32)}
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
