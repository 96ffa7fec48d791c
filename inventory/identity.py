"""Which device a report speaks for: one rule for our agent, the SSH prober and every foreign inventory.

A machine may report through hdc-agent, through a GLPI/FusionInventory/OCS
agent and through the SSH prober; the collector files reports by device id,
so all of them must derive the same id from what each of them sees. The
rule is stateless (the id follows from the report alone, no lookup of
earlier devices), so any collector, and any replay of old reports, agrees.

The rule, first match wins:

1. **SMBIOS UUID and system serial** -> ``<uuid>/<serial>`` (``id_source``
   ``smbios-uuid``). The UUID survives reinstalls, but boards of a careless
   OEM batch and VMs cloned with "keep UUID" share one; their serials
   differ, so the pair keeps them apart. Both come from the same SMBIOS
   type-1 record: on Linux both files are readable by root only (our agent
   runs as capability-less root; FusionInventory and OCS read them through
   dmidecode as root), on Windows both are readable by everyone (WMI), so a
   source that sees one sees the other and all sources form the same pair.
2. **SMBIOS UUID alone** -> ``<uuid>`` (``smbios-uuid``): the serial is
   missing or a placeholder everywhere the UUID is read.
3. **Serial alone** -> ``serial:<serial>`` (``serial``): no usable UUID.
4. **Primary MAC address and hostname** -> ``mac:<mac>/<hostname>``
   (``mac-hostname``, from report schema version 2). What every source sees even without root: it
   keeps two clones of one disk image apart (their NICs differ, and their
   machine-id, MachineGuid and GLPI DEVICEID do not). The primary MAC is the
   lowest unicast address among the interfaces that are not virtual by
   name (loopback, bridges, containers, VPNs, Hyper-V/VMware/VirtualBox
   host adapters, Bluetooth), universally administered addresses
   preferred over locally administered ones (docker, Wi-Fi Direct, and the
   random MACs of ifb/veth devices are locally administered). The hostname
   is its first DNS label, lower-cased (Windows agents send the NetBIOS name
   in capitals, Linux ones the FQDN or the short name).
5. **The installation's own id**: ``/etc/machine-id`` (``machine-id``),
   Windows' MachineGuid (``machine-guid``) or a foreign agent's DEVICEID
   (``<source>:<deviceid>``, ``foreign``). Stable for one installation, but
   copied with a cloned disk image and replaced by a reinstall.
6. **Hostname** alone (``hostname``), which may be neither unique nor stable.

Placeholders identify nothing: UUIDs and serials are judged by
:mod:`inventory.smbios` plus a check for one repeated character
(``0000000000``), and a refused value gets a note. Known limit: VMs cloned
with both UUID and serial kept (VMware derives the serial from the UUID)
stay one device; clone them with a new UUID ("I copied it").
"""
from __future__ import annotations

import re
from typing import NamedTuple, Optional, Sequence

from .smbios import is_placeholder, smbios_uuid

__all__ = ["Clues", "Interface", "device_identity", "primary_mac", "real_value", "short_hostname"]

