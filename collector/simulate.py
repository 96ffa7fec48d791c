"""Realistic simulated fleets for every unit of a registry, as schema-v1 reports.

The city needs to see dashboards, alerts and the readiness page work before
agents are on 3,500 ward machines, and load tests need reports that look like
the real ones (hundreds of packages, old and new hardware, flaky links). So
the simulator models the fleet the programme actually faces: Haswell to
Kaby Lake desktops with 4 GiB and HDDs beside recent purchases, Windows 10
reaching end of support on 14/10/2025, Windows 11 feature updates that lag,
TPMs that are absent, 1.2, or unreadable by a non-elevated agent, and the
catalog's applications installed by role (one-stop counter, accountant,
land officer). Over time (``generate_history``) deficient machines get RAM,
an SSD, Windows 11, a pending feature update or a replacement PC, and servers
RAM or a supported OS, around the 30/11/2025 deadline, some late, and a few
machines stop reporting. How much of that a unit does, and when, depends on
the unit's diligence (``_diligence``): some finish before the deadline, many
soon after it, most leave a few machines behind, and some laggards hardly
start, so the readiness page shows who is done and who is late.

Everything derives from ``random.Random`` instances seeded with strings made
of the seed, the unit code and the device index, so a device is the same in
every run and in both generators, and one unit's plan does not depend on how
many devices another unit has.
"""
from __future__ import annotations

import random
import uuid
import zlib
from dataclasses import dataclass, replace
from functools import lru_cache
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator, Optional
from urllib.parse import urlsplit

from inventory.catalog import Catalog, load_catalog
from inventory.registry import Registry, Ward, fold
from inventory.report import GiB, empty_report, rfc3339

from . import __version__

AGENT_NAME = "hdc-simulator"
DEADLINE = date(2025, 11, 30)
HDC_CLOUD_START = date(2025, 12, 1)
HISTORY_START = date(2025, 9, 1)
HISTORY_END = date(2026, 1, 31)
_NAMESPACE = uuid.UUID("0b9f6c3e-8a57-5d2e-9c41-7e2d4a1b5f60")
_MS = "Microsoft Corporation"
_INTEL, _AMD = "GenuineIntel", "AuthenticAMD"


# --------------------------------------------------------------------------- hardware

@dataclass(frozen=True)
class Cpu:
    model: str
    vendor: str
    family: int
    model_number: int
    stepping: int
    cores: int
    threads: int
    mhz: int


@dataclass(frozen=True)
class Platform:
    manufacturer: str
    model: str
    device_class: str
    year: int
    cpus: tuple[Cpu, ...]
    bios_vendor: str
    bios_version: str
    serial_style: str


def _cpu(model: str, vendor: str, family: int, number: int, stepping: int, cores: int, threads: int,
         mhz: int) -> Cpu:
    return Cpu(model, vendor, family, number, stepping, cores, threads, mhz)


I5_4590 = _cpu("Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz", _INTEL, 6, 60, 3, 4, 4, 3300)
I3_4160 = _cpu("Intel(R) Core(TM) i3-4160 CPU @ 3.60GHz", _INTEL, 6, 60, 3, 2, 4, 3600)
G3260 = _cpu("Intel(R) Pentium(R) CPU G3260 @ 3.30GHz", _INTEL, 6, 60, 3, 2, 2, 3300)
I5_4210U = _cpu("Intel(R) Core(TM) i5-4210U CPU @ 1.70GHz", _INTEL, 6, 69, 1, 2, 4, 1700)
I5_6500 = _cpu("Intel(R) Core(TM) i5-6500 CPU @ 3.20GHz", _INTEL, 6, 94, 3, 4, 4, 3200)
I3_6100 = _cpu("Intel(R) Core(TM) i3-6100 CPU @ 3.70GHz", _INTEL, 6, 94, 3, 2, 4, 3700)
# Kaby Lake shares model 142 with later parts; stepping 9 is what makes it 7th generation.
I5_7200U = _cpu("Intel(R) Core(TM) i5-7200U CPU @ 2.50GHz", _INTEL, 6, 142, 9, 2, 4, 2500)
A8_7600 = _cpu("AMD A8-7600 Radeon R7, 10 Compute Cores 4C+6G", _AMD, 21, 48, 1, 2, 4, 3100)
A10_9700 = _cpu("AMD A10-9700 RADEON R7, 10 COMPUTE CORES 4C+6G", _AMD, 21, 101, 1, 2, 4, 3500)
I5_8500 = _cpu("Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz", _INTEL, 6, 158, 10, 6, 6, 3000)
I5_9400 = _cpu("Intel(R) Core(TM) i5-9400 CPU @ 2.90GHz", _INTEL, 6, 158, 10, 6, 6, 2900)
I5_8265U = _cpu("Intel(R) Core(TM) i5-8265U CPU @ 1.60GHz", _INTEL, 6, 142, 11, 4, 8, 1800)
I5_10400 = _cpu("Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz", _INTEL, 6, 165, 3, 6, 12, 2904)
I3_10100 = _cpu("Intel(R) Core(TM) i3-10100 CPU @ 3.60GHz", _INTEL, 6, 165, 3, 4, 8, 3600)
I5_1135G7 = _cpu("11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", _INTEL, 6, 140, 1, 4, 8, 2419)
I5_12400 = _cpu("12th Gen Intel(R) Core(TM) i5-12400", _INTEL, 6, 151, 5, 6, 12, 2500)
I5_1235U = _cpu("12th Gen Intel(R) Core(TM) i5-1235U", _INTEL, 6, 154, 4, 10, 12, 1300)
I7_13700 = _cpu("13th Gen Intel(R) Core(TM) i7-13700", _INTEL, 6, 183, 1, 16, 24, 2100)
R5_3600 = _cpu("AMD Ryzen 5 3600 6-Core Processor", _AMD, 23, 113, 0, 6, 12, 3600)
R5_5600G = _cpu("AMD Ryzen 5 5600G with Radeon Graphics", _AMD, 25, 80, 0, 6, 12, 3901)
R5_7530U = _cpu("AMD Ryzen 5 7530U with Radeon Graphics", _AMD, 25, 80, 0, 6, 12, 2001)
E5_2620V3 = _cpu("Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz", _INTEL, 6, 63, 2, 12, 24, 2400)
E3_1220V5 = _cpu("Intel(R) Xeon(R) CPU E3-1220 v5 @ 3.00GHz", _INTEL, 6, 94, 3, 4, 4, 3000)
E_2224 = _cpu("Intel(R) Xeon(R) E-2224 CPU @ 3.40GHz", _INTEL, 6, 158, 10, 4, 4, 3400)
SILVER_4210R = _cpu("Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz", _INTEL, 6, 85, 7, 10, 20, 2400)

_WHITE_BOX = "American Megatrends Inc."
OLD_CLIENTS = (
    Platform("Dell Inc.", "OptiPlex 3020", "workstation", 2014, (I5_4590, I3_4160), "Dell Inc.", "A18", "dell"),
    Platform("Hewlett-Packard", "HP ProDesk 400 G1 MT", "workstation", 2014, (I5_4590, G3260),
             "Hewlett-Packard", "L04 v02.67", "hp"),
    Platform("Gigabyte Technology Co., Ltd.", "H81M-DS2", "workstation", 2014, (I3_4160, G3260), _WHITE_BOX,
             "F4", "oem"),
    Platform("Hewlett-Packard", "HP ProDesk 405 G2 MT", "workstation", 2015, (A8_7600,), "Hewlett-Packard",
             "N10 Ver. 02.12", "hp"),
    Platform("Dell Inc.", "OptiPlex 3040", "workstation", 2016, (I5_6500, I3_6100), "Dell Inc.", "1.18.0", "dell"),
    Platform("HP", "HP ProDesk 400 G3 MT", "workstation", 2016, (I5_6500, I3_6100), "HP", "N01 Ver. 02.51", "hp"),
    Platform("LENOVO", "10KVS02100", "workstation", 2016, (I5_6500,), "LENOVO", "FWKT5AA", "lenovo"),
    Platform("System manufacturer", "System Product Name", "workstation", 2017, (I3_6100, A10_9700), _WHITE_BOX,
             "3805", "oem"),
    Platform("Dell Inc.", "Latitude 3440", "laptop", 2014, (I5_4210U,), "Dell Inc.", "A09", "dell"),
    Platform("HP", "HP ProBook 450 G4", "laptop", 2017, (I5_7200U,), "HP", "P85 Ver. 01.16", "hp"),
    Platform("Dell Inc.", "Vostro 3468", "laptop", 2017, (I5_7200U,), "Dell Inc.", "3.5.0", "dell"),
)
NEW_CLIENTS = (
    Platform("Dell Inc.", "OptiPlex 3060", "workstation", 2018, (I5_8500,), "Dell Inc.", "1.22.0", "dell"),
    Platform("HP", "HP ProDesk 400 G6 Microtower PC", "workstation", 2019, (I5_9400,), "HP", "S03 Ver. 02.11.00",
             "hp"),
    Platform("Dell Inc.", "OptiPlex 3080", "workstation", 2020, (I5_10400, I3_10100), "Dell Inc.", "2.21.0", "dell"),
    Platform("Micro-Star International Co., Ltd.", "MS-7C56", "workstation", 2020, (R5_3600,),
             "American Megatrends International, LLC.", "A.C0", "oem"),
    Platform("System manufacturer", "System Product Name", "workstation", 2021, (R5_5600G,), _WHITE_BOX, "3211",
             "oem"),
    Platform("LENOVO", "11T1S0M800", "workstation", 2022, (I5_12400,), "LENOVO", "M3GKT3AA", "lenovo"),
    Platform("Dell Inc.", "OptiPlex 7010", "workstation", 2023, (I7_13700,), "Dell Inc.", "1.13.0", "dell"),
    Platform("Dell Inc.", "Latitude 3400", "laptop", 2019, (I5_8265U,), "Dell Inc.", "1.28.0", "dell"),
    Platform("ASUSTeK COMPUTER INC.", "VivoBook_ASUSLaptop X515EA_X515EA", "laptop", 2021, (I5_1135G7,),
             "American Megatrends International, LLC.", "X515EA.310", "asus"),
    Platform("HP", "HP ProBook 440 G9 Notebook PC", "laptop", 2022, (I5_1235U,), "HP", "U81 Ver. 01.06.00", "hp"),
    Platform("LENOVO", "21E3S05H00", "laptop", 2022, (I5_1235U,), "LENOVO", "R1EET56W (1.56 )", "lenovo"),
    Platform("HP", "HP 245 G10 Notebook PC", "laptop", 2023, (R5_7530U,), "Insyde", "F.11", "hp"),
)
# What the programme buys to replace a machine that cannot run Windows 11.
REPLACEMENTS = tuple(p for p in NEW_CLIENTS if p.year >= 2022)
SERVERS = (
    Platform("Dell Inc.", "PowerEdge R730", "server", 2015, (E5_2620V3,), "Dell Inc.", "2.17.0", "dell"),
    Platform("Dell Inc.", "PowerEdge T330", "server", 2016, (E3_1220V5,), "Dell Inc.", "2.9.0", "dell"),
    Platform("HPE", "ProLiant ML30 Gen10", "server", 2019, (E_2224,), "HPE", "U44", "hp"),
    Platform("Dell Inc.", "PowerEdge R740", "server", 2020, (SILVER_4210R,), "Dell Inc.", "2.19.1", "dell"),
)
VMWARE = Platform("VMware, Inc.", "VMware7,1", "virtual_machine", 2023, (SILVER_4210R,), "VMware, Inc.",
                  "VMW71.00V.21100432.B64.2301110304", "vmware")
# SeaBIOS always reports 04/01/2014, whatever its version.
QEMU = Platform("QEMU", "Standard PC (i440FX + PIIX, 1996)", "virtual_machine", 2014, (E5_2620V3,), "SeaBIOS",
                "rel-1.16.2-0-gea1b7a073390-prebuilt.qemu.org", "none")


