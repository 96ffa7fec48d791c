"""Windows parsers on the hand-made fixtures (tests/fixtures/windows/handmade-*): the cases the
recordings lack. OS facts are checked against the end-of-support table, the contract they serve.
"""
from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from agents.windows_parse import parse_firmware, parse_os, parse_software, parse_tpm
from inventory.lifecycle import load_lifecycle

from support.windows import HANDMADE, children, handmade_reg, read_wmi

HKLM = "HKEY_LOCAL_MACHINE"
CURRENT_VERSION = HKLM + r"\SOFTWARE\Microsoft\Windows NT\CurrentVersion"
CONTROL = HKLM + r"\SYSTEM\CurrentControlSet\Control"
SECURE_BOOT_STATE = CONTROL + r"\SecureBoot\State"
UNINSTALL = r"Software\Microsoft\Windows\CurrentVersion\Uninstall"


def tpm_fixture(name: str) -> list:
    return read_wmi(HANDMADE / f"handmade-{name}-Win32_Tpm.wmi")


# --- TPM ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture, expected, note", [
    ("tpm20", {"present": "yes", "spec_version": "2.0"}, None),
    ("tpm12", {"present": "yes", "spec_version": "1.2"}, None),
    ("tpm20-disabled", {"present": "yes", "spec_version": "2.0"}, "tpm: present but disabled"),
    ("tpm-absent", {"present": "no", "spec_version": None}, "tpm: Windows sees no TPM"),
])
def test_tpm_presence_and_version(fixture, expected, note):
    notes: list = []
    assert parse_tpm(tpm_fixture(fixture), notes) == expected
    assert (notes[0].startswith(note) if note else notes == [])


def test_failed_tpm_query_is_unknown_not_absent():
    assert parse_tpm(None, []) == {"present": "unknown", "spec_version": None}


# --- boot mode and Secure Boot -----------------------------------------------------------------

@pytest.mark.parametrize("fixture, boot_mode, secure_boot", [
    ("win11-laptop", "uefi", "enabled"),
    ("win10-sb-off", "uefi", "disabled"),
    ("win10-ltsc-legacy", "legacy", "unsupported"),
    ("win7", "unknown", "unknown"),
])
def test_boot_mode_and_secure_boot(fixture, boot_mode, secure_boot):
    keys, notes = handmade_reg(fixture), []
    firmware = parse_firmware(keys.get(CONTROL), keys.get(SECURE_BOOT_STATE), [], None, notes)
    assert (firmware["boot_mode"], firmware["secure_boot"]) == (boot_mode, secure_boot)
    if fixture == "win7":
        assert any("PEFirmwareType not recorded" in n for n in notes)


def test_uefi_without_secure_boot_state_is_unknown_with_note():
    notes: list = []
    firmware = parse_firmware({"PEFirmwareType": 2}, None, None, None, notes)
    assert (firmware["boot_mode"], firmware["secure_boot"]) == ("uefi", "unknown")
    assert notes == ["secure boot: UEFISecureBootEnabled not recorded by Windows; state unknown"]


# --- operating system, as the end-of-support table reads it ------------------------------------

@pytest.mark.parametrize("fixture, expected, end", [
    ("win11-laptop", {"id": "windows", "name": "Windows 11 Pro", "version": "11", "release": "23H2",
                      "edition": "Professional", "build": "22631.4500", "kernel": "10.0.22631"}, date(2025, 11, 11)),
    ("win10-sb-off", {"id": "windows", "name": "Windows 10 Enterprise", "version": "10", "release": "22H2",
                      "edition": "Enterprise", "build": "19045.5019", "kernel": "10.0.19045"}, date(2025, 10, 14)),
    ("win10-ltsc-legacy", {"id": "windows", "version": "10", "release": "1809", "edition": "EnterpriseS",
                           "build": "17763.6382"}, date(2029, 1, 9)),
    ("win7", {"id": "windows", "name": "Windows 7 Professional Service Pack 1", "version": "7", "release": None,
              "build": "7601", "kernel": "6.1.7601"}, date(2020, 1, 14)),
    ("xp", {"id": "windows", "name": "Microsoft Windows XP Service Pack 3", "version": "XP", "edition": None,
            "build": "2600"}, date(2014, 4, 8)),
    ("2019", {"id": "windows-server", "name": "Windows Server 2019 Standard", "version": "2019",
              "edition": "ServerStandard", "build": "17763.6414"}, date(2029, 1, 9)),
    ("2012r2-core", {"id": "windows-server", "version": "2012 R2", "build": "9600"}, date(2023, 10, 10)),
])
def test_os_facts_match_the_end_of_support_table(fixture, expected, end):
    notes: list = []
    os_facts = parse_os(handmade_reg(fixture)[CURRENT_VERSION], "AMD64", notes)
    assert {k: os_facts[k] for k in expected} == expected
    assert os_facts["family"] == "windows" and os_facts["architecture"] == "x86_64"
    assert notes == []
    assert load_lifecycle().end_of_support(os_facts) == end


def test_server_2019_is_not_taken_for_windows_10_1809():
    server = parse_os(handmade_reg("2019")[CURRENT_VERSION], "AMD64", [])
    client = parse_os(handmade_reg("win10-ltsc-legacy")[CURRENT_VERSION], "AMD64", [])
    assert (server["id"], client["id"]) == ("windows-server", "windows")


def test_unreadable_version_key_leaves_the_os_unknown_with_a_note():
    notes: list = []
    os_facts = parse_os(None, "x86", notes)
    assert (os_facts["id"], os_facts["version"], os_facts["architecture"]) == ("windows", None, "x86")
    assert "CurrentVersion unreadable" in notes[0]
    assert load_lifecycle().support_window(os_facts) is None


# --- installed software ------------------------------------------------------------------------

def test_vietnamese_programs_from_every_hive_listed_once():
    keys = handmade_reg("win11-laptop")
    hives = [children(keys, HKLM + r"\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"),
             children(keys, HKLM + r"\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall"),
             children(keys, r"HKEY_USERS\S-1-5-21-1004336348-1177238915-682003330-1001" + "\\" + UNINSTALL)]
    software = parse_software(hives, [])
    assert software == [
        {"name": "Bộ gõ tiếng Việt UniKey", "version": "4.6 RC2", "publisher": "Phạm Kim Long"},
        {"name": "HTKK", "version": "5.2.6", "publisher": "Tổng cục Thuế"},
        {"name": "Microsoft Office Professional Plus 2016", "version": "16.0.4266.1001",
         "publisher": "Microsoft Corporation"},
        {"name": "Phần mềm Một cửa điện tử Hà Nội", "version": "2.1.0",
         "publisher": "Sở Thông tin và Truyền thông Hà Nội"},
        {"name": "VNPT-CA Plugin", "version": "1.0.7.2",
         "publisher": "Tập đoàn Bưu chính Viễn thông Việt Nam (VNPT)"},
        {"name": "Zalo", "version": "24.10.1", "publisher": "VNG Corporation"},
    ]


def test_same_name_in_another_unicode_form_is_the_same_program():
    decomposed = unicodedata.normalize("NFD", "Phần mềm Một cửa")
    assert decomposed != "Phần mềm Một cửa"
    software = parse_software([{"A": {"DisplayName": decomposed, "DisplayVersion": "2.1"}},
                               {"B": {"DisplayName": "Phần mềm Một cửa", "DisplayVersion": "2.1"}}], [])
    assert software == [{"name": "Phần mềm Một cửa", "version": "2.1", "publisher": None}]
