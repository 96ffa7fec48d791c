"""What Windows answers -> report facts: pure functions, no Windows needed.

Every function here takes what Windows returned (a CIM instance as a
property mapping, a registry key as a mapping of value names to values) and
gives report facts, appending to ``notes`` what it could not tell. Keeping
them free of winreg and PowerShell lets them run anywhere on outputs
recorded on real machines, which is the only way a Linux CI can know the
Windows probe reads XP-to-11 machines right.

Values arrive typed (``Get-CimInstance | ConvertTo-Json``, ``winreg``) or as
text (``wmic /format:list``, ``reg export``); every reader here coerces, so
both shapes give the same facts. A query that failed is passed as None,
which is not the same as a query that found nothing (``[]``): no TPM
instance means no TPM, a failed TPM query means unknown.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any, Iterable, Mapping, Optional, Sequence

from inventory.identity import Clues
from inventory.smbios import CHASSIS_CLASS, is_placeholder, names_a_hypervisor

Instance = Mapping[str, Any]
Instances = Optional[Sequence[Instance]]

MAX_SOFTWARE = 20000
_CPUID = re.compile(r"Family\s+(\d+)\s+Model\s+(\d+)\s+Stepping\s+(\d+)", re.IGNORECASE)
_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
_SERVER_NAME = re.compile(r"Server\s+(\d{4})(\s+R2)?", re.IGNORECASE)
_SPEC_VERSION = re.compile(r"^\s*(\d+\.\d+)")
# Hotfixes of the XP/2003 era registered under their KB (or older Q) number.
_HOTFIX_KEY = re.compile(r"^(KB|Q)\d{5,}", re.IGNORECASE)
# ReleaseType values Programs and Features lists under "Installed updates", not as programs.
_UPDATE_RELEASE_TYPES = {"security update", "update", "hotfix", "%hotfix%", "update rollup",
                         "software update", "service pack"}

# Win32_ComputerSystem.PCSystemType(Ex) (Ex adds 8, a slate), where the enclosure says nothing usable.
_PC_SYSTEM_CLASS = {1: "workstation", 3: "workstation", 6: "workstation", 2: "laptop", 8: "laptop",
                    4: "server", 5: "server", 7: "server"}
# MSFT_PhysicalDisk.MediaType and .BusType.
_MSFT_MEDIA = {3: "hdd", 4: "ssd", 5: "ssd"}
_BUS_NVME, _BUS_USB, _BUS_FILE_BACKED = 17, 7, 15
# Windows Server releases by build, for product names that do not carry the year.
_SERVER_BUILDS = {3790: "2003", 6001: "2008", 6002: "2008", 6003: "2008", 7600: "2008 R2", 7601: "2008 R2",
                  9200: "2012", 9600: "2012 R2", 14393: "2016", 17763: "2019", 20348: "2022", 26100: "2025"}
_CLIENT_VERSIONS = {"6.3": "8.1", "6.2": "8", "6.1": "7", "6.0": "Vista", "5.2": "XP", "5.1": "XP"}
_ARCHITECTURES = {"amd64": "x86_64", "x86": "x86", "arm64": "aarch64", "ia64": "ia64"}


# --- coercion: typed JSON/winreg values and wmic/reg text alike -------------------------------

def text(value: Any, limit: int = 256) -> Optional[str]:
    """A trimmed string (NULs some installers leave are dropped), or None when empty."""
    if value is None or isinstance(value, (bytes, list, dict, bool)):
        return None
    result = " ".join(str(value).replace("\x00", " ").split())
    return result[:limit] if result else None


def integer(value: Any) -> Optional[int]:
    """An int from a JSON number, a registry DWORD or decimal text; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def flag(value: Any) -> Optional[bool]:
    """A boolean from JSON true/false, a DWORD 0/1 or wmic's TRUE/FALSE."""
    if isinstance(value, bool):
        return value
    number = integer(value)
    if number is not None:
        return number != 0
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def items(value: Any) -> list:
    """A CIM array property as a list (ConvertTo-Json gives a scalar for one element)."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _bounded(value: Any, maximum: int) -> Optional[int]:
    number = integer(value)
    return number if number is not None and 0 <= number <= maximum else None


def _first(instances: Instances) -> Instance:
    return instances[0] if instances else {}


def _smbios_text(value: Any, what: str, notes: list, limit: int = 128) -> Optional[str]:
    result = text(value, limit)
    if result is not None and is_placeholder(result):
        notes.append(f"{what}: firmware placeholder {result!r} ignored")
        return None
    return result


def cim_date(value: Any) -> Optional[str]:
    """YYYY-MM-DD from a CIM datetime (``20140401000000.000000+000``) or an ISO date.

    The probe's PowerShell formats dates itself, because ConvertTo-Json's
    ``/Date(ms)/`` is a UTC instant that can fall on the previous day.
    """
    raw = text(value, 64)
    if raw is None:
        return None
    match = re.match(r"^(\d{4})-?(\d{2})-?(\d{2})", raw)
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups())).isoformat()
    except ValueError:
        return None


# --- CPU and memory --------------------------------------------------------------------------

def parse_cpu(cpu0: Optional[Mapping[str, Any]], processors: Instances, notes: list,
              fallback_cores: tuple = (None, None)) -> dict:
    """CPU identity from ``HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0`` and Win32_Processor.

    The registry's ``Identifier`` ("Intel64 Family 6 Model 158 Stepping 10")
    carries the CPUID numbers CPU-support lists are keyed on; Win32_Processor's
    ``Family`` is an SMBIOS code (179 = Xeon), not the CPUID family, so it is
    never used. Core counts add up every socket. ``fallback_cores`` (psutil's
    logical, physical) fill in when Win32_Processor could not be read.
    """
    cpu0 = cpu0 or {}
    processors = list(processors or [])
    first = _first(processors)
    cpu = {
        "model": text(cpu0.get("ProcessorNameString")) or text(first.get("Name")),
        "vendor": text(cpu0.get("VendorIdentifier"), 64) or text(first.get("Manufacturer"), 64),
        "family": None, "model_number": None, "stepping": None,
        "logical_cores": _core_sum(processors, "NumberOfLogicalProcessors") or fallback_cores[0],
        "physical_cores": _core_sum(processors, "NumberOfCores") or fallback_cores[1],
        "max_mhz": None,
    }
    identity = _cpuid(cpu0.get("Identifier")) or _cpuid(first.get("Caption")) or _cpuid(first.get("Description"))
    revision = integer(first.get("Revision"))
    if identity is None and integer(first.get("Level")) and revision is not None:
        # Level is the CPUID family; Revision packs model (high byte) and stepping (low byte).
        identity = (integer(first["Level"]), revision >> 8, revision & 0xFF)
    if identity is not None:
        cpu["family"], cpu["model_number"], cpu["stepping"] = (_bounded(n, 1024) for n in identity)
    elif cpu0 or processors:
        notes.append("cpu: neither the registry Identifier nor Win32_Processor gives family/model/stepping")
    mhz = integer(first.get("MaxClockSpeed")) or integer(cpu0.get("~MHz"))
    if mhz and 0 < mhz <= 100000:
        cpu["max_mhz"] = float(mhz)
    models = {name for p in processors if (name := text(p.get("Name")))}
    if len(models) > 1:
        notes.append(f"cpu: {len(processors)} processors of different models: {', '.join(sorted(models))}")
    if not cpu0 and not processors:
        notes.append("cpu: neither the registry nor Win32_Processor could be read")
    return cpu


def _cpuid(value: Any) -> Optional[tuple]:
    match = _CPUID.search(text(value) or "")
    return tuple(int(g) for g in match.groups()) if match else None


def _core_sum(processors: Sequence[Instance], key: str) -> Optional[int]:
    counts = [integer(p.get(key)) for p in processors]
    positive = [c for c in counts if c is not None and c > 0]
    if not counts or len(positive) != len(counts):
        return None  # XP before SP3 has no core counts; a partial sum would understate
    return sum(positive)


def parse_memory(modules: Instances, computer_system: Optional[Instance], notes: list) -> Optional[int]:
    """Installed memory: the sum of Win32_PhysicalMemory.Capacity over the modules.

    Falls back to Win32_ComputerSystem.TotalPhysicalMemory, which is what
    Windows can use (firmware and graphics take their share), with a note.
    """
    capacities = [integer(m.get("Capacity")) for m in modules or []]
    sizes = [c for c in capacities if c is not None and c > 0]
    if capacities and len(sizes) == len(capacities):
        return sum(sizes)
    total = integer((computer_system or {}).get("TotalPhysicalMemory"))
    if total:
        notes.append("memory: module sizes unavailable; reporting the memory visible to Windows")
        return total
    notes.append("memory: neither Win32_PhysicalMemory nor Win32_ComputerSystem gave a size")
    return None


# --- disks ------------------------------------------------------------------------------------

def parse_disks(disk_drives: Instances, physical_disks: Instances, system_index: Optional[int],
                notes: list) -> list:
    """Fixed disks from Win32_DiskDrive, with SSD/HDD from MSFT_PhysicalDisk (Windows 8 and later).

    MSFT_PhysicalDisk's MediaType is what Windows itself uses to decide
    between TRIM and defragmenting; an NVMe bus is always solid state.
    Windows 7 has no such class, and virtual disks report "unspecified", so
    media stays unknown there rather than being guessed from the model name.
    USB and file-backed (mounted VHD) disks are not the machine's disks.
    """
    by_number = {integer(d.get("DeviceId")): d for d in physical_disks or []}
    disks: list[dict[str, Any]] = []
    for drive in sorted(disk_drives or [], key=lambda d: integer(d.get("Index")) or 0):
        index = integer(drive.get("Index"))
        msft = by_number.get(index, {})
        if text(drive.get("InterfaceType")) == "USB" or integer(msft.get("BusType")) in (_BUS_USB, _BUS_FILE_BACKED):
            continue
        if "removable" in (text(drive.get("MediaType")) or "").lower():
            continue
        name = (text(drive.get("DeviceID")) or f"PHYSICALDRIVE{index}").replace("\\\\.\\", "")
        disks.append({
            "name": name,
            "model": text(drive.get("Model")) or text(msft.get("FriendlyName")),
            "size_bytes": integer(msft.get("Size")) or integer(drive.get("Size")),
            "media": _msft_media(msft),
            "system": (index == system_index) if system_index is not None else None,
        })
    if not disks and physical_disks:
        for number, msft in sorted((k, v) for k, v in by_number.items() if k is not None):
            if integer(msft.get("BusType")) in (_BUS_USB, _BUS_FILE_BACKED):
                continue
            disks.append({"name": f"PHYSICALDRIVE{number}",
                          "model": text(msft.get("FriendlyName")) or text(msft.get("Model")),
                          "size_bytes": integer(msft.get("Size")), "media": _msft_media(msft),
                          "system": (number == system_index) if system_index is not None else None})
    if physical_disks is None:
        notes.append("disk media: MSFT_PhysicalDisk unavailable (Windows 7 or older, or the query failed); "
                     "SSD or HDD unknown")
    elif any(d["media"] == "unknown" for d in disks):
        names = ", ".join(d["name"] for d in disks if d["media"] == "unknown")
        notes.append(f"disk media: Windows reports no media type for {names} (virtual disk or old driver)")
    return disks[:256]


def _msft_media(msft: Instance) -> str:
    if integer(msft.get("BusType")) == _BUS_NVME:
        return "ssd"
    media_type = integer(msft.get("MediaType"))
    return _MSFT_MEDIA.get(media_type, "unknown") if media_type is not None else "unknown"


def parse_system_disk(logical_disks: Instances, system_drive: str, disks: Sequence[dict], notes: list) -> dict:
    """The system volume (``C:``): size and free space from Win32_LogicalDisk, media from its disk."""
    drive = (system_drive or "C:").rstrip("\\").upper()
    volume = next((v for v in logical_disks or [] if (text(v.get("DeviceID")) or "").upper() == drive), None)
    result: dict[str, Any] = {"mount": drive, "size_bytes": None, "free_bytes": None, "media": "unknown"}
    if volume is None:
        notes.append(f"system disk: no volume {drive} among the logical disks")
    else:
        result["size_bytes"], result["free_bytes"] = integer(volume.get("Size")), integer(volume.get("FreeSpace"))
    system = [d for d in disks if d.get("system")]
    if len(system) == 1:
        result["media"] = system[0]["media"]
    elif not system:
        notes.append(f"system disk media: the disk holding {drive} is not known")
    return result


# --- firmware ---------------------------------------------------------------------------------

def parse_firmware(control: Optional[Mapping[str, Any]], secure_boot_state: Optional[Mapping[str, Any]],
                   tpms: Instances, bios: Optional[Instance], notes: list) -> dict:
    """Boot mode, Secure Boot, TPM and BIOS.

    ``control`` is ``HKLM\\SYSTEM\\CurrentControlSet\\Control`` (its
    PEFirmwareType: 1 BIOS, 2 UEFI, written since Windows 8);
    ``secure_boot_state`` is ``...\\Control\\SecureBoot\\State`` (absent on
    legacy boots); ``tpms`` are Win32_Tpm instances, where none means no
    TPM the OS can use (absent, or switched off in the firmware).
    """
    firmware = {"boot_mode": "unknown", "secure_boot": "unknown",
                "tpm": parse_tpm(tpms, notes), "bios": parse_bios(bios, notes)}
    firmware_type = integer((control or {}).get("PEFirmwareType"))
    if firmware_type == 1:
        firmware["boot_mode"], firmware["secure_boot"] = "legacy", "unsupported"
        notes.append("secure boot: unsupported in legacy (BIOS/CSM) boot mode")
        return firmware
    if firmware_type == 2:
        firmware["boot_mode"] = "uefi"
    else:
        notes.append("boot mode: PEFirmwareType not recorded (Windows 7 or older); UEFI or legacy unknown")
    enabled = flag((secure_boot_state or {}).get("UEFISecureBootEnabled"))
    if enabled is not None:
        firmware["secure_boot"] = "enabled" if enabled else "disabled"
    elif firmware_type == 2:
        notes.append("secure boot: UEFISecureBootEnabled not recorded by Windows; state unknown")
    return firmware


def parse_tpm(tpms: Instances, notes: list) -> dict:
    """TPM presence and the highest specification it implements (SpecVersion "2.0, 0, 1.38" -> "2.0")."""
    if tpms is None:
        return {"present": "unknown", "spec_version": None}
    if not tpms:
        notes.append("tpm: Windows sees no TPM (none fitted, or switched off in the firmware setup)")
        return {"present": "no", "spec_version": None}
    tpm = tpms[0]
    match = _SPEC_VERSION.match(text(tpm.get("SpecVersion")) or "")
    if match is None:
        notes.append("tpm: present, but Win32_Tpm gives no SpecVersion")
    if flag(tpm.get("IsEnabled_InitialValue")) is False:
        notes.append("tpm: present but disabled")
    return {"present": "yes", "spec_version": match.group(1) if match else None}


def parse_bios(bios: Optional[Instance], notes: list) -> dict:
    """Win32_BIOS vendor, version (the SMBIOS one when present) and release date."""
    bios = bios or {}
    version = text(bios.get("SMBIOSBIOSVersion"), 128) or text(bios.get("Version"), 128)
    result = {"vendor": _smbios_text(bios.get("Manufacturer"), "bios vendor", notes),
              "version": None if version is None or is_placeholder(version) else version,
              "date": cim_date(bios.get("ReleaseDate"))}
    if bios and result["date"] is None and text(bios.get("ReleaseDate")):
        notes.append(f"bios date: {text(bios.get('ReleaseDate'), 40)!r} is not a date")
    return result


# --- device -----------------------------------------------------------------------------------

def parse_device(computer_system: Optional[Instance], product: Optional[Instance], enclosure: Optional[Instance],
                 bios: Optional[Instance], fallback_hostname: str, notes: list) -> dict:
    """Hostname, serial, maker and class; the id is the builder's (:func:`identity_clues`)."""
    cs, product, enclosure, bios = computer_system or {}, product or {}, enclosure or {}, bios or {}
    hostname = text(cs.get("DNSHostName"), 255) or text(cs.get("Name"), 255) or text(fallback_hostname, 255)
    if hostname is None:
        notes.append("hostname: empty")
        hostname = "unknown"
    serial = _smbios_text(bios.get("SerialNumber"), "serial", notes)
    if serial is None and not is_placeholder(text(product.get("IdentifyingNumber"))):
        serial = text(product.get("IdentifyingNumber"), 128)
    return {"hostname": hostname, "serial": serial,
            "manufacturer": _smbios_text(cs.get("Manufacturer"), "manufacturer", notes),
            "model": _smbios_text(cs.get("Model"), "model", notes),
            "class": _device_class(cs, enclosure, bios, notes)}