@dataclass(frozen=True)
class Disk:
    model: str
    size_bytes: int
    media: str


HDD_500 = (Disk("ST500DM002-1BD142", 500107862016, "hdd"), Disk("WDC WD5000AAKX-08U6AA0", 500107862016, "hdd"),
           Disk("TOSHIBA DT01ACA050", 500107862016, "hdd"))
HDD_500_LAPTOP = (Disk("ST500LM030-2E717D", 500107862016, "hdd"), Disk("WDC WD5000LPCX-24C6HT0", 500107862016, "hdd"))
HDD_1T = (Disk("ST1000DM010-2EP102", 1000204886016, "hdd"), Disk("TOSHIBA DT01ACA100", 1000204886016, "hdd"))
SSD_SMALL = (Disk("KINGSTON SA400S37120G", 120034123776, "ssd"), Disk("Colorful SL300 128GB", 128035676160, "ssd"))
SSD_240 = (Disk("KINGSTON SA400S37240G", 240057409536, "ssd"), Disk("Samsung SSD 860 EVO 250GB", 250059350016, "ssd"))
NVME_256 = (Disk("SAMSUNG MZVLB256HBHQ-000L7", 256060514304, "ssd"), Disk("KIOXIA KBG40ZNS256G NVMe 256GB",
                                                                           256060514304, "ssd"),
            Disk("SK hynix BC711 HFM256GD3JX013N", 256060514304, "ssd"))
NVME_512 = (Disk("PM991 NVMe Samsung 512GB", 512110190592, "ssd"), Disk("WDC PC SN530 SDBPNPZ-512G-1006",
                                                                        512110190592, "ssd"))
SERVER_DISKS = (Disk("PERC H330 Mini", 1199638052864, "hdd"), Disk("PERC H730P Mini", 599550590976, "hdd"),
                Disk("SAMSUNG MZ7LH480HAHQ-00005", 480103981056, "ssd"))
VM_DISKS = {"vmware": Disk("VMware Virtual disk", 214748364800, "unknown"),
            "none": Disk("QEMU HARDDISK", 107374182400, "unknown")}


# --------------------------------------------------------------------------- operating systems

# Windows 11 feature updates: (release, build, UBR, general availability). Maintained
# PCs run the newest one released at least ``_WIN11_SOAK`` ago; laggards one or two older.
WIN11_RELEASES = (("21H2", 22000, 3260, date(2021, 10, 4)), ("22H2", 22621, 4602, date(2022, 9, 20)),
                  ("23H2", 22631, 4602, date(2023, 10, 31)), ("24H2", 26100, 2605, date(2024, 10, 1)),
                  ("25H2", 26200, 6899, date(2025, 9, 30)))
_WIN11_SOAK = timedelta(days=90)
WINDOWS_SERVER = {"ws2016": ("2016", 14393, 7515, None), "ws2019": ("2019", 17763, 6659, None),
                  "ws2022": ("2022", 20348, 2966, "21H2")}
LINUX = {
    "ubuntu22": ("Ubuntu 22.04.5 LTS", "ubuntu", "22.04", "5.15.0-126-generic"),
    "ubuntu24": ("Ubuntu 24.04.1 LTS", "ubuntu", "24.04", "6.8.0-49-generic"),
    "debian11": ("Debian GNU/Linux 11 (bullseye)", "debian", "11", "5.10.0-33-amd64"),
    "debian12": ("Debian GNU/Linux 12 (bookworm)", "debian", "12", "6.1.0-28-amd64"),
}
_EDITION_NAME = {"Professional": "Pro", "Core": "Home", "ServerStandard": "Standard",
                 "ServerDatacenter": "Datacenter"}


def win11_release(day: date, lag: int) -> tuple[str, int, int]:
    """Release, build and UBR a Windows 11 PC ``lag`` feature updates behind runs on ``day``."""
    current = max((i for i, r in enumerate(WIN11_RELEASES) if r[3] + _WIN11_SOAK <= day), default=0)
    release, build, ubr, _ = WIN11_RELEASES[max(0, current - lag)]
    return release, build, ubr


# --------------------------------------------------------------------------- cloud migration

# When each application's HDC endpoint starts answering: the web systems from October 2025, one every ten
# days; the cloud-hosted ones from the HDC cloud's start, one a fortnight. (app, url, live from, cloud-hosted)
def _app_endpoints(catalog: Catalog) -> tuple[tuple[str, str, date, bool], ...]:
    web = [a for a in catalog.apps if a.target == "hdc_web" and a.hdc_endpoint]
    cloud = [a for a in catalog.apps if a.target == "hdc_cloud" and a.hdc_endpoint]
    return (tuple((a.id, a.hdc_endpoint, date(2025, 10, 1) + timedelta(days=10 * i), False)
                  for i, a in enumerate(web))
            + tuple((a.id, a.hdc_endpoint, HDC_CLOUD_START + timedelta(days=14 * i), True)
                    for i, a in enumerate(cloud)))


_APP_ENDPOINTS = _app_endpoints(load_catalog())
_LIVE = {app_id: live for app_id, _, live, _ in _APP_ENDPOINTS}
# Share of a unit's applications it moves, and the chance it keeps the city's migration register, by diligence.
MIGRATION_TIERS = {"early": ((0.7, 1.0), 0.9, 0), "prompt": ((0.5, 0.9), 0.75, 20),
                   "partial": ((0.2, 0.6), 0.45, 60), "laggard": ((0.0, 0.2), 0.2, 150)}
_LAST_MOVE = date(2026, 10, 31)


@dataclass(frozen=True)
class MigrationPlan:
    """A unit's moves: the day each application leaves its PCs, and what its operators declare about it."""

    moves: tuple[tuple[str, date], ...]
    unused: frozenset[str]
    keeps_register: bool
    early_claim: Optional[tuple[str, date]]

    @property
    def checked(self) -> frozenset[str]:
        """Applications whose HDC endpoint the unit's agents check: those it moves or says it moved."""
        return frozenset([app for app, _ in self.moves] + ([self.early_claim[0]] if self.early_claim else []))

    def moved_by(self, day: date) -> frozenset[str]:
        return frozenset(app for app, moved in self.moves if moved <= day)


def migration_plan(seed: int, ward: Ward, catalog: Catalog) -> MigrationPlan:
    """Moves in two waves after the equipment deadline, never before an application's HDC endpoint answers.

    From its own random stream, so adding it changed no machine of the fleet.
    """
    plan = _unit_plan(_ward_rng(seed, ward), catalog, _diligence(seed, ward))
    (low, high), register, delay = MIGRATION_TIERS[plan.diligence.tier]
    rng = _ward_rng(seed, ward, "migration")
    share = rng.uniform(low, high)
    used = [a for a in catalog.apps if a.target != "stays_local" and a.id not in plan.removed]
    moving = [a for a in used if rng.random() < share]
    first = DEADLINE + timedelta(days=delay + rng.randint(-20, 40))
    waves = (first, first + timedelta(days=rng.randint(45, 150)))
    moves = []
    for a in moving:
        day = rng.choice(waves)
        if a.id in _LIVE:
            day = max(day, _LIVE[a.id] + timedelta(days=rng.randint(3, 20)))
        moves.append((a.id, min(day, _LAST_MOVE)))
    staying = [a for a in used if a not in moving and a.target in ("hdc_cloud", "hdc_web")]
    early = (rng.choice(staying).id, waves[0]) if staying and rng.random() < 0.3 else None
    return MigrationPlan(tuple(moves), frozenset(plan.removed), rng.random() < register, early)


_REFERENCES = ("Kế hoạch 245/KH-UBND", "Quyết định 1182/QĐ-UBND", "Công văn 3310/VP-KSTTHC")


def generate_declarations(registry: Registry, seed: int = 2025, today: Optional[date] = None) -> Iterator[dict]:
    """What units that keep the migration register declare, as API bodies, in date order within each unit.

    Moved applications are declared (sometimes ``migrating`` first), some
    moved before monitoring began are declared with an old date, and a few
    units claim an application moved while its client is still installed:
    the contradiction the page must show.
    """
    today = today or datetime.now(timezone.utc).date()
    catalog = load_catalog()
    for ward in registry:
        plan = migration_plan(seed, ward, catalog)
        if not plan.keeps_register:
            continue
        rng = _ward_rng(seed, ward, "register")
        who = f"Văn phòng UBND {ward.name}"
        items = []
        for app_id, moved in plan.moves:
            app = catalog.get(app_id)
            final = "retired" if app.target == "retired" else "on_hdc"
            if final == "on_hdc" and rng.random() < 0.5:
                items.append((moved - timedelta(days=rng.randint(10, 40)), app_id, "migrating",
                              "Bắt đầu chuyển sang hệ thống trên HDC"))
            items.append((moved + timedelta(days=rng.randint(0, 10)), app_id, final,
                          "Đã gỡ phần mềm cài đặt tại đơn vị"))
        for app_id in sorted(plan.unused):
            if rng.random() < 0.3:
                final = "retired" if catalog.get(app_id).target == "retired" else "on_hdc"
                items.append((date(2025, 8, 15), app_id, final, "Đã chuyển trước khi triển khai giám sát"))
        if plan.early_claim:
            app_id, day = plan.early_claim
            items.append((day, app_id, "on_hdc", "Theo báo cáo của đơn vị"))
        for day, app_id, state, note in sorted(items):
            if day <= today:
                yield {"ward_code": ward.code, "app_id": app_id, "state": state, "date": day.isoformat(),
                       "note": note, "reference": rng.choice(_REFERENCES), "declared_by": who}


# --------------------------------------------------------------------------- machines and slots

@dataclass(frozen=True, eq=False)
class Machine:
    """One physical or virtual machine in one configuration; upgrades make a new one."""

    device_id: str
    id_source: str
    serial: Optional[str]
    platform: Platform
    cpu: Cpu
    memory_gib: int
    memory_visible: float
    disk: Disk
    data_disk: Optional[Disk]
    free_fraction: float
    tpm: str
    boot: str
    secure_boot: str
    bios_date: date
    os: str
    edition: str
    win11_lag: int
    software: tuple[tuple[str, Optional[str], Optional[str]], ...]


@dataclass(frozen=True)
class Slot:
    """A place a machine serves (a counter PC, the accountant's laptop) and its machines over time."""

    ward: Ward
    hostname: str
    address: str
    network: str
    segments: tuple[tuple[date, Machine], ...]
    silent_from: Optional[date]
    offset: float
    migration: Optional["MigrationPlan"] = None

    def machine_at(self, day: date) -> Optional[Machine]:
        if self.silent_from is not None and day >= self.silent_from:
            return None
        current = None
        for since, machine in self.segments:
            if since <= day:
                current = machine
        return current


# --------------------------------------------------------------------------- catalog applications

