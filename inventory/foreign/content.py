"""One GLPI-format content tree -> one schema-v1 report.

GLPI Agent's JSON inventory and FusionInventory/OCS XML describe a machine
with the same sections and field names (the JSON format is the XML one,
lower-cased and typed), so both front ends (``glpi_json``, ``ocs_xml``) hand
their content here. Facts the format does not carry — TPM, boot mode —
are reported unknown with a note, never guessed, so the verdict names what
is missing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from ..report import empty_report, rfc3339
from . import hardware as hw
from .identity import foreign_identity, report_id
from .os_names import os_section
from .values import entries, section, text

MAX_SOFTWARE = 20000
MAX_NOTES = 256
# "FusionInventory-Agent_v2.3.20", "GLPI-Agent_v1.7", "OCS-NG_unified_unix_agent_v2.10.0"
_AGENT = re.compile(r"^(?P<name>.+?)[_ -]v?(?P<version>\d[\w.+~-]*)$")
_DEVICEID_TIME = re.compile(r"-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}$")
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
_BIOS_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y")
# What each covered report part needs from the inventory, for merging partial inventories.
COVERAGE = {
    "cpu": ("cpus",), "memory": ("hardware", "memories"), "disks": ("storages",), "system_disk": ("drives",),
    "firmware": ("bios",), "os": ("operatingsystem", "hardware"), "software": ("softwares",),
    "interfaces": ("networks",),
}


@dataclass(frozen=True)
class Origin:
    """Who sent the inventory and how: the parts of a report the content itself does not hold."""

    ward_code: str
    source: str  # glpi, fusioninventory or ocs
    received_at: datetime
    digest: str  # SHA-256 of the inventory as received (decompressed), for an idempotent report id
    deviceid: Optional[str] = None
    user_agent: Optional[str] = None


@dataclass(frozen=True)
class Conversion:
    """A report, and which of its parts the inventory really described (a partial inventory omits some)."""

    report: dict
    covered: frozenset


def convert_content(content: dict, origin: Origin) -> Conversion:
    """Build the report; raises :class:`~.errors.ConversionError` naming the field that makes it impossible."""
    notes: list[str] = []
    report = empty_report(origin.ward_code, *_agent(content, origin), origin.source)
    report["collected_at"] = _collected_at(content, origin.received_at, notes)

    os_ = _os(content, notes)
    hostname = _hostname(content, origin.deviceid)
    serial, maker, model = hw.serial_and_maker(content)
    hardware_, path = section(content, "hardware")
    device_id, id_source = foreign_identity(content, text(hardware_, "uuid", path), serial, origin.deviceid,
                                            hostname, origin.source, notes)
    report["device"] = {"id": device_id, "id_source": id_source, "hostname": hostname or "unknown",
                        "serial": serial, "manufacturer": maker, "model": model,
                        "class": hw.device_class(content, notes)}

    disks = hw.disks(content, notes)
    report["hardware"] = {"cpu": hw.cpu(content, notes), "memory_bytes": hw.memory_bytes(content, notes),
                          "disks": disks,
                          "system_disk": hw.system_disk(content, os_["family"] == "windows", disks, notes)}
    report["firmware"] = _firmware(content, notes)
    report["os"] = os_
    report["software"] = _software(content, notes)
    report["network"] = {"reachability": [], "interfaces": _interfaces(content)}
    report["notes"] = _bounded(notes)
    report["report_id"] = report_id(device_id, origin.digest)
    covered = frozenset(part for part, sources in COVERAGE.items() if any(s in content for s in sources))
    return Conversion(report, covered)


def _agent(content: dict, origin: Origin) -> tuple[str, str]:
    """Agent name and version from VERSIONCLIENT, else the HTTP User-Agent (OCS sends only that)."""
    label = content.get("versionclient")
    label = label[0] if isinstance(label, list) and label else label
    for candidate in (label, origin.user_agent):
        if isinstance(candidate, str) and candidate.strip():
            match = _AGENT.match(candidate.strip())
            if match:
                return match.group("name")[:64], match.group("version")[:64]
            return candidate.strip()[:64], "unknown"
    return origin.source, "unknown"


def _collected_at(content: dict, received_at: datetime, notes: list[str]) -> str:
    """The agent's LOGDATE when its time zone is known; otherwise when the collector received it.

    LOGDATE is the agent's local time without an offset; read as UTC it would
    be off by the ward's seven hours, so without ``operatingsystem.timezone``
    the receipt time (seconds after the agent collected) is the honest value.
    """
    log, path = section(content, "accesslog")
    os_, os_path = section(content, "operatingsystem")
    logdate = text(log, "logdate", path)
    zone = os_.get("timezone")
    offset = text(zone, "offset", os_path + ("timezone",)) if isinstance(zone, dict) else None
    match = _OFFSET.match(offset or "")
    if logdate and match:
        try:
            local = datetime.strptime(logdate[:19].replace("T", " "), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            notes.append(f"collected at: LOGDATE {logdate[:40]!r} is not a date and time; time of receipt used")
        else:
            sign = 1 if match.group(1) == "+" else -1
            tz = timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))
            return rfc3339(local.replace(tzinfo=tz))
    elif logdate:
        notes.append("collected at: the inventory's LOGDATE has no time zone; time of receipt used")
    return rfc3339(received_at)


def _hostname(content: dict, deviceid: Optional[str]) -> Optional[str]:
    hardware_, path = section(content, "hardware")
    os_, os_path = section(content, "operatingsystem")
    fqdn = text(os_, "fqdn", os_path)
    name = text(hardware_, "name", path) or (fqdn.split(".")[0] if fqdn else None)
    if name is None and deviceid:
        name = _DEVICEID_TIME.sub("", deviceid) or None
    return name[:255] if name else None


def _os(content: dict, notes: list[str]) -> dict:
    """``operatingsystem`` where the agent sends it (FusionInventory, GLPI); OCS has only ``hardware.os*``."""
    os_, path = section(content, "operatingsystem")
    hardware_, hw_path = section(content, "hardware")
    if os_:
        name, full, version = text(os_, "name", path), text(os_, "full_name", path), text(os_, "version", path)
        kernel_name, kernel_version = text(os_, "kernel_name", path), text(os_, "kernel_version", path)
        arch = text(os_, "arch", path)
    else:
        name, full = text(hardware_, "osname", hw_path), text(hardware_, "oscomments", hw_path)
        if full and full.startswith("#"):  # FusionInventory puts the kernel build string here
            full = None
        version, kernel_name = None, None
        # Perl's archname, "x86_64-linux-thread-multi" or "MSWin32-x64-multi-thread": keep the machine part.
        archname = (text(hardware_, "archname", hw_path) or "").split("-")
        arch = next((part for part in archname if part in ("x86_64", "x64", "i386", "i686", "aarch64")), None)
        kernel_version = text(hardware_, "osversion", hw_path)
        if name and "windows" not in name.lower():
            kernel_version = None  # OCS's OSVERSION on Unix is the release, not the kernel
    return os_section(name, full, version, kernel_name, kernel_version, arch, notes)


def _firmware(content: dict, notes: list[str]) -> dict:
    bios_, path = hw.bios(content)
    secure = (text(bios_, "secure_boot", path) or "").lower()
    secure_boot = secure if secure in ("enabled", "disabled", "unsupported") else "unknown"
    # Secure Boot has a state only on UEFI firmware, so a state says UEFI; the format has no boot mode field.
    boot_mode = "uefi" if secure_boot in ("enabled", "disabled") else "unknown"
    if boot_mode == "unknown":
        notes.append("boot mode and Secure Boot: not in the inventory")
    notes.append("tpm: the inventory format does not report a TPM")
    return {"boot_mode": boot_mode, "secure_boot": secure_boot, "tpm": {"present": "unknown", "spec_version": None},
            "bios": {"vendor": text(bios_, "bmanufacturer", path, 128), "version": text(bios_, "bversion", path, 128),
                     "date": _bios_date(text(bios_, "bdate", path), notes)}}


def _bios_date(value: Optional[str], notes: list[str]) -> Optional[str]:
    if value is None:
        notes.append("bios date: not in the inventory")
        return None
    for fmt in _BIOS_DATE_FORMATS:
        try:
            return datetime.strptime(value.strip()[:10], fmt).strftime("%Y-%m-%d")
        except ValueError:
            continue
    notes.append(f"bios date: {value[:40]!r} is not a date")
    return None


def _software(content: dict, notes: list[str]) -> list[dict]:
    out, unnamed = [], 0
    for entry, path in entries(content, "softwares"):
        name = text(entry, "name", path, 512)
        if name is None:
            unnamed += 1
            continue
        out.append({"name": name, "version": text(entry, "version", path, 256),
                    "publisher": text(entry, "publisher", path, 512)})
    if unnamed:
        notes.append(f"software: {unnamed} entries without a name left out")
    if len(out) > MAX_SOFTWARE:
        notes.append(f"software: {len(out) - MAX_SOFTWARE} more packages left out")
        out = out[:MAX_SOFTWARE]
    return out


def _interfaces(content: dict) -> list[dict]:
    """One entry per interface name and MAC; the format repeats an interface per address."""
    merged: dict[tuple, dict] = {}
    for entry, path in entries(content, "networks"):
        name = text(entry, "description", path, 128)
        if name is None:
            continue
        mac = text(entry, "mac", path) or text(entry, "macaddr", path)
        mac = mac.lower()[:64] if mac else None
        item = merged.setdefault((name, mac), {"name": name, "mac": mac, "addresses": []})
        for key in ("ipaddress", "ipaddress6"):
            address = text(entry, key, path, 64)
            if address and address not in item["addresses"] and len(item["addresses"]) < 64:
                item["addresses"].append(address)
    return list(merged.values())[:256]


def _bounded(notes: list[str]) -> list[str]:
    clipped = [n if len(n) <= 1024 else n[:1021] + "..." for n in notes]
    if len(clipped) > MAX_NOTES:
        clipped = clipped[:MAX_NOTES - 1] + [f"{len(clipped) - MAX_NOTES + 1} more notes left out"]
    return clipped
