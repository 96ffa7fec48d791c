"""Each milestone judged on its own criteria, over a hand-made history whose every item and state is known.

Two units, reports dated by hand through the real ingest, declarations through
the real migration API of the store, the overview read on a chosen day: a
unit whose devices all pass but whose applications never moved is done for
the equipment milestone and overdue for operating together.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from collector.cloud.queries import Proposed, apply, observe_now
from collector.context import build_context
from collector.i18n import HANOI
from collector.readiness.criteria import Registered, register_item, register_tally
from collector.readiness.okr import okr_progress
from collector.readiness.okr_backfill import backfill
from collector.readiness.overview import city_overview, unit_detail
from collector.settings import Settings
from collector.store import contradictions, okr_weeks
from collector.store import register as register_store
from collector.store.engine import write_transaction
from collector.store.tables import key_result_weeks, reachability_changes
from inventory.equipment import Register, UnitCount
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
    # Operating together (1/1/2026, devices and applications moved, no open contradiction): the PC was fixed in
    # time for it, the application retired on 20/12; but the retired software is still installed on cn-1, an
    # open contradiction (overdue). 00070's application is overdue although its devices all pass.
    assert _items(by_unit["integrated_operation"]["00070"]) == {"overdue": 1}
    assert _items(by_unit["integrated_operation"]["00082"]) == {"done_on_time": 2, "overdue": 1}
    # iHanoi (31/12/2026, the queue kiosks retired): neither unit uses them.
    assert by_unit["ihanoi_super_app"] == {}
    assert city.work_by_milestone["integrated_operation"] == {**ZERO, "done_on_time": 2, "overdue": 2}
    # The contradiction criterion is the 1/1/2026 milestone's alone: the 31/12/2025 one has the two items.
    assert _items(by_unit["key_tasks_done"]["00082"]) == {"done_on_time": 2}
    assert city.work_by_milestone["equipment_upgraded"] != city.work_by_milestone["hdc_cloud_start"]


def test_a_units_view_counts_the_same_items(overview):
    city, unit = overview
    assert unit.row.work == city.work_by_unit["integrated_operation"]["00070"]
    assert unit.work_by_milestone["integrated_operation"] == {**ZERO, "overdue": 1}
    assert unit.work_items == []          # its devices opened no item: the one item is an application


def checking(ward: str, device: str, at: str, reached: bool) -> dict:
    """A passing PC whose check of the two HDC endpoints both answered, or both failed."""
    doc = pc(ward, device, at, 16)
    doc["software"] = []
    doc["network"]["reachability"] = [{"target": t, "ok": reached, "latency_ms": 9.0 if reached else None}
                                      for t in ("hdc-portal", "hdc-cloud")]
    return doc


@pytest.fixture(scope="module")
def links(tmp_path_factory):
    """A store where 00070's link to the HDC is repaired on known days; the collector built for reading it."""
    tmp = tmp_path_factory.mktemp("links")
    (tmp / "units.csv").write_text(UNITS, encoding="utf-8")
    c = build_context(Settings(db_url=f"sqlite:///{tmp / 'store.sqlite3'}", registry_path=tmp / "units.csv"))
    # 00070: both PCs fail to reach the HDC from 1/11/2025; hk-1 is repaired on 10/12 (one in two: short of the
    # file's 0.8), hk-2 on 20/12/2025 (10:00 Hanoi): the link is repaired that day, late for 1/12, in time for
    # 1/1/2026. 00082: its PC reaches the HDC from 10/11, loses it on 15/12 and is never repaired.
    # Reports in between repeat the same reach and add no history.
    history = [("00070", "hk-1", "2025-11-01T02:00:00Z", False), ("00070", "hk-2", "2025-11-01T02:00:00Z", False),
               ("00082", "cn-1", "2025-11-10T02:00:00Z", True), ("00070", "hk-1", "2025-12-10T02:00:00Z", True),
               ("00070", "hk-2", "2025-12-12T02:00:00Z", False), ("00082", "cn-1", "2025-12-15T02:00:00Z", False),
               ("00070", "hk-2", "2025-12-20T03:00:00Z", True), ("00070", "hk-1", "2025-12-28T02:00:00Z", True),
               ("00070", "hk-2", "2025-12-28T02:00:00Z", True), ("00082", "cn-1", "2025-12-28T02:00:00Z", False)]
    for ward, device, at, reached in history:
        doc = checking(ward, device, at, reached)
        c.ingestor.ingest(doc, json.dumps(doc, ensure_ascii=False))
    try:
        yield c
    finally:
        c.engine.dispose()


