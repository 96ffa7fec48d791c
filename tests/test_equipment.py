"""The register's rules (inventory/equipment.py): coverage capped at what is owned, matching by identity."""
from __future__ import annotations

from datetime import date

from inventory.equipment import (
    RegisterRow,
    ReportingDevice,
    UnitAsset,
    check_register,
    coverage,
    device_serial,
    match_assets,
)
from inventory.readiness import days_overdue, unit_status_covered


def test_coverage_caps_each_class_and_never_divides_by_zero():
    found = coverage({"workstation": 30, "printer": 2}, {"workstation": 1, "virtual_machine": 12})
    assert (found.expected, found.reporting) == (32, 1)
    assert found.ratio == 1 / 32
    assert found.by_class["workstation"] == {"expected": 30, "reporting": 1, "ratio": 1 / 30}
    assert found.by_class["virtual_machine"] == {"expected": 0, "reporting": 12, "ratio": None}
    assert coverage({"workstation": 2}, {"workstation": 5}).ratio == 1.0
    none = coverage({}, {"workstation": 3})
    assert (none.expected, none.reporting, none.ratio) == (0, 0, None)


def test_a_named_asset_is_found_by_serial_then_hostname_then_asset_tag():
    devices = [ReportingDevice("4C4C4544-0042/5CG1234XYZ", "renamed-pc", "workstation"),
               ReportingDevice("serial:ABC9", "HK-MOTCUA-03", "workstation"),
               ReportingDevice("mac:00:11:22:33:44:55", "HK-PC-007", "workstation"),
               ReportingDevice("serial:ZZZ", "stray-laptop", "laptop")]
    assets = [UnitAsset("00070", "workstation", "HK-PC-001", "5cg1234 xyz", "HK-MOTCUA-03"),
              UnitAsset("00070", "workstation", None, None, "hk-motcua-03"),
              UnitAsset("00070", "workstation", "HK-PC-007"),
              UnitAsset("00070", "workstation", "HK-PC-009", "NEVER1", location="Bàn 9", responsible="Lê Văn C")]
    found = match_assets(assets, devices)
    assert found.matched == {"HK-PC-001": "4C4C4544-0042/5CG1234XYZ", "host:hk-motcua-03": "serial:ABC9",
                             "HK-PC-007": "mac:00:11:22:33:44:55"}
    assert [a.asset_tag for a in found.missing] == ["HK-PC-009"]
    assert [d.hostname for d in found.unregistered] == ["stray-laptop"]
    assert device_serial("mac:00:11:22:33:44:55") is None
    assert match_assets([], devices).unregistered == ()


def test_a_count_below_the_named_assets_and_rows_naming_nothing_are_refused():
    rows = [RegisterRow(2, "00070", "workstation", expected=1),
            RegisterRow(3, "00070", "workstation", asset=UnitAsset("00070", "workstation", "A1")),
            RegisterRow(4, "00070", "workstation", asset=UnitAsset("00070", "workstation", "A2")),
            RegisterRow(5, "00070", "printer"),
            RegisterRow(6, "00070", "ups", expected=2, needed=5)]
    register, problems = check_register(rows, ["00070"])
    assert problems == {2: ["expected 1 but 2 workstation asset(s) of 00070 are named"],
                        5: ["neither a count (expected) nor a named asset (asset_tag, serial or hostname)"]}
    ups = next(c for c in register.counts if c.device_class == "ups")
    assert (ups.expected, ups.needed, ups.shortfall) == (2, 5, 3)


def test_a_unit_without_a_register_or_short_of_the_threshold_is_never_ready():
    passing = {"ready": 3, "ready_with_conditions": 0, "not_ready": 0, "unknown": 0}
    failing = dict(passing, not_ready=1)
    assert unit_status_covered(passing, None) == "no_register"
    assert unit_status_covered(dict.fromkeys(passing, 0), None) == "no_data"  # neither a register nor a report
    assert unit_status_covered(dict.fromkeys(passing, 0), 0.0) == "incomplete"  # registered, nothing reports
    assert unit_status_covered(passing, 29 / 30) == "incomplete"
    assert unit_status_covered(passing, 29 / 30, threshold=0.95) == "ready"
    assert unit_status_covered(passing, 1.0) == "ready"
    assert unit_status_covered(failing, 1.0) == "not_ready"
    assert days_overdue("incomplete", date(2025, 12, 6)) == 6
    assert days_overdue("ready", date(2025, 12, 6)) == 0
    assert days_overdue("no_register", date(2025, 11, 1)) == 0
