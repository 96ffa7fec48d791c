"""SNMP facts, classes, reports and verdicts of the 20 recorded real devices, parsed straight from the files.

The expected values were read by hand from each ``.snmprec`` file (the OID
each comes from is named), not produced by the code under test.
"""
from __future__ import annotations

from datetime import date

import pytest

from inventory.baseline import BaselineError, load_baseline, parse_baseline
from inventory.evaluate import evaluate
from inventory.network_eol import EquipmentEolError, load_equipment_eol
from inventory.schema import validate_report
from inventory.snmp import SUBTREES, extract
from inventory.snmp_report import equipment_report
from inventory.snmp_vendors import EnterprisesError, load_enterprises, shipped_enterprises

from conftest import SHARED_DATA, need
from support.snmp_expected import EXPECTED
from support.snmprec import read_snmprec

RECORDED = SHARED_DATA / "snmp-recorded"
WALKED = SUBTREES + shipped_enterprises().oids()

def _facts(stem: str):
    need(RECORDED.is_dir(), f"recorded SNMP walks not found at {RECORDED}")
    return extract(read_snmprec(RECORDED / f"{stem}.snmprec", WALKED))


def test_every_recording_is_listed():
    need(RECORDED.is_dir(), f"recorded SNMP walks not found at {RECORDED}")
    assert sorted(p.stem for p in RECORDED.glob("*.snmprec")) == sorted(EXPECTED)


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_vendor_class_model_serial(stem):
    facts = _facts(stem)
    assert (facts.vendor, facts.device_class, facts.model, facts.serial) == EXPECTED[stem]
    assert facts.classified_by  # the reason is recorded


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_report_is_valid_v3_and_identified(stem):
    report = equipment_report(_facts(stem), "00070", "hdc-agent", "test", "127.0.0.1:1161", "2c")
    assert validate_report(report) == []
    assert report["schema_version"] == 3 and report["agent"]["source"] == "snmp"
    vendor, cls, model, serial = EXPECTED[stem]
    assert report["device"]["class"] == cls and report["device"]["manufacturer"] == vendor
    if serial:
        assert (report["device"]["id"], report["device"]["id_source"]) == (f"serial:{serial}", "serial")
    else:
        assert report["device"]["id_source"] in ("mac-hostname", "hostname")


@pytest.mark.parametrize("stem, firmware", [
    ("switch-cisco-catalyst-2960s", "15.2(2a)E1"),          # sysDescr "Version 15.2(2a)E1"
    ("router-cisco-isr4321", "17.6.4"),                     # sysDescr "Version 17.6.4"
    ("switch-hpe-procurve-e2910al-24g-poe", "W.15.08.0012"),  # entPhysicalSoftwareRev.1
    ("switch-d-link-dgs-1510-28", "1.50.021"),              # entPhysicalSoftwareRev.1
    ("switch-tp-link-jetstream-t1600g-28ts", "3.0.6"),      # tpSysInfoSwVersion "3.0.6 Build 20200805 Rel.55968"
    ("firewall-fortinet-fortigate-60f", "7.2.6"),           # fgSysVersion "v7.2.6,build1575,230926 (GA.F)"
    ("access-point-ubiquiti-unifi-uap-nanohd", "5.43.36.12724"),  # unifiApSystemVersion
    ("nas-synology-rs2212rp-plus", "DSM 6.1-15217"),        # SYNOLOGY-SYSTEM-MIB version
    ("ups-apc-smart-ups-1000-nmc3", "UPS 16.0 (ID1047)"),   # upsAdvIdentFirmwareRevision
])
def test_firmware(stem, firmware):
    assert _facts(stem).firmware == firmware


@pytest.mark.parametrize("stem, fastest", [
    ("switch-huawei-s5720-32x-ei", 10000),       # ifHighSpeed 10000 on up 10GE ports
    ("switch-ruijie-rg-s6220-48xs4qxs", 10000),
    ("switch-hpe-procurve-e2910al-24g-poe", 1000),
    ("nas-synology-rs2212rp-plus", 2000),        # a bond of two 1 Gbit/s ports, ifHighSpeed 2000
])
def test_fastest_up_link(stem, fastest):
    assert _facts(stem).fastest_up_mbps() == fastest


def test_ups_battery_facts():
    apc = _facts("ups-apc-smart-ups-1000-nmc3").ups
    # upsAdvBatteryRunTimeRemaining 152200 ticks = 25.4 min; upsAdvBatteryReplaceIndicator 1 = no
    assert (apc["runtime_minutes"], apc["replace_battery"], apc["source"]) == (25, "no", "apc-powernet")
    eaton = _facts("ups-eaton-9px-1000i").ups
    # upsBatteryStatus 2 normal, upsEstimatedMinutesRemaining 24, upsEstimatedChargeRemaining 100
    assert (eaton["battery_status"], eaton["runtime_minutes"], eaton["charge_percent"]) == ("normal", 24, 100)
    cyber = _facts("ups-cyberpower-ol2200rtxl2u").ups
    # upsBaseBatteryStatus 2, RunTimeRemaining 174000 ticks = 29 min, ReplaceIndicator 1
    assert (cyber["battery_status"], cyber["runtime_minutes"], cyber["replace_battery"]) == ("normal", 29, "no")
    netagent = _facts("ups-megatec-netagent-ii-rfc1628").ups
    assert netagent["manufacturer"] == "INVT CO., LTD" and netagent["battery_status"] == "unknown"


