"""The upgrade plan: actions per device, a unit's bill of quantities from a small test price list."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import inventory
from inventory.baseline import load_baseline
from inventory.evaluate import evaluate
from inventory.plan import (
    ActionsError,
    PlanError,
    Pricer,
    load_actions,
    parse_actions,
    plan_city,
    plan_device,
    plan_unit,
)
from inventory.prices import load_price_list
from inventory.report import GiB, empty_report
from inventory.win11 import CHECK_IDS, win11_eligibility

AS_OF = date(2025, 12, 1)
HEADER = ("item_id,description_vi,unit_of_measure,unit_price_vnd,regulation_number,regulation_date,valid_from,valid_to,"
          "source")
PRICES = {"ram-ddr4-4gb": 400000, "ram-ddr4-8gb": 700000, "ram-ddr4-16gb": 1300000, "ssd-256gb": 600000,
          "ssd-512gb": 1000000, "ssd-1tb": 1800000, "tpm-module-2-0": 500000, "win11-upgrade": 0,
          "pc-desktop-office": 15000000, "laptop-office": 18000000, "server-tower": 60000000, "labour-hour": 100000}
COFFEE_LAKE = {"vendor": "GenuineIntel", "family": 6, "model_number": 158, "stepping": 10, "model": "i5-8500",
               "logical_cores": 6, "physical_cores": 6, "max_mhz": 3000.0}
SANDY_BRIDGE = dict(COFFEE_LAKE, model_number=42, stepping=7, model="i5-2300", logical_cores=4, physical_cores=4)


def _price_list(tmp_path: Path, prices: dict, name: str = "prices.csv"):
    rows = [f"{item},{item},cái,{price},12/2025/QĐ-UBND,20/11/2025,2025-11-01,," for item, price in prices.items()]
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return load_price_list(path)


def _pc(cpu=COFFEE_LAKE, memory=8 * GiB, media="ssd", size=237 * GiB, free=150 * GiB, tpm=("yes", "2.0"),
        boot="uefi", secure_boot="enabled", bios="2020-03-01", version="10", notes=(), device_class="workstation"):
    report = empty_report("00004", "test", "0", "agent")
    report["device"]["class"] = device_class
    report["os"].update({"family": "windows", "id": "windows", "name": f"Windows {version} Pro", "version": version,
                         "release": "22H2" if version == "10" else "24H2", "edition": "Professional",
                         "architecture": "x86_64"})
    report["hardware"].update({"cpu": dict(cpu), "memory_bytes": memory,
                               "system_disk": {"mount": "C:", "size_bytes": size, "free_bytes": free, "media": media}})
    report["firmware"].update({"boot_mode": boot, "secure_boot": secure_boot,
                               "tpm": {"present": tpm[0], "spec_version": tpm[1]},
                               "bios": {"vendor": "x", "version": "1", "date": bios}})
    report["notes"] = list(notes)
    return report


@pytest.fixture(scope="module")
def baseline():
    return load_baseline()


@pytest.fixture
def pricer(tmp_path):
    return Pricer(load_actions(), _price_list(tmp_path, PRICES), AS_OF)


def _plan(device_id, report, baseline, pricer):
    return plan_device(device_id, report, evaluate(report, baseline, AS_OF), win11_eligibility(report), baseline,
                       pricer)


def _steps(plan):
    return [(a.action, a.item, a.quantity) for a in plan.actions]


# --- the shipped actions file -------------------------------------------------------------------------

def test_every_baseline_rule_and_win11_failure_has_an_action(baseline):
    actions = load_actions()
    assert set(baseline.rule_ids()) <= set(actions.baseline_rules)
    assert set(actions.win11_checks) == set(CHECK_IDS)
    assert all("fail" in outcomes for outcomes in actions.win11_checks.values())
    for item in ("tpm-module-2-0", "win11-upgrade", "labour-hour", *actions.actions["add_memory"].choose,
                 *actions.actions["replace_disk"].choose,
                 *filter(None, actions.actions["replace_machine"].by_class.values())):
        assert item in load_price_list().prices_on(AS_OF), item


def test_actions_file_errors_name_line_and_field():
    text = (Path(inventory.__file__).parent / "data" / "actions.yaml").read_text(encoding="utf-8")
    broken = text.replace("  memory: add_memory", "  memory: add_ram")
    with pytest.raises(ActionsError) as caught:
        parse_actions(broken, "actions.yaml")
    line = next(i for i, t in enumerate(broken.splitlines(), 1) if "memory: add_ram" in t)
    assert str(caught.value).startswith(f"actions.yaml: line {line}: field 'baseline_rules.memory': 'add_ram' is not "
                                        "an action")
    with pytest.raises(ActionsError, match="field 'win11_checks.tpm.later': unknown key"):
        parse_actions(text.replace("firmware_setting: enable_tpm", "later: enable_tpm"), "actions.yaml")
    with pytest.raises(ActionsError, match="actions.add_memory.choose.ram-ddr4-4gb': '4 gigs' is not a size"):
        parse_actions(text.replace("ram-ddr4-4gb: 4 GiB", "ram-ddr4-4gb: 4 gigs"), "actions.yaml")
    with pytest.raises(ActionsError, match="field 'actions.add_memory.fills': give it with choose, as one of memory"):
        parse_actions(text.replace("fills: memory", "fills: ram"), "actions.yaml")


# --- one device ---------------------------------------------------------------------------------------

def test_windows_10_with_little_memory_gets_a_module_and_windows_11(baseline, pricer):
    plan = _plan("d1", _pc(memory=4 * GiB), baseline, pricer)
    assert _steps(plan) == [("add_memory", "ram-ddr4-4gb", 1), ("upgrade_windows11", "win11-upgrade", 1)]
    assert plan.actions[1].fixes == ("rule:os_supported",)
    assert plan.unresolved == ()


def test_memory_module_is_the_cheapest_that_reaches_the_requirement(baseline, pricer):
    plan = _plan("d1", _pc(memory=2 * GiB), baseline, pricer)      # needs 5.2 GiB more: one 8 GB beats two 4 GB
    assert _steps(plan)[0] == ("add_memory", "ram-ddr4-8gb", 1)


def test_unsupported_cpu_is_replaced_and_gets_nothing_else(baseline, pricer):
    plan = _plan("d2", _pc(cpu=SANDY_BRIDGE, memory=4 * GiB, media="hdd"), baseline, pricer)
    assert _steps(plan) == [("replace_machine", "pc-desktop-office", 1)]
    assert {"rule:memory", "rule:ssd", "rule:win11_cpu", "rule:os_supported", "win11:processor"} <= set(
        plan.actions[0].fixes)


def test_firmware_settings_cost_labour_only(baseline, pricer):
    plan = _plan("d3", _pc(secure_boot="disabled", notes=["tpm: present but disabled"]), baseline, pricer)
    assert _steps(plan) == [("enable_tpm", None, 1), ("enable_secure_boot", None, 1),
                            ("upgrade_windows11", "win11-upgrade", 1)]
    assert plan.actions[1].fixes == ("rule:secure_boot", "win11:secure_boot")


def test_hdd_becomes_an_ssd_big_enough_for_the_data_and_free_space(baseline, pricer):
    plan = _plan("d5", _pc(media="hdd", size=465 * GiB, free=165 * GiB, version="11"), baseline, pricer)
    assert _steps(plan) == [("replace_disk", "ssd-512gb", 1)]    # 300 GiB used + 20 GiB free > 256 GB


def test_machine_past_its_age_is_replaced(baseline, pricer):
    assert _steps(_plan("d6", _pc(bios="2015-01-01", version="11"), baseline, pricer)) == [
        ("replace_machine", "pc-desktop-office", 1)]


def test_replacement_wins_when_parts_cost_more(baseline, tmp_path):
    cheap_pc = Pricer(load_actions(), _price_list(tmp_path, dict(PRICES, **{"pc-desktop-office": 900000})), AS_OF)
    plan = _plan("d1", _pc(memory=2 * GiB, media="hdd", version="11"), baseline, cheap_pc)
    assert _steps(plan) == [("replace_machine", "pc-desktop-office", 1)]


def test_unknown_windows_11_requirement_is_unresolved_not_priced(baseline, pricer):
    plan = _plan("d7", _pc(tpm=("unknown", None)), baseline, pricer)
    assert "upgrade_windows11" not in [a.action for a in plan.actions]
    assert set(plan.unresolved) == {"rule:tpm", "win11:tpm"}


def test_virtual_machine_is_resized_not_given_a_module(baseline, pricer):
    plan = _plan("vm", _pc(memory=4 * GiB, version="11", device_class="virtual_machine"), baseline, pricer)
    assert _steps(plan) == [("resize_vm", None, 1)]


def test_a_passing_pc_needs_nothing(baseline, pricer):
    assert _plan("d4", _pc(version="11"), baseline, pricer).actions == ()


# --- a unit -------------------------------------------------------------------------------------------

def _unit(baseline, pricer, shortfall=None):
    reports = {"d1": _pc(memory=4 * GiB), "d2": _pc(cpu=SANDY_BRIDGE, memory=4 * GiB, media="hdd"),
               "d3": _pc(secure_boot="disabled", notes=["tpm: present but disabled"]), "d4": _pc(version="11")}
    return plan_unit([_plan(d, r, baseline, pricer) for d, r in reports.items()], pricer,
                     {"workstation": 2} if shortfall is None else shortfall)


def test_unit_bill_of_quantities_and_total(baseline, pricer):
    plan = _unit(baseline, pricer)
    rows = [(line.action, line.item, line.quantity, line.unit_price_vnd, line.amount_vnd, line.labour_hours,
             line.device_ids)
            for line in plan.lines]
    assert rows == [
        ("add_memory", "ram-ddr4-4gb", 1, 400000, 400000, 0.5, ("d1",)),
        ("enable_tpm", None, 1, 0, 0, 0.25, ("d3",)),
        ("enable_secure_boot", None, 1, 0, 0, 0.25, ("d3",)),
        ("upgrade_windows11", "win11-upgrade", 2, 0, 0, 3.0, ("d1", "d3")),
        ("replace_machine", "pc-desktop-office", 1, 15000000, 15000000, 2.0, ("d2",)),
        ("buy_machine", "pc-desktop-office", 2, 15000000, 30000000, 4.0, ()),
        ("labour", "labour-hour", 10.0, 100000, 1000000, 0.0, ("d1", "d2", "d3")),
    ]
    assert (plan.total_vnd, plan.labour_hours) == (46400000, 10.0)
    assert plan.cost_by_action() == {"add_memory": 450000, "enable_tpm": 25000, "enable_secure_boot": 25000,
                                     "upgrade_windows11": 300000, "replace_machine": 15200000,
                                     "buy_machine": 30400000}
    data = plan.to_dict()
    assert data["total_vnd"] == sum(item["amount_vnd"] for item in data["items"])
    assert data["items"][0]["basis"] == "12/2025/QĐ-UBND ngày 20/11/2025"
    assert data["price_list"]["example"] is False


def test_without_shortfall_no_machines_are_bought(baseline, pricer):
    assert "buy_machine" not in [line.action for line in _unit(baseline, pricer, {}).lines]


def test_another_price_list_changes_amounts_and_nothing_else(baseline, pricer, tmp_path):
    dearer = Pricer(load_actions(), _price_list(tmp_path, {k: v * 2 for k, v in PRICES.items()}, "b.csv"), AS_OF)
    a, b = _unit(baseline, pricer), _unit(baseline, dearer)
    shape = lambda p: [(line.action, line.item, line.quantity, line.labour_hours, line.device_ids)  # noqa: E731
                       for line in p.lines]
    assert shape(a) == shape(b)
    assert b.total_vnd == 2 * a.total_vnd


def test_the_version_in_force_prices_the_plan(baseline, tmp_path):
    path = tmp_path / "versions.csv"
    rows = [f"{item},{item},cái,{price},QĐ 1,20/11/2025,2025-11-01,2025-12-31," for item, price in PRICES.items()]
    rows.append("pc-desktop-office,PC,bộ,20000000,QĐ 2,20/12/2025,2026-01-01,,")
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    prices = load_price_list(path)
    report = _pc(cpu=SANDY_BRIDGE)
    in_2025 = plan_unit([_plan("d2", report, baseline, Pricer(load_actions(), prices, AS_OF))],
                        Pricer(load_actions(), prices, AS_OF))
    assert in_2025.lines[0].amount_vnd == 15000000
    with pytest.raises(PlanError, match=r"item 'labour-hour' \(action labour\) has no price in force on 2026-02-01"):
        Pricer(load_actions(), prices, date(2026, 2, 1))


def test_city_totals_add_up(baseline, pricer):
    units = {"00004": _unit(baseline, pricer), "00008": _unit(baseline, pricer, {})}
    city = plan_city(units)
    assert city["total_vnd"] == 46400000 + 16000000
    assert city["units"] == [{"unit_code": "00004", "total_vnd": 46400000, "labour_hours": 10.0},
                             {"unit_code": "00008", "total_vnd": 16000000, "labour_hours": 6.0}]
    assert sum(city["by_action"].values()) == city["total_vnd"]