def identity_clues(product: Optional[Instance], machine_guid: Any) -> Clues:
    """What Windows tells about the machine's identity, raw, for :func:`inventory.identity.device_identity`.

    The SMBIOS UUID (Win32_ComputerSystemProduct.UUID) is what the Linux
    probe and foreign agents read too, so a dual-boot or reinstalled PC stays
    one device; MachineGuid, which lasts until Windows is reinstalled, is the
    installation's own id. Judging placeholders is the identity rule's job.
    """
    guid = _GUID.match(text(machine_guid, 64) or "")
    return Clues(smbios_uuid=text((product or {}).get("UUID"), 64),
                 installation_id=guid.group(1).lower() if guid else None, installation_source="machine-guid")


def _device_class(cs: Instance, enclosure: Instance, bios: Instance, notes: list) -> str:
    """A VM first (its enclosure says "Other"), then the SMBIOS chassis, then Windows' own PC type.

    HypervisorPresent is not used: it is also true on real PCs running
    virtualization-based security.
    """
    manufacturer, model = text(cs.get("Manufacturer")) or "", text(cs.get("Model")) or ""
    if any(names_a_hypervisor(v) for v in (manufacturer, model, text(bios.get("Manufacturer")))) or \
            (manufacturer == "Microsoft Corporation" and model == "Virtual Machine"):
        return "virtual_machine"
    chassis = [integer(c) for c in items(enclosure.get("ChassisTypes"))]
    for kind in chassis:
        if kind in CHASSIS_CLASS:
            return CHASSIS_CLASS[kind]
    pc_system_type = integer(cs.get("PCSystemTypeEx")) or integer(cs.get("PCSystemType"))
    pc_type = _PC_SYSTEM_CLASS.get(pc_system_type) if pc_system_type is not None else None
    if pc_type is not None:
        return pc_type
    notes.append(f"device class: neither chassis type {chassis or 'unknown'} nor PC system type says "
                 "desktop, laptop or server")
    return "other"


