"""What a simulated ward machine is made of: platforms, CPUs, disks and OS releases.

The fleet simulator picks from these catalogues (real models the programme
faces, Haswell desktops to recent purchases, Windows 10/11 releases, Windows
Server and Linux distributions) and records each pick as a ``Machine``. Kept
apart from the picking so the catalogues read as data.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Optional

# Seeds every identifier the simulator derives (device UUIDs, machine-ids, report ids, MACs).
NAMESPACE = uuid.UUID("0b9f6c3e-8a57-5d2e-9c41-7e2d4a1b5f60")
INTEL, AMD = "GenuineIntel", "AuthenticAMD"


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


I5_4590 = _cpu("Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz", INTEL, 6, 60, 3, 4, 4, 3300)
I3_4160 = _cpu("Intel(R) Core(TM) i3-4160 CPU @ 3.60GHz", INTEL, 6, 60, 3, 2, 4, 3600)
G3260 = _cpu("Intel(R) Pentium(R) CPU G3260 @ 3.30GHz", INTEL, 6, 60, 3, 2, 2, 3300)
I5_4210U = _cpu("Intel(R) Core(TM) i5-4210U CPU @ 1.70GHz", INTEL, 6, 69, 1, 2, 4, 1700)
I5_6500 = _cpu("Intel(R) Core(TM) i5-6500 CPU @ 3.20GHz", INTEL, 6, 94, 3, 4, 4, 3200)
I3_6100 = _cpu("Intel(R) Core(TM) i3-6100 CPU @ 3.70GHz", INTEL, 6, 94, 3, 2, 4, 3700)
# Kaby Lake shares model 142 with later parts; stepping 9 is what makes it 7th generation.
I5_7200U = _cpu("Intel(R) Core(TM) i5-7200U CPU @ 2.50GHz", INTEL, 6, 142, 9, 2, 4, 2500)
A8_7600 = _cpu("AMD A8-7600 Radeon R7, 10 Compute Cores 4C+6G", AMD, 21, 48, 1, 2, 4, 3100)
A10_9700 = _cpu("AMD A10-9700 RADEON R7, 10 COMPUTE CORES 4C+6G", AMD, 21, 101, 1, 2, 4, 3500)
I5_8500 = _cpu("Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz", INTEL, 6, 158, 10, 6, 6, 3000)
I5_9400 = _cpu("Intel(R) Core(TM) i5-9400 CPU @ 2.90GHz", INTEL, 6, 158, 10, 6, 6, 2900)
I5_8265U = _cpu("Intel(R) Core(TM) i5-8265U CPU @ 1.60GHz", INTEL, 6, 142, 11, 4, 8, 1800)
I5_10400 = _cpu("Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz", INTEL, 6, 165, 3, 6, 12, 2904)
I3_10100 = _cpu("Intel(R) Core(TM) i3-10100 CPU @ 3.60GHz", INTEL, 6, 165, 3, 4, 8, 3600)
I5_1135G7 = _cpu("11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", INTEL, 6, 140, 1, 4, 8, 2419)
I5_12400 = _cpu("12th Gen Intel(R) Core(TM) i5-12400", INTEL, 6, 151, 5, 6, 12, 2500)
I5_1235U = _cpu("12th Gen Intel(R) Core(TM) i5-1235U", INTEL, 6, 154, 4, 10, 12, 1300)
I7_13700 = _cpu("13th Gen Intel(R) Core(TM) i7-13700", INTEL, 6, 183, 1, 16, 24, 2100)
R5_3600 = _cpu("AMD Ryzen 5 3600 6-Core Processor", AMD, 23, 113, 0, 6, 12, 3600)
R5_5600G = _cpu("AMD Ryzen 5 5600G with Radeon Graphics", AMD, 25, 80, 0, 6, 12, 3901)
R5_7530U = _cpu("AMD Ryzen 5 7530U with Radeon Graphics", AMD, 25, 80, 0, 6, 12, 2001)
E5_2620V3 = _cpu("Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz", INTEL, 6, 63, 2, 12, 24, 2400)
E3_1220V5 = _cpu("Intel(R) Xeon(R) CPU E3-1220 v5 @ 3.00GHz", INTEL, 6, 94, 3, 4, 4, 3000)
E_2224 = _cpu("Intel(R) Xeon(R) E-2224 CPU @ 3.40GHz", INTEL, 6, 158, 10, 4, 4, 3400)
SILVER_4210R = _cpu("Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz", INTEL, 6, 85, 7, 10, 20, 2400)

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


def win11_release(day: date, lag: int) -> tuple[str, int, int]:
    """Release, build and UBR a Windows 11 PC ``lag`` feature updates behind runs on ``day``."""
    current = max((i for i, r in enumerate(WIN11_RELEASES) if r[3] + _WIN11_SOAK <= day), default=0)
    release, build, ubr, _ = WIN11_RELEASES[max(0, current - lag)]
    return release, build, ubr


# --------------------------------------------------------------------------- machines

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

    @property
    def device_class(self) -> str:
        return self.platform.device_class