def test_printer_facts():
    hp = _facts("printer-hp-laserjet-mfp-m130nw").printer
    # prtMarkerLifeCount.1.1 15232; black cartridge level 28 of 100
    assert hp["page_count"] == 15232
    assert hp["supplies"][0] == {"name": "Black Cartridge HP CF217A", "level_percent": 28, "state": "ok"}
    brother = _facts("printer-brother-mfc-l2710dw").printer
    # toner level -3 ("some remaining"), drum 11501 of 12000
    assert [s["state"] for s in brother["supplies"]] == ["some_remaining", "ok"]
    assert _facts("printer-ricoh-aficio-mp-c3002").printer["page_count"] == 271871


def _verdict(stem: str, as_of: date = date(2026, 1, 1)):
    report = equipment_report(_facts(stem), "00070", "hdc-agent", "test", "127.0.0.1:1161", "2c")
    return evaluate(report, load_baseline(), as_of)


def test_verdicts_with_reasons():
    cisco = {r.rule_id: r for r in _verdict("switch-cisco-catalyst-2960s").results}
    assert cisco["equipment_supported"].outcome == "fail"
    assert "2019-10-31" in cisco["equipment_supported"].measured
    assert "hết hỗ trợ" in cisco["equipment_supported"].message_vi
    hp = _verdict("switch-hpe-procurve-e2910al-24g-poe")
    slow = {r.rule_id: r for r in hp.results}["slow_ports"]
    # 8 Ethernet ports up, 6 of them at 100 Mbit/s (ifHighSpeed 100)
    assert (slow.outcome, slow.measured) == ("fail", "6/8 (75%)") and hp.status == "ready_with_conditions"
    nas = {r.rule_id: r for r in _verdict("nas-synology-rs2212rp-plus").results}
    assert nas["equipment_supported"].outcome == "fail"
    assert _verdict("nas-synology-rs2212rp-plus", date(2024, 9, 1)).results[0].outcome == "pass"
    ups = {r.rule_id: r for r in _verdict("ups-eaton-9px-1000i").results}
    assert (ups["ups_battery"].outcome, ups["ups_runtime"].measured) == ("pass", "24 min")
    assert _verdict("ups-megatec-netagent-ii-rfc1628").status == "unknown"  # battery state never answered


def test_failing_ups_and_printer_and_uplink():
    facts = _facts("ups-apc-smart-ups-1000-nmc3")
    facts.ups.update(replace_battery="yes", runtime_minutes=4)
    results = {r.rule_id: r for r in evaluate(equipment_report(facts, "00070", "a", "1", "h", "2c"),
                                              load_baseline(), date(2026, 1, 1)).results}
    assert results["ups_battery"].outcome == "fail" and "thay ắc quy" in results["ups_battery"].message_vi
    assert (results["ups_runtime"].outcome, results["ups_runtime"].required) == ("fail", "≥ 10 min")
    printer = _facts("printer-canon-lbp6670")
    printer.printer["supplies"][0].update(state="empty", level_percent=0)
    verdict = evaluate(equipment_report(printer, "00070", "a", "1", "h", "2c"), load_baseline(), date(2026, 1, 1))
    assert verdict.status == "ready_with_conditions" and "Canon Cartridge 719/719H" in verdict.results[0].message_en
    switch = _facts("switch-tp-link-jetstream-t1600g-28ts")
    for port in switch.ports:
        port.speed_mbps = 100 if port.speed_mbps else None
    verdict = evaluate(equipment_report(switch, "00070", "a", "1", "h", "2c"), load_baseline(), date(2026, 1, 1))
    assert verdict.status == "not_ready" and "100 Mbit/s" in verdict.results[1].message_en


def test_wrong_typed_and_missing_answers_are_unknown_with_notes():
    values = {"1.3.6.1.2.1.1.1.0": 42, "1.3.6.1.2.1.1.2.0": b"\xff\xfe", "1.3.6.1.2.1.1.5.0": b"sw-1",
              "1.3.6.1.2.1.2.2.1.2.1": b"port1", "1.3.6.1.2.1.2.2.1.5.1": b"fast"}
    facts = extract(values)
    assert facts.sys_descr is None and facts.sys_object_id is None and facts.vendor is None
    assert any("sysDescr" in n and "not text" in n for n in facts.notes)
    assert any("sysObjectID" in n for n in facts.notes) and any("ifSpeed" in n for n in facts.notes)
    report = equipment_report(facts, "00070", "a", "1", "10.0.0.9:161", "2c")
    assert validate_report(report) == [] and report["device"]["class"] == "other"
    assert report["device"]["id"] == "sw-1"


def test_older_versions_still_valid():
    report = equipment_report(_facts("router-cisco-isr4321"), "00070", "a", "1", "h", "2c")
    del report["network_device"]
    report.update(schema_version=2, agent=dict(report["agent"], source="ssh"),
                  device=dict(report["device"], **{"class": "server"}))
    assert validate_report(report) == []
    report["schema_version"] = 2
    report["device"]["class"] = "switch"
    assert validate_report(report)[0].field == "device.class"  # v2 never had equipment classes


def test_data_files_refuse_mistakes(tmp_path):
    bad = tmp_path / "vendors.yaml"
    bad.write_text("vendors:\n  9:\n    name: Cisco\n    class:\n      1.3.6.1.4.1.9.1: toaster\n")
    with pytest.raises(EnterprisesError, match=r"line 5: field 'vendors.9.class.1.3.6.1.4.1.9.1'.*toaster"):
        load_enterprises(bad)
    eol = tmp_path / "eol.yaml"
    eol.write_text("entries:\n  - vendor: Cisco\n    model: '('\n    what: x\n    end_of_support: 2020-01-01\n"
                   "    source: https://example.org\n")
    with pytest.raises(EquipmentEolError, match=r"line 3: field 'entries\[0\].model': not a regular expression"):
        load_equipment_eol(eol)
    with pytest.raises(BaselineError, match="skip_default"):
        parse_baseline("name: x\nclasses:\n  switch:\n    skip_default: maybe\n", "b.yaml", "0")
