"""The simulated devices of each unit and how they change over time.

A unit's desks and server rooms are ``Slot``s; each holds a machine that
may be upgraded (RAM, SSD, Windows 11, a feature update) or replaced around
the deadline, as the unit's diligence says, or may stop reporting.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Optional, Union

from collector.simulate.cloud import MigrationPlan, migration_plan
from collector.simulate.equipment import Equipment, unit_equipment
from collector.simulate.linux_packages import linux_software
from collector.simulate.machines import (
    AMD,
    HDD_1T,
    HDD_500,
    HDD_500_LAPTOP,
    LINUX,
    NAMESPACE,
    NEW_CLIENTS,
    NVME_256,
    NVME_512,
    OLD_CLIENTS,
    QEMU,
    REPLACEMENTS,
    SERVER_DISKS,
    SERVERS,
    SSD_240,
    SSD_SMALL,
    VM_DISKS,
    VMWARE,
    Cpu,
    Disk,
    Machine,
    Platform,
)
from collector.simulate.software import server_software, windows_software
from collector.simulate.units import UnitPlan, fix_day, unit_diligence, unit_plan, unit_rng
from inventory.catalog import Catalog
from inventory.registry import Unit, fold
from inventory.report import GiB

Device = Union[Machine, Equipment]


@dataclass(frozen=True)
class Slot:
    """A place a machine serves (a counter PC, the accountant's laptop) and its machines over time."""

    ward: Unit
    hostname: str
    address: str
    network: str
    segments: tuple[tuple[date, Device], ...]
    silent_from: Optional[date]
    offset: float
    migration: Optional[MigrationPlan] = None

    def machine_at(self, day: date) -> Optional[Device]:
        """The machine at this place on ``day``; None before the first or once the place is silent."""
        if self.silent_from is not None and day >= self.silent_from:
            return None
        current = None
        for since, machine in self.segments:
            if since <= day:
                current = machine
        return current


def hostname_stem(ward: Unit) -> str:
    """The unit's name in capitals without accents or spaces, as its machines' host names carry it."""
    return "".join(c for c in fold(ward.name).upper() if c.isalnum())


def _roles(rng: random.Random, clients: int) -> list[str]:
    fixed = ["leader", "leader", "accounting", "accounting", "land", "meeting", "clerk", "clerk", "clerk"]
    roles = fixed[:clients]
    rest = clients - len(roles)
    one_stop = max(1, round(rest * 0.45)) if rest else 0
    roles += ["one_stop"] * one_stop + ["office"] * (rest - one_stop)
    rng.shuffle(roles)
    return roles


def unit_slots(registry_index: int, ward: Unit, seed: int, devices_per_unit: tuple[int, int],
               catalog: Catalog) -> list[Slot]:
    """Every slot of one unit, from its own random stream."""
    rng = unit_rng(seed, ward)
    plan = unit_plan(rng, catalog, unit_diligence(seed, ward))
    total = rng.randint(*devices_per_unit)
    servers = 3 if total >= 32 else 2 if total >= 26 else 1 if total >= 20 or rng.random() < 0.5 else 0
    stem = hostname_stem(ward)
    slots = []
    counters = {"PC": 0, "LT": 0, "SRV": 0, "VM": 0}
    roles = _roles(rng, total - servers) + ["server"] * servers
    migration = migration_plan(seed, ward, catalog)
    for index, role in enumerate(roles):
        device_rng = unit_rng(seed, ward, index)
        slots.append(_slot(device_rng, seed, ward, registry_index, index, role, plan, stem, counters, migration))
    return slots + _equipment_slots(seed, ward, registry_index, plan, stem)


def _equipment_slots(seed: int, ward: Unit, unit_no: int, plan: UnitPlan, stem: str) -> list[Slot]:
    """The unit's switch, UPS, printer (and router or firewall) on addresses below its PCs'; never silent."""
    rng = unit_rng(seed, ward, "equipment")
    return [Slot(ward, hostname, f"10.{16 + unit_no // 200}.{unit_no % 200}.{2 + i}", plan.network, segments,
                 None, rng.random())
            for i, (hostname, segments) in enumerate(unit_equipment(rng, plan, f"UB-{stem}"))]


def _slot(rng: random.Random, seed: int, ward: Unit, unit_no: int, index: int, role: str, plan: UnitPlan,
          stem: str, counters: dict[str, int], migration: MigrationPlan) -> Slot:
    machine = _server(rng, seed, ward, index) if role == "server" else _client(rng, seed, ward, index, role, plan)
    kind = {"laptop": "LT", "server": "SRV", "virtual_machine": "VM"}.get(machine.platform.device_class, "PC")
    counters[kind] += 1
    segments: list[tuple[date, Machine]] = [(date.min, machine)]
    if role == "server":
        upgrade = _server_upgrade(rng, plan, machine)
    else:
        upgrade = _upgrade(rng, seed, ward, index, role, plan, machine)
    if upgrade:
        segments.append(upgrade)
    silent = _day_between(rng, date(2025, 9, 20), date(2026, 1, 20)) if rng.random() < 0.05 else None
    address = f"10.{16 + unit_no // 200}.{unit_no % 200}.{20 + index}"
    return Slot(ward, f"UB-{stem}-{kind}{counters[kind]:02d}", address, plan.network, tuple(segments), silent,
                rng.random(), migration)


def _day_between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def _device_uuid(seed: int, ward: Unit, index: int, generation: int = 0) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{seed}:{ward.code}:{index}:{generation}")).upper()


def _serial(rng: random.Random, style: str) -> Optional[str]:
    """Serial numbers in each vendor's format; white boxes keep the board maker's placeholder."""
    tail = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(11))
    return {"dell": tail[:7], "hp": "8CG" + tail[:7], "lenovo": "PF" + tail[:6], "asus": "N" + tail,
            "oem": "To be filled by O.E.M.", "vmware": f"VMware-56 4d {tail[:2].lower()} 3c 8e", "none": None}[style]