# Install names per catalog application, as the vendors' installers register
# them. A unit picks one variant per application (one vendor per contract).
APP_VARIANTS: dict[str, tuple[tuple[tuple[str, str, Optional[str]], ...], ...]] = {
    "one_stop_shop": ((("VNPT iGate Scan Plugin", "2.3.1", "VNPT-IT"),),
                      (("Viettel One-Stop Client", "3.1.0", "Viettel Solutions"),),
                      (("Một cửa điện tử liên thông", "4.0.2", "Văn phòng UBND TP Hà Nội"),)),
    "public_service_portal": ((("Plugin ký số Cổng Dịch vụ công", "1.0.8", "Văn phòng UBND TP Hà Nội"),),
                              (("DVC Plugin", "2.1.0", "VNPT-IT"),)),
    "e_office": ((("VNPT-iOffice Plugin", "4.2.0", "VNPT-IT"),), (("eDoc Client", "5.0.3", "CMC Corporation"),),
                 (("Phần mềm Quản lý văn bản và điều hành", "3.6", "Sở Thông tin và Truyền thông Hà Nội"),)),
    "civil_status": ((("Phần mềm Hộ tịch", "3.2.1", "Bộ Tư pháp"),),
                     (("Phan mem Ho tich", "3.1.0", "Bo Tu phap"),)),
    "e_certification": ((("Chứng thực bản sao điện tử", "1.4.0", "Bộ Tư pháp"),),),
    "population_vneid": ((("Phần mềm đọc thẻ CCCD gắn chip", "2.1.0", "Bộ Công an"),),
                         (("VNeID Desktop", "1.2.3", "Trung tâm RAR - Bộ Công an"),)),
    "ihanoi": ((("iHanoi", "1.6.2", "UBND TP Hà Nội"),),),
    "land_records": ((("ViLIS 2.0", "2.0.5", "Cục Công nghệ thông tin - Bộ TN&MT"),
                      ("gCadas 2020", "20.12", "Bộ Tài nguyên và Môi trường")),
                     (("ELIS Client", "3.4.1", "Sở Tài nguyên và Môi trường Hà Nội"), ("Famis", "2.0", None))),
    "commune_accounting": ((("MISA Mimosa.NET 2022", "R29", "MISA JSC"),),
                           (("MISA Bamboo.NET 2021", "R35", "MISA JSC"),)),
    "treasury": ((("Dịch vụ công Kho bạc Nhà nước", "2.0.4", "Kho bạc Nhà nước"),),
                 (("TABMIS Client", "6.1", "Kho bạc Nhà nước"),)),
    "e_tax": ((("HTKK", "5.2.6", "Tổng cục Thuế"), ("iTaxViewer", "2.4.0", "Tổng cục Thuế")),),
    "social_insurance": ((("VNPT-BHXH", "4.5.2", "VNPT"),), (("iBHXH", "3.2.0", "Thái Sơn"),),
                         (("EFY-eBHXH", "2.9.1", "EFY Việt Nam"),), (("KBHXH 2024", "1.0.12", "BHXH Việt Nam"),)),
    "social_protection": ((("Quản lý đối tượng Bảo trợ xã hội", "2.3", "Sở Lao động - Thương binh và Xã hội"),),),
    "hr_officials": ((("CSDL cán bộ, công chức, viên chức", "2.0.1", "Sở Nội vụ Hà Nội"),),
                     (("Quản lý hồ sơ cán bộ", "5.2", "Sở Nội vụ Hà Nội"),)),
    "reporting": ((("Hệ thống thông tin báo cáo", "1.3.0", "Văn phòng UBND TP Hà Nội"),),),
    "video_conferencing": ((("Zoom Workplace (64-bit)", "6.3.11", "Zoom Video Communications, Inc."),),
                           (("Microsoft Teams", "24295.605.3225.8804", _MS),
                            ("Teams Machine-Wide Installer", "1.7.0.19051", _MS)),
                           (("Cisco Webex Meetings", "44.10.1", "Cisco Webex LLC"),)),
    "digital_signature": ((("VGCA Sign Service", "2.0.5", "Ban Cơ yếu Chính phủ"),
                           ("vSignPDF", "4.0.2", "Ban Cơ yếu Chính phủ")),
                          (("Viettel-CA Token Manager", "1.1.8", "Viettel"),),
                          (("VNPT-CA Plugin", "1.0.4.2", "VNPT"),), (("BkavCA Token Manager", "2.3.0", "Bkav"),)),
    "digital_archive": ((("Phần mềm Lưu trữ hồ sơ điện tử", "2.1", "Chi cục Văn thư - Lưu trữ Hà Nội"),),),
    "queue_satisfaction": ((("Hệ thống xếp hàng tự động", "3.0.1", None),
                            ("Đánh giá mức độ hài lòng", "1.5.0", None)),),
    "official_email": ((("Mozilla Thunderbird (x64 vi)", "128.5.2", "Mozilla"),),
                       (("Microsoft Outlook 2016", "16.0.4266.1001", _MS),)),
}

# Catalog applications by the job of the person at the machine.
ROLE_APPS = {
    "one_stop": ("one_stop_shop", "public_service_portal", "civil_status", "e_certification", "population_vneid",
                 "queue_satisfaction", "digital_signature", "e_office"),
    "accounting": ("commune_accounting", "treasury", "e_tax", "social_insurance", "digital_signature", "e_office"),
    "land": ("land_records", "digital_signature", "e_office"),
    "leader": ("e_office", "digital_signature", "video_conferencing", "official_email", "ihanoi"),
    "clerk": ("e_office", "hr_officials", "social_protection", "digital_archive", "reporting"),
    "meeting": ("video_conferencing", "e_office"),
    "office": ("e_office", "reporting"),
}
_EXTRA_APPS = (("official_email", 0.3), ("ihanoi", 0.08), ("video_conferencing", 0.08))
# Which catalog application an install row belongs to, so a migrated application's rows can leave the PCs.
_APP_OF_ROW = {row: app for app, variants in APP_VARIANTS.items() for variant in variants for row in variant}


# --------------------------------------------------------------------------- Windows software

def _vcredist() -> tuple[tuple[str, str, str], ...]:
    rows = [("Microsoft Visual C++ 2005 Redistributable", "8.0.61001", _MS),
            ("Microsoft Visual C++ 2005 Redistributable (x64)", "8.0.61000", _MS)]
    for arch in ("x86", "x64"):
        rows.append((f"Microsoft Visual C++ 2008 Redistributable - {arch} 9.0.30729.6161", "9.0.30729.6161", _MS))
        rows.append((f"Microsoft Visual C++ 2010  {arch} Redistributable - 10.0.40219", "10.0.40219", _MS))
        for year, ver in (("2012", "11.0.61030"), ("2013", "12.0.40664"), ("2022", "14.40.33810")):
            label = "2015-2022" if year == "2022" else year
            rows.append((f"Microsoft Visual C++ {label} Redistributable ({arch}) - {ver}", f"{ver}.0", _MS))
            for kind in ("Additional", "Minimum"):
                rows.append((f"Microsoft Visual C++ {year} {arch.upper() if year == '2022' else arch} {kind} "
                             f"Runtime - {ver}", ver, _MS))
    return tuple(rows)


VCREDIST = _vcredist()
RUNTIMES = (("Microsoft Windows Desktop Runtime - 6.0.36 (x64)", "6.0.36.34217", _MS),
            ("Microsoft Windows Desktop Runtime - 8.0.11 (x64)", "8.0.11.34221", _MS),
            ("Microsoft .NET Runtime - 8.0.11 (x64)", "8.0.11.34217", _MS),
            ("Microsoft .NET Host - 8.0.11 (x64)", "64.44.6346", _MS),
            ("Microsoft .NET Host FX Resolver - 8.0.11 (x64)", "64.44.6346", _MS),
            ("Microsoft Visual Studio 2010 Tools for Office Runtime (x64)", "10.0.60917", _MS))
WINDOWS_BASE = (("Microsoft Edge", "131.0.2903.112", _MS), ("Microsoft Edge Update", "1.3.195.39", None),
                ("Microsoft Edge WebView2 Runtime", "131.0.2903.112", _MS),
                ("Microsoft Update Health Tools", "5.72.0.0", _MS), ("Microsoft OneDrive", "24.226.1110.0004", _MS))
WIN10_ONLY = (("Windows PC Health Check", "3.6.2204.08001", _MS),
              ("Update for Windows 10 for x64-based Systems (KB5001716)", "8.94.0.0", _MS))
APPX_COMMON = tuple((name, ver, _MS) for name, ver in (
    ("Microsoft.WindowsCalculator", "11.2405.2.0"), ("Microsoft.WindowsCamera", "2024.2408.1.0"),
    ("Microsoft.Windows.Photos", "2024.11100.16009.0"), ("Microsoft.WindowsStore", "22410.1401.5.0"),
    ("Microsoft.ScreenSketch", "11.2409.25.0"), ("Microsoft.WindowsAlarms", "11.2408.4.0"),
    ("Microsoft.WindowsMaps", "11.2407.3.0"), ("Microsoft.WindowsSoundRecorder", "11.2408.6.0"),
    ("Microsoft.WindowsFeedbackHub", "1.2405.21221.0"), ("Microsoft.GetHelp", "10.2409.22951.0"),
    ("Microsoft.Getstarted", "10.2312.1.0"), ("Microsoft.BingWeather", "4.53.60911.0"),
    ("Microsoft.BingNews", "4.55.62231.0"), ("Microsoft.MicrosoftSolitaireCollection", "4.21.11050.0"),
    ("Microsoft.MicrosoftStickyNotes", "6.1.2.0"), ("Microsoft.YourPhone", "1.24102.126.0"),
    ("Microsoft.ZuneMusic", "11.2409.6.0"), ("Microsoft.ZuneVideo", "10.24091.10041.0"),
    ("Microsoft.Xbox.TCUI", "1.24.10001.0"), ("Microsoft.XboxGameOverlay", "1.54.4001.0"),
    ("Microsoft.XboxGamingOverlay", "7.124.9172.0"), ("Microsoft.XboxIdentityProvider", "12.115.1001.0"),
    ("Microsoft.XboxSpeechToTextOverlay", "1.97.17002.0"), ("Microsoft.GamingApp", "2410.1001.7.0"),
    ("Microsoft.DesktopAppInstaller", "1.24.25200.0"), ("Microsoft.StorePurchaseApp", "22409.1401.1.0"),
    ("Microsoft.HEIFImageExtension", "1.2.3.0"), ("Microsoft.VP9VideoExtensions", "1.2.2.0"),
    ("Microsoft.WebMediaExtensions", "1.1.1295.0"), ("Microsoft.WebpImageExtension", "1.1.1221.0"),
    ("Microsoft.RawImageExtension", "2.5.2.0"), ("Microsoft.VCLibs.140.00", "14.0.33519.0"),
    ("Microsoft.VCLibs.140.00.UWPDesktop", "14.0.33728.0"), ("Microsoft.UI.Xaml.2.7", "7.2409.9001.0"),
    ("Microsoft.UI.Xaml.2.8", "8.2310.30001.0"), ("Microsoft.NET.Native.Framework.2.2", "2.2.29512.0"),
    ("Microsoft.NET.Native.Runtime.2.2", "2.2.28604.0"), ("Microsoft.Services.Store.Engagement", "10.0.23012.0"),
    ("Microsoft.WindowsAppRuntime.1.5", "5001.275.500.0"), ("Microsoft.SecHealthUI", "1000.27703.1006.0"),
    ("Microsoft.Windows.ShellExperienceHost", "10.0.19041.4355"), ("Microsoft.Windows.Search", "1.14.17.19041"),
    ("Microsoft.Windows.CloudExperienceHost", "10.0.19041.4355"), ("Microsoft.AAD.BrokerPlugin", "1000.19041.4355.0"),
    ("Microsoft.AccountsControl", "10.0.19041.4355"), ("Microsoft.LockApp", "10.0.19041.4355"),
    ("Microsoft.Win32WebViewHost", "10.0.19041.4355"), ("Microsoft.Windows.ContentDeliveryManager", "10.0.19041.4355"),
    ("Microsoft.Windows.PeopleExperienceHost", "10.0.19041.4355"), ("Microsoft.MicrosoftOfficeHub", "18.2410.1171.0"),
    ("Microsoft.Todos", "2.114.7122.0"), ("Microsoft.PowerAutomateDesktop", "11.2410.249.0"),
    ("MicrosoftCorporationII.QuickAssist", "2.0.32.0"), ("Microsoft.Windows.DevHome", "0.1900.694.0"),
))
# Frameworks come once per architecture, and system apps (some named by a GUID) are listed too.
APPX_SYSTEM = tuple((name, ver, _MS) for name, ver in (
    ("Microsoft.VCLibs.140.00", "14.0.33519.0"), ("Microsoft.VCLibs.140.00.UWPDesktop", "14.0.33728.0"),
    ("Microsoft.UI.Xaml.2.7", "7.2409.9001.0"), ("Microsoft.UI.Xaml.2.8", "8.2310.30001.0"),
    ("Microsoft.NET.Native.Framework.2.2", "2.2.29512.0"), ("Microsoft.NET.Native.Runtime.2.2", "2.2.28604.0"),
    ("Microsoft.WindowsAppRuntime.1.5", "5001.275.500.0"), ("Microsoft.WindowsAppRuntime.1.4", "4000.1309.2056.0"),
    ("Microsoft.LanguageExperiencePackvi-VN", "19041.78.242.0"), ("Microsoft.Windows.NarratorQuickStart",
                                                                "10.0.19041.4355"),
    ("Microsoft.Windows.ParentalControls", "1000.19041.4355.0"), ("Microsoft.Windows.Apprep.ChxApp",
                                                                 "1000.19041.4355.0"),
    ("Microsoft.Windows.AssignedAccessLockApp", "1000.19041.4355.0"), ("Microsoft.Windows.CapturePicker",
                                                                      "10.0.19041.4355"),
    ("Microsoft.Windows.OOBENetworkCaptivePortal", "10.0.19041.4355"),
    ("Microsoft.Windows.OOBENetworkConnectionFlow", "10.0.19041.4355"),
    ("Microsoft.Windows.PinningConfirmationDialog", "1000.19041.4355.0"),
    ("Microsoft.Windows.XGpuEjectDialog", "10.0.19041.4355"), ("Microsoft.XboxGameCallableUI", "1000.19041.4355.0"),
    ("Microsoft.ECApp", "10.0.19041.4355"), ("Microsoft.CredDialogHost", "10.0.19041.4355"),
    ("Microsoft.BioEnrollment", "10.0.19041.4355"), ("Microsoft.MicrosoftEdgeDevToolsClient", "1000.19041.4355.0"),
    ("Microsoft.Windows.SecureAssessmentBrowser", "10.0.19041.4355"), ("Microsoft.AsyncTextService",
                                                                      "10.0.19041.4355"),
    ("Microsoft.Windows.CallingShellApp", "1000.19041.4355.0"), ("NcsiUwpApp", "1000.19041.4355.0"),
    ("Windows.CBSPreview", "10.0.19041.4355"), ("windows.immersivecontrolpanel", "10.0.2.1000"),
    ("Windows.PrintDialog", "6.2.3.0"), ("MicrosoftWindows.Client.CBS", "1000.19061.1000.0"),
    ("1527c705-839a-4832-9118-54d4Bd6a0c89", "10.0.19041.4355"),
    ("c5e2524a-ea46-4f67-841f-6a9465d9d515", "10.0.19041.4355"),
    ("E2A4F912-2574-4A75-9BB0-0D023378592B", "10.0.19041.4355"),
    ("F46D4000-FD22-4DB4-AC8E-4E1DDDE828FE", "10.0.19041.4355"),
))
APPX_WIN10 = tuple((name, ver, _MS) for name, ver in (
    ("Microsoft.People", "10.2202.100.0"), ("Microsoft.MSPaint", "6.2203.1037.0"),
    ("Microsoft.Microsoft3DViewer", "7.2211.24012.0"), ("Microsoft.SkypeApp", "15.130.3204.0"),
    ("Microsoft.549981C3F5F10", "4.2308.1005.0"), ("Microsoft.MixedReality.Portal", "2000.21051.1282.0"),
    ("Microsoft.Wallet", "2.4.18324.0"), ("Microsoft.Office.OneNote", "16001.14326.21904.0"),
))
APPX_WIN11 = tuple((name, ver, _MS) for name, ver in (
    ("Microsoft.WindowsNotepad", "11.2409.9.0"), ("Microsoft.Paint", "11.2410.28.0"),
    ("MicrosoftWindows.Client.WebExperience", "424.1301.270.9"), ("Clipchamp.Clipchamp", "3.1.12030.0"),
    ("Microsoft.WindowsTerminal", "1.21.3231.0"), ("Microsoft.OutlookForWindows", "1.2024.1113.400"),
    ("Microsoft.WindowsAppRuntime.1.6", "6000.311.13.0"), ("Microsoft.Windows.StartMenuExperienceHost",
                                                          "10.0.26100.2454"),
))


