"""The simulated network and power equipment of each unit (a switch, a UPS, a printer, some a router or firewall).

The models, firmware, sysObjectIDs and descriptions are those of the real
devices recorded in ``shared/data/snmp-recorded`` (the same facts
``hdc-agent probe-snmp`` reads from them), so the dashboards and the page
show what a real probe would send. Some fall short as the city's do: a
Catalyst 2960-S past Cisco's end of support, a switch whose links all run at
100 Mbit/s, a UPS battery to replace, a printer with an empty toner. A unit
fixes them on its own diligence's days (``units.fix_day``): a new switch
(new serial, so a new device) or a new battery or toner (the same device).
Reports are schema 3, built by the agent's own ``equipment_report``.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Optional

from collector import __version__
from collector.simulate.machines import NAMESPACE
from collector.simulate.units import UnitPlan, fix_day
from inventory.report import rfc3339
from inventory.snmp import EquipmentFacts, Port
from inventory.snmp_report import equipment_report

AGENT_NAME = "hdc-simulator"
ROUTED_UNITS = 0.4  # share of units with their own router or firewall
SHORTFALLS = {"eol_switch": 0.25, "slow_uplink": 0.12, "ups_battery": 0.2, "printer_empty": 0.15}
_ETHERNET = 6  # ifType ethernetCsmacd


@dataclass(frozen=True)
class Model:
    """What one recorded device says about itself: class, vendor, model, firmware, sysObjectID, description."""

    device_class: str
    vendor: str
    model: str
    firmware: Optional[str]
    sys_object_id: str
    sys_descr: str
    ports: int
    uplink_mbps: int = 1000
    serial_prefix: str = ""


# From the recordings (vendor, model and firmware as probe-snmp extracts them; see tests/support/snmp_expected.py).
EOL_SWITCH = Model("switch", "Cisco", "C2960S", "15.2(2a)E1", "1.3.6.1.4.1.9.1.1208",
                   "Cisco IOS Software, C2960S Software (C2960S-UNIVERSALK9-M), Version 15.2(2a)E1, RELEASE "
                   "SOFTWARE (fc1)", 28, serial_prefix="FOC")
SWITCHES = (
    Model("switch", "D-Link", "DGS-1510-28", "1.50.021", "1.3.6.1.4.1.171.10.137.2.1",
          "DGS-1510-28 Gigabit Ethernet SmartPro Switch", 28, serial_prefix="RZC"),
    Model("switch", "HP", "J9146A", "W.15.08.0012", "1.3.6.1.4.1.11.2.3.7.11.84",
          "HP J9146A E2910al-24G-PoE Switch, revision W.15.08.0012", 24, serial_prefix="SG"),
    Model("switch", "TP-Link", "T1600G-28TS", "3.0.6", "1.3.6.1.4.1.11863.5.28",
          "JetStream 24-Port Gigabit Smart Switch with 4 SFP Slots", 28, serial_prefix="2199"),
    Model("switch", "Huawei", "S5720-32X-EI-24S-AC", "Version 5.170 V200R010C00SPC600", "1.3.6.1.4.1.2011.2.23.294",
          "S5720-32X-EI-24S-AC Huawei Versatile Routing Platform Software", 32, uplink_mbps=10000,
          serial_prefix="2102"),
)
ROUTERS = (
    Model("router", "Cisco", "ISR4321/K9", "17.6.4", "1.3.6.1.4.1.9.1.2093",
          "Cisco IOS Software [Bengaluru], ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 17.6.4", 3,
          serial_prefix="FDO"),
    Model("router", "MikroTik", "RB750Gr3", None, "1.3.6.1.4.1.14988.1", "RouterOS RB750Gr3", 5),
    Model("firewall", "Fortinet", "FGT_60F", "7.2.6", "1.3.6.1.4.1.12356.101.1.644", "", 11,
          serial_prefix="FGT60F"),
)
UPSES = (
    Model("ups", "APC", "Smart-UPS 1000", "UPS 16.0 (ID1047)", "1.3.6.1.4.1.318.1.3.27",
          "APC Web/SNMP Management Card (MB:v4.2.9 PF:v2.3.1.1 PN:apc_hw21_aos_2.3.1.1.bin)", 1,
          serial_prefix="AS"),
    Model("ups", "CyberPower", "OL2200RTXL2U", "S1A17", "1.3.6.1.4.1.3808.1.1.3", "Power Manager", 1),
    Model("ups", "Eaton", "9PX 1000i RT 2U", "01.16.4638", "1.3.6.1.4.1.705.1", "Eaton 9PX 1000i RT 2U", 1,
          uplink_mbps=100, serial_prefix="GA"),
)
_UPS_SOURCE = {"APC": "apc-powernet", "CyberPower": "cyberpower", "Eaton": "ups-mib"}
PRINTERS = (
    Model("printer", "Brother", "MFC-L2710DW", None, "1.3.6.1.4.1.2435.2.3.9.1",
          "Brother NC-8300h, Firmware Ver.1.14  (14.11.06)", 1, uplink_mbps=100, serial_prefix="E7"),
    Model("printer", "Canon", "LBP6670", None, "1.3.6.1.4.1.1602.4.2", "Canon LBP6670 /P", 1,
          serial_prefix="MKR"),
    Model("printer", "HP", "LaserJet MFP M130nw", None, "1.3.6.1.4.1.11.2.3.9.1",
          "HP ETHERNET MULTI-ENVIRONMENT", 1, uplink_mbps=100, serial_prefix="VNC"),
    Model("printer", "Ricoh", "Aficio MP C3002", None, "1.3.6.1.4.1.367.1.1",
          "RICOH Aficio MP C3002 2.20 / RICOH Network Printer C model", 1, uplink_mbps=100, serial_prefix="W49"),
)
_TONER = {"Brother": "Black Toner Cartridge", "Canon": "Canon Cartridge 719/719H",
          "HP": "Black Cartridge HP CF217A", "Ricoh": "Black Toner"}


@dataclass(frozen=True)
class Equipment:
    """One device in one state: a new battery or toner keeps the device, a new switch is a new one."""

    device_id: str
    serial: str
    model: Model
    up_speeds: tuple[int, ...]  # the speed of each port that is up, Mbit/s
    battery_to_replace: bool = False
    toner_percent: int = 60
    pages: int = 0

    @property
    def device_class(self) -> str:
        return self.model.device_class


def unit_equipment(rng: random.Random, plan: UnitPlan, prefix: str) -> list[tuple[str, tuple]]:
    """The unit's equipment as (host name, segments): each segment (since, Equipment), the first since ever."""
    kinds = [("SW01", _switch(rng)), ("UPS01", _ups(rng)), ("PRN01", _printer(rng))]
    if rng.random() < ROUTED_UNITS:
        router = _device(rng, rng.choice(ROUTERS))
        kinds.append(("FW01" if router.device_class == "firewall" else "RTR01", router))
    return [(f"{prefix}-{name}", _with_fix(rng, plan, device)) for name, device in kinds]


