"""What SMBIOS strings mean, whichever OS handed them over.

Linux reads SMBIOS through /sys/class/dmi/id, Windows through WMI
(Win32_ComputerSystem, Win32_BIOS, Win32_SystemEnclosure); the firmware
lies the same way on both ("To Be Filled By O.E.M.", an all-zero UUID), and
GLPI/FusionInventory/OCS agents pass the same strings on. Both probes and the
foreign-inventory converters judge them here, so a device gets the same
identity and class whichever agent saw it.
"""
from __future__ import annotations

import re
from typing import Any, Optional

# Values cheap boards ship in SMBIOS fields instead of real data.
PLACEHOLDERS = frozenset({
    "", "0", "none", "n/a", "na", "unknown", "invalid", "oem", "o.e.m.", "default string",
    "to be filled by o.e.m.", "system serial number", "system manufacturer", "system product name",
    "chassis serial number", "not specified", "not applicable", "not available", "123456789",
    "0123456789", "type1productconfigid", "system version",
})
BAD_UUIDS = frozenset({
    "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "03000200-0400-0500-0006-000700080009", "00020003-0004-0005-0006-000700080009",
})
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# SMBIOS chassis types (DMTF DSP0134, 7.4.1).
CHASSIS_CLASS = {
    **dict.fromkeys((3, 4, 5, 6, 7, 13, 15, 16, 24, 35), "workstation"),
    **dict.fromkeys((8, 9, 10, 14, 30, 31, 32), "laptop"),
    **dict.fromkeys((17, 23, 28, 29), "server"),
}
# Prefixes of vendor/product strings that only hypervisors use (as systemd-detect-virt), compared
# case-insensitively: QEMU's SeaBIOS says "Bochs" to Linux and "BOCHS_" to Windows.
_VM_PREFIXES = tuple(p.casefold() for p in (
    "KVM", "QEMU", "VMware", "VMW", "innotek GmbH", "VirtualBox", "Xen", "Bochs", "Parallels", "BHYVE",
    "OpenStack", "KubeVirt", "Google Compute Engine", "Apple Virtualization", "Hyper-V", "Amazon EC2"))


def is_placeholder(value: Any) -> bool:
    """True for the filler strings firmware puts where a fact should be."""
    return not isinstance(value, str) or value.strip().casefold() in PLACEHOLDERS


def smbios_uuid(value: Any) -> Optional[str]:
    """The SMBIOS UUID in lower case, or None when it is malformed or a known placeholder."""
    if not isinstance(value, str):
        return None
    uuid = value.strip().lower()
    return uuid if _UUID.match(uuid) and uuid not in BAD_UUIDS else None


def names_a_hypervisor(value: Any) -> bool:
    """True when a vendor or product string is one only virtual machines report.

    Bare-metal cloud instances ("...metal") carry the cloud's name but are real hardware.
    """
    if not isinstance(value, str):
        return False
    text = value.strip().casefold()
    return text.startswith(_VM_PREFIXES) and not text.endswith(".metal")