def _office_msi(year: str, suite: str, parts: tuple[str, ...], bits: str) -> tuple[tuple[str, str, str], ...]:
    version = {"2010": "14.0.7015.1000", "2016": "16.0.4266.1001"}[year]
    prefix = "Microsoft Office " if year == "2010" else "Microsoft "
    rows = [(f"Microsoft Office {suite} {year}", version, _MS),
            (f"Microsoft Office {bits} Components {year}", version, _MS),
            (f"Microsoft Office Shared {bits} MUI (English) {year}", version, _MS),
            (f"Microsoft Office Shared Setup Metadata MUI (English) {year}", version, _MS),
            (f"Microsoft Office Proofing (English) {year}", version, _MS),
            (f"Microsoft Office Proofing Tools {year} - English", version, _MS),
            (f"Microsoft Office Proofing Tools {year} - Español", version, _MS),
            (f"Outils de vérification linguistique {year} de Microsoft Office - Français", version, _MS)]
    rows += [(f"{prefix}{part} MUI (English) {year}", version, _MS) for part in parts]
    return tuple(rows)


_OFFICE_PARTS = ("Access", "Excel", "PowerPoint", "Publisher", "Outlook", "Word", "OneNote", "InfoPath", "Groove")
OFFICE = {
    "2010": _office_msi("2010", "Professional Plus", _OFFICE_PARTS, "32-bit"),
    "2016": _office_msi("2016", "Professional Plus", _OFFICE_PARTS + ("Skype for Business", "DCF"), "32-bit"),
    "2021": (("Microsoft Office LTSC Professional Plus 2021 - en-us", "16.0.14332.20812", _MS),
             ("Microsoft Office LTSC Professional Plus 2021 - vi-vn", "16.0.14332.20812", _MS),
             ("Office 16 Click-to-Run Extensibility Component", "16.0.14332.20812", _MS),
             ("Office 16 Click-to-Run Licensing Component", "16.0.14332.20812", _MS),
             ("Office 16 Click-to-Run Localization Component", "16.0.14332.20812", _MS)),
    "365": (("Microsoft 365 Apps for enterprise - en-us", "16.0.18129.20158", _MS),
            ("Microsoft 365 Apps for enterprise - vi-vn", "16.0.18129.20158", _MS),
            ("Office 16 Click-to-Run Extensibility Component", "16.0.18129.20158", _MS),
            ("Office 16 Click-to-Run Licensing Component", "16.0.18129.20158", _MS)),
    "wps": (("WPS Office", "12.2.0.18283", "Kingsoft Corp."),),
    "libre": (("LibreOffice 7.6.4.1", "7.6.4.1", "The Document Foundation"),),
}
# (probability, packages) of the everyday software on a ward PC.
COMMON_APPS = (
    (0.92, (("Google Chrome", "131.0.6778.205", "Google LLC"),)),
    (0.55, (("Cốc Cốc", "131.0.6778.214", "Công ty TNHH Cốc Cốc"),)),
    (0.25, (("Mozilla Firefox (x64 vi)", "133.0.3", "Mozilla"), ("Mozilla Maintenance Service", "133.0.3", "Mozilla"))),
    (0.85, (("Zalo", "24.12.1", "VNG Corp."),)),
    (0.70, (("UltraViewer version 6.6.105", "6.6.105", "DucFabulous"),)),
    (0.45, (("TeamViewer", "15.61.3", "TeamViewer"),)),
    (0.15, (("AnyDesk", "ad 9.0.5", "AnyDesk Software GmbH"),)),
    (0.60, (("Foxit PDF Reader", "2024.4.0.27683", "Foxit Software Inc."),)),
    (0.45, (("Adobe Acrobat (64-bit)", "24.005.20320", "Adobe"),)),
    (0.75, (("WinRAR 7.01 (64-bit)", "7.01.0", "win.rar GmbH"),)),
    (0.35, (("7-Zip 24.08 (x64)", "24.08", "Igor Pavlov"),)),
    (0.30, (("UniKey 4.3 RC5", "4.3.5", "Phạm Kim Long"),)),
    (0.30, (("Bộ font chữ tiếng Việt (VNI, TCVN3, Unicode)", "1.0", None),)),
    (0.30, (("VLC media player", "3.0.21", "VideoLAN"),)),
    (0.15, (("K-Lite Codec Pack 18.6.5 Basic", "18.6.5", "KLCP"),)),
    (0.20, (("Notepad++ (64-bit x64)", "8.7.4", "Notepad++ Team"),)),
    (0.55, (("Java 8 Update 431", "8.0.4310.10", "Oracle Corporation"),
            ("Java Auto Updater", "2.8.431.10", "Oracle Corporation"))),
    (0.30, (("Kaspersky Endpoint Security for Windows", "12.7.0.533", "AO Kaspersky Lab"),
            ("Kaspersky Security Center Network Agent", "14.2.0.26967", "AO Kaspersky Lab"))),
    (0.30, (("Bkav Pro Internet Security", "5.3.0", "Bkav Corporation"),)),
    (0.10, (("Telegram Desktop", "5.9", "Telegram FZ-LLC"),)),
    (0.15, (("Skype version 8.134", "8.134", "Skype Technologies S.A."),)),
    (0.25, (("Microsoft Access database engine 2010 (English)", "14.0.7015.1000", _MS),)),
    (0.20, (("Google Drive", "104.0.2.0", "Google LLC"),)),
    (0.15, (("CCleaner", "6.31", "Piriform"),)),
    (0.10, (("Internet Download Manager", "6.42.27", "Tonec Inc."),)),
)
PRINTERS = (
    (("Canon LBP2900/2900B Printer Driver", "3.30", "Canon Inc."),),
    (("Canon LBP6030/6040/6018L", "1.20", "Canon Inc."), ("Canon MF Scan Utility", "1.10.0.2", "Canon Inc.")),
    (("HP LaserJet Pro MFP M127-M128 Basic Device Software", "33.2.120.1032", "HP Inc."),),
    (("Brother MFL-Pro Suite DCP-L2520D series", "1.0.3.0", "Brother Industries, Ltd."),),
    (("EPSON L3110 Series Printer Uninstall", None, "Seiko Epson Corporation"),),
)
ROLE_SOFTWARE = {
    "one_stop": (("PaperStream IP (TWAIN) 2.12.0", "2.12.0", "PFU Limited"),
                 ("PaperStream Capture", "3.3.0", "PFU Limited")),
    "accounting": (("Microsoft SQL Server 2014 (64-bit)", "12.3.6024.0", _MS),
                   ("Microsoft SQL Server 2014 Setup (English)", "12.3.6024.0", _MS),
                   ("Microsoft SQL Server 2012 Native Client", "11.4.7462.6", _MS),
                   ("Microsoft ODBC Driver 11 for SQL Server", "12.3.6024.0", _MS),
                   ("SQL Server Browser for SQL Server 2014", "12.3.6024.0", _MS),
                   ("Microsoft VSS Writer for SQL Server 2014", "12.3.6024.0", _MS),
                   ("SAP Crystal Reports runtime engine for .NET Framework (64-bit)", "13.0.32.4286", "SAP")),
    "land": (("MicroStation V8i (SELECTseries 4)", "08.11.09.578", "Bentley Systems, Incorporated"),
             ("AutoCAD 2019 - English", "23.0.47.0", "Autodesk")),
}
VENDOR_TOOLS = {
    "dell": (("Dell SupportAssist", "4.4.3.26567", "Dell Inc."), ("Dell Command | Update", "5.4.0", "Dell Inc."),
             ("Dell SupportAssist Remediation", "5.5.13.18342", "Dell Inc.")),
    "hp": (("HP Support Assistant", "9.38.33.0", "HP Inc."), ("HP Wolf Security", "4.5.21.1152", "HP Inc."),
           ("HP Notifications", "1.1.30.1", "HP")),
    "lenovo": (("Lenovo Vantage Service", "4.1.65.0", "Lenovo Group Ltd."),
               ("Lenovo System Update", "5.08.02.25", "Lenovo")),
    "asus": (("MyASUS", "4.0.27.0", "ASUSTeK COMPUTER INC."), ("ASUS System Control Interface", "3.1.34.0", "ASUS")),
    "oem": (),
}
INTEL_DRIVERS = (("Intel(R) Chipset Device Software", "10.1.19263.8344", "Intel(R) Corporation"),
                 ("Intel(R) Management Engine Components", "2040.100.0.1029", "Intel Corporation"),
                 ("Intel(R) Rapid Storage Technology", "17.11.3.1010", "Intel Corporation"))