MAX_ID = 128
_ALL_SAME = re.compile(r"^(.)\1*$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
# Interface names (Linux, BSD, macOS, Windows connection names) and adapter descriptions (what
# FusionInventory/GLPI send for Windows) of interfaces that are not the machine's own hardware.
_VIRTUAL_NAME = re.compile(
    r"^(lo|docker|veth|br-|virbr|vnet|vmnet|vboxnet|tun|tap|wg|zt|tailscale|cali|flannel|cni|kube|lxc|lxd|"
    r"podman|cilium|vxlan|geneve|ifb|dummy|bond|team|gif|stf|utun|awdl|llw|bridge|anpi|ap\d|p2p|"
    r"vethernet|vpn)"
    r"|hyper-v virtual|virtualbox|vmware (virtual|network adapter)|tap-windows|wan miniport|bluetooth"
    r"|wi-fi direct|hosted network|réseau hébergé|teredo|isatap|pseudo-interface|loopback",
    re.IGNORECASE)


class Interface(NamedTuple):
    """A network interface as an identity clue: its name (or adapter description) and MAC."""

    name: Optional[str]
    mac: Optional[str]


class Clues(NamedTuple):
    """What a source saw that can identify the machine, raw: judging the values is this module's job.

    ``installation_id`` is the source's own id of the OS installation
    (machine-id, MachineGuid, or ``<source>:<deviceid>``) and
    ``installation_source`` its ``id_source`` name. A NamedTuple, not a
    dataclass: the agent imports this on every run of a ward PC.
    """

    smbios_uuid: Optional[str] = None
    serial: Optional[str] = None
    hostname: Optional[str] = None
    interfaces: Sequence[Interface] = ()
    installation_id: Optional[str] = None
    installation_source: str = "foreign"


def real_value(value: Optional[str]) -> Optional[str]:
    """``value`` stripped, unless it is a firmware placeholder (``To Be Filled By O.E.M.``, ``0000000000``)."""
    if value is None or is_placeholder(value) or _ALL_SAME.match(value.strip()):
        return None
    return value.strip()


def short_hostname(hostname: Optional[str]) -> Optional[str]:
    """The first DNS label, lower-cased: ``PC-01``, ``pc-01.ward.local`` and ``pc-01`` are one name."""
    if not hostname:
        return None
    label = hostname.strip().split(".")[0].lower()
    return label[:63] or None


def primary_mac(interfaces: Sequence[Interface]) -> Optional[str]:
    """The lowest hardware unicast MAC by the rule in the module docstring, ``aa:bb:cc:dd:ee:ff``."""
    universal: list[str] = []
    local: list[str] = []
    for interface in interfaces:
        mac = (interface.mac or "").strip().lower().replace("-", ":")
        if not _MAC.match(mac) or (interface.name and _VIRTUAL_NAME.search(interface.name.strip())):
            continue
        first = int(mac[:2], 16)
        if first & 0x01 or mac == "00:00:00:00:00:00":  # multicast, or no address at all
            continue
        (local if first & 0x02 else universal).append(mac)
    chosen = universal or local
    return min(chosen) if chosen else None


def device_identity(clues: Clues, notes: list) -> tuple[str, str]:
    """``(id, id_source)`` by the rule in the module docstring; notes say why a better id was not used."""
    uuid = smbios_uuid(clues.smbios_uuid) if clues.smbios_uuid else None
    if clues.smbios_uuid and uuid is None:
        notes.append(f"device id: SMBIOS UUID {clues.smbios_uuid.strip()[:60]!r} is a placeholder, not an identity")
    serial = real_value(clues.serial)
    if uuid and serial:
        return _pair(uuid, serial), "smbios-uuid"
    if uuid:
        return uuid, "smbios-uuid"
    if serial:
        return _pair("serial:", serial, separator=""), "serial"
    hostname = short_hostname(clues.hostname)
    mac = primary_mac(clues.interfaces)
    if mac and hostname:
        notes.append("device id: no SMBIOS UUID or serial readable; the primary MAC address and the hostname "
                     "identify the device (a renamed host or a new network card makes it a new device)")
        return f"mac:{mac}/{hostname}", "mac-hostname"
    if clues.installation_id:
        notes.append(f"device id: no SMBIOS UUID, serial or MAC address; the {clues.installation_source} is used, "
                     "so a reinstall (or a cloned disk image) changes the device")
        return clues.installation_id[:MAX_ID], clues.installation_source
    if hostname:
        notes.append("device id: only the hostname identifies this device; it may not be unique or stable")
        return hostname, "hostname"
    raise ValueError("nothing identifies the device: no SMBIOS UUID, serial number, MAC address, "
                     "installation id or hostname")


def _pair(first: str, serial: str, separator: str = "/") -> str:
    """``first`` + serial within the id's 128 characters; an overlong serial is replaced by its digest."""
    serial = " ".join(serial.split())
    if len(first) + len(separator) + len(serial) > MAX_ID:
        import hashlib  # only for overlong serials; the agent need not load it on every run

        serial = "sha256-" + hashlib.sha256(serial.encode()).hexdigest()[:48]
    return f"{first}{separator}{serial}"
