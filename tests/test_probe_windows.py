"""The Windows probe's querying, run here without Windows: the registry from hand-made exports
behind the probe's own registry interface (and behind a stand-in ``winreg`` module), PowerShell as
a stand-in executable that prints what the real script prints, or hangs, or fails.
"""
from __future__ import annotations

import base64
import json
import sys
import time
import types

import pytest

from agents import cli
from agents.builder import build_report
from agents.probe_windows import QUERIES, PowerShellCim, RegistryError, WinRegistry, powershell_script, probe
from inventory.lifecycle import load_lifecycle
from inventory.schema import validate_report

from support.windows import LAPTOP_CIM, FakeRegistry, fake_powershell, handmade_reg, laptop_probe, printing

# --- the whole probe -------------------------------------------------------------------------

def test_windows_11_laptop_gives_a_valid_complete_report(tmp_path):
    facts = laptop_probe(tmp_path)
    report = build_report(facts)
    assert validate_report(report) == []
    # inventory.identity: SMBIOS UUID and serial together
    assert report["device"] == {"id": "4c4c4544-0051-3510-8052-b4c04f4d5a33/4Q5RMZ3", "id_source": "smbios-uuid",
                                "hostname": "UBND-PHUCXA-PC07", "serial": "4Q5RMZ3", "manufacturer": "Dell Inc.",
                                "model": "Latitude 5420", "class": "laptop"}
    cpu = report["hardware"]["cpu"]
    assert (cpu["vendor"], cpu["family"], cpu["model_number"], cpu["stepping"]) == ("GenuineIntel", 6, 140, 1)
    assert (cpu["logical_cores"], cpu["physical_cores"], cpu["max_mhz"]) == (8, 4, 2419.0)
    assert report["hardware"]["memory_bytes"] == 16 * 1024 ** 3
    assert report["hardware"]["disks"] == [{"name": "PHYSICALDRIVE0", "model": "KXG60ZNV512G KIOXIA",
                                            "size_bytes": 512110190592, "media": "ssd", "system": True}]
    assert report["hardware"]["system_disk"] == {"mount": "C:", "size_bytes": 510880002048,
                                                 "free_bytes": 301237874688, "media": "ssd"}
    assert report["firmware"] == {"boot_mode": "uefi", "secure_boot": "enabled",
                                  "tpm": {"present": "yes", "spec_version": "2.0"},
                                  "bios": {"vendor": "Dell Inc.", "version": "1.31.1", "date": "2023-09-12"}}
    assert report["os"]["name"] == "Windows 11 Pro" and report["os"]["build"] == "22631.4500"
    assert load_lifecycle().end_of_support(report["os"]) is not None
    assert [s["name"] for s in report["software"]] == [
        "Bộ gõ tiếng Việt UniKey", "HTKK", "Microsoft Office Professional Plus 2016",
        "Phần mềm Một cửa điện tử Hà Nội", "VNPT-CA Plugin", "Zalo"]  # service accounts' hives left out
    assert not any(n.startswith(("cim", "tpm", "os", "cpu", "software")) for n in report["notes"])


def test_the_script_asks_every_class_with_timeouts_and_no_profile(tmp_path):
    laptop_probe(tmp_path)
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert argv[:3] == ["-NoProfile", "-NonInteractive", "-EncodedCommand"] and len(argv) == 4
    script = base64.b64decode(argv[3]).decode("utf-16-le")
    assert script == powershell_script(QUERIES)
    for query in QUERIES:
        assert f"$r['{query.key}']" in script
    assert r"-Namespace 'root\cimv2\Security\MicrosoftTpm'" in script
    assert script.count("-OperationTimeoutSec $t") == script.count("Get-CimInstance") + 1  # + the association


def test_hung_powershell_is_cut_off_and_registry_facts_remain(tmp_path):
    exe = fake_powershell(tmp_path, "time.sleep(30)")
    started = time.monotonic()
    facts = probe(FakeRegistry(handmade_reg("win11-laptop")), PowerShellCim(exe, timeout=0.5).query,
                  system_drive="/", architecture="AMD64")
    assert time.monotonic() - started < 10
    report = build_report(facts)
    assert validate_report(report) == []
    assert "cim: PowerShell did not finish within 0.5 s; hardware, firmware and TPM facts from CIM are unknown" \
        in report["notes"]
    assert report["firmware"]["tpm"]["present"] == "unknown" and report["firmware"]["secure_boot"] == "enabled"
    assert report["os"]["version"] == "11" and report["hardware"]["cpu"]["family"] == 6
    assert report["hardware"]["memory_bytes"] > 0  # psutil stands in for the modules
    assert report["hardware"]["system_disk"]["size_bytes"] > 0  # psutil's usage of the system drive


