"""Report (schema version 3) of one piece of network or power equipment from its SNMP facts.

The report is an ordinary report for the collector: PC facts the device
cannot have (CPU, disks, TPM, BIOS) stay unknown, the firmware stands in for
the OS name, and ``network_device`` carries what SNMP told. Identity follows
the rule every source follows (:mod:`inventory.identity`): the chassis
serial first, then a stable MAC with sysName.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from .identity import Clues, Interface, device_identity
from .report import empty_report
from .schema import EQUIPMENT_VERSION
from .snmp import EquipmentFacts
from .text import clean_hostname, clean_report

_MAX_PORTS = 1024
_MAX_NOTES = 256


def equipment_report(facts: EquipmentFacts, unit_code: str, agent_name: str, agent_version: str,
                     address: str, snmp_version: str, name: Optional[str] = None,
                     location: Optional[str] = None) -> dict[str, Any]:
    """A fresh report (new report id) for ``facts`` read from ``address``, filed under ``unit_code``.

    ``name`` and ``location`` come from the targets file and win over
    sysName/sysLocation: devices often keep their factory name, and the
    officer's name is the one the unit knows the device by.
    """
    report = empty_report(unit_code, agent_name, agent_version, "snmp")
    report["schema_version"] = EQUIPMENT_VERSION
    notes = list(facts.notes)
    # sysName is whatever the device's owner typed: a host name is kept, anything else gives way to the address.
    hostname = clean_hostname(name) or clean_hostname(facts.sys_name) or clean_hostname(address) or "unknown"
    if facts.sys_name and clean_hostname(facts.sys_name) is None and not name:
        notes.append("hostname: the device's sysName is not a host name; its address names it")
    report["device"].update(hostname=hostname, serial=_clip(facts.serial, 128), manufacturer=_clip(facts.vendor, 128),
                            model=_clip(facts.model, 128), **{"class": facts.device_class or "other"})
    if facts.device_class is None:
        notes.append("class: filed as other; set it by hand if the device is network or power equipment")
    ports = facts.ports[:_MAX_PORTS]
    interfaces = [Interface(p.name, p.mac) for p in ports]
    clues = Clues(serial=facts.serial, hostname=name or facts.sys_name, interfaces=interfaces)
    try:
        report["device"]["id"], report["device"]["id_source"] = device_identity(clues, notes)
    except ValueError:
        notes.append("device id: no serial, MAC address or sysName answered; the address identifies the device")
        report["device"]["id"], report["device"]["id_source"] = f"snmp:{address}"[:128], "hostname"
    report["hardware"]["memory_bytes"] = facts.memory_bytes
    report["os"].update(name=_clip(" ".join(filter(None, (facts.vendor, facts.firmware))) or "unknown", 256),
                        version=_clip(facts.firmware, 64))
    report["network"]["interfaces"] = [{"name": p.name, "mac": p.mac} for p in ports[:256]]
    report["network_device"] = {
        "address": address[:255], "snmp_version": snmp_version,
        "sys_object_id": facts.sys_object_id if facts.sys_object_id and len(facts.sys_object_id) <= 256 else None,
        "sys_descr": _clip(facts.sys_descr, 1024), "sys_uptime_seconds": facts.uptime_seconds,
        "location": _clip(location or facts.sys_location, 255), "enterprise": facts.enterprise,
        "classified_by": facts.classified_by[:512] or "no evidence",
        "firmware": _clip(facts.firmware, 256), "hardware_revision": _clip(facts.hardware_revision, 128),
        "software_revision": _clip(facts.software_revision, 256),
        "ports": {"total": len(facts.ethernet_ports()), "up": len(facts.up_ports()),
                  "fastest_up_mbps": facts.fastest_up_mbps(),
                  "up_at_or_below_100_mbps": sum(1 for p in facts.up_ports()
                                                 if p.speed_mbps is not None and p.speed_mbps <= 100),
                  "list": [{"index": p.index, "name": p.name, "type": p.type, "admin": p.admin, "oper": p.oper,
                            "speed_mbps": p.speed_mbps, "mac": p.mac} for p in ports]},
        "printer": facts.printer, "ups": facts.ups,
    }
    if len(notes) > _MAX_NOTES:
        notes = notes[:_MAX_NOTES - 1] + [f"{len(notes) - _MAX_NOTES + 1} more notes left out"]
    report["notes"] = [n[:1024] for n in notes]
    return clean_report(report)  # what the device says is shown on pages: no control or bidi characters


def _clip(text: Optional[str], limit: int) -> Optional[str]:
    return text[:limit] if text else None


def silent_report(device: Mapping[str, Optional[str]], unit_code: str, agent_name: str, agent_version: str,
                  address: str, snmp_version: str, note: str) -> dict[str, Any]:
    """A report for a device that answered before but not now: its identity as last read, every fact unknown.

    Without it a switch that went silent would keep its last good verdict
    and simply age; with it the collector judges the device on unknown facts
    and shows ``note`` (why, and since when), so the unit sees it at once.
    ``device`` holds the ``device`` section of its last report (id,
    id_source, hostname, serial, manufacturer, model, class).
    """
    facts = EquipmentFacts(vendor=device.get("manufacturer"), model=device.get("model"),
                           serial=device.get("serial"), device_class=device.get("class"),
                           classified_by="its class when it last answered")
    report = equipment_report(facts, unit_code, agent_name, agent_version, address, snmp_version,
                              name=device.get("hostname"))
    report["device"].update(id=device["id"], id_source=device["id_source"])
    report["os"]["name"] = "unknown"
    report["network_device"]["ports"] = {"total": None, "up": None, "fastest_up_mbps": None,
                                         "up_at_or_below_100_mbps": None}
    report["notes"] = [note[:1024]]
    return clean_report(report)
