"""Windows 11 CPU gate: real processors, by the numbers HardwareReadiness.ps1 reads.

The script gates on CPUID family/model (plus a platform-id check for Kaby
Lake stepping 9); it does not read Microsoft's list of names. So an i5-7500
(model 158 stepping 9) and an i5-8400 (model 158 stepping 10) differ only by
stepping, and a report without the platform id cannot settle the former.
"""
from __future__ import annotations

import re

import pytest

from inventory.cpu import win11_cpu_support

_IDENTIFIER = re.compile(r"Family (\d+) Model (\d+) Stepping (\d+)")


def _recorded(path) -> tuple[str, int, int, int]:
    """Vendor and CPUID numbers as a real Windows machine recorded them (UTF-16 LE reg/WMI exports)."""
    text = path.read_bytes().decode("utf-16-le").lstrip("\ufeff")
    vendor = re.search(r'(?:"VendorIdentifier"=")?(?:Manufacturer=)?(GenuineIntel|AuthenticAMD)', text).group(1)
    family, model, stepping = map(int, _IDENTIFIER.search(text).groups())
    return vendor, family, model, stepping


@pytest.mark.parametrize("name, numbers, supported", [
    ("7-CentralProcessor.reg", ("GenuineIntel", 6, 42, 7), False),            # Core i5-2300, Sandy Bridge
    ("2008-with-2-different-cpus-CentralProcessor.reg", ("GenuineIntel", 6, 26, 5), False),  # Xeon E5504
    ("2019-amd-epyc-CentralProcessor.reg", ("AuthenticAMD", 23, 49, 0), True),  # EPYC 7302, Zen 2
])
def test_recorded_registry_cpus(shared_data, name, numbers, supported):
    facts = _recorded(shared_data / "windows-recorded" / "registry" / name)
    assert facts == numbers
    assert win11_cpu_support(*facts).supported is supported


@pytest.mark.parametrize("name, supported", [
    ("7-Win32_Processor.wmi", False),
    ("xp-Win32_Processor.wmi", False),
    ("2019-amd-epyc-Win32_Processor.wmi", True),
])
def test_recorded_wmi_cpus(shared_data, name, supported):
    facts = _recorded(shared_data / "windows-recorded" / "wmi" / name)
    assert win11_cpu_support(*facts).supported is supported


@pytest.mark.parametrize("cpu, vendor, family, model, stepping, supported", [
    ("Core i5-6500 (Skylake)", "GenuineIntel", 6, 94, 3, False),
    ("Celeron J3455 (Apollo Lake)", "GenuineIntel", 6, 92, 9, False),
    ("Core i5-7500 (Kaby Lake): platform id decides", "GenuineIntel", 6, 158, 9, None),
    ("Core i5-7200U (Kaby Lake): platform id decides", "GenuineIntel", 6, 142, 9, None),
    ("Core i5-8250U (Kaby Lake R)", "GenuineIntel", 6, 142, 10, True),
    ("Core i5-8400 (Coffee Lake)", "GenuineIntel", 6, 158, 10, True),
    ("Core i5-10400 (Comet Lake)", "GenuineIntel", 6, 165, 3, True),
    ("Core i5-1135G7 (Tiger Lake)", "GenuineIntel", 6, 140, 1, True),
    ("Core i5-12400 (Alder Lake)", "GenuineIntel", 6, 151, 5, True),
    ("Celeron J4125 (Gemini Lake Refresh)", "GenuineIntel", 6, 122, 8, True),
    ("Xeon Gold 6230 (Cascade Lake): model 85 exemption", "GenuineIntel", 6, 85, 7, True),
    ("Pentium 4 (NetBurst)", "GenuineIntel", 15, 4, 1, False),
    ("Pentium (P5)", "GenuineIntel", 5, 2, 12, False),
    ("Ryzen 5 1600 (Zen 1)", "AuthenticAMD", 23, 1, 1, False),
    ("Ryzen 5 2400G (Raven Ridge)", "AuthenticAMD", 23, 17, 0, False),
    ("Ryzen 5 2600 (Zen+)", "AuthenticAMD", 23, 8, 2, True),
    ("Ryzen 5 3600 (Zen 2)", "AuthenticAMD", 23, 113, 0, True),
    ("Ryzen 5 5600X (Zen 3)", "AuthenticAMD", 25, 33, 0, True),
    ("A10-9700 (Bristol Ridge)", "AuthenticAMD", 21, 101, 1, False),
    ("Phenom II X4", "AuthenticAMD", 16, 4, 3, False),
])
def test_real_processors(cpu, vendor, family, model, stepping, supported):
    result = win11_cpu_support(vendor, family, model, stepping)
    assert result.supported is supported, (cpu, result.reason)
    assert result.reason and result.reason_vi


def test_model_85_passes_with_a_note_naming_the_exemption():
    result = win11_cpu_support("GenuineIntel", 6, 85, 4)  # Xeon W-2123 (Skylake-W)
    assert result.supported is True
    assert "exempted" in result.reason


def test_kaby_lake_stepping_9_says_what_is_missing():
    result = win11_cpu_support("GenuineIntel", 6, 158, 9)
    assert result.supported is None
    assert "platform id" in result.reason


def test_model_142_or_158_without_stepping_is_unknown():
    assert win11_cpu_support("GenuineIntel", 6, 158, None).supported is None
    assert win11_cpu_support("GenuineIntel", 6, 165, None).supported is True  # stepping irrelevant there


@pytest.mark.parametrize("vendor, family, model", [
    ("HygonGenuine", 24, 0),                     # Hygon Dhyana: not decided by the script's Intel/AMD rules
    ("CentaurHauls", 6, 15),
    (None, 6, 158),
    ("", 6, 158),
    ("GenuineIntel", None, 158),
    ("AuthenticAMD", 23, None),
    ("GenuineIntel", 18, 1),                     # a future Intel family: outside the gate
])
def test_undecidable_facts_are_unknown_not_a_guess(vendor, family, model):
    result = win11_cpu_support(vendor, family, model, 0)
    assert result.supported is None
    assert result.reason and result.reason_vi


def test_vendor_is_matched_ignoring_case_and_padding_like_the_script():
    assert win11_cpu_support(" GenuineIntel ", 6, 42, 7).supported is False
    assert win11_cpu_support("genuineintel", 6, 42, 7).supported is False
    assert win11_cpu_support("AUTHENTICAMD", 23, 1, 1).supported is False
