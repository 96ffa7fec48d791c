"""Facts about network and power equipment from what its SNMP agent answered (OID -> value), and its class.

No SNMP library here: a probe walks the subtrees in :data:`SUBTREES` (plus
the vendor objects of ``data/snmp-enterprises.yaml``) and hands over a plain
mapping whose values are ``bytes`` (OCTET STRING), ``int`` (INTEGER,
counters, gauges, TimeTicks) or ``str`` (OBJECT IDENTIFIER, IpAddress).
Devices answer partly and sometimes nonsense (a number where text belongs,
a truncated string); every such value becomes an unknown fact and a note,
never an exception, because one odd printer must not cost a unit its report.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

from .snmp_vendors import Enterprises, Vendor, shipped_enterprises

Value = Union[bytes, int, str]

# SNMPv2-MIB system group
SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0"
SYS_NAME, SYS_LOCATION = "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.6.0"
# ENTITY-MIB entPhysicalTable columns
_ENT = "1.3.6.1.2.1.47.1.1.1.1"
_ENT_DESCR, _ENT_CLASS, _ENT_NAME, _ENT_HW, _ENT_FW, _ENT_SW, _ENT_SERIAL, _ENT_MODEL = (
    f"{_ENT}.{n}" for n in (2, 5, 7, 8, 9, 10, 11, 13))
_CHASSIS = 3
# IF-MIB
_IF_DESCR, _IF_TYPE, _IF_SPEED, _IF_MAC, _IF_ADMIN, _IF_OPER = (f"1.3.6.1.2.1.2.2.1.{n}" for n in (2, 3, 5, 6, 7, 8))
_IF_NAME, _IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.1", "1.3.6.1.2.1.31.1.1.1.15"
_ETHERNET_TYPES = frozenset((6, 62, 69, 117))  # ethernetCsmacd, fastEther, fastEtherFX, gigabitEthernet
# Status tables are looked up with _Reader.number(), None when unanswered: that gives the default.
_ADMIN: dict[Optional[int], str] = {1: "up", 2: "down", 3: "testing"}
_OPER: dict[Optional[int], str] = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "not_present",
                                   7: "lower_layer_down"}
# HOST-RESOURCES-MIB
_HR_MEMORY, _HR_DEVICE_TYPE, _HR_DEVICE_DESCR = "1.3.6.1.2.1.25.2.2.0", "1.3.6.1.2.1.25.3.2.1.2", \
    "1.3.6.1.2.1.25.3.2.1.3"
_HR_PRINTER_TYPE = "1.3.6.1.2.1.25.3.1.5"
# Printer-MIB
_PRT = "1.3.6.1.2.1.43"
_PRT_SERIAL, _PRT_PAGES = f"{_PRT}.5.1.1.17", f"{_PRT}.10.2.1.4"
_PRT_SUPPLY_DESCR, _PRT_SUPPLY_MAX, _PRT_SUPPLY_LEVEL = (f"{_PRT}.11.1.1.{n}" for n in (6, 8, 9))
# UPS-MIB (RFC 1628)
_UPS = "1.3.6.1.2.1.33"
_UPS_MANUFACTURER, _UPS_MODEL, _UPS_FIRMWARE = (f"{_UPS}.1.1.{n}.0" for n in (1, 2, 3))
_UPS_BATTERY_STATUS, _UPS_MINUTES, _UPS_CHARGE = (f"{_UPS}.1.2.{n}.0" for n in (1, 3, 4))
_UPS_LOAD, _UPS_ALARM_DESCR, _UPS_ALARM_BATTERY_BAD = f"{_UPS}.1.4.4.1.5", f"{_UPS}.1.6.2.1.2", f"{_UPS}.1.6.3.1"
_UPS_STATUS: dict[Optional[int], str] = {1: "unknown", 2: "normal", 3: "low", 4: "depleted"}
# APC PowerNet-MIB and CyberPower CPS-MIB: the same layout under two enterprises.
_APC, _CPS = "1.3.6.1.4.1.318.1.1.1", "1.3.6.1.4.1.3808.1.1.1"
_VENDOR_UPS = {
    "apc-powernet": dict(status=f"{_APC}.2.1.1.0", charge=f"{_APC}.2.2.1.0", runtime=f"{_APC}.2.2.3.0",
                         replace=f"{_APC}.2.2.4.0", load=f"{_APC}.4.2.3.0"),
    "cyberpower": dict(status=f"{_CPS}.2.1.1.0", charge=f"{_CPS}.2.2.1.0", runtime=f"{_CPS}.2.2.4.0",
                       replace=f"{_CPS}.2.2.5.0", load=f"{_CPS}.4.2.3.0"),
}
_VENDOR_STATUS: dict[Optional[int], str] = {1: "unknown", 2: "normal", 3: "low", 4: "fault"}
_REPLACE: dict[Optional[int], str] = {1: "no", 2: "yes"}
_ENTERPRISES = "1.3.6.1.4.1."

# What a probe walks (GETBULK, each subtree only): the tables above, nothing else of the device.
SUBTREES = (
    "1.3.6.1.2.1.1",            # system
    "1.3.6.1.2.1.2.2.1",        # ifTable
    "1.3.6.1.2.1.31.1.1.1.1",   # ifName
    "1.3.6.1.2.1.31.1.1.1.15",  # ifHighSpeed
    _ENT,                        # entPhysicalTable
    "1.3.6.1.2.1.25.2.2",       # hrMemorySize
    "1.3.6.1.2.1.25.3.2.1",     # hrDeviceTable
    f"{_PRT}.5.1.1",            # prtGeneralTable
    f"{_PRT}.10.2.1.4",         # prtMarkerLifeCount
    f"{_PRT}.11.1.1",           # prtMarkerSuppliesTable
    f"{_UPS}.1",                # upsObjects
    f"{_APC}.1",                # PowerNet upsIdent
    f"{_APC}.2",                # PowerNet upsBattery
    f"{_APC}.4",                # PowerNet upsOutput
    f"{_CPS}.1",                # CPS upsIdent
    f"{_CPS}.2",                # CPS upsBattery
    f"{_CPS}.4",                # CPS upsOutput
)


@dataclass
class Port:
    index: int
    name: str
    type: Optional[int]
    admin: str
    oper: str
    speed_mbps: Optional[int]
    mac: Optional[str]


@dataclass
class EquipmentFacts:
    """Everything read about one device; None is unknown."""

    sys_descr: Optional[str] = None
    sys_object_id: Optional[str] = None
    sys_name: Optional[str] = None
    sys_location: Optional[str] = None
    uptime_seconds: Optional[int] = None
    enterprise: Optional[int] = None
    vendor: Optional[str] = None
    device_class: Optional[str] = None
    classified_by: str = ""
    model: Optional[str] = None
    serial: Optional[str] = None
    firmware: Optional[str] = None
    hardware_revision: Optional[str] = None
    software_revision: Optional[str] = None
    memory_bytes: Optional[int] = None
    ports: list = field(default_factory=list)
    printer: Optional[dict] = None
    ups: Optional[dict] = None
    notes: list = field(default_factory=list)

    def ethernet_ports(self) -> list:
        return [p for p in self.ports if p.type in _ETHERNET_TYPES]

    def up_ports(self) -> list:
        return [p for p in self.ethernet_ports() if p.oper == "up" and p.admin == "up"]

    def fastest_up_mbps(self) -> Optional[int]:
        speeds = [p.speed_mbps for p in self.up_ports() if p.speed_mbps]
        return max(speeds) if speeds else None


class _Reader:
    """Typed reads of the answers; a wrong-typed value is noted once and read as unknown."""

    def __init__(self, values: Mapping[str, Value], notes: list):
        self.values, self.notes = values, notes

    def text(self, oid: str, what: str) -> Optional[str]:
        value = self.values.get(oid)
        if value is None:
            return None
        if isinstance(value, bytes):
            text = _decode(value)
            return text or None
        if isinstance(value, str):  # an OID or address answered where text belongs: keep it, it is text
            return value.strip() or None
        self.notes.append(f"{what} ({oid}) answered the number {value}, not text; left unknown")
        return None

    def number(self, oid: str, what: str) -> Optional[int]:
        value = self.values.get(oid)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        self.notes.append(f"{what} ({oid}) answered {_show(value)}, not a number; left unknown")
        return None

    def column(self, prefix: str) -> dict[str, Value]:
        """A table column as {row index: value}."""
        start = prefix + "."
        return {oid[len(start):]: v for oid, v in self.values.items() if oid.startswith(start)}

    def has(self, prefix: str) -> bool:
        start = prefix + "."
        return any(oid.startswith(start) for oid in self.values)


def extract(values: Mapping[str, Value], enterprises: Optional[Enterprises] = None) -> EquipmentFacts:
    """The facts in ``values`` (OID without a leading dot -> value); never raises on odd answers."""
    enterprises = enterprises or shipped_enterprises()
    facts = EquipmentFacts()
    r = _Reader({oid.lstrip("."): v for oid, v in values.items()}, facts.notes)
    facts.sys_descr = r.text(SYS_DESCR, "sysDescr")
    facts.sys_object_id = _oid(r.values.get(SYS_OBJECT_ID), facts.notes)
    facts.sys_name = r.text(SYS_NAME, "sysName")
    facts.sys_location = r.text(SYS_LOCATION, "sysLocation")
    ticks = r.number(SYS_UPTIME, "sysUpTime")
    facts.uptime_seconds = ticks // 100 if ticks is not None and ticks >= 0 else None
    vendor = _vendor(facts, r, enterprises)
    chassis = _chassis(r)
    facts.ports = _ports(r)
    memory = r.number(_HR_MEMORY, "hrMemorySize")
    facts.memory_bytes = memory * 1024 if memory is not None and memory >= 0 else None
    facts.printer = _printer(r) if r.has(_PRT) else None
    facts.ups = _ups(r)
    _identify(facts, r, vendor, chassis)
    facts.device_class, facts.classified_by = _classify(facts, r, vendor)
    return facts


def _classify(facts: EquipmentFacts, r: _Reader, vendor: Optional[Vendor]) -> tuple[Optional[str], str]:
    """The device class and the answer that decided it, strongest evidence first."""
    if r.has(_PRT) or any(v == _HR_PRINTER_TYPE for v in r.column(_HR_DEVICE_TYPE).values()):
        return "printer", "answers the Printer-MIB (1.3.6.1.2.1.43)"
    if facts.ups is not None:
        return "ups", f"answers UPS battery objects ({facts.ups['source']})"
    if vendor is not None and facts.sys_object_id:
        found = vendor.class_of(facts.sys_object_id)
        if found:
            return found[0], f"sysObjectID {facts.sys_object_id} is under {found[1]}, {vendor.name}'s {found[0]} line"
    if vendor is not None and facts.enterprise != _enterprise(facts.sys_object_id):  # behind a generic agent
        for prefix, cls in vendor.classes.items():
            if r.has(prefix):
                return cls, f"generic agent, but {vendor.name}'s MIB answers under {prefix}"
    descr = facts.sys_descr or ""
    for pattern, cls in _DESCR_CLASSES:
        hit = pattern.search(descr)
        if hit:
            return cls, f"sysDescr mentions {hit.group(0)!r}"
    facts.notes.append("class: nothing the device answered says what it is; filed as a switch only if it has "
                       "many Ethernet ports, otherwise left unclassified")
    if len(facts.ethernet_ports()) >= 8:
        return "switch", f"{len(facts.ethernet_ports())} Ethernet ports and no other evidence"
    return None, "no evidence"


_DESCR_CLASSES = tuple((re.compile(p, re.IGNORECASE), c) for p, c in (
    (r"firewall|fortigate|\bASA\b|pfsense|opnsense", "firewall"),
    (r"access point|\bUAP-|\bAP-\d|wireless", "access_point"),
    (r"diskstation|rackstation|\bNAS\b", "nas"),
    (r"\bUPS\b|smart-ups|power ?manager", "ups"),
    (r"switch", "switch"),
    (r"router|routeros|\bISR\d", "router"),
))


# --------------------------------------------------------------------------- pieces

def _vendor(facts: EquipmentFacts, r: _Reader, enterprises: Enterprises) -> Optional[Vendor]:
    """The vendor of sysObjectID's enterprise; for a generic agent, the first vendor whose subtree answered."""
    number = _enterprise(facts.sys_object_id)
    if number is not None and number in enterprises.generic_agents:
        answered = sorted({int(oid[len(_ENTERPRISES):].split(".")[0]) for oid in r.values
                           if oid.startswith(_ENTERPRISES) and oid[len(_ENTERPRISES):].split(".")[0].isdigit()})
        own = [n for n in answered if n in enterprises.vendors and n not in enterprises.generic_agents]
        if own:
            number = own[0]
        else:
            facts.notes.append(f"vendor: sysObjectID {facts.sys_object_id} is a generic agent's and no vendor MIB "
                               "answered")
    facts.enterprise = number
    vendor = enterprises.vendors.get(number) if number is not None else None
    if vendor is not None:
        facts.vendor = vendor.name
    elif number is not None and number not in enterprises.generic_agents:
        facts.notes.append(f"vendor: enterprise number {number} is not in the vendor table (snmp-enterprises.yaml)")
    return vendor


