"""Windows 11 eligibility: reports built by the agent's own parsers from real recordings, and boundaries.

The recorded pieces (../shared/data/windows-recorded) go through
agents/windows_parse.py exactly as on a ward PC, into a report; hand-made
firmware fixtures (tests/fixtures/windows) supply the TPM and boot states
the recordings lack.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
from test_windows_handmade import CONTROL, SECURE_BOOT_STATE, handmade_reg, tpm_fixture
from test_windows_recorded import CENTRAL_PROCESSOR, read_reg, read_wmi

from agents.windows_parse import parse_cpu, parse_disks, parse_firmware, parse_memory, parse_system_disk
from inventory.report import empty_report
from inventory.win11 import GiB, Win11Facts, judge_win11, win11_eligibility, win11_tally

# A PC that meets every requirement; each boundary test changes one fact.
GOOD = Win11Facts(cpu_vendor="GenuineIntel", cpu_family=6, cpu_model=158, cpu_stepping=10, physical_cores=6,
                  logical_cores=6, max_mhz=2800.0, architecture="x86_64", memory_bytes=8 * GiB,
                  system_disk_bytes=256 * GiB, tpm_present="yes", tpm_spec="2.0", boot_mode="uefi",
                  uefi_capable=True, secure_boot="enabled")


def _report(cpu=None, memory=None, disks=(), system_disk=None, firmware=None, notes=(), arch="x86_64") -> dict:
    report = empty_report("00004", "test", "0", "agent")
    report["os"].update({"family": "windows", "id": "windows", "name": "Windows 10 Pro", "version": "10",
                         "architecture": arch})
    hardware = report["hardware"]
    if cpu:
        hardware["cpu"] = cpu
    hardware["memory_bytes"] = memory
    hardware["disks"] = list(disks)
    if system_disk:
        hardware["system_disk"] = system_disk
    if firmware:
        report["firmware"] = firmware
    report["notes"] = list(notes)
    return report


def _firmware(reg_name: str, tpm_name: str) -> tuple[dict, list]:
    notes: list = []
    keys = handmade_reg(reg_name)
    return parse_firmware(keys.get(CONTROL), keys.get(SECURE_BOOT_STATE), tpm_fixture(tpm_name), None, notes), notes


@pytest.fixture
def wmi(shared_data):
    return lambda name: read_wmi(shared_data / "windows-recorded" / "wmi" / f"{name}.wmi")


@pytest.fixture
def cpu_of(shared_data, wmi):
    def read(name: str, registry: bool = True) -> dict:
        cpu0 = None
        if registry:
            keys = read_reg(shared_data / "windows-recorded" / "registry" / f"{name}-CentralProcessor.reg")
            cpu0 = keys[CENTRAL_PROCESSOR + r"\0"]
        return parse_cpu(cpu0, wmi(f"{name}-Win32_Processor"), [])
    return read


# --- recorded machines -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, registry, processor", [
    ("7", True, "fail"),                          # Core i5-2300, Sandy Bridge
    ("xp", False, "fail"),                        # family 6 model 23, Core 2 era
    ("2008-with-2-different-cpus", True, "fail"),  # Xeon E5506, Nehalem
    ("2019-amd-epyc", True, "pass"),              # EPYC 7302, Zen 2
])
def test_recorded_processors(cpu_of, name, registry, processor):
    firmware, notes = _firmware("win11-laptop", "tpm20")
    result = win11_eligibility(_report(cpu=cpu_of(name, registry), memory=8 * GiB,
                                       system_disk={"mount": "C:", "size_bytes": 200 * GiB, "free_bytes": GiB,
                                                    "media": "ssd"}, firmware=firmware, notes=notes))
    assert result.outcome("processor") == processor
    assert (result.outcome("cores"), result.outcome("clock")) == ("pass", "pass")
    assert result.eligible is (processor == "pass")
    assert result.eligibility == ("eligible" if processor == "pass" else "not_eligible")


def test_recorded_memory_of_four_gib_meets_the_minimum(wmi):
    for name in ("7-Win32_PhysicalMemory", "xp-Win32_PhysicalMemory"):
        memory = parse_memory(wmi(name), None, [])
        assert win11_eligibility(_report(memory=memory)).outcome("memory") == "pass"


def test_recorded_laptop_memory_from_computer_system(wmi):
    [laptop] = wmi("11-AzureAD-Win32_ComputerSystem")
    memory = parse_memory(None, laptop, [])
    check = next(c for c in win11_eligibility(_report(memory=memory)).checks if c.id == "memory")
    assert (check.outcome, check.measured) == ("pass", "15.7 GiB")


def test_recorded_vm_without_memory_is_unknown(wmi):
    [vm] = wmi("proxmox-Win32_ComputerSystem")
    result = win11_eligibility(_report(memory=parse_memory(None, vm, [])))
    assert result.outcome("memory") == "unknown"
    assert result.eligible is None


def test_recorded_system_volumes(wmi):
    """Windows 7's 59.9 GiB C: is under 64 GiB although its disk is 100 GiB: Microsoft measures the volume."""
    notes: list = []
    disks = parse_disks(wmi("win7-sp1-x64-Win32_DiskDrive"), None, 0, notes)
    small = parse_system_disk(wmi("win7-sp1-x64-Win32_LogicalDisk"), "C:", disks, notes)
    check = next(c for c in win11_eligibility(_report(disks=disks, system_disk=small)).checks if c.id == "storage")
    assert (check.outcome, check.measured, check.required) == ("fail", "59.9 GiB", ">= 64 GiB")
    big = parse_system_disk(wmi("win10-crypt-Win32_LogicalDisk"), "C:", [], notes)
    assert win11_eligibility(_report(system_disk=big)).outcome("storage") == "pass"