def _with_fix(rng: random.Random, plan: UnitPlan, device: Equipment) -> tuple:
    """The device, and what replaces it on the unit's fix day when it falls short and the unit gets to it."""
    segments: list[tuple[date, Equipment]] = [(date.min, device)]
    if _short(device) and rng.random() < plan.diligence.fix_rate:
        segments.append((fix_day(rng, plan.diligence), _fixed(rng, device)))
    return tuple(segments)


def _short(device: Equipment) -> bool:
    return (device.model is EOL_SWITCH or device.device_class == "switch" and max(device.up_speeds) <= 100
            or device.battery_to_replace or device.toner_percent == 0)


def _fixed(rng: random.Random, device: Equipment) -> Equipment:
    if device.device_class == "switch":
        return _device(rng, rng.choice(SWITCHES))
    return replace(device, battery_to_replace=False, toner_percent=100)


def _switch(rng: random.Random) -> Equipment:
    if rng.random() < SHORTFALLS["eol_switch"]:
        return _device(rng, EOL_SWITCH)
    switch = _device(rng, rng.choice(SWITCHES))
    if rng.random() < SHORTFALLS["slow_uplink"]:  # an old cable run or a 100 Mbit/s module on the uplink
        return replace(switch, up_speeds=tuple(100 for _ in switch.up_speeds))
    return switch


def _ups(rng: random.Random) -> Equipment:
    return replace(_device(rng, rng.choice(UPSES)), battery_to_replace=rng.random() < SHORTFALLS["ups_battery"])


def _printer(rng: random.Random) -> Equipment:
    empty = rng.random() < SHORTFALLS["printer_empty"]
    return replace(_device(rng, rng.choice(PRINTERS)), toner_percent=0 if empty else rng.randint(15, 95),
                   pages=rng.randint(5000, 280000))


def _device(rng: random.Random, model: Model) -> Equipment:
    serial = model.serial_prefix + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(9))
    if model.device_class in ("switch", "router", "firewall"):
        up = rng.randint(2, max(2, model.ports - 2))
        speeds = (model.uplink_mbps,) + tuple(rng.choice((100, 1000, 1000)) for _ in range(up - 1))
    else:
        speeds = (model.uplink_mbps,)
    return Equipment(f"serial:{serial}", serial, model, speeds)


def render_equipment(unit_code: str, hostname: str, address: str, device: Equipment, when: datetime) -> dict:
    """The schema-3 report ``hdc-agent probe-snmp`` would send for ``device`` at ``when``."""
    stamp = rfc3339(when)
    model = device.model
    facts = EquipmentFacts(sys_descr=model.sys_descr or None, sys_object_id=model.sys_object_id,
                           sys_name=hostname, enterprise=int(model.sys_object_id.split(".")[6]),
                           vendor=model.vendor, device_class=model.device_class,
                           classified_by=f"sysObjectID {model.sys_object_id} (simulated)", model=model.model,
                           serial=device.serial, firmware=model.firmware, ports=_ports(device))
    if model.device_class == "ups":
        facts.ups = {"manufacturer": None, "battery_status": "normal", "charge_percent": 100,
                     "runtime_minutes": 6 if device.battery_to_replace else 25,
                     "replace_battery": "yes" if device.battery_to_replace else "no", "load_percent": 35,
                     "source": _UPS_SOURCE[model.vendor]}
    if model.device_class == "printer":
        toner = device.toner_percent
        facts.printer = {"page_count": device.pages, "supplies": [
            {"name": _TONER[model.vendor], "level_percent": toner, "state": "empty" if toner == 0 else "ok"}]}
    doc = equipment_report(facts, unit_code, AGENT_NAME, __version__, address, "3")
    doc["report_id"] = str(uuid.uuid5(NAMESPACE, f"{device.device_id}|{stamp}"))
    doc["collected_at"] = stamp
    doc["agent"]["source"] = "simulator"
    return doc


def _ports(device: Equipment) -> list[Port]:
    ports = [Port(i, f"port{i}", _ETHERNET, "up", "up", speed, None) for i, speed in enumerate(device.up_speeds, 1)]
    down = range(len(ports) + 1, device.model.ports + 1)
    return ports + [Port(i, f"port{i}", _ETHERNET, "up", "down", None, None) for i in down]
