"""Baseline rules: the shipped Hanoi baseline, inheritance, sizes, and a loader that names file, line and field."""
from __future__ import annotations

import hashlib
from importlib import resources

import pytest

from inventory.baseline import DEVICE_CLASSES, BaselineError, format_size, load_baseline, parse_baseline, parse_size
from inventory.snmp_vendors import EQUIPMENT_CLASSES

GiB = 1024 ** 3


@pytest.fixture(scope="module")
def shipped():
    return load_baseline()


def _rules(baseline, cls):
    return {r.id: r for r in baseline.rules_for(cls)}


def test_shipped_baseline_identity(shipped):
    data = resources.files("inventory").joinpath("data/baseline.yaml").read_bytes()
    assert shipped.name == "hanoi-2025"
    assert shipped.fingerprint == hashlib.sha256(data).hexdigest()
    assert shipped.rule_ids() == ["cpu_cores", "device_age", "equipment_supported", "memory", "os_supported",
                                  "printer_supplies", "secure_boot", "slow_ports", "ssd", "system_disk",
                                  "system_disk_free", "tpm", "uefi", "uplink_speed", "ups_battery", "ups_runtime",
                                  "win11_cpu"]


def test_shipped_workstation_rules(shipped):
    rules = _rules(shipped, "workstation")
    hard = {i for i, r in rules.items() if r.severity == "hard"}
    soft = {i for i, r in rules.items() if r.severity == "soft"}
    assert hard == {"memory", "system_disk", "os_supported", "tpm", "win11_cpu"}
    assert soft == {"ssd", "cpu_cores", "uefi", "secure_boot", "device_age", "system_disk_free"}
    assert rules["memory"].params["min"] == 8 * GiB
    assert rules["system_disk"].params["min"] == 128 * GiB
    assert rules["system_disk_free"].params["min"] == 20 * GiB
    assert rules["cpu_cores"].params["min"] == 4
    assert rules["device_age"].params["max"] == 7
    assert rules["tpm"].params["min"] == "2.0" and rules["tpm"].os_family == ("windows",)


def test_laptops_inherit_workstation_rules(shipped):
    assert shipped.rules_for("laptop") == shipped.rules_for("workstation")


def test_shipped_server_rules(shipped):
    rules = _rules(shipped, "server")
    assert {i for i, r in rules.items() if r.severity == "hard"} == {"memory", "os_supported", "cpu_cores"}
    assert rules["memory"].params["min"] == 16 * GiB
    assert rules["ssd"].severity == "soft"
    assert "win11_cpu" not in rules and "tpm" not in rules


def test_every_class_gets_the_default_rule_and_unknown_classes_get_other(shipped):
    for cls in DEVICE_CLASSES:
        # Network and power equipment skips the PC defaults (skip_default): no OS end of support to judge.
        assert ("os_supported" in _rules(shipped, cls)) == (cls not in EQUIPMENT_CLASSES)
    assert shipped.rules_for("toaster") == shipped.rules_for("other")


def test_all_rules_gives_one_rule_per_id_with_titles(shipped):
    rules = shipped.all_rules()
    assert [r.id for r in rules] == shipped.rule_ids()
    assert all(r.title_vi and r.title_en for r in rules)
    assert next(r for r in rules if r.id == "memory").title_vi == "Dung lượng RAM"


@pytest.mark.parametrize("text, size", [
    ("8 GiB", 8 * GiB), ("8GiB", 8 * GiB), ("128 GB", 128 * 10 ** 9), ("512 MiB", 512 * 1024 ** 2),
    ("1.5 TiB", int(1.5 * 1024 ** 4)), ("20 gib", 20 * GiB), ("4096 B", 4096), ("1 KB", 1000), ("1 KiB", 1024),
    ("2 TB", 2 * 10 ** 12), ("256 MB", 256 * 10 ** 6),
])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["8 GB RAM", "8", "GiB", "-1 GiB", "8 gigs", "", 8])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError, match="is not a size"):
        parse_size(text)


def test_format_size_never_rounds_up_to_a_minimum():
    assert format_size(8 * GiB) == "8 GiB"
    assert format_size(8 * GiB - 1) == "7.9 GiB"
    assert format_size(128 * 10 ** 9) == "119.2 GiB"
    assert format_size(512) == "512 B"


INHERIT = """\
name: test
default:
  rules:
    - {id: os_supported, kind: os_supported, severity: hard}
classes:
  workstation:
    rules:
      - {id: memory, kind: min_memory, severity: hard, min: 8 GiB}
      - {id: uefi, kind: uefi, severity: soft}
  laptop:
    extends: workstation
    rules:
      - {id: memory, kind: min_memory, severity: soft, min: 4 GiB}
      - {id: tpm, kind: tpm_min_version, severity: hard, min: "2.0", os_family: [windows]}
"""


def test_extends_inherits_overrides_and_adds():
    baseline = parse_baseline(INHERIT, "test.yaml", "0" * 64)
    laptop = baseline.rules_for("laptop")
    assert [r.id for r in laptop] == ["os_supported", "memory", "uefi", "tpm"]
    assert laptop[1].severity == "soft" and laptop[1].params["min"] == 4 * GiB
    assert [r.id for r in baseline.rules_for("workstation")] == ["os_supported", "memory", "uefi"]
    assert [r.id for r in baseline.rules_for("server")] == ["os_supported"]