def test_recorded_system_disks_stand_in_for_an_unknown_volume(wmi):
    disks = parse_disks(wmi("latitude-7480-Win32_DiskDrive"), wmi("latitude-7480-MSFT_PhysicalDisk"), 0, [])
    assert win11_eligibility(_report(disks=disks)).outcome("storage") == "pass"
    vm_disks = parse_disks([], wmi("win10-edu-2020-fr-MSFT_PhysicalDisk"), 0, [])     # a 50 GiB VirtualBox disk
    check = next(c for c in win11_eligibility(_report(disks=vm_disks)).checks if c.id == "storage")
    assert (check.outcome, check.measured) == ("fail", "50 GiB")


# --- firmware states through the agent's parsers ---------------------------------------------------

@pytest.mark.parametrize("reg_name, tpm_name, tpm, uefi, secure_boot, eligibility", [
    ("win11-laptop", "tpm20", "pass", "pass", "pass", "eligible"),
    ("win11-laptop", "tpm20-disabled", "firmware_setting", "pass", "pass", "after_firmware_settings"),
    ("win10-sb-off", "tpm20", "pass", "pass", "firmware_setting", "after_firmware_settings"),
    ("win11-laptop", "tpm12", "fail", "pass", "pass", "not_eligible"),
    ("win11-laptop", "tpm-absent", "unknown", "pass", "pass", "unknown"),
    ("win10-ltsc-legacy", "tpm20", "pass", "unknown", "unknown", "unknown"),
    ("win7", "tpm20", "pass", "unknown", "unknown", "unknown"),
])
def test_firmware_states_from_the_agent(reg_name, tpm_name, tpm, uefi, secure_boot, eligibility):
    firmware, notes = _firmware(reg_name, tpm_name)
    report = _report(cpu={"model": "i5-8500", "vendor": "GenuineIntel", "family": 6, "model_number": 158,
                          "stepping": 10, "logical_cores": 6, "physical_cores": 6, "max_mhz": 3000.0},
                     memory=8 * GiB, system_disk={"mount": "C:", "size_bytes": 237 * GiB, "free_bytes": GiB,
                                                  "media": "ssd"}, firmware=firmware, notes=notes)
    result = win11_eligibility(report)
    assert (result.outcome("tpm"), result.outcome("uefi"), result.outcome("secure_boot")) == (tpm, uefi, secure_boot)
    assert result.eligibility == eligibility
    assert result.after_firmware_settings is (eligibility == "after_firmware_settings")


def test_to_dict_is_the_api_shape():
    data = judge_win11(replace(GOOD, secure_boot="disabled")).to_dict()
    assert (data["eligible"], data["after_firmware_settings"]) == (True, True)
    assert [c["id"] for c in data["checks"]] == ["processor", "architecture", "cores", "clock", "memory", "storage",
                                                 "tpm", "uefi", "secure_boot"]
    assert set(data["checks"][0]) == {"id", "outcome", "measured", "required", "reason_vi", "reason_en"}


def test_an_empty_report_is_unknown_everywhere_never_an_error():
    result = win11_eligibility({"schema_version": 2})
    assert result.eligible is None
    assert {c.outcome for c in result.checks} == {"unknown"}


# --- boundaries ------------------------------------------------------------------------------------

def test_good_pc_is_eligible_without_settings():
    result = judge_win11(GOOD)
    assert (result.eligible, result.after_firmware_settings) == (True, False)


@pytest.mark.parametrize("memory, outcome", [(int(3.9 * GiB), "fail"), (4 * GiB - 1, "fail"), (4 * GiB, "pass")])
def test_memory_boundary(memory, outcome):
    result = judge_win11(replace(GOOD, memory_bytes=memory))
    assert result.outcome("memory") == outcome
    assert result.eligible is (outcome == "pass")


@pytest.mark.parametrize("size, outcome", [(64 * GiB - 1, "fail"), (64 * GiB, "pass")])
def test_storage_boundary(size, outcome):
    assert judge_win11(replace(GOOD, system_disk_bytes=size)).outcome("storage") == outcome