INTEL_OLD_DRIVERS = (("Intel(R) Processor Graphics", "20.19.15.4531", "Intel Corporation"),
                     ("Intel(R) USB 3.0 eXtensible Host Controller Driver", "4.0.4.51", "Intel Corporation"))
# Drivers installed from vendor CDs on older PCs register one entry each.
DRIVER_PACKAGES = (
    ("Windows Driver Package - Intel (e1dexpress) Net  (12.15.22.6)", "12.15.22.6", "Intel"),
    ("Windows Driver Package - Realtek (RTL8192EU) Net  (03/25/2015 1030.9.0325.2015)", "03/25/2015 1030.9.0325.2015",
     "Realtek"),
    ("Windows Driver Package - Canon (CNAB3LA) Printers  (03/08/2012 3.30.0.0)", "03/08/2012 3.30.0.0", "Canon"),
    ("Windows Driver Package - Intel Corporation (iaStorA) HDC  (12/17/2014 13.6.0.1002)",
     "12/17/2014 13.6.0.1002", "Intel Corporation"),
    ("Windows Driver Package - Generic USB Audio (USBAudio) MEDIA  (01/01/2015 1.0.0.0)", "01/01/2015 1.0.0.0", None),
)
AMD_DRIVERS = (("AMD Software", "24.10.1", "Advanced Micro Devices, Inc."),
               ("AMD Chipset Software", "6.10.17.152", "Advanced Micro Devices, Inc."))
AMD_OLD_DRIVERS = (("AMD Catalyst Install Manager", "8.0.916.0", "Advanced Micro Devices, Inc."),)
REALTEK = (("Realtek High Definition Audio Driver", "6.0.9239.1", "Realtek Semiconductor Corp."),
           ("Realtek Ethernet Controller Driver", "10.68.1003.2023", "Realtek"))
LAPTOP_DRIVERS = (("Realtek Card Reader", "10.0.22000.31274", "Realtek Semiconductor Corp."),
                  ("Intel(R) Wireless Bluetooth(R)", "23.60.0.1", "Intel Corporation"),
                  ("Intel(R) PROSet/Wireless Software", "23.60.0", "Intel Corporation"),
                  ("Synaptics Pointing Device Driver", "19.5.35.8", "Synaptics Incorporated"))
SERVER_SOFTWARE = (
    ("Microsoft SQL Server 2019 (64-bit)", "15.0.4405.4", _MS), ("Microsoft SQL Server 2019 Setup (English)",
                                                                 "15.0.4405.4", _MS),
    ("SQL Server 2019 Database Engine Services", "15.0.4405.4", _MS),
    ("SQL Server 2019 Database Engine Shared", "15.0.4405.4", _MS),
    ("SQL Server 2019 Common Files", "15.0.4405.4", _MS), ("SQL Server 2019 Connection Info", "15.0.4405.4", _MS),
    ("Microsoft SQL Server Management Studio - 19.3", "19.3.4.0", _MS),
    ("Microsoft ODBC Driver 17 for SQL Server", "17.10.6.1", _MS),
    ("Microsoft OLE DB Driver for SQL Server", "18.7.4.0", _MS), ("Microsoft VSS Writer for SQL Server 2019",
                                                                 "15.0.4405.4", _MS),
    ("IIS URL Rewrite Module 2", "7.2.1993", _MS), ("Microsoft Web Deploy 4.0", "10.0.8616", _MS),
    ("Microsoft ASP.NET Core 8.0.11 Hosting Bundle", "8.0.11.24521", _MS),
    ("Veeam Agent for Microsoft Windows", "6.2.0.121", "Veeam Software Group GmbH"),
    ("Kaspersky Security 11 for Windows Server", "11.0.1.897", "AO Kaspersky Lab"),
    ("Google Chrome", "131.0.6778.205", "Google LLC"), ("Notepad++ (64-bit x64)", "8.7.4", "Notepad++ Team"),
    ("7-Zip 24.08 (x64)", "24.08", "Igor Pavlov"), ("WinRAR 7.01 (64-bit)", "7.01.0", "win.rar GmbH"),
    ("UltraViewer version 6.6.105", "6.6.105", "DucFabulous"),
)


# --------------------------------------------------------------------------- Linux packages