def test_load_from_file_records_its_fingerprint(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text(INHERIT, encoding="utf-8")
    first = load_baseline(path)
    assert first.fingerprint == hashlib.sha256(INHERIT.encode()).hexdigest()
    path.write_text(INHERIT.replace("8 GiB", "16 GiB"), encoding="utf-8")
    assert load_baseline(path).fingerprint != first.fingerprint


def test_unreadable_file_names_it(tmp_path):
    with pytest.raises(BaselineError, match="nope.yaml"):
        load_baseline(tmp_path / "nope.yaml")


HEAD = "name: t\nclasses:\n  workstation:\n    rules:\n"


def _one(rule: str) -> str:
    return HEAD + "      - " + rule + "\n"


@pytest.mark.parametrize("text, line, field, fragment", [
    (_one("{id: memory, kind: min_memory, severity: hard, min: 8 GB RAM}"),
     5, "classes.workstation.rules[0].min", "'8 GB RAM' is not a size"),
    (_one("{id: memory, kind: min_ram, severity: hard, min: 8 GiB}"),
     5, "classes.workstation.rules[0].kind", "'min_ram' is not a rule kind"),
    (_one("{id: memory, kind: min_memory, severity: hard, minimum: 8 GiB}"),
     5, "classes.workstation.rules[0].minimum", "unknown key"),
    (_one("{id: memory, kind: min_memory, severity: critical, min: 8 GiB}"),
     5, "classes.workstation.rules[0].severity", "not one of hard, soft"),
    (_one("{id: memory, kind: min_memory, severity: hard}"),
     5, "classes.workstation.rules[0].min", "required"),
    (_one("{id: Memory!, kind: min_memory, severity: hard, min: 8 GiB}"),
     5, "classes.workstation.rules[0].id", "not a rule id"),
    (_one("{id: tpm, kind: tpm_min_version, severity: hard, min: 2.0}"),
     5, "classes.workstation.rules[0].min", "quote it"),
    (_one("{id: age, kind: max_device_age_years, severity: soft, max: 0}"),
     5, "classes.workstation.rules[0].max", "number of years"),
    (_one("{id: cores, kind: min_logical_cores, severity: soft, min: 2.5}"),
     5, "classes.workstation.rules[0].min", "whole number"),
    (_one("{id: ram, kind: min_memory, severity: hard, min: 8 GiB, tolerance_percent: 60}"),
     5, "classes.workstation.rules[0].tolerance_percent", "percentage"),
    (_one("{id: tpm, kind: tpm_min_version, severity: hard, min: '2.0', os_family: windoze}"),
     5, "classes.workstation.rules[0].os_family", "'windoze' is not one of"),
    (_one("{id: os, kind: os_supported, severity: hard, min_days_left: -1}"),
     5, "classes.workstation.rules[0].min_days_left", "whole number"),
    (HEAD + "      - {id: memory, kind: min_memory, severity: hard, min: 8 GiB}\n"
            "      - {id: memory, kind: min_memory, severity: soft, min: 16 GiB}\n",
     6, "classes.workstation.rules[1].id", "duplicate rule id 'memory' (first on line 5)"),
    (HEAD + "      - {id: disk, kind: min_system_disk, severity: hard, min: 128 GiB}\n"
            "      - {id: free, kind: min_system_disk_free, severity: soft, min: 200 GiB}\n",
     6, "classes.workstation.rules[1].min", "cannot be met"),
    ("name: t\ndefault:\n  rules:\n    - {id: disk, kind: min_system_disk, severity: hard, min: 64 GiB}\n"
     "classes:\n  server:\n    rules:\n      - {id: free, kind: min_system_disk_free, severity: soft, min: 64 GiB}\n",
     8, "classes.server.rules[0].min", "class server"),
    ("name: t\nclasses:\n  desktop:\n    rules: []\n",
     3, "classes.desktop", "not a device class"),
    ("name: t\nclasses:\n  laptop:\n    extends: notebook\n",
     4, "classes.laptop.extends", "not a device class"),
    ("name: t\nclasses:\n  laptop:\n    extends: workstation\n  workstation:\n    extends: laptop\n",
     4, "classes.laptop.extends", "circle"),
    ("name: t\ndefault:\n  rules:\n    - {id: check, kind: uefi, severity: soft}\n"
     "classes:\n  server:\n    rules:\n      - {id: check, kind: secure_boot, severity: soft}\n",
     8, "classes.server.rules[0].kind", "replaces an inherited uefi rule"),
    ("name: t\nclasses:\n  server:\n    rules:\n      - {id: check, kind: uefi, severity: soft}\n"
     "  workstation:\n    rules:\n      - {id: check, kind: secure_boot, severity: soft}\n",
     8, "classes.workstation.rules[0].kind", "one id must mean one check"),
    ("classes: {}\n", 1, "name", "required"),
    ("name: t\nrules: []\n", 2, "rules", "unknown key"),
    ("name: t\nclasses:\n  server:\n    rules:\n      - {id: a, kind: uefi, severity: soft\n",
     6, None, "YAML"),
    ("name: t\nclasses:\n  server: {}\n  server: {}\n", 4, None, "'server' appears twice"),
    ("", 1, "(document)", "expected a mapping"),
])
def test_loader_errors_name_file_line_and_field(text, line, field, fragment):
    with pytest.raises(BaselineError) as caught:
        parse_baseline(text, "baseline.yaml", "0" * 64)
    message = str(caught.value)
    assert message.startswith(f"baseline.yaml: line {line}: "), message
    if field is not None:
        assert f"field '{field}'" in message, message
    assert fragment in message, message


def test_the_example_message_from_the_design():
    with pytest.raises(BaselineError) as caught:
        parse_baseline(_one("{id: memory, kind: min_memory, severity: hard, min: 8 GB RAM}"),
                       "baseline.yaml", "0" * 64)
    assert str(caught.value).startswith(
        "baseline.yaml: line 5: field 'classes.workstation.rules[0].min': '8 GB RAM' is not a size")