def test_tpm_12_is_hardware_not_a_setting():
    result = judge_win11(replace(GOOD, tpm_spec="1.2"))
    assert (result.outcome("tpm"), result.eligible, result.after_firmware_settings) == ("fail", False, False)


def test_tpm_20_present_but_disabled_is_a_firmware_setting():
    result = judge_win11(replace(GOOD, tpm_enabled=False))
    assert (result.outcome("tpm"), result.eligible, result.after_firmware_settings) == (
        "firmware_setting", True, True)


def test_legacy_boot_on_uefi_capable_firmware_is_a_firmware_setting():
    result = judge_win11(replace(GOOD, boot_mode="legacy", secure_boot="unsupported"))
    assert (result.outcome("uefi"), result.outcome("secure_boot")) == ("firmware_setting", "firmware_setting")
    assert result.eligibility == "after_firmware_settings"


def test_legacy_only_firmware_is_not_eligible():
    result = judge_win11(replace(GOOD, boot_mode="legacy", uefi_capable=False, secure_boot="unsupported"))
    assert (result.outcome("uefi"), result.outcome("secure_boot"), result.eligible) == ("fail", "fail", False)


def test_uefi_without_secure_boot_support_is_not_eligible():
    assert judge_win11(replace(GOOD, secure_boot="unsupported")).outcome("secure_boot") == "fail"


@pytest.mark.parametrize("vendor, family, model, stepping, outcome", [
    ("GenuineIntel", 6, 95, 0, "fail"),       # highest model number of the old range
    ("GenuineIntel", 6, 85, 4, "pass"),       # Skylake-X/Xeon W exemption
    ("GenuineIntel", 6, 158, 9, "unknown"),   # Kaby Lake or Amber Lake: needs the platform id
    ("GenuineIntel", 6, 158, 10, "pass"),     # Coffee Lake (8th generation)
    ("GenuineIntel", 6, 142, 9, "unknown"),
    ("GenuineIntel", 6, 142, 10, "pass"),     # Kaby Lake R (8th generation mobile)
    ("AuthenticAMD", 23, 1, 1, "fail"),       # Zen 1
    ("AuthenticAMD", 23, 17, 0, "fail"),      # Raven Ridge
    ("AuthenticAMD", 23, 8, 2, "pass"),       # Zen+
    ("AuthenticAMD", 22, 48, 1, "fail"),
])
def test_cpu_list_edge_models(vendor, family, model, stepping, outcome):
    result = judge_win11(replace(GOOD, cpu_vendor=vendor, cpu_family=family, cpu_model=model, cpu_stepping=stepping))
    assert result.outcome("processor") == outcome
    assert result.eligible is {"pass": True, "fail": False, "unknown": None}[outcome]


def test_one_core_fails_and_hyperthreads_do_not_count():
    assert judge_win11(replace(GOOD, physical_cores=1, logical_cores=2)).outcome("cores") == "fail"
    assert judge_win11(replace(GOOD, physical_cores=None, logical_cores=1)).outcome("cores") == "fail"
    assert judge_win11(replace(GOOD, physical_cores=None, logical_cores=4)).outcome("cores") == "unknown"
    assert judge_win11(replace(GOOD, physical_cores=2)).outcome("cores") == "pass"


def test_clock_boundary():
    assert judge_win11(replace(GOOD, max_mhz=999.0)).outcome("clock") == "fail"
    assert judge_win11(replace(GOOD, max_mhz=1000.0)).outcome("clock") == "pass"


def test_32_bit():
    """A 32-bit-only Atom on 32-bit Windows fails on its processor; a listed CPU under 32-bit Windows passes."""
    atom = judge_win11(replace(GOOD, architecture="x86", cpu_model=28, cpu_stepping=2))
    assert (atom.outcome("architecture"), atom.outcome("processor"), atom.eligible) == ("unknown", "fail", False)
    listed = judge_win11(replace(GOOD, architecture="x86"))
    assert listed.outcome("architecture") == "pass"
    assert "clean 64-bit install" in next(c.reason_en for c in listed.checks if c.id == "architecture")


def test_tally_counts_devices_and_windows_10_per_eligibility():
    win10, win11 = _report(), _report()
    win11["os"]["version"] = "11"
    linux = _report()
    linux["os"].update({"family": "linux", "id": "debian", "version": "12"})
    judged = [(win10, judge_win11(GOOD)), (win11, judge_win11(GOOD)),
              (win10, judge_win11(replace(GOOD, tpm_enabled=False))),
              (linux, judge_win11(replace(GOOD, tpm_spec="1.2"))),
              (win10, win11_eligibility(win10))]
    assert win11_tally(judged) == {"eligible": {"devices": 2, "windows_10": 1},
                                   "after_firmware_settings": {"devices": 1, "windows_10": 1},
                                   "not_eligible": {"devices": 1, "windows_10": 0},
                                   "unknown": {"devices": 1, "windows_10": 1}}