_DPKG_CORE = """adduser apt apt-utils base-files base-passwd bash bash-completion bind9-dnsutils bind9-host bind9-libs
bsdextrautils bsdutils busybox bzip2 ca-certificates console-setup console-setup-linux coreutils cpio cron
cron-daemon-common curl dash dbus dbus-bin dbus-daemon dbus-session-bus-common dbus-system-bus-common
dbus-user-session debconf debconf-i18n debianutils diffutils dirmngr distro-info-data dmidecode dmsetup dpkg
e2fsprogs ethtool fdisk file findutils fontconfig-config fonts-dejavu-core fuse3 gawk gcc-12-base gettext-base
gnupg gnupg-l10n gnupg-utils gpg gpg-agent gpg-wks-client gpg-wks-server gpgconf gpgsm gpgv grep groff-base
grub-common grub-efi-amd64-bin grub-efi-amd64-signed grub-pc-bin grub2-common gzip hostname htop ifupdown init
init-system-helpers initramfs-tools initramfs-tools-core iproute2 iptables iputils-ping iputils-tracepath
isc-dhcp-client isc-dhcp-common iw keyboard-configuration klibc-utils kmod less locales login logrotate logsave
lsb-release lsof lvm2 man-db manpages mawk mdadm media-types mokutil mount nano ncurses-base ncurses-bin
ncurses-term netbase netcat-openbsd net-tools nftables ntfs-3g openssh-client openssh-server openssh-sftp-server
openssl os-prober parted passwd pciutils perl perl-base pinentry-curses procps psmisc publicsuffix python3
python3-minimal readline-common rsync rsyslog runit-helper screen sed sensible-utils shim-helpers-amd64-signed
shim-signed shim-signed-common shim-unsigned smartmontools squashfs-tools ssh-import-id ssl-cert strace sudo
systemd systemd-sysv systemd-timesyncd sysvinit-utils tar tcpdump telnet time tmux traceroute tzdata ucf udev
unattended-upgrades unzip usb.ids usbutils util-linux util-linux-extra vim vim-common vim-runtime vim-tiny wget
whiptail xauth xdg-user-dirs xfsprogs xkb-data xxd xz-utils zip zstd acl apparmor attr dosfstools eject
friendly-recovery gdisk hdparm info install-info iso-codes kbd keyutils libpam-cap linux-base lshw mtr-tiny
ncdu needrestart nfs-common pci.ids plymouth policykit-1 polkitd pollinate rpcbind sg3-utils sg3-utils-udev
sosreport sysstat thin-provisioning-tools uuid-runtime wireless-regdb xdg-utils zerofree chrony auditd
ipmitool open-iscsi open-vm-tools qemu-guest-agent firmware-linux-free intel-microcode amd64-microcode
iucode-tool thermald lm-sensors fail2ban ufw postfix bsd-mailx mailcap mime-support"""
_DPKG_UBUNTU = """ubuntu-minimal ubuntu-server ubuntu-standard ubuntu-advantage-tools ubuntu-keyring
ubuntu-release-upgrader-core ubuntu-pro-client ubuntu-pro-client-l10n snapd cloud-init cloud-guest-utils
cloud-initramfs-copymods cloud-initramfs-dyn-netconf landscape-common motd-news-config update-notifier-common
apport apport-core-dump-handler apport-symptoms byobu command-not-found fwupd fwupd-signed netplan.io
networkd-dispatcher software-properties-common python3-netplan python3-software-properties python3-update-manager
update-manager-core overlayroot open-iscsi multipath-tools lxd-agent-loader lxd-installer pastebinit
python3-apport python3-problem-report python3-commandnotfound python3-distupgrade xfsprogs btrfs-progs
language-pack-en language-pack-en-base language-pack-vi language-pack-vi-base netplan-generator"""
_DPKG_DEBIAN = """debian-archive-keyring debian-faq reportbug apt-listchanges installation-report task-english
tasksel tasksel-data discover discover-data laptop-detect python3-reportbug python3-debianbts bsdmainutils
dictionaries-common emacsen-common ienglish-common wamerican doc-debian manpages-dev debian-keyring"""
_LIB_NAMES = """acl1 aio1 apparmor1 apr1 aprutil1 aprutil1-dbd-sqlite3 aprutil1-ldap apt-pkg6.0 argon2-1 assuan0
atm1 attr1 audit1 audit-common avahi-client3 avahi-common3 avahi-common-data blkid1 bpf1 brotli1 bsd0 bz2-1.0
c-bin c6 cap-ng0 cap2 cap2-bin cbor0.8 com-err2 crypt1 cryptsetup12 cups2 curl3-gnutls curl4 db5.3 dbus-1-3
debconfclient0 devmapper1.02.1 dns-export1110 edit2 elf1 event-2.1-7 event-core-2.1-7 expat1 ext2fs2 fdisk1
ffi8 fido2-1 fontconfig1 freetype6 fribidi0 fstrm0 fuse3-3 gcc-s1 gcrypt20 gd3 gdbm6 gdbm-compat4 geoip1
glib2.0-0 glib2.0-data gmp10 gnutls30 gpg-error0 gpm2 graphite2-3 gssapi-krb5-2 harfbuzz0b hogweed6 icu72
idn2-0 inih1 ip4tc2 ip6tc2 isc-export1105 jansson4 jbig0 jemalloc2 jpeg62-turbo json-c5 k5crypto3 keyutils1
kmod2 krb5-3 krb5support0 ksba8 ldap-2.5-0 lmdb0 lua5.3-0 lz4-1 lzma5 lzo2-2 magic1 magic-mgc maxminddb0 md0
mnl0 mount1 mpdec3 ncursesw6 netfilter-conntrack3 nettle8 newt0.52 nfnetlink0 nftables1 nftnl11 nghttp2-14
nl-3-200 nl-genl-3-200 npth0 nsl2 nss-systemd numa1 onig5 p11-kit0 pam-modules pam-modules-bin pam-runtime
pam-systemd pam0g parted2 pcap0.8 pci3 pcre2-8-0 pcre3 pipeline1 png16-16 popt0 pq5 proc2-0 protobuf-c1 psl5
python3.11 python3.11-minimal python3.11-stdlib readline8 rtmp1 sasl2-2 sasl2-modules sasl2-modules-db
seccomp2 selinux1 semanage2 semanage-common sepol2 slang2 smartcols1 sodium23 sqlite3-0 ss2 ssh-4 ssl3
stdc++6 systemd0 systemd-shared tasn1-6 tdb1 text-charwidth-perl text-iconv-perl text-wrapi18n-perl tiff6
tinfo6 tirpc3 tirpc-common udev1 unistring2 uring2 usb-1.0-0 uuid1 uv1 webp7 wrap0 x11-6 x11-data xau6 xcb1
xdmcp6 xext6 xml2 xmlsec1 xmlsec1-openssl xmuu1 xpm4 xslt1.1 xtables12 xxhash0 yaml-0-2 zip4 zstd1 sensors5
sensors-config snmp40 snmp-base mariadb3 smbclient wbclient0 talloc2 tevent0 ldb2 gnutls-dane0 unbound8
js-jquery js-bootstrap4 llvm15 ltdl7 mysqlclient21 odbc2 odbcinst2 oath0 curl4-openssl-dev pcre2-16-0
pcre2-32-0 pcre2-posix3 ncurses6 encode-locale-perl file-listing-perl html-parser-perl html-tagset-perl
http-date-perl http-message-perl io-html-perl lwp-mediatypes-perl timedate-perl uri-perl clone-perl
dbi-perl dbd-pg-perl dbd-mysql-perl json-perl json-xs-perl common-sense-perl types-serialiser-perl
mailtools-perl net-ssleay-perl io-socket-ssl-perl net-http-perl lwp-protocol-https-perl try-tiny-perl
xml-parser-perl xml-libxml-perl xml-sax-perl xml-sax-base-perl xml-namespacesupport-perl yaml-libyaml-perl
terminal-readkey-perl term-readline-gnu-perl sys-hostname-long-perl regexp-ipv6-perl fcgi-perl fcgi-bin
fcgi0ldbl apache2-mod-php8.2 gd-perl"""
_PY3_NAMES = """apt attr automat babel bcrypt blinker certifi cffi-backend chardet click colorama configobj
constantly cryptography dbus debconf debian distro distro-info gdbm gi hamcrest httplib2 hyperlink idna
importlib-metadata incremental jinja2 json-pointer jsonpatch jsonschema jwt launchpadlib lazr.restfulclient
lazr.uri markdown-it markupsafe mdurl more-itertools netifaces oauthlib openssl pexpect pkg-resources
ptyprocess pyasn1 pyasn1-modules pygments pyparsing pyrsistent pyserial requests rich serial service-identity
setuptools six systemd tz twisted urllib3 wadllib yaml zipp zope.interface psycopg2 psutil ldb samba talloc
tdb markdown docutils packaging pip venv wheel dateutil"""
# Libraries and tools a server picks up over the years (desktop bits for the
# admin's occasional GUI, Perl and Python modules, documentation, locales).
_DPKG_MORE = """adwaita-icon-theme alsa-topology-conf alsa-ucm-conf at-spi2-common at-spi2-core bc binutils
binutils-common binutils-x86-64-linux-gnu build-essential cpp cpp-12 dconf-gsettings-backend dconf-service
dh-python dpkg-dev fakeroot g++ g++-12 gcc gcc-12 gdb gettext gir1.2-glib-2.0 gir1.2-packagekitglib-1.0
gsettings-desktop-schemas gtk-update-icon-cache hicolor-icon-theme icu-devtools javascript-common jq
krb5-locales libalgorithm-diff-perl libalgorithm-diff-xs-perl libalgorithm-merge-perl libasan8 libasound2
libasound2-data libatk-bridge2.0-0 libatk1.0-0 libatomic1 libatspi2.0-0 libauthen-sasl-perl libbinutils
libc-dev-bin libc6-dev libcairo-gobject2 libcairo2 libcc1-0 libcolord2 libcrypt-dev libctf-nobfd0 libctf0
libdatrie1 libdconf1 libdeflate0 libdpkg-perl libdrm-amdgpu1 libdrm-common libdrm-intel1 libdrm-nouveau2
libdrm-radeon1 libdrm2 libdw1 libegl-mesa0 libegl1 libepoxy0 libfakeroot libfile-basedir-perl
libfile-desktopentry-perl libfile-fcntllock-perl libfile-mimeinfo-perl libfont-afm-perl libgbm1
libgcc-12-dev libgdk-pixbuf-2.0-0 libgdk-pixbuf2.0-bin libgdk-pixbuf2.0-common libgl1 libgl1-mesa-dri
libglapi-mesa libgles2 libglvnd0 libglx-mesa0 libglx0 libgomp1 libgprofng0 libgtk-3-0 libgtk-3-bin
libgtk-3-common libhtml-form-perl libhtml-format-perl libhtml-tree-perl libhttp-cookies-perl
libhttp-daemon-perl libhttp-negotiate-perl libice6 libio-stringy-perl libipc-system-simple-perl libisl23
libitm1 libjbig0 libjq1 libjs-sphinxdoc libjs-underscore liblcms2-2 liblerc4 liblsan0 libmpc3 libmpfr6
libnet-dbus-perl libnet-smtp-ssl-perl libnsl-dev libpango-1.0-0 libpangocairo-1.0-0 libpangoft2-1.0-0
libpciaccess0 libpixman-1-0 libpython3-dev libpython3-stdlib libpython3.11-dev libquadmath0 librsvg2-2
librsvg2-common libsm6 libstdc++-12-dev libthai-data libthai0 libtie-ixhash-perl libtirpc-dev libtsan2
libubsan1 libvulkan1 libwayland-client0 libwayland-cursor0 libwayland-egl1 libwayland-server0
libwww-perl libwww-robotrules-perl libx11-protocol-perl libx11-xcb1 libxaw7 libxcb-dri2-0 libxcb-dri3-0
libxcb-glx0 libxcb-present0 libxcb-randr0 libxcb-render0 libxcb-shape0 libxcb-shm0 libxcb-sync1
libxcb-xfixes0 libxcomposite1 libxcursor1 libxdamage1 libxfixes3 libxft2 libxi6 libxinerama1 libxkbcommon0
libxkbfile1 libxml-twig-perl libxml-xpathengine-perl libxmu6 libxrandr2 libxrender1 libxshmfence1 libxt6
libxtst6 libxv1 libxxf86dga1 libxxf86vm1 libz3-4 linux-libc-dev make manpages-dev mesa-vulkan-drivers
patch perl-openssl-defaults pkgconf pkgconf-bin python3-dev python3-distutils python3-lib2to3
python3.11-dev rpcsvc-proto session-migration shared-mime-info x11-common x11-utils x11-xserver-utils
xdg-desktop-portal zlib1g-dev libgirepository-1.0-1 libpackagekit-glib2-18 packagekit packagekit-tools
appstream libappstream4 libstemmer0d libxmlb2 libyaml-0-2 libglib2.0-bin python3-gi python3-dbus
unattended-upgrades python3-apt python-apt-common libnss3 libnspr4 ca-certificates-java java-common
openjdk-17-jre-headless default-jre-headless libpcsclite1 liblcms2-2 libgraphite2-3 libharfbuzz0b
libcups2 libavahi-client3 libjpeg-turbo8 libjpeg8 libopenjp2-7 libpoppler126 poppler-utils
ghostscript libgs10 libgs10-common libijs-0.35 libjbig2dec0 libpaper1 libpaper-utils libidn12
libncurses6 libtinfo5 libncurses5 libreadline-dev libedit-dev libbsd-dev libmd-dev libssl-dev
libsqlite3-dev libffi-dev libexpat1-dev libxml2-dev libxslt1-dev libyaml-dev libpq-dev libmariadb-dev
libmariadb-dev-compat libcurl4-openssl-dev libonig-dev libzip-dev libpng-dev libjpeg-dev libfreetype-dev
libwebp-dev libsodium-dev libargon2-dev libicu-dev libkrb5-dev comerr-dev krb5-multidev libgssrpc4
libkadm5clnt-mit12 libkadm5srv-mit12 libkdb5-10 libevent-dev libevent-extra-2.1-7 libevent-openssl-2.1-7
libevent-pthreads-2.1-7 redis-server redis-tools liblzf1 libhiredis0.14 memcached libmemcached11
logwatch lynx lynx-common mutt libgpgme11 libtokyocabinet9 libnotmuch5 libtalloc2 libgmime-3.0-0
mlocate plocate bash-doc bzip2-doc git-doc iftop iotop nethogs ncat nmap nmap-common libblas3 liblinear4
liblua5.4-0 libpcre2-dev libpcre2-posix3 dnsutils whois mtr bridge-utils vlan ifenslave ethtool
wpasupplicant libpcsclite-dev lsscsi nvme-cli ledmon irqbalance numactl tuned
tuned-utils virt-what dmeventd libdevmapper-event1.02.1 liblvm2cmd2.03
python3-typing-extensions python3-tomli python3-pluggy python3-iniconfig python3-pytest python3-attr
python3-bs4 python3-soupsieve python3-html5lib python3-lxml python3-webencodings python3-chardet
python3-ldap3 python3-pymysql python3-sqlalchemy python3-greenlet python3-flask python3-werkzeug
python3-itsdangerous python3-gunicorn python3-redis python3-paramiko python3-nacl python3-invoke
python3-fabric python3-boto3 python3-botocore python3-s3transfer python3-jmespath python3-dateutil
python3-tzlocal python3-babel python3-simplejson python3-ujson python3-msgpack python3-protobuf
python3-grpcio python3-pil python3-numpy python3-pandas python3-openpyxl python3-et-xmlfile
python3-xlrd python3-reportlab python3-docx python3-pypdf2 ansible ansible-core python3-resolvelib
python3-passlib python3-ntlm-auth python3-requests-ntlm python3-winrm python3-xmltodict sshpass
zabbix-agent zabbix-agent2 prometheus-node-exporter prometheus-node-exporter-collectors
libmodbus5 snmpd snmp libsnmp-dev rsyslog-gnutls rsyslog-relp logrotate chrony ntpsec ntpsec-ntpdate
tzdata-legacy locales-all hunspell-en-us libhunspell-1.7-0 aspell aspell-en dictionaries-common wamerican
emacsen-common"""
_ROLE_DPKG = {
    "db": """postgresql postgresql-15 postgresql-client-15 postgresql-client-common postgresql-common
postgresql-contrib sysstat pgbackrest pgbouncer""",
    "web": """nginx nginx-common libnginx-mod-http-geoip2 libnginx-mod-stream php8.2-fpm php8.2-cli php8.2-common
php8.2-mysql php8.2-xml php8.2-mbstring php8.2-curl php8.2-gd php8.2-zip php8.2-intl php-common certbot
python3-certbot python3-certbot-nginx python3-acme python3-josepy python3-configargparse python3-parsedatetime
python3-rfc3339 python3-icu""",
    "file": """samba samba-common samba-common-bin samba-libs samba-dsdb-modules samba-vfs-modules smbclient
cifs-utils winbind libnss-winbind libpam-winbind tdb-tools python3-samba python3-dnspython""",
    "docker": """docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin
docker-ce-rootless-extras pigz slirp4netns git git-man liberror-perl patch""",
}


def _dpkg_pool() -> tuple[str, ...]:
    names = _DPKG_CORE.split() + _DPKG_MORE.split()
    names += [f"lib{n}" for n in _LIB_NAMES.split()]
    names += [f"python3-{n}" for n in _PY3_NAMES.split()]
    names += [f"fonts-{n}" for n in "dejavu-extra liberation liberation2 noto-core noto-mono freefont-ttf".split()]
    names += [f"firmware-{n}" for n in "linux-nonfree misc-nonfree realtek bnx2 bnx2x qlogic intel-sound".split()]
    return tuple(dict.fromkeys(names))


DPKG_POOL = _dpkg_pool()


@lru_cache(maxsize=None)
def _dpkg_row(name: str, suffix: str) -> tuple[str, str, None]:
    """A plausible, stable version per package, one shared row per distribution: real dpkg
    versions are not what is being simulated, and sharing keeps a long history small."""
    h = zlib.crc32(name.encode())
    return name, f"{1 + h % 9}.{(h >> 4) % 20}.{(h >> 9) % 12}-{1 + (h >> 13) % 5}{suffix}", None


# --------------------------------------------------------------------------- network