def _chassis(r: _Reader) -> dict[str, Optional[str]]:
    """The ENTITY-MIB chassis row (the lowest index of class chassis): model, serial and revisions."""
    classes = r.column(_ENT_CLASS)
    rows = sorted(int(i) for i, v in classes.items() if v == _CHASSIS and i.isdigit())
    if not rows:  # no entPhysicalClass answered (FortiGate): the first row naming a model or serial
        named = {**r.column(_ENT_MODEL), **r.column(_ENT_SERIAL)}
        rows = sorted(int(i) for i, v in named.items() if i.isdigit() and isinstance(v, bytes) and _decode(v))
    if not rows:
        return {}
    row = str(rows[0])
    return {key: r.text(f"{column}.{row}", f"ENTITY-MIB {key}") for key, column in (
        ("descr", _ENT_DESCR), ("model", _ENT_MODEL), ("serial", _ENT_SERIAL), ("hardware", _ENT_HW),
        ("firmware", _ENT_FW), ("software", _ENT_SW))}


def _identify(facts: EquipmentFacts, r: _Reader, vendor: Optional[Vendor], chassis: Mapping) -> None:
    """Model, serial and firmware: the vendor's own object, then the standard MIBs, then sysDescr."""
    sources = vendor.sources if vendor else {}

    def own(key: str) -> Optional[str]:
        source = sources.get(key)
        if vendor is None or source is None or not source.oid:
            return None
        return source.pick(r.text(source.oid, f"{vendor.name} {key}"))

    def descr(key: str) -> Optional[str]:
        source = sources.get(key)
        return source.pick(facts.sys_descr) if source else None

    hr_descr = r.text(f"{_HR_DEVICE_DESCR}.1", "hrDeviceDescr") if facts.printer is not None else None
    model = (own("model") or chassis.get("model") or r.text(_UPS_MODEL, "upsIdentModel") or descr("descr_model")
             or hr_descr)
    family = own("family")
    if model and family and not model.startswith(family):
        model = f"{family} {model}"
    facts.model = vendor.bare_model(model) if model and vendor else model
    serial = (own("serial") or chassis.get("serial") or r.text(f"{_PRT_SERIAL}.1", "prtGeneralSerialNumber"))
    facts.serial = serial
    facts.software_revision = chassis.get("software")
    facts.hardware_revision = chassis.get("hardware")
    facts.firmware = (own("firmware") or chassis.get("software") or chassis.get("firmware")
                      or r.text(_UPS_FIRMWARE, "upsIdentUPSSoftwareVersion") or descr("descr_firmware"))
    if facts.model is None:
        facts.notes.append("model: not reported by the vendor MIB, ENTITY-MIB, UPS-MIB, sysDescr or HOST-RESOURCES")


