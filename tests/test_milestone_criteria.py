"""Each milestone judged on its own criteria, over a hand-made history whose every item and state is known.

Two units, reports dated by hand through the real ingest, declarations through
the real migration API of the store, the overview read on a chosen day: a
unit whose devices all pass but whose applications never moved is done for
the equipment milestone and overdue for operating together.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from collector.cloud.queries import Proposed, apply
from collector.context import build_context
from collector.readiness.overview import city_overview, unit_detail
from collector.settings import Settings
from inventory.milestones import MilestoneError, check_applications, parse_milestones
from inventory.report import GiB, empty_report, new_report_id

UNITS = "code,name,kind\n00070,Hoàn Kiếm,phuong\n00082,Cửa Nam,phuong\n"
ZERO = {"done_on_time": 0, "done_late": 0, "in_progress": 0, "overdue": 0}


def pc(ward: str, device: str, at: str, memory_gib: int) -> dict:
    """A Debian 12 virtual machine with the civil-status software (an application the programme retires)."""
    doc = empty_report(ward, "test", "1.2.3", "agent")
    doc.update(report_id=new_report_id(), collected_at=at)
    doc["device"].update(id=device, hostname=device, **{"class": "virtual_machine"})
    doc["hardware"]["cpu"].update(model="Intel Xeon Silver 4210R", vendor="GenuineIntel", logical_cores=8,
                                  physical_cores=8)
    doc["hardware"]["memory_bytes"] = memory_gib * GiB
    doc["hardware"]["system_disk"].update(size_bytes=200 * GiB, free_bytes=100 * GiB, media="ssd")
    doc["firmware"].update(boot_mode="uefi", bios={"vendor": "Dell Inc.", "version": "2.1", "date": "2024-03-01"})
    doc["os"].update(family="linux", id="debian", name="Debian GNU/Linux 12 (bookworm)", version="12",
                     architecture="x86_64")
    doc["software"] = [{"name": "Phần mềm Hộ tịch", "version": "2.0", "publisher": None}]
    return doc


@pytest.fixture(scope="module")
def overview(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("criteria")
    (tmp / "units.csv").write_text(UNITS, encoding="utf-8")
    c = build_context(Settings(db_url=f"sqlite:///{tmp / 'store.sqlite3'}", registry_path=tmp / "units.csv"))
    # 00070: every device passes from the start; its civil-status software never moves.
    # 00082: its PC fails (4 GiB) until fixed on 5/12/2025, after the equipment milestone; the application is
    # declared migrating from 25/11 and retired from 20/12/2025.
    for doc in (pc("00070", "hk-1", "2025-11-10T02:00:00Z", 16), pc("00082", "cn-1", "2025-11-10T02:00:00Z", 4),
                pc("00082", "cn-1", "2025-12-05T02:00:00Z", 16), pc("00070", "hk-1", "2025-12-28T02:00:00Z", 16)):
        c.ingestor.ingest(doc, json.dumps(doc, ensure_ascii=False))
    declared = datetime(2025, 12, 21, 3, tzinfo=timezone.utc)
    checked = apply(c.engine, c.catalog, c.registry,
                    [Proposed("00082", "civil_status", "migrating", date(2025, 11, 25), "test"),
                     Proposed("00082", "civil_status", "retired", date(2025, 12, 20), "test")],
                    "test", declared, c.settings.active_since(declared), declared.date())
    assert not [k.error for k in checked if k.error]
    now = datetime(2026, 1, 2, 3, tzinfo=timezone.utc)  # 10:00 on 2/1/2026 in Hanoi: every milestone but iHanoi past
    try:
        yield city_overview(c, now), unit_detail(c, "00070", now, "integrated_operation")
    finally:
        c.engine.dispose()


def _items(counts: dict[str, int]) -> dict[str, int]:
    return {s: n for s, n in counts.items() if n}


def test_each_milestone_counts_its_own_evidence(overview):
    city, _ = overview
    by_unit = city.work_by_unit
    # Equipment (30/11/2025, devices): 00070 has nothing to do; 00082's PC was fixed five days late.
    assert by_unit["equipment_upgraded"].get("00070", ZERO) == ZERO
    assert _items(by_unit["equipment_upgraded"]["00082"]) == {"done_late": 1}
    # HDC cloud (1/12/2025, applications at least migrating): 00070 never started; 00082 was migrating from 25/11.
    assert _items(by_unit["hdc_cloud_start"]["00070"]) == {"overdue": 1}
    assert _items(by_unit["hdc_cloud_start"]["00082"]) == {"done_on_time": 1}
    # Operating together (1/1/2026, devices and applications moved): the PC was fixed in time for it, the
    # application retired on 20/12; 00070's application is overdue although its devices all pass.
    assert _items(by_unit["integrated_operation"]["00070"]) == {"overdue": 1}
    assert _items(by_unit["integrated_operation"]["00082"]) == {"done_on_time": 2}
    # iHanoi (31/12/2026, the queue kiosks retired): neither unit uses them.
    assert by_unit["ihanoi_super_app"] == {}
    assert city.work_by_milestone["integrated_operation"] == {**ZERO, "done_on_time": 2, "overdue": 1}
    assert city.work_by_milestone["equipment_upgraded"] != city.work_by_milestone["hdc_cloud_start"]


def test_a_units_view_counts_the_same_items(overview):
    city, unit = overview
    assert unit.row.work == city.work_by_unit["integrated_operation"]["00070"]
    assert unit.work_by_milestone["integrated_operation"] == {**ZERO, "overdue": 1}
    assert unit.work_items == []          # its devices opened no item: the one item is an application


BASE = "milestones:\n  - {id: a, date: 2026-01-01, title_vi: A, title_en: A"


@pytest.mark.parametrize("text, fragment", [
    (BASE + ", criteria: {applications: done}}\n", "field 'milestones[0].criteria.applications': 'done' is not"),
    (BASE + ", criteria: {devices: yes please}}\n", "field 'milestones[0].criteria.devices': expected true or false"),
    (BASE + ", criteria: {}}\n", "field 'milestones[0].criteria': judges nothing"),
    (BASE + ", criteria: {reachable: true}}\n", "field 'milestones[0].criteria.reachable': unknown key"),
])
def test_bad_criteria_are_refused_naming_the_field(text, fragment):
    with pytest.raises(MilestoneError, match="plan.yaml: line 2: ") as caught:
        parse_milestones(text, "plan.yaml")
    assert fragment in str(caught.value)


def test_retired_applications_must_be_in_the_catalog():
    plan = parse_milestones(BASE + ", criteria: {retired: [fax_machine]}}\n", "plan.yaml")
    assert plan[0].retired == ("fax_machine",) and not plan[0].devices
    with pytest.raises(MilestoneError, match="plan.yaml: milestone 'a': field 'criteria.retired': 'fax_machine'"):
        check_applications(plan, ["civil_status"], "plan.yaml")
