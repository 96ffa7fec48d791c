"""Windows parsers on outputs recorded on real machines (../shared/data/windows-recorded).

The recordings are ``wmic path CLASS get /format:list`` dumps and ``reg
export`` files; the two readers in support/windows.py turn them into what the
live probe gets from ``Get-CimInstance | ConvertTo-Json`` and ``winreg``: a
list of property mappings per class, and a mapping of value names to typed
values per registry key.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from agents.windows_parse import (
    identity_clues,
    parse_bios,
    parse_cpu,
    parse_device,
    parse_disks,
    parse_memory,
    parse_software,
    parse_system_disk,
)
from inventory.identity import Clues, device_identity

from support.windows import children, read_reg, read_wmi

UNINSTALL = r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"
CENTRAL_PROCESSOR = r"HKEY_LOCAL_MACHINE\HARDWARE\DESCRIPTION\System\CentralProcessor"


# --- the readers themselves, on the recordings -------------------------------------------------

@pytest.fixture(scope="module")
def recorded(shared_data) -> Path:
    return shared_data / "windows-recorded"


def wmi(recorded: Path, name: str) -> list:
    return read_wmi(recorded / "wmi" / f"{name}.wmi")


def reg(recorded: Path, name: str) -> dict:
    return read_reg(recorded / "registry" / f"{name}.reg")


def test_wmi_reader_splits_instances_and_types_values(recorded):
    cpus = wmi(recorded, "2008-with-2-different-cpus-Win32_Processor")
    assert [c["DeviceID"] for c in cpus] == ["CPU0", "CPU1"]
    assert cpus[0]["Stepping"] is None and cpus[0]["Revision"] == "6661"
    [disk] = wmi(recorded, "latitude-7480-Win32_DiskDrive")
    assert disk["CapabilityDescriptions"] == ["Random Access", "Supports Writing"]
    assert disk["DeviceID"] == "\\\\.\\PHYSICALDRIVE0"
    assert [m["Capacity"] for m in wmi(recorded, "7-Win32_PhysicalMemory")] == ["2147483648", "2147483648"]


def test_reg_reader_decodes_every_value_type_it_meets(recorded):
    keys = reg(recorded, "10_russian-Uninstall")
    crypto = keys[UNINSTALL + r"\{50F91F80-D397-437C-B0C8-62128DE3B55E}"]
    assert crypto["DisplayName"] == "КриптоПро CSP"
    assert crypto["HelpLink"] == "https://support.cryptopro.ru/"  # hex(2) over three lines
    assert crypto["VersionMajor"] == 5 and crypto["Version"] == 0x05002EE0
    assert keys[UNINSTALL][""] == ""
    cpu = read_reg(recorded / "registry" / "7-CentralProcessor.reg")[CENTRAL_PROCESSOR + r"\0"]
    assert cpu["~MHz"] == 2809 and cpu["Configuration Data"] == bytes([0xFF] * 8 + [0] * 8)
    assert set(children(keys, UNINSTALL)) == {"{50F91F80-D397-437C-B0C8-62128DE3B55E}", "1C Предприятие 7.7.27"}
    xp = children(reg(recorded, "xp-Uninstall"), UNINSTALL)
    assert len(xp) == 534 and "{0001B4FD-9EA3-4D90-A79E-FD14BA3AB01D}\\CustomMessages" not in xp  # no grandchildren
    git = children(reg(recorded, "mssql-Uninstall"), UNINSTALL)["Git_is1"]
    assert git["UninstallString"] == '"C:\\Program Files\\Git\\unins001.exe"'  # escaped quotes and backslashes


# --- CPU and memory ----------------------------------------------------------------------------

def test_cpu_identity_comes_from_the_registry_identifier_not_the_smbios_family(recorded):
    notes: list = []
    cpu = parse_cpu(reg(recorded, "7-CentralProcessor")[CENTRAL_PROCESSOR + r"\0"],
                    wmi(recorded, "7-Win32_Processor"), notes)
    assert cpu == {"model": "Intel(R) Core(TM) i5-2300 CPU @ 2.80GHz", "vendor": "GenuineIntel", "family": 6,
                   "model_number": 42, "stepping": 7, "logical_cores": 4, "physical_cores": 4, "max_mhz": 2801.0}
    assert notes == []


def test_two_socket_server_adds_cores_and_notes_mixed_models(recorded):
    notes: list = []
    processors = wmi(recorded, "2008-with-2-different-cpus-Win32_Processor")
    cpu = parse_cpu(reg(recorded, "2008-with-2-different-cpus-CentralProcessor")[CENTRAL_PROCESSOR + r"\0"],
                    processors, notes)
    assert processors[0]["Family"] == "179"  # SMBIOS "Xeon", which must not leak into the CPUID family
    assert (cpu["family"], cpu["model_number"], cpu["stepping"]) == (6, 26, 5)
    assert cpu["model"] == "Intel(R) Xeon(R) CPU E5506 @ 2.13GHz"  # padding spaces collapsed
    assert (cpu["logical_cores"], cpu["physical_cores"]) == (8, 8)
    assert notes == ["cpu: 2 processors of different models: Intel(R) Xeon(R) CPU E5504 @ 2.00GHz, "
                     "Intel(R) Xeon(R) CPU E5506 @ 2.13GHz"]


def test_amd_epyc_virtual_cpu(recorded):
    cpu = parse_cpu(reg(recorded, "2019-amd-epyc-CentralProcessor")[CENTRAL_PROCESSOR + r"\0"],
                    wmi(recorded, "2019-amd-epyc-Win32_Processor"), [])
    assert cpu["model"] == "AMD EPYC 7302 16-Core Processor" and cpu["vendor"] == "AuthenticAMD"
    assert (cpu["family"], cpu["model_number"], cpu["stepping"]) == (23, 49, 0)
    assert (cpu["logical_cores"], cpu["physical_cores"], cpu["max_mhz"]) == (4, 2, 2994.0)


def test_without_registry_the_caption_or_level_and_revision_give_the_cpuid(recorded):
    xp = parse_cpu(None, wmi(recorded, "xp-Win32_Processor"), [])
    assert (xp["model"], xp["family"], xp["model_number"], xp["stepping"]) == \
        ("Intel Pentium III Xeon processor", 6, 23, 6)
    bare = [{k: v for k, v in p.items() if k not in ("Caption", "Description")}
            for p in wmi(recorded, "2008-with-2-different-cpus-Win32_Processor")]
    cpu = parse_cpu(None, bare, [])
    assert (cpu["family"], cpu["model_number"], cpu["stepping"]) == (6, 26, 5)  # Level 6, Revision 0x1A05


def test_cpu_unreadable_falls_back_to_psutil_counts_and_says_so():
    notes: list = []
    cpu = parse_cpu(None, None, notes, fallback_cores=(8, 4))
    assert (cpu["logical_cores"], cpu["physical_cores"], cpu["family"]) == (8, 4, None)
    assert notes == ["cpu: neither the registry nor Win32_Processor could be read"]


def test_memory_is_the_sum_of_modules_else_what_windows_sees(recorded):
    assert parse_memory(wmi(recorded, "7-Win32_PhysicalMemory"), None, []) == 4 * 1024 ** 3
    assert parse_memory(wmi(recorded, "xp-Win32_PhysicalMemory"), None, []) == 4 * 1024 ** 3
    notes: list = []
    [laptop] = wmi(recorded, "11-AzureAD-Win32_ComputerSystem")
    assert parse_memory(None, laptop, notes) == 16863318016
    assert notes == ["memory: module sizes unavailable; reporting the memory visible to Windows"]


# --- disks -------------------------------------------------------------------------------------

def test_nvme_disk_is_an_ssd_with_its_exact_size(recorded):
    notes: list = []
    disks = parse_disks(wmi(recorded, "latitude-7480-Win32_DiskDrive"),
                        wmi(recorded, "latitude-7480-MSFT_PhysicalDisk"), 0, notes)
    assert disks == [{"name": "PHYSICALDRIVE0", "model": "PC300 NVMe SK hynix 512GB", "size_bytes": 512110190592,
                      "media": "ssd", "system": True}]
    assert notes == []


def test_windows_7_disks_have_unknown_media(recorded):
    notes: list = []
    disks = parse_disks(wmi(recorded, "win7-sp1-x64-Win32_DiskDrive"), None, 0, notes)
    assert [(d["name"], d["size_bytes"], d["media"], d["system"]) for d in disks] == [
        ("PHYSICALDRIVE0", 107372805120, "unknown", True), ("PHYSICALDRIVE1", 98703360, "unknown", False)]
    assert "MSFT_PhysicalDisk unavailable" in notes[0]


def test_virtual_disk_without_media_type_stays_unknown(recorded):
    notes: list = []
    disks = parse_disks([], wmi(recorded, "win10-edu-2020-fr-MSFT_PhysicalDisk"), None, notes)
    assert disks == [{"name": "PHYSICALDRIVE0", "model": "VBOX HARDDISK", "size_bytes": 53687091200,
                      "media": "unknown", "system": None}]
    assert notes == ["disk media: Windows reports no media type for PHYSICALDRIVE0 (virtual disk or old driver)"]


@pytest.mark.parametrize("name, size, free", [("win7-sp1-x64", 64317550592, 38306471936),
                                              ("win10-crypt", 510462619648, 271162613760)])
def test_system_volume_size_and_free_space(recorded, name, size, free):
    disks = [{"name": "PHYSICALDRIVE0", "media": "hdd", "system": True}]
    result = parse_system_disk(wmi(recorded, f"{name}-Win32_LogicalDisk"), "C:", disks, [])
    assert result == {"mount": "C:", "size_bytes": size, "free_bytes": free, "media": "hdd"}


# --- BIOS and device -----------------------------------------------------------------------------

def test_proxmox_vm_bios_and_class(recorded):
    notes: list = []
    [bios] = wmi(recorded, "proxmox-Win32_Bios")
    assert parse_bios(bios, notes) == {"vendor": None, "version": "BOCHS - 1", "date": "2014-04-01"}
    [cs] = wmi(recorded, "proxmox-Win32_ComputerSystem")
    device = parse_device(cs, None, None, bios, "PVE-WIN", notes)
    assert device["class"] == "virtual_machine" and device["manufacturer"] == "BOCHS_"
    assert device["hostname"] == "PVE-WIN"
    assert identity_clues(None, None) == Clues(installation_source="machine-guid")
    assert device_identity(identity_clues(None, None)._replace(hostname="PVE-WIN"), notes) == ("pve-win", "hostname")


def test_laptop_identity_falls_back_to_machine_guid(recorded):
    [cs] = wmi(recorded, "11-AzureAD-Win32_ComputerSystem")
    device = parse_device(cs, None, None, None, "x", [])
    assert device == {"hostname": "DESKTOP-EHRK1QO", "serial": None, "manufacturer": "LENOVO",
                      "model": "20TBS57S00", "class": "laptop"}
    clues = identity_clues(None, "{6F1D2C3B-9E8A-4B7C-8D6E-5F4A3B2C1D0E}")
    assert device_identity(clues, []) == ("6f1d2c3b-9e8a-4b7c-8d6e-5f4a3b2c1d0e", "machine-guid")
    assert identity_clues({"UUID": "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"}, "not a guid").installation_id is None


# --- installed software ------------------------------------------------------------------------

def test_large_xp_list_keeps_programs_and_drops_updates_and_components(recorded):
    keys = children(reg(recorded, "xp-Uninstall"), UNINSTALL)
    software = parse_software([keys], [])
    names = [s["name"] for s in software]
    assert len(software) == 60
    assert "Microsoft Office Professional Plus 2010" in names
    assert "MSXML 4.0 SP2 (KB954430)" in names  # a product whose name carries a KB, not an update
    assert not any("Security Update" in n or n.startswith(("Update for", "Hotfix for")) for n in names)
    assert "Update for Windows XP (KB943729)" not in names  # XP-era hotfix under its KB key
    # A system component is hidden; Office's MSI product is one, its setup's own entry is not: listed once.
    assert "Adobe AIR" not in names and "XML Paper Specification Shared Components Pack 1.0" not in names
    assert names.count("Microsoft Office Professional Plus 2010") == 1
    assert names == sorted(names, key=str.casefold)
    office = next(s for s in software if s["name"] == "Microsoft Office Professional Plus 2010")
    assert office == {"name": "Microsoft Office Professional Plus 2010", "version": "14.0.6029.1000",
                      "publisher": "Microsoft Corporation"}


def test_cyrillic_names_and_entries_without_publisher(recorded):
    software = parse_software([children(reg(recorded, "10_russian-Uninstall"), UNINSTALL)], [])
    assert software == [{"name": "1C Предприятие 7.7", "version": "77.27", "publisher": None},
                        {"name": "КриптоПро CSP", "version": "5.0.12000", "publisher": "Компания КриптоПро"}]


def test_the_same_hive_seen_through_both_registry_views_is_listed_once(recorded):
    hive = children(reg(recorded, "mssql-Uninstall"), UNINSTALL)
    once = parse_software([hive], [])
    assert len(once) == 7 and parse_software([hive, hive], []) == once
    assert {"name": "Git version 2.12.2.2", "version": "2.12.2.2",
            "publisher": "The Git Development Community"} in once