def test_a_link_repaired_on_a_known_day_closes_its_item_that_day(links):
    with links.engine.connect() as conn:
        kept = conn.execute(sa.select(reachability_changes.c.device_id, reachability_changes.c.reached)
                            .order_by(reachability_changes.c.id)).all()
    assert kept == [("hk-1", False), ("hk-2", False), ("cn-1", True), ("hk-1", True), ("cn-1", False),
                    ("hk-2", True)]
    before = city_overview(links, datetime(2025, 12, 20, 2, tzinfo=timezone.utc)).work_by_unit  # 09:00, 20/12
    after = city_overview(links, datetime(2025, 12, 20, 4, tzinfo=timezone.utc)).work_by_unit   # 11:00, 20/12
    later = city_overview(links, datetime(2026, 1, 2, 3, tzinfo=timezone.utc)).work_by_unit
    # 1/12/2025 (HDC in operation): 00070 overdue until 20/12, then done late on that day; 00082's link, reached
    # on 1/12, broke on 15/12: overdue (a link is done only while it holds).
    assert _items(before["hdc_cloud_start"]["00070"]) == {"overdue": 1}
    assert _items(after["hdc_cloud_start"]["00070"]) == {"done_late": 1}
    assert _items(after["hdc_cloud_start"]["00082"]) == {"overdue": 1}
    # 1/1/2026 (operating together): in progress until 20/12, done on time from then on; the devices pass.
    assert _items(before["integrated_operation"]["00070"]) == {"in_progress": 1}
    assert _items(later["integrated_operation"]["00070"]) == {"done_on_time": 1}
    assert _items(later["integrated_operation"]["00082"]) == {"overdue": 1}
    # Equipment (devices alone) and 31/12/2025 (no reachability criterion) open no link item.
    assert "00070" not in later["equipment_upgraded"] and "00070" not in later["key_tasks_done"]
    unit = unit_detail(links, "00070", datetime(2026, 1, 2, 3, tzinfo=timezone.utc), "integrated_operation")
    assert unit.work_by_milestone["hdc_cloud_start"] == {**ZERO, "done_late": 1}


def test_key_results_keep_one_value_a_week(links):
    """Kept in three weeks (twice in one of them): one row per key result and week, the week's last value; a
    reader sees the kept weeks and this week's value as measured, and writes nothing."""
    moments = [datetime(2025, 12, 10, 3, tzinfo=timezone.utc), datetime(2025, 12, 20, 2, tzinfo=timezone.utc),
               datetime(2025, 12, 20, 4, tzinfo=timezone.utc), datetime(2026, 1, 2, 3, tzinfo=timezone.utc)]
    okr_progress(links, city_overview(links, moments[0]))
    with links.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(key_result_weeks)).scalar() == 0
    read = [okr_progress(links, city_overview(links, now), keep_week=True) for now in moments]
    last = {k.key_result.id: k for _, k in read[-1].key_results()}
    week_values = [{k.key_result.id: k.value for _, k in p.key_results()} for p in (read[0], read[2], read[3])]
    for kid, k in last.items():
        assert k.history == tuple(zip(("2025-W50", "2025-W51", "2026-W01"), (v[kid] for v in week_values)))
        # 2025-W52 was not kept: the line breaks there (two weeks, then a lone week drawn as a dot).
        assert [len(points.split()) for points in k.sparklines()] == [2, 2]
        assert k.sparklines()[1].split()[0].startswith("96.0,")
    with links.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(key_result_weeks)).scalar() == 3 * len(last)
    # A value that moves: within a week the last one stands, the next week adds a row.
    okr_weeks.keep(links.engine, date(2025, 12, 1), {"test.k": 0.2}, moments[0])
    assert okr_weeks.keep(links.engine, date(2025, 12, 7), {"test.k": 0.4}, moments[0])["test.k"] == [
        ("2025-W49", 0.4)]
    okr_weeks.keep(links.engine, date(2025, 12, 8), {"test.k": 0.5}, moments[0])
    assert okr_weeks.read(links.engine)["test.k"] == [("2025-W49", 0.4), ("2025-W50", 0.5)]