def _client(rng: random.Random, seed: int, ward: Unit, index: int, role: str, plan: UnitPlan) -> Machine:
    laptop = role == "leader" or rng.random() < 0.12
    old = rng.random() < 0.62
    pool = [p for p in (OLD_CLIENTS if old else NEW_CLIENTS) if (p.device_class == "laptop") == laptop]
    platform = rng.choice(pool)
    cpu = rng.choice(platform.cpus)
    memory = rng.choices((4, 8, 16), (0.55, 0.4, 0.05) if old else (0.05, 0.55, 0.4))[0]
    disk = _client_disk(rng, old, laptop)
    tpm = _tpm(rng, platform, plan.diligence.tpm_unreadable)
    boot = rng.choices(("legacy", "uefi"), (0.6, 0.4) if old else (0.05, 0.95))[0]
    win11 = rng.random() < (0.04 if old else 0.55)
    machine = Machine(
        device_id=_device_uuid(seed, ward, index), id_source="smbios-uuid", serial=_serial(rng, platform.serial_style),
        platform=platform, cpu=cpu, memory_gib=memory, memory_visible=rng.uniform(0.955, 0.99), disk=disk,
        data_disk=rng.choice(HDD_1T) if not laptop and rng.random() < 0.08 else None,
        free_fraction=rng.choice((0.04, 0.12)) if rng.random() < 0.07 else rng.uniform(0.25, 0.8),
        tpm=tpm, boot=boot, secure_boot=_secure_boot(rng, boot, old),
        bios_date=_bios_date(rng, platform), os="win11" if win11 else "win10",
        edition=rng.choices(("Professional", "Core"), (0.9, 0.1))[0],
        win11_lag=rng.choices((0, 1, 2), (0.7, 0.25, 0.05))[0], software=())
    return replace(machine, software=windows_software(rng, machine, role, plan.variants, plan.removed, plan.printers))


def _client_disk(rng: random.Random, old: bool, laptop: bool) -> Disk:
    if old:
        kinds = (HDD_500_LAPTOP if laptop else HDD_500, HDD_1T, SSD_SMALL, SSD_240)
        return rng.choice(rng.choices(kinds, (0.55, 0.1, 0.2, 0.15))[0])
    return rng.choice(rng.choices((NVME_256, NVME_512, SSD_240, HDD_1T), (0.5, 0.33, 0.09, 0.08))[0])


def _tpm(rng: random.Random, platform: Platform, unreadable: float) -> str:
    """Firmware TPM arrived with Skylake; before it a discrete 1.2 chip or nothing. A non-elevated agent reads none
    (in units that installed some agents by hand, ``unreadable`` of their PCs)."""
    if rng.random() < unreadable:
        return "unknown"
    if platform.year <= 2015:
        return rng.choices(("none", "1.2"), (0.5, 0.5))[0]
    if platform.year <= 2017:
        return rng.choices(("2.0", "1.2", "none"), (0.6, 0.2, 0.2))[0]
    return rng.choices(("2.0", "none"), (0.96, 0.04))[0]


def _secure_boot(rng: random.Random, boot: str, old: bool) -> str:
    if boot == "legacy":
        return "unsupported"
    return rng.choices(("enabled", "disabled"), (0.6, 0.4) if old else (0.88, 0.12))[0]


def _bios_date(rng: random.Random, platform: Platform) -> date:
    """Release date of the BIOS a machine runs: its model's year, or a later update."""
    first = date(platform.year, 1, 15)
    last = min(date(platform.year + 3, 12, 15), date(2025, 6, 30))
    return _day_between(rng, first, max(first, last))