def _ports(r: _Reader) -> list:
    out = []
    names, types = r.column(_IF_NAME), r.column(_IF_TYPE)
    for index, _descr in sorted(r.column(_IF_DESCR).items(), key=lambda kv: _index(kv[0])):
        if not index.isdigit():
            continue
        name = r.text(f"{_IF_NAME}.{index}", "ifName") if index in names else None
        name = (name or r.text(f"{_IF_DESCR}.{index}", "ifDescr") or f"if{index}")[:128]
        high = r.number(f"{_IF_HIGH_SPEED}.{index}", "ifHighSpeed")
        low = r.number(f"{_IF_SPEED}.{index}", "ifSpeed")
        speed = high if high else (low // 1_000_000 if low and low < 4_294_967_295 else None)
        kind = r.number(f"{_IF_TYPE}.{index}", "ifType") if index in types else None
        admin = _ADMIN.get(r.number(f"{_IF_ADMIN}.{index}", "ifAdminStatus"), "unknown")
        out.append(Port(int(index), name, kind, admin, _OPER.get(r.number(f"{_IF_OPER}.{index}", "ifOperStatus"),
                                                                 "unknown"),
                        speed if speed and speed > 0 else None, _mac(r.values.get(f"{_IF_MAC}.{index}"))))
    return out


def _printer(r: _Reader) -> dict[str, Any]:
    pages = [v for v in (r.number(f"{_PRT_PAGES}.{i}", "prtMarkerLifeCount") for i in r.column(_PRT_PAGES))
             if v is not None and v >= 0]
    supplies = []
    for index in sorted(r.column(_PRT_SUPPLY_DESCR), key=_index):
        name = r.text(f"{_PRT_SUPPLY_DESCR}.{index}", "prtMarkerSuppliesDescription")
        if not name:
            continue
        most = r.number(f"{_PRT_SUPPLY_MAX}.{index}", "prtMarkerSuppliesMaxCapacity")
        level = r.number(f"{_PRT_SUPPLY_LEVEL}.{index}", "prtMarkerSuppliesLevel")
        supplies.append(_supply(name[:256], most, level))
    return {"page_count": max(pages) if pages else None, "supplies": supplies[:64]}


def _supply(name: str, most: Optional[int], level: Optional[int]) -> dict[str, Any]:
    """Printer-MIB levels: -3 means "some remains", -2 unknown; a real level against a known maximum."""
    if level == -3:
        return {"name": name, "level_percent": None, "state": "some_remaining"}
    if level is None or level < 0 or most is None or most <= 0:
        return {"name": name, "level_percent": None, "state": "unknown"}
    percent = max(0, min(100, round(100 * level / most)))
    return {"name": name, "level_percent": percent,
            "state": "empty" if level == 0 else "low" if percent <= 10 else "ok"}


def _ups(r: _Reader) -> Optional[dict[str, Any]]:
    """Battery facts from PowerNet or CPS-MIB when answered, else RFC 1628; None when no UPS answers."""
    for source, oids in _VENDOR_UPS.items():
        if any(oid in r.values for oid in oids.values()):
            ticks = r.number(oids["runtime"], f"{source} battery runtime")
            return {"manufacturer": r.text(_UPS_MANUFACTURER, "upsIdentManufacturer"),
                    "battery_status": _VENDOR_STATUS.get(r.number(oids["status"], f"{source} battery status"),
                                                         "unknown"),
                    "charge_percent": _percent(r.number(oids["charge"], f"{source} battery capacity"), 100),
                    "runtime_minutes": ticks // 6000 if ticks is not None and ticks >= 0 else None,
                    "replace_battery": _REPLACE.get(r.number(oids["replace"], f"{source} replace indicator"),
                                                    "unknown"),
                    "load_percent": _percent(r.number(oids["load"], f"{source} output load"), 1000),
                    "source": source}
    if not r.has(f"{_UPS}.1"):
        return None
    minutes = r.number(_UPS_MINUTES, "upsEstimatedMinutesRemaining")
    alarms = r.column(_UPS_ALARM_DESCR).values()
    loads = [v for v in (r.number(f"{_UPS_LOAD}.{i}", "upsOutputPercentLoad") for i in r.column(_UPS_LOAD))
             if v is not None]
    return {"manufacturer": r.text(_UPS_MANUFACTURER, "upsIdentManufacturer"),
            "battery_status": _UPS_STATUS.get(r.number(_UPS_BATTERY_STATUS, "upsBatteryStatus"), "unknown"),
            "charge_percent": _percent(r.number(_UPS_CHARGE, "upsEstimatedChargeRemaining"), 100),
            "runtime_minutes": minutes if minutes is not None and minutes >= 0 else None,
            "replace_battery": "yes" if _UPS_ALARM_BATTERY_BAD in alarms else "unknown",
            "load_percent": _percent(max(loads), 1000) if loads else None,
            "source": "ups-mib"}


# --------------------------------------------------------------------------- values

def _decode(raw: bytes) -> str:
    """Text of an OCTET STRING: UTF-8 (Latin-1 when not), NULs and surrounding quotes and blanks dropped."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = text.replace("\x00", "").strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return text


def _oid(value: Optional[Value], notes: list) -> Optional[str]:
    if value is None:
        return None
    raw = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    text = raw.strip().lstrip(".") if isinstance(raw, str) else None
    if text and re.fullmatch(r"[0-9]+(\.[0-9]+)+", text):
        return text
    notes.append(f"sysObjectID ({SYS_OBJECT_ID}) answered {_show(value)}, not an object identifier; left unknown")
    return None


def _enterprise(sys_object_id: Optional[str]) -> Optional[int]:
    if sys_object_id and sys_object_id.startswith(_ENTERPRISES):
        head = sys_object_id[len(_ENTERPRISES):].split(".")[0]
        return int(head) if head.isdigit() else None
    return None


def _mac(value: Optional[Value]) -> Optional[str]:
    if isinstance(value, bytes) and len(value) == 6 and any(value):
        return ":".join(f"{b:02x}" for b in value)
    return None


def _percent(value: Optional[int], ceiling: int) -> Optional[int]:
    return value if value is not None and 0 <= value <= ceiling else None


def _index(index: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in index.split("."))


def _show(value: Value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