HDC_TARGETS = (("hdc-portal", "https://dichvucong.hanoi.gov.vn/"),
               ("hdc-cloud", "https://cloud.hdc.hanoi.gov.vn/healthz"),
               ("hdc-mail", "https://mail.hanoi.gov.vn/"))
_ERRORS = ("timed out after 5 s", "connection refused", "name or service not known",
           "TLS handshake failed: certificate verify failed")


# --------------------------------------------------------------------------- planning a unit

def _hostname_stem(ward: Ward) -> str:
    return "".join(c for c in fold(ward.name).upper() if c.isalnum())


def _ward_rng(seed: int, ward: Ward, *more: object) -> random.Random:
    return random.Random(":".join(map(str, (seed, ward.code) + more)))


@dataclass(frozen=True)
class _Diligence:
    """How a unit's IT staff carry out the programme.

    ``fix_rate`` is the share of its machines that fall short (hardware,
    Windows 10, a Windows 11 feature update left pending, a server short of
    RAM or on an OS nearing its end) the unit fixes; ``timing`` is when, in
    days from the deadline (mean, spread, earliest, latest); ``tpm_unreadable``
    the share of its PCs whose agent runs without the rights to read the TPM.
    """

    tier: str
    fix_rate: float
    timing: tuple[float, float, int, int]
    tpm_unreadable: float


# tier: (weight, fix rate range, timing, P(some agents not elevated)). Early units finish before the
# deadline, prompt ones within weeks after it; partial ones leave a few machines, laggards most of them.
# Every date falls before November 2026, so "fixed" means fixed by a year after the deadline.
DILIGENCE_TIERS = {
    "early": (0.15, (1.0, 1.0), (-28.0, 18.0, -75, -1), 0.06),
    "prompt": (0.27, (1.0, 1.0), (-8.0, 26.0, -75, 75), 0.06),
    "partial": (0.45, (0.72, 0.95), (5.0, 50.0, -75, 300), 0.35),
    "laggard": (0.13, (0.05, 0.25), (60.0, 90.0, -60, 330), 0.35),
}


def _diligence(seed: int, ward: Ward) -> _Diligence:
    """A unit's diligence, from its own stream (the rest of its plan does not change with it)."""
    rng = _ward_rng(seed, ward, "diligence")
    names = list(DILIGENCE_TIERS)
    tier = rng.choices(names, [DILIGENCE_TIERS[n][0] for n in names])[0]
    _, (low, high), timing, unelevated = DILIGENCE_TIERS[tier]
    unreadable = rng.uniform(0.08, 0.2) if rng.random() < unelevated else 0.0
    return _Diligence(tier, rng.uniform(low, high), timing, unreadable)


@dataclass(frozen=True)
class _UnitPlan:
    """What a whole unit shares: vendors per application, migration progress, network quality, diligence."""

    variants: dict[str, int]
    removed: frozenset[str]
    network: str
    printers: tuple[int, ...]
    diligence: _Diligence


def _unit_plan(rng: random.Random, catalog: Catalog, diligence: _Diligence) -> _UnitPlan:
    variants = {app: rng.randrange(len(v)) for app, v in APP_VARIANTS.items()}
    progress = rng.uniform(0.0, 0.8)
    removed = frozenset(a.id for a in catalog.apps if a.target != "stays_local" and rng.random() < progress)
    network = rng.choices(("good", "degraded", "cloud_blocked"), (0.8, 0.12, 0.08))[0]
    printers = tuple(rng.sample(range(len(PRINTERS)), 2))
    return _UnitPlan(variants, removed, network, printers, diligence)


def _roles(rng: random.Random, clients: int) -> list[str]:
    fixed = ["leader", "leader", "accounting", "accounting", "land", "meeting", "clerk", "clerk", "clerk"]
    roles = fixed[:clients]
    rest = clients - len(roles)
    one_stop = max(1, round(rest * 0.45)) if rest else 0
    roles += ["one_stop"] * one_stop + ["office"] * (rest - one_stop)
    rng.shuffle(roles)
    return roles


def _unit_slots(registry_index: int, ward: Ward, seed: int, devices_per_unit: tuple[int, int],
               catalog: Catalog) -> list[Slot]:
    """Every slot of one unit, from its own random stream."""
    rng = _ward_rng(seed, ward)
    plan = _unit_plan(rng, catalog, _diligence(seed, ward))
    total = rng.randint(*devices_per_unit)
    servers = 3 if total >= 32 else 2 if total >= 26 else 1 if total >= 20 or rng.random() < 0.5 else 0
    stem = _hostname_stem(ward)
    slots = []
    counters = {"PC": 0, "LT": 0, "SRV": 0, "VM": 0}
    roles = _roles(rng, total - servers) + ["server"] * servers
    migration = migration_plan(seed, ward, catalog)
    for index, role in enumerate(roles):
        device_rng = _ward_rng(seed, ward, index)
        slots.append(_slot(device_rng, seed, ward, registry_index, index, role, plan, stem, counters, migration))
    return slots


def _slot(rng: random.Random, seed: int, ward: Ward, unit_no: int, index: int, role: str, plan: _UnitPlan,
          stem: str, counters: dict[str, int], migration: "MigrationPlan") -> Slot:
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


def _device_uuid(seed: int, ward: Ward, index: int, generation: int = 0) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{seed}:{ward.code}:{index}:{generation}")).upper()


def _serial(rng: random.Random, style: str) -> Optional[str]:
    """Serial numbers in each vendor's format; white boxes keep the board maker's placeholder."""
    tail = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(11))
    return {"dell": tail[:7], "hp": "8CG" + tail[:7], "lenovo": "PF" + tail[:6], "asus": "N" + tail,
            "oem": "To be filled by O.E.M.", "vmware": f"VMware-56 4d {tail[:2].lower()} 3c 8e", "none": None}[style]


def _client(rng: random.Random, seed: int, ward: Ward, index: int, role: str, plan: _UnitPlan) -> Machine:
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
    return replace(machine, software=_windows_software(rng, machine, role, plan))


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