@pytest.mark.parametrize("body, note", [
    ("sys.stderr.write('Get-CimInstance : WMI repository corrupt\\n'); sys.exit(1)",
     "cim: PowerShell exited 1: Get-CimInstance : WMI repository corrupt"),
    ("print('<html>not json</html>')", "cim: PowerShell's output is not JSON"),
    ("sys.stdout.write('{\"_error\":\"PowerShell 3.0 or later is needed for CIM queries\"}')",
     "cim: PowerShell 3.0 or later is needed for CIM queries"),
])
def test_broken_powershell_becomes_one_note(tmp_path, body, note):
    notes: list = []
    results = PowerShellCim(fake_powershell(tmp_path, body), timeout=10).query(QUERIES, notes)
    assert set(results.values()) == {None}
    assert notes == [note + "; hardware, firmware and TPM facts from CIM are unknown"]


def test_missing_powershell_is_named(tmp_path):
    notes: list = []
    PowerShellCim(str(tmp_path / "absent.exe")).query(QUERIES, notes)
    assert notes[0].startswith(f"cim: {tmp_path / 'absent.exe'} not found")


def test_one_failed_query_leaves_only_its_facts_unknown(tmp_path):
    answer = json.loads(LAPTOP_CIM.read_text())
    answer["Win32_Tpm"] = {"error": "Access denied "}
    answer["MSFT_PhysicalDisk"] = {"error": "Invalid namespace "}
    (tmp_path / "cim.json").write_text(json.dumps(answer))
    facts = laptop_probe(tmp_path, body=printing(tmp_path / "cim.json"))
    assert facts.firmware["tpm"] == {"present": "unknown", "spec_version": None}
    assert "cim Win32_Tpm: Access denied (needs the agent to run as SYSTEM or an administrator)" in facts.notes
    assert "cim MSFT_PhysicalDisk: Invalid namespace" in facts.notes
    assert facts.hardware["disks"][0]["media"] == "unknown" and facts.hardware["memory_bytes"] == 16 * 1024 ** 3


def test_denied_registry_keys_become_notes(tmp_path):
    registry = FakeRegistry(handmade_reg("win11-laptop"),
                            denied=(r"HKEY_USERS\S-1-5-21", r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT"))
    facts = laptop_probe(tmp_path, registry=registry)
    assert "Zalo" not in [s["name"] for s in facts.software] and len(facts.software) == 5
    assert any(n.startswith(r"software: HKEY_USERS\S-1-5-21-") and "Access is denied" in n for n in facts.notes)
    assert facts.os["version"] is None and any(n.startswith("os: registry key unreadable") for n in facts.notes)


# --- winreg, through a stand-in module --------------------------------------------------------

def fake_winreg(keys: dict) -> types.ModuleType:
    """The slice of ``winreg`` the probe uses, over exported keys; it insists on the 64-bit view."""
    module = types.ModuleType("winreg")
    module.HKEY_LOCAL_MACHINE, module.HKEY_USERS = "HKEY_LOCAL_MACHINE", "HKEY_USERS"
    module.KEY_READ, module.KEY_WOW64_64KEY = 0x20019, 0x0100
    registry = FakeRegistry(keys, denied=(r"HKEY_USERS\S-1-5-21-9",))

    class Key:
        def __init__(self, path):
            self.path = path

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def open_key(hive, sub, reserved, access):
        assert access & module.KEY_WOW64_64KEY, "must read the 64-bit view"
        path = f"{hive}\\{sub}" if sub else hive
        if path.lower().startswith(registry.denied):
            raise PermissionError(5, "Access is denied")
        if registry.values(path) is None:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return Key(path)

    module.OpenKey = open_key
    module.QueryInfoKey = lambda key: (len(registry.subkeys(key.path) or []), len(registry.values(key.path)), 0)
    module.EnumValue = lambda key, i: (*list(registry.values(key.path).items())[i], 1)
    module.EnumKey = lambda key, i: registry.subkeys(key.path)[i]
    return module


def test_winregistry_enumerates_values_and_subkeys(monkeypatch):
    monkeypatch.setitem(sys.modules, "winreg", fake_winreg(handmade_reg("win11-laptop")))
    registry = WinRegistry()
    state = registry.values(r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecureBoot\State")
    assert state == {"UEFISecureBootEnabled": 1}
    assert registry.values(r"HKEY_LOCAL_MACHINE\SOFTWARE\NoSuchVendor") is None
    users = registry.subkeys("HKEY_USERS")
    assert "S-1-5-21-1004336348-1177238915-682003330-1001" in users and "S-1-5-18" in users
    with pytest.raises(RegistryError, match="Access is denied"):
        registry.values(r"HKEY_USERS\S-1-5-21-9\Software")


# --- the command line picks the probe of its platform ----------------------------------------

def test_cli_uses_the_windows_probe_on_windows(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr("agents.probe_windows.probe", lambda: laptop_probe(tmp_path))
    assert cli.main(["inventory", "--print"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["os"]["family"] == "windows" and report["device"]["hostname"] == "UBND-PHUCXA-PC07"