# --- operating system -------------------------------------------------------------------------

def parse_os(current_version: Optional[Mapping[str, Any]], architecture: Optional[str], notes: list) -> dict:
    """OS facts from ``HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion``.

    Shaped for the end-of-support table (inventory/lifecycle.py): id
    ``windows`` or ``windows-server``, version ``11``/``10``/``7``/``2019``,
    release = DisplayVersion (``23H2``; ReleaseId before 20H2), edition =
    EditionID, build ``CurrentBuild.UBR``. Windows 11 still writes
    "Windows 10" in ProductName, so the build decides 10 or 11.
    """
    cv = current_version or {}
    os_facts = {"family": "windows", "name": "Windows", "id": "windows", "version": None, "release": None,
                "edition": text(cv.get("EditionID"), 64), "build": None, "kernel": None,
                "architecture": _ARCHITECTURES.get((architecture or "").lower(), text(architecture, 32))}
    if not cv:
        notes.append("os: HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion unreadable; version unknown")
        return os_facts
    product = text(cv.get("ProductName")) or "Windows"
    build = integer(cv.get("CurrentBuild")) or integer(cv.get("CurrentBuildNumber"))
    ubr = integer(cv.get("UBR"))
    installation = (text(cv.get("InstallationType")) or "").lower()
    server = installation.startswith(("server", "nano")) or (not installation and "server" in product.lower()) \
        or (text(cv.get("EditionID")) or "").lower().startswith("server")
    os_facts["id"] = "windows-server" if server else "windows"
    os_facts["version"] = _server_version(product, build) if server else _client_version(cv, build)
    os_facts["release"] = text(cv.get("DisplayVersion"), 64) or text(cv.get("ReleaseId"), 64)
    if build is not None:
        os_facts["build"] = f"{build}.{ubr}" if ubr is not None else str(build)
        major, minor = integer(cv.get("CurrentMajorVersionNumber")), integer(cv.get("CurrentMinorVersionNumber"))
        base = f"{major}.{minor}" if major is not None and minor is not None else text(cv.get("CurrentVersion"), 16)
        os_facts["kernel"] = f"{base}.{build}" if base else None
    if not server and build is not None and build >= 22000:
        product = product.replace("Windows 10", "Windows 11")
    service_pack = text(cv.get("CSDVersion"), 64)
    os_facts["name"] = f"{product} {service_pack}" if service_pack else product
    if os_facts["version"] is None:
        notes.append(f"os: cannot tell the Windows version of {product!r} build {build}")
    return os_facts