def _server(rng: random.Random, seed: int, ward: Ward, index: int) -> Machine:
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
        device_id=(uuid.uuid5(_NAMESPACE, f"{seed}:{ward.code}:{index}:machine-id").hex if linux
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
    rows = _linux_software(rng, os) if linux else _server_software(rng, virtual)
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
    if cpu.vendor == _AMD:
        return cpu.family >= 23
    return cpu.model_number > 95 and not (cpu.model_number in (142, 158) and cpu.stepping == 9)


def _fix_day(rng: random.Random, diligence: _Diligence) -> date:
    mean, spread, first, last = diligence.timing
    return DEADLINE + timedelta(days=max(first, min(last, round(rng.gauss(mean, spread)))))


def _upgrade(rng: random.Random, seed: int, ward: Ward, index: int, role: str, plan: _UnitPlan,
             machine: Machine) -> Optional[tuple[date, Machine]]:
    """The unit's share of deficient machines is fixed, on dates spread around the deadline as its diligence says."""
    problems = _deficient(machine)
    if not problems or rng.random() >= plan.diligence.fix_rate:
        return None
    day = _fix_day(rng, plan.diligence)
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


def _server_upgrade(rng: random.Random, plan: _UnitPlan, machine: Machine) -> Optional[tuple[date, Machine]]:
    """A physical server short of RAM gets more; one on an OS nearing its end is upgraded in place."""
    short = machine.platform.device_class == "server" and machine.memory_gib < 16
    successor = _SERVER_OS_SUCCESSOR.get(machine.os)
    if not (short or successor) or rng.random() >= plan.diligence.fix_rate:
        return None
    day = _fix_day(rng, plan.diligence)
    better = replace(machine, memory_gib=rng.choice((16, 32, 32)) if short else machine.memory_gib)
    if successor:
        better = replace(better, os=successor, software=_linux_software(rng, successor))
    return day, better


def _replacement(rng: random.Random, seed: int, ward: Ward, index: int, role: str, plan: _UnitPlan,
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
    return replace(new, software=_windows_software(rng, new, role, plan))


# --------------------------------------------------------------------------- software lists

def _windows_software(rng: random.Random, machine: Machine, role: str,
                      plan: _UnitPlan) -> tuple[tuple[str, Optional[str], Optional[str]], ...]:
    rows: list[tuple[str, Optional[str], Optional[str]]] = list(WINDOWS_BASE)
    rows += [r for r in VCREDIST if rng.random() < 0.85]
    rows += [r for r in RUNTIMES if rng.random() < 0.6]
    rows += APPX_COMMON + APPX_SYSTEM + (APPX_WIN11 if machine.os == "win11" else APPX_WIN10 + WIN10_ONLY)
    old = machine.platform.year <= 2017
    office = rng.choices(("2010", "2016", "2021", "365", "wps", "libre"),
                         (0.35, 0.5, 0.05, 0.02, 0.05, 0.03) if old else (0.05, 0.45, 0.3, 0.12, 0.05, 0.03))[0]
    rows += OFFICE[office]
    for probability, packages in COMMON_APPS:
        if rng.random() < probability:
            rows += packages
    rows += _drivers(machine)
    for printer in plan.printers[:rng.randint(1, 2)]:
        rows += PRINTERS[printer]
    rows += ROLE_SOFTWARE.get(role, ())
    rows += _catalog_apps(rng, role, plan)
    return tuple(rows)


def _drivers(machine: Machine) -> list[tuple[str, Optional[str], Optional[str]]]:
    old = machine.platform.year <= 2017
    rows: list[tuple[str, Optional[str], Optional[str]]] = list(REALTEK)
    if machine.cpu.vendor == _INTEL:
        rows += INTEL_DRIVERS + (INTEL_OLD_DRIVERS + DRIVER_PACKAGES if old else ())
    else:
        rows += AMD_OLD_DRIVERS if old else AMD_DRIVERS
    rows += VENDOR_TOOLS[machine.platform.serial_style]
    if machine.platform.device_class == "laptop":
        rows += LAPTOP_DRIVERS
    return rows


def _catalog_apps(rng: random.Random, role: str, plan: _UnitPlan) -> list[tuple[str, Optional[str], Optional[str]]]:
    wanted = [app for app in ROLE_APPS[role] if rng.random() < 0.9]
    wanted += [app for app, probability in _EXTRA_APPS if rng.random() < probability]
    rows: list[tuple[str, Optional[str], Optional[str]]] = []
    for app in dict.fromkeys(wanted):
        if app not in plan.removed:
            rows += APP_VARIANTS[app][plan.variants[app]]
    return rows


def _server_software(rng: random.Random, virtual: bool) -> tuple[tuple[str, Optional[str], Optional[str]], ...]:
    rows: list[tuple[str, Optional[str], Optional[str]]] = [r for r in VCREDIST if rng.random() < 0.7]
    rows += RUNTIMES[:5]
    rows += [r for r in SERVER_SOFTWARE if rng.random() < 0.75]
    if virtual:
        rows.append(("VMware Tools", "12.4.5.23787635", "VMware, Inc."))
    if rng.random() < 0.3:
        rows += APP_VARIANTS["queue_satisfaction"][0]
    return tuple(rows)


def _linux_software(rng: random.Random, os: str) -> tuple[tuple[str, Optional[str], Optional[str]], ...]:
    name, distro, version, kernel = LINUX[os]
    suffix = f"ubuntu0.{version}.1" if distro == "ubuntu" else f"+deb{version}u1"
    names = (_DPKG_UBUNTU if distro == "ubuntu" else _DPKG_DEBIAN).split() + _DPKG_CORE.split()
    for role in rng.sample(sorted(_ROLE_DPKG), rng.randint(1, 2)):
        names += _ROLE_DPKG[role].split()
    abi = kernel.rsplit("-", 1)[0]
    flavour = kernel.rsplit("-", 1)[1]
    for back in range(rng.randint(1, 3)):
        release = f"{abi.rsplit('-', 1)[0]}-{int(abi.rsplit('-', 1)[1]) - 3 * back}-{flavour}"
        names += [f"linux-image-{release}", f"linux-modules-{release}", f"linux-headers-{release}"]
    target = rng.randint(600, 1000)
    present = set(names)
    extra = [n for n in DPKG_POOL if n not in present]
    names += rng.sample(extra, max(0, min(len(extra), target - len(names))))
    return tuple(_dpkg_row(n, suffix) for n in dict.fromkeys(names))


# --------------------------------------------------------------------------- reports

def _report(slot: Slot, machine: Machine, when: datetime) -> dict:
    """The schema-v1 report ``machine`` would send at ``when``."""
    stamp = rfc3339(when)
    doc = empty_report(slot.ward.code, AGENT_NAME, __version__, "simulator")
    doc["report_id"] = str(uuid.uuid5(_NAMESPACE, f"{machine.device_id}|{stamp}"))
    doc["collected_at"] = stamp
    rng = random.Random(doc["report_id"])
    platform = machine.platform
    doc["device"] = {"id": machine.device_id, "id_source": machine.id_source, "hostname": slot.hostname,
                     "serial": machine.serial, "manufacturer": platform.manufacturer, "model": platform.model,
                     "class": platform.device_class}
    doc["hardware"] = _hardware(machine, rng)
    doc["firmware"] = _firmware(machine)
    doc["os"] = _os(machine, when.date())
    gone = slot.migration.moved_by(when.date()) if slot.migration else frozenset()
    doc["software"] = [{"name": n, "version": v, "publisher": p} for n, v, p in machine.software
                       if _APP_OF_ROW.get((n, v, p)) not in gone]
    doc["network"] = {"reachability": _reachability(slot, when.date(), rng),
                      "interfaces": [_interface(slot, machine)]}
    if machine.tpm == "unknown":
        doc["notes"] = ["tpm: Get-Tpm failed: Access denied (the agent is not running elevated)"]
    return doc


def _hardware(machine: Machine, rng: random.Random) -> dict:
    cpu, disk = machine.cpu, machine.disk
    linux = machine.os in LINUX
    names = ("nvme0n1" if "NVMe" in disk.model or "MZVLB" in disk.model else "sda", "sdb") if linux else \
        ("\\\\.\\PHYSICALDRIVE0", "\\\\.\\PHYSICALDRIVE1")
    # The system volume is the disk less its EFI, MSR and recovery partitions.
    volume = disk.size_bytes - 1_073_741_824
    disks = [{"name": names[0], "model": disk.model, "size_bytes": disk.size_bytes, "media": disk.media,
              "system": True}]
    if machine.data_disk:
        d = machine.data_disk
        disks.append({"name": names[1], "model": d.model, "size_bytes": d.size_bytes, "media": d.media,
                      "system": False})
    free = int(volume * max(0.01, min(0.95, machine.free_fraction + rng.uniform(-0.02, 0.02))))
    return {
        "cpu": {"model": cpu.model, "vendor": cpu.vendor, "family": cpu.family, "model_number": cpu.model_number,
                "stepping": cpu.stepping, "logical_cores": cpu.threads, "physical_cores": cpu.cores,
                "max_mhz": float(cpu.mhz)},
        "memory_bytes": int(machine.memory_gib * GiB * machine.memory_visible) // 4096 * 4096,
        "disks": disks,
        "system_disk": {"mount": "/" if linux else "C:", "size_bytes": volume, "free_bytes": free,
                        "media": disk.media},
    }


def _firmware(machine: Machine) -> dict:
    tpm = {"2.0": ("yes", "2.0"), "1.2": ("yes", "1.2"), "none": ("no", None), "unknown": ("unknown", None)}
    present, spec = tpm[machine.tpm]
    return {"boot_mode": machine.boot, "secure_boot": machine.secure_boot,
            "tpm": {"present": present, "spec_version": spec},
            "bios": {"vendor": machine.platform.bios_vendor, "version": machine.platform.bios_version,
                     "date": machine.bios_date.isoformat()}}


def _os(machine: Machine, day: date) -> dict:
    if machine.os in LINUX:
        name, distro, version, kernel = LINUX[machine.os]
        return {"family": "linux", "name": name, "id": distro, "version": version, "release": None,
                "edition": None, "build": None, "kernel": kernel, "architecture": "x86_64"}
    edition = _EDITION_NAME[machine.edition]
    if machine.os in WINDOWS_SERVER:
        version, build, ubr, release = WINDOWS_SERVER[machine.os]
        name, os_id = f"Windows Server {version} {edition}", "windows-server"
    elif machine.os == "win11":
        release, build, ubr = win11_release(day, machine.win11_lag)
        name, os_id, version = f"Windows 11 {edition}", "windows", "11"
    else:
        release, build, ubr = "22H2", 19045, 5247
        name, os_id, version = f"Windows 10 {edition}", "windows", "10"
    return {"family": "windows", "name": name, "id": os_id, "version": version, "release": release,
            "edition": machine.edition, "build": f"{build}.{ubr}", "kernel": f"10.0.{build}",
            "architecture": "AMD64"}


def _reachability(slot: Slot, day: date, rng: random.Random) -> list[dict]:
    """The HDC cloud answers from December 2025; some units' links are slow or filtered."""
    results = []
    for target, url in HDC_TARGETS:
        down = (target == "hdc-cloud" and (day < HDC_CLOUD_START or slot.network == "cloud_blocked")
                or slot.network == "degraded" and rng.random() < 0.3)
        if down:
            results.append({"target": target, "url": url, "ok": False, "latency_ms": None,
                            "error": rng.choice(_ERRORS)})
        else:
            base = 180.0 if slot.network == "degraded" else 12.0
            results.append({"target": target, "url": url, "ok": True,
                            "latency_ms": round(base * rng.uniform(0.6, 3.0), 1), "error": None})
    checked = slot.migration.checked if slot.migration else frozenset()
    for app_id, url, live, cloud in _APP_ENDPOINTS:
        if app_id not in checked:
            continue
        down = (day < live or cloud and slot.network == "cloud_blocked"
                or slot.network == "degraded" and rng.random() < 0.3)
        results.append({"target": urlsplit(url).hostname, "url": url, "ok": not down,
                        "latency_ms": None if down else round(15.0 * rng.uniform(0.6, 3.0), 1),
                        "error": rng.choice(_ERRORS) if down else None})
    return results


def _interface(slot: Slot, machine: Machine) -> dict:
    mac = uuid.uuid5(_NAMESPACE, machine.device_id).hex[:12]
    laptop = machine.platform.device_class == "laptop"
    name = "eth0" if machine.os in LINUX else "Wi-Fi" if laptop else "Ethernet"
    return {"name": name, "mac": ":".join(mac[i:i + 2] for i in range(0, 12, 2)).upper(),
            "addresses": [slot.address]}


# --------------------------------------------------------------------------- generators

def generate_fleet(registry: Registry, seed: int = 2025, devices_per_unit: tuple[int, int] = (15, 40),
                   now: Optional[datetime] = None) -> Iterator[dict]:
    """One current report per reporting device of every unit, unit by unit.

    The fleet is the history's state at ``now`` (upgrades done by then are
    in, silent machines are absent), so a snapshot and a history with the
    same seed agree. Pass ``now`` for byte-identical output across runs.
    """
    now = now or datetime.now(timezone.utc)
    catalog = load_catalog()
    for unit_no, ward in enumerate(registry):
        for slot in _unit_slots(unit_no, ward, seed, devices_per_unit, catalog):
            when = now - timedelta(seconds=int(slot.offset * 6 * 3600))
            machine = slot.machine_at(when.date())
            if machine is not None:
                yield _report(slot, machine, when)


def generate_history(registry: Registry, seed: int = 2025, start: date = HISTORY_START, end: date = HISTORY_END,
                     interval_days: int = 28, devices_per_unit: tuple[int, int] = (15, 40)) -> Iterator[dict]:
    """Every device's reports from ``start`` to ``end`` in collected_at order.

    Each device reports once per ``interval_days`` (on its own day and hour
    within the interval, in office hours) and once more right after its
    upgrade, so burn-down charts see upgrades when they happen, and a device
    that goes silent simply stops. Only one interval's events are held at a
    time; the plans of all devices (a few MB) are held throughout.
    """
    if end < start or interval_days < 1:
        raise ValueError("need start <= end and interval_days >= 1")
    catalog = load_catalog()
    slots = [s for unit_no, ward in enumerate(registry)
             for s in _unit_slots(unit_no, ward, seed, devices_per_unit, catalog)]
    stop = datetime.combine(end + timedelta(days=1), time(0), timezone.utc)
    window = timedelta(days=interval_days)
    begin = datetime.combine(start, time(0), timezone.utc)
    while begin < stop:
        until = min(stop, begin + window)
        events = [(when, i) for i, slot in enumerate(slots) for when in _report_times(slot, begin, window, until)]
        for when, i in sorted(events):
            slot = slots[i]
            yield _report(slot, slot.machine_at(when.date()), when)
        begin += window


def _move_days(slot: Slot) -> list[date]:
    """Days an application left this slot's machine: its agent reports right after, as after an upgrade."""
    if slot.migration is None:
        return []
    days = []
    for day in sorted({moved for _, moved in slot.migration.moves}):
        machine = slot.machine_at(day)
        leaving = {app for app, moved in slot.migration.moves if moved == day}
        if machine is not None and any(_APP_OF_ROW.get(row) in leaving for row in machine.software):
            days.append(day)
    return days


def _report_times(slot: Slot, begin: datetime, window: timedelta, until: datetime) -> Iterator[datetime]:
    """When a slot reports within [begin, until): its routine time, and right after an upgrade."""
    hour = timedelta(hours=1 + 9 * ((slot.offset * 7919) % 1))  # 08:00-17:00 in Hanoi
    routine = begin + timedelta(days=int(slot.offset * window.days)) + hour
    times = [routine]
    for since, _ in slot.segments[1:]:
        if since != routine.date():
            times.append(datetime.combine(since, time(0), timezone.utc) + hour + timedelta(hours=2))
    times += [datetime.combine(day, time(0), timezone.utc) + hour + timedelta(hours=3) for day in _move_days(slot)
              if day != routine.date()]
    for when in times:
        if begin <= when < until and slot.machine_at(when.date()) is not None:
            yield when


def generate_changes(registry: Registry, seed: int = 2025, start: date = HISTORY_START,
                     now: Optional[datetime] = None,
                     devices_per_unit: tuple[int, int] = (15, 40)) -> Iterator[dict]:
    """A sparse history: each device's first report, one right after each change of machine, and a current one.

    It records the same verdict changes as ``generate_history`` (they happen
    at upgrades) with a fraction of the reports, which is what a demo can
    post over HTTP in about a minute. Same seed, same fleet as the others.
    """
    now = now or datetime.now(timezone.utc)
    if now.date() < start:
        raise ValueError("need start <= now")
    catalog = load_catalog()
    slots = [s for unit_no, ward in enumerate(registry)
             for s in _unit_slots(unit_no, ward, seed, devices_per_unit, catalog)]
    first = datetime.combine(start, time(0), timezone.utc)
    events = []
    for i, slot in enumerate(slots):
        hour = timedelta(hours=1 + 9 * ((slot.offset * 7919) % 1))
        times = [first + timedelta(days=int(slot.offset * 7)) + hour]
        times += [datetime.combine(since, time(0), timezone.utc) + hour + timedelta(hours=2)
                  for since, _ in slot.segments[1:]]
        times += [datetime.combine(day, time(0), timezone.utc) + hour + timedelta(hours=3)
                  for day in _move_days(slot)]
        times.append(now - timedelta(seconds=int(slot.offset * 6 * 3600)))
        events += [(when, i) for when in times
                   if first <= when <= now and slot.machine_at(when.date()) is not None]
    for when, i in sorted(events):
        yield _report(slots[i], slots[i].machine_at(when.date()), when)