BASE = "milestones:\n  - {id: a, date: 2026-01-01, title_vi: A, title_en: A"


@pytest.mark.parametrize("text, fragment", [
    (BASE + ", criteria: {applications: done}}\n", "field 'milestones[0].criteria.applications': 'done' is not"),
    (BASE + ", criteria: {devices: yes please}}\n", "field 'milestones[0].criteria.devices': expected true or false"),
    (BASE + ", criteria: {}}\n", "field 'milestones[0].criteria': judges nothing"),
    (BASE + ", criteria: {reachable: true}}\n", "field 'milestones[0].criteria.reachable': unknown key"),
    (BASE + ", criteria: {reachability: 1.5}}\n", "field 'milestones[0].criteria.reachability': expected a share"),
    (BASE + ", criteria: {contradictions: 1}}\n", "field 'milestones[0].criteria.contradictions': expected true"),
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


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    """00070's register (imported on 1/11/2025) lists five virtual machines; two report and pass from 10/11, the
    other three first report on 5/12/2025 (10:00 Hanoi, when the first two report again), after the equipment
    milestone. 00082 has no register;
    its PC fails (4 GiB) from 10/11 until fixed at the same moment on 5/12."""
    tmp = tmp_path_factory.mktemp("register")
    (tmp / "units.csv").write_text(UNITS, encoding="utf-8")
    c = build_context(Settings(db_url=f"sqlite:///{tmp / 'store.sqlite3'}", registry_path=tmp / "units.csv"))
    with write_transaction(c.engine) as conn:
        register_store.store(conn, Register((UnitCount("00070", "virtual_machine", 5, 5),), ()), "test", "test",
                             datetime(2025, 11, 1, 2, tzinfo=timezone.utc))
    reports = [pc("00070", f"hk-{i}", "2025-11-10T02:00:00Z", 16) for i in (1, 2)]
    reports += [pc("00070", f"hk-{i}", "2025-12-05T03:00:00Z", 16) for i in (1, 2, 3, 4, 5)]
    reports += [pc("00082", "cn-1", "2025-11-10T02:00:00Z", 4), pc("00082", "cn-1", "2025-12-05T03:00:00Z", 16)]
    for doc in reports:
        doc["software"] = []
        c.ingestor.ingest(doc, json.dumps(doc, ensure_ascii=False))
    try:
        yield c
    finally:
        c.engine.dispose()


def test_a_register_short_of_its_devices_is_an_equipment_item_until_they_report(registered):
    """Every device of 00070 passes, but 2 of its 5 registered machines report: not done for 30/11/2025; the day
    the other three report, the item closes (late). The unit's own view counts the same."""
    before = city_overview(registered, datetime(2025, 12, 5, 2, tzinfo=timezone.utc))   # 09:00, 5/12
    after = city_overview(registered, datetime(2025, 12, 5, 4, tzinfo=timezone.utc))    # 11:00, 5/12
    november = city_overview(registered, datetime(2025, 11, 20, 2, tzinfo=timezone.utc))
    assert [r.summary.coverage.expected for r in before.rows] == [5, 0]  # 00082 has no register
    assert _items(november.work_by_unit["equipment_upgraded"]["00070"]) == {"in_progress": 1}
    assert _items(before.work_by_unit["equipment_upgraded"]["00070"]) == {"overdue": 1}
    assert _items(after.work_by_unit["equipment_upgraded"]["00070"]) == {"done_late": 1}
    # A unit without a register opens no register item (00082's one item is its PC); milestones without the
    # criterion count none.
    assert _items(after.work_by_unit["equipment_upgraded"]["00082"]) == {"done_late": 1}
    assert "00070" not in before.work_by_unit["key_tasks_done"]
    unit = unit_detail(registered, "00070", datetime(2025, 12, 5, 4, tzinfo=timezone.utc))
    assert unit.work_by_milestone["equipment_upgraded"] == {**ZERO, "done_late": 1}
    assert unit.work_items == []  # no device item: the one item is the register's


def test_register_items_follow_the_coverage_threshold():
    """At a threshold of 40% the two machines reporting from 10/11 complete the register in time; a register
    imported when its devices already covered it (and that stayed covered) opens no item; one whose devices
    stopped counting is short again."""
    at = datetime(2025, 11, 1, 2, tzinfo=timezone.utc)
    first, fifth = datetime(2025, 11, 10, 2, tzinfo=timezone.utc), datetime(2025, 12, 5, 3, tzinfo=timezone.utc)
    devices = [("virtual_machine", first, None)] * 2 + [("virtual_machine", fifth, None)] * 3
    plan = parse_milestones(BASE + ", criteria: {register: true}}\n", "plan.yaml")[0]
    now = datetime(2026, 1, 2, 3, tzinfo=timezone.utc)
    def tally(unit: Registered, threshold: float) -> dict:
        return register_tally(plan, {"u": register_item(unit, threshold, now)}, now)

    assert tally(Registered(at, {"virtual_machine": 5}, devices), 0.4) == {
        "u": {**ZERO, "done_on_time": 1}}
    late = Registered(datetime(2025, 12, 6, tzinfo=timezone.utc), {"virtual_machine": 5}, devices)
    assert tally(late, 1.0) == {}
    gone = [("virtual_machine", first, datetime(2025, 12, 20, tzinfo=timezone.utc))] + devices[1:]
    assert tally(Registered(at, {"virtual_machine": 5}, gone), 1.0) == {
        "u": {**ZERO, "overdue": 1}}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def settled(request, tmp_path_factory):
    """Both units' civil-status software declared retired from 20/12/2025 (on 21/12) while still installed: a
    contradiction each. 00082 uninstalls it on 28/12, in time for 1/1/2026; 00070 on 10/1/2026, late. The
    migration observer runs on the days the test names, as serve's would; on both stores."""
    tmp = tmp_path_factory.mktemp("settled")
    (tmp / "units.csv").write_text(UNITS, encoding="utf-8")
    url = (f"sqlite:///{tmp / 'store.sqlite3'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_server").new_database())
    c = build_context(Settings(db_url=url, registry_path=tmp / "units.csv"))

    def report(ward: str, device: str, at: str, installed: bool) -> None:
        doc = pc(ward, device, at, 16)
        doc["software"] = doc["software"] if installed else []
        c.ingestor.ingest(doc, json.dumps(doc, ensure_ascii=False))

    def observe(at: datetime) -> None:
        observe_now(c.engine, c.catalog, at, c.settings.active_since(at))

    report("00070", "hk-1", "2025-12-15T02:00:00Z", True)
    report("00082", "cn-1", "2025-12-15T02:00:00Z", True)
    declared = datetime(2025, 12, 21, 3, tzinfo=timezone.utc)
    checked = apply(c.engine, c.catalog, c.registry,
                    [Proposed(w, "civil_status", "retired", date(2025, 12, 20), "test") for w in ("00070", "00082")],
                    "test", declared, c.settings.active_since(declared), declared.date())
    assert not [k.error for k in checked if k.error]
    report("00082", "cn-1", "2025-12-28T02:00:00Z", False)
    observe(datetime(2025, 12, 28, 3, tzinfo=timezone.utc))
    report("00070", "hk-1", "2026-01-10T02:00:00Z", False)
    observe(datetime(2026, 1, 10, 3, tzinfo=timezone.utc))
    observe(datetime(2026, 1, 10, 4, tzinfo=timezone.utc))  # nothing changed: nothing written
    try:
        yield c
    finally:
        c.engine.dispose()


def test_settled_contradictions_keep_their_days(settled):
    with settled.engine.connect() as conn:
        spans = [(s.ward_code, s.code, s.opened_at, s.closed_at) for s in contradictions.read(conn)]
    assert spans == [("00070", "still_installed", datetime(2025, 12, 21, 3, tzinfo=timezone.utc),
                      datetime(2026, 1, 10, 3, tzinfo=timezone.utc)),
                     ("00082", "still_installed", datetime(2025, 12, 21, 3, tzinfo=timezone.utc),
                      datetime(2025, 12, 28, 3, tzinfo=timezone.utc))]
    # Read on 25/12/2025 both are open and the day is ahead; on 2/1/2026 00070's is overdue and 00082's done on
    # time; from 10/1/2026 00070's is done late. The application itself was retired on 20/12: done on time.
    days = [datetime(2025, 12, 25, 3, tzinfo=timezone.utc), datetime(2026, 1, 2, 3, tzinfo=timezone.utc),
            datetime(2026, 1, 11, 3, tzinfo=timezone.utc)]
    unit_00070 = [_items(city_overview(settled, at).work_by_unit["integrated_operation"]["00070"]) for at in days]
    assert unit_00070[1:] == [{"done_on_time": 1, "overdue": 1}, {"done_on_time": 1, "done_late": 1}]
    later = city_overview(settled, days[2]).work_by_unit["integrated_operation"]
    assert _items(later["00082"]) == {"done_on_time": 2}
    # Before it settled (as of 25/12), the span is open: in progress.
    assert unit_00070[0]["in_progress"] == 1
    unit = unit_detail(settled, "00070", days[2], "integrated_operation")
    assert unit.work_by_milestone["integrated_operation"] == {**ZERO, "done_on_time": 1, "done_late": 1}


def test_past_weeks_no_collector_kept_are_filled_from_the_history(registered):
    """Read on 17/12/2025 (2025-W51), the weeks from the first verdict (10/11, W46) to last week get the values
    their Sundays ended on; a week a collector kept stands; measures the history cannot tell stay gaps; serve's
    keeper fills once at start, up to last week."""
    okr_weeks.keep(registered.engine, date(2025, 11, 20), {"hdc_cloud.units_reporting": 7.0},
                   datetime(2025, 11, 20, 3, tzinfo=timezone.utc))
    added = backfill(registered, datetime(2025, 12, 17, 3, tzinfo=timezone.utc))
    kept = okr_weeks.read(registered.engine)
    weeks = ["2025-W46", "2025-W47", "2025-W48", "2025-W49", "2025-W50"]
    assert kept["equipment.units_ready"] == list(zip(weeks, [0.0, 0.0, 0.0, 1.0, 1.0]))   # 5 of 5 report from 5/12
    assert kept["equipment.devices_passing"] == list(zip(weeks, [0.6667, 0.6667, 0.6667, 1.0, 1.0]))
    assert kept["hdc_cloud.units_reporting"] == list(zip(weeks, [2.0, 7.0, 2.0, 2.0, 2.0]))  # W47 was kept
    assert added == 3 * 5 - 1
    assert not {"equipment.supported_os", "equipment.equipment_items_done", "hdc_cloud.units_reaching_hdc",
                "hdc_cloud.applications_migrated"} & set(kept)
    assert backfill(registered, datetime(2025, 12, 17, 3, tzinfo=timezone.utc)) == 0   # once filled, nothing more
    keeper = registered.okr_keeper
    keeper.start()
    keeper.stop()
    history = okr_weeks.read(registered.engine)["equipment.units_ready"]
    last_week = okr_weeks.iso_week(datetime.now(HANOI).date() - timedelta(days=7))
    assert last_week in dict(history) and history[:5] == kept["equipment.units_ready"]
    # The devices fell silent 30 days after their last report (4/1/2026): from then on no unit reports.
    assert dict(history)["2026-W10"] == 0.0 and dict(okr_weeks.read(registered.engine)["equipment.devices_passing"])[
        "2026-W10"] == 0.0