def _client_version(cv: Mapping[str, Any], build: Optional[int]) -> Optional[str]:
    if build is not None and build >= 22000:
        return "11"
    if build is not None and build >= 10240:
        return "10"
    return _CLIENT_VERSIONS.get(text(cv.get("CurrentVersion"), 8) or "")


def _server_version(product: str, build: Optional[int]) -> Optional[str]:
    match = _SERVER_NAME.search(product)
    if match:
        return match.group(1) + (" R2" if match.group(2) else "")
    return _SERVER_BUILDS.get(build) if build is not None else None


# --- installed software -----------------------------------------------------------------------

def parse_software(hives: Iterable[Mapping[str, Mapping[str, Any]]], notes: list) -> list:
    """Installed programs as Programs and Features lists them, from Uninstall keys.

    ``hives`` are the Uninstall keys read (64-bit, 32-bit WOW6432Node,
    per-user), each a mapping of subkey name to its values. Left out, as
    Programs and Features leaves them out: entries without DisplayName,
    system components (SystemComponent=1), updates and patches of another
    entry (ParentKeyName, or a ReleaseType such as "Security Update") and
    XP-era hotfixes registered under their KB number. The same program seen
    twice (both registry views, or machine and user) is listed once.
    Entries without an UninstallString are kept although Programs and
    Features hides them: software copied by a script is still installed.
    """
    seen, software = set(), []
    for hive in hives:
        for key, values in hive.items():
            entry = _program(key, values)
            if entry is None:
                continue
            identity = (entry["name"].casefold(), (entry["version"] or "").casefold())
            if identity in seen:
                continue
            seen.add(identity)
            software.append(entry)
    software.sort(key=lambda e: (e["name"].casefold(), e["version"] or ""))
    if len(software) > MAX_SOFTWARE:
        notes.append(f"software: {len(software) - MAX_SOFTWARE} more programs left out")
        software = software[:MAX_SOFTWARE]
    return software


def _program(key: str, values: Mapping[str, Any]) -> Optional[dict]:
    name = text(values.get("DisplayName"), 512)
    if name is None or flag(values.get("SystemComponent")):
        return None
    if text(values.get("ParentKeyName")) or (text(values.get("ReleaseType")) or "").lower() in _UPDATE_RELEASE_TYPES:
        return None
    if _HOTFIX_KEY.match(key):
        return None
    publisher = text(values.get("Publisher"), 512)
    # Installers write Vietnamese composed or decomposed; one form keeps one program one entry.
    return {"name": unicodedata.normalize("NFC", name), "version": text(values.get("DisplayVersion"), 256),
            "publisher": unicodedata.normalize("NFC", publisher) if publisher else None}