def _server(rng: random.Random, seed: int, ward: Unit, index: int) -> Machine:
    virtual = rng.random() < 0.4
    platform = rng.choice((VMWARE, QEMU)) if virtual else rng.choice(SERVERS)
    os = rng.choice(("ws2016", "ws2019", "ws2022", "ubuntu22", "ubuntu24", "debian11", "debian12"))
    cpu = platform.cpus[0]
    if virtual:
        vcpus = rng.choice((2, 4, 8))
        cpu = replace(cpu, cores=vcpus, threads=vcpus)
        disk = VM_DISKS[platform.serial_style]
    else:
        disk = rng.choice(SERVER_DISKS)
    linux = os in LINUX
    machine = Machine(
        device_id=(uuid.uuid5(NAMESPACE, f"{seed}:{ward.code}:{index}:machine-id").hex if linux
                   else _device_uuid(seed, ward, index)),
        id_source="machine-id" if linux else "smbios-uuid", serial=_serial(rng, platform.serial_style),
        platform=platform, cpu=cpu, memory_gib=rng.choice((8, 16, 16, 32, 64)),
        memory_visible=rng.uniform(0.97, 0.995), disk=disk, data_disk=None, free_fraction=rng.uniform(0.2, 0.7),
        tpm="none" if virtual else rng.choice(("2.0", "none")),
        boot="legacy" if platform is QEMU else rng.choice(("uefi", "uefi", "legacy")),
        secure_boot="unsupported" if platform is QEMU else "disabled",
        bios_date=date(2014, 4, 1) if platform is QEMU else _bios_date(rng, platform),
        os=os, edition="" if linux else rng.choice(("ServerStandard", "ServerStandard", "ServerDatacenter")),
        win11_lag=0, software=())
    rows = linux_software(rng, os) if linux else server_software(rng, virtual)
    return replace(machine, software=rows)


# --------------------------------------------------------------------------- upgrades

def _deficient(machine: Machine) -> set[str]:
    """What keeps a client from the baseline's hard rules as the deadline nears."""
    problems = set()
    if machine.memory_gib < 8:
        problems.add("memory")
    if machine.disk.size_bytes < 128 * GiB * 0.9:
        problems.add("disk")
    if machine.tpm in ("none", "1.2") or not _cpu_runs_win11(machine.cpu):
        problems.add("hardware")
    if machine.os == "win10":
        problems.add("os")
    if machine.os == "win11" and machine.win11_lag:
        problems.add("feature_update")  # a release or two behind falls out of support within the year
    return problems


def _cpu_runs_win11(cpu: Cpu) -> bool:
    if cpu.vendor == AMD:
        return cpu.family >= 23
    return cpu.model_number > 95 and not (cpu.model_number in (142, 158) and cpu.stepping == 9)


def _upgrade(rng: random.Random, seed: int, ward: Unit, index: int, role: str, plan: UnitPlan,
             machine: Machine) -> Optional[tuple[date, Machine]]:
    """The unit's share of deficient machines is fixed, on dates spread around the deadline as its diligence says."""
    problems = _deficient(machine)
    if not problems or rng.random() >= plan.diligence.fix_rate:
        return None
    day = fix_day(rng, plan.diligence)
    if "hardware" in problems:
        return day, _replacement(rng, seed, ward, index, role, plan, machine, day)
    better = replace(
        machine,
        memory_gib=rng.choice((8, 8, 16)) if "memory" in problems else machine.memory_gib,
        disk=rng.choice(rng.choice((NVME_256, SSD_240, NVME_512))) if "disk" in problems else machine.disk,
        free_fraction=rng.uniform(0.5, 0.85) if "disk" in problems else machine.free_fraction,
        os="win11", win11_lag=0)
    return day, better


# Server OS releases whose support ends before the end of 2026, and what they are upgraded to.
_SERVER_OS_SUCCESSOR = {"debian11": "debian12"}


def _server_upgrade(rng: random.Random, plan: UnitPlan, machine: Machine) -> Optional[tuple[date, Machine]]:
    """A physical server short of RAM gets more; one on an OS nearing its end is upgraded in place."""
    short = machine.platform.device_class == "server" and machine.memory_gib < 16
    successor = _SERVER_OS_SUCCESSOR.get(machine.os)
    if not (short or successor) or rng.random() >= plan.diligence.fix_rate:
        return None
    day = fix_day(rng, plan.diligence)
    better = replace(machine, memory_gib=rng.choice((16, 32, 32)) if short else machine.memory_gib)
    if successor:
        better = replace(better, os=successor, software=linux_software(rng, successor))
    return day, better


def _replacement(rng: random.Random, seed: int, ward: Unit, index: int, role: str, plan: UnitPlan,
                 old: Machine, day: date) -> Machine:
    """A new PC for the same desk: new identity, same job, Windows 11 current."""
    laptop = old.platform.device_class == "laptop"
    platform = rng.choice([p for p in REPLACEMENTS if (p.device_class == "laptop") == laptop])
    new = replace(
        old, device_id=_device_uuid(seed, ward, index, 1), serial=_serial(rng, platform.serial_style),
        platform=platform, cpu=rng.choice(platform.cpus), memory_gib=max(old.memory_gib, rng.choice((8, 16, 16))),
        disk=rng.choice(rng.choice((NVME_256, NVME_512))), data_disk=None, free_fraction=rng.uniform(0.6, 0.9),
        tpm="2.0", boot="uefi", secure_boot="enabled",
        bios_date=_day_between(rng, day - timedelta(days=240), day - timedelta(days=30)),
        os="win11", edition="Professional", win11_lag=0)
    return replace(new, software=windows_software(rng, new, role, plan.variants, plan.removed, plan.printers))

