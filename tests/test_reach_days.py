"""The units' reach of the HDC that ingest keeps by day (collector/store/reach_days.py) against the rebuild.

Random report sequences (reach flipping, reports without checks, reports out
of order, devices moving unit and back, devices falling silent) are ingested
on SQLite and PostgreSQL; then, read at moments and stale ages that cut
through the days (some before the latest reports, so that changes and drops
fall later on the day read), each unit's devices reaching the HDC and not at
each day's end must be what counting every device's reach changes
(``reachability_changes``) at that moment gives, and the link items of
milestones with several shares and deadlines must follow from those counts.
The same reads are made once before the last report, so that the units it
leaves alone come from what the earlier read worked out (``kept.Reuse``).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.i18n import HANOI
from collector.readiness.criteria import reachability_tally
from collector.readiness.workitems import STATES
from collector.store import reach_days
from collector.store.engine import migrate
from collector.store.tables import devices, reachability_changes
from inventory.milestones import Milestone

from conftest import cli
from support.reports import modern_pc
from support.store import empty_reports

WARDS = ("00070", "00082")
NOW = datetime(2026, 1, 20, 12, 0, tzinfo=timezone.utc)

report = st.tuples(st.integers(0, 3), st.sampled_from(WARDS),
                   # hours before NOW, some at Hanoi midnight exactly (17:00 UTC) where a day's end is drawn
                   st.integers(0, 24 * 40), st.booleans(), st.sampled_from((True, False, None)))


def _doc(device: str, ward: str, collected: datetime, reached) -> dict:
    doc = modern_pc(device, ward, collected, 16, [])
    doc["network"]["reachability"] = [] if reached is None else [
        {"target": t, "ok": reached if t == "hdc-portal" else True, "latency_ms": 5.0}
        for t in ("hdc-portal", "hdc-cloud")]
    return doc


def _reference(conn, now: datetime, stale_days: int) -> dict[tuple[str, date], tuple[int, int]]:
    """Each unit's devices reaching the HDC and not at each day's end (today: now), counted device by device from
    the stored changes: a device counts in its unit from its first check there since it last came to it, until
    the stale age after its latest report."""
    rc, d = reachability_changes.c, devices.c
    units = {did: (ward, last) for did, ward, last in conn.execute(sa.select(d.device_id, d.ward_code,
                                                                             d.last_collected_at))}
    checks: dict[str, list[tuple[datetime, bool]]] = {}
    for did, ward, reached, at in conn.execute(sa.select(rc.device_id, rc.ward_code, rc.reached, rc.changed_at)
                                               .order_by(rc.changed_at, rc.id)):
        if ward != units[did][0]:
            checks[did] = []  # a change in another unit: the stretch in its current unit starts afresh
        else:
            checks.setdefault(did, []).append((at, bool(reached)))
    today = now.astimezone(HANOI).date()
    firsts = [c[0][0] for c in checks.values() if c]
    out: dict[tuple[str, date], tuple[int, int]] = {}
    if not firsts:
        return out
    day = (min(firsts) - timedelta(microseconds=1)).astimezone(HANOI).date()  # the first day whose end it reaches
    while day <= today:
        end = min(now, datetime.combine(day + timedelta(days=1), time(0), HANOI))
        for did, stretch in checks.items():
            ward, last = units[did]
            seen = [reached for at, reached in stretch if at <= end]
            if seen and end < last + timedelta(days=stale_days):
                yes, no = out.get((ward, day), (0, 0))
                out[(ward, day)] = (yes + seen[-1], no + (not seen[-1]))
        day += timedelta(days=1)
    return out


def _kept_counts(kept: dict[str, reach_days.UnitReach], now: datetime) -> dict[tuple[str, date], tuple[int, int]]:
    """The kept runs, day by day to today."""
    out = {}
    ends = {ward: u.days[1:] + [now.astimezone(HANOI).date() + timedelta(days=1)] for ward, u in kept.items()}
    for ward, u in kept.items():
        for day, end, yes, no in zip(u.days, ends[ward], u.reached, u.unreached):
            while day < end:
                if yes or no:
                    out[(ward, day)] = (yes, no)
                day += timedelta(days=1)
    return out


def _items(counts: dict[tuple[str, date], tuple[int, int]], share: float, due: date, now: datetime):
    """The link items the counts give: a unit counted now is done on the first day after its last day short of
    the share (days with nobody counted passed over), if it meets the share now."""
    today = now.astimezone(HANOI).date()
    out: dict[str, dict[str, int]] = {}
    for ward in {w for w, day in counts if day == today}:
        days = sorted(day for w, day in counts if w == ward)
        short = [day for day in days if counts[(ward, day)][0] < share * sum(counts[(ward, day)])]
        done = None if short and short[-1] == today else next(day for day in days if not short or day > short[-1])
        state = ("done_on_time" if done <= due else "done_late") if done else \
            ("overdue" if today > due else "in_progress")
        out.setdefault(ward, dict.fromkeys(STATES, 0))[state] += 1
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reports=st.lists(report, min_size=1, max_size=14),
       reads=st.lists(st.tuples(st.integers(0, 24 * 20), st.integers(1, 12)), min_size=2, max_size=3))
def test_kept_reach_is_the_rebuild(ingestor, reports, reads):
    empty_reports(ingestor.engine)
    prefix = uuid.uuid4().hex[:8]
    for i, (device, ward, hours, midnight, reached) in enumerate(reports):
        if i == len(reports) - 1:  # read as below first: the last report's unit is worked out again, the other kept
            with ingestor.engine.connect() as conn:
                for hours_before, stale_days in reads:
                    reach_days.read(conn, NOW - timedelta(hours=hours_before, minutes=3), stale_days)
        collected = NOW - timedelta(hours=hours)
        collected = collected.replace(hour=17, minute=0) if midnight else collected.replace(minute=7)
        ingestor.ingest(_doc(f"{prefix}-{device}", ward, collected, reached), "{}")
    with ingestor.engine.connect() as conn:
        for hours_before, stale_days in reads:
            now = NOW - timedelta(hours=hours_before, minutes=3)
            where = f"read at {now} with a stale age of {stale_days} days after {reports}"
            expected = _reference(conn, now, stale_days)
            kept = reach_days.read(conn, now, stale_days)
            assert _kept_counts(kept, now) == expected, where
            assert {w: u for w, u in reach_days.read(conn, now, stale_days, WARDS[0]).items()} == {
                w: u for w, u in kept.items() if w == WARDS[0]}, where
            for share in (0.5, 1.0):
                for due in (now.astimezone(HANOI).date() - timedelta(days=d) for d in (9, 2, 0)):
                    m = Milestone("m", due, "m", "m", devices=False, reachability=share)
                    assert reachability_tally(m, kept, now) == _items(expected, share, due, now), f"{due} {where}"
        kept_rows = reach_days.totals(conn)
    with ingestor.engine.begin() as conn:
        reach_days.rebuild(conn)  # what an upgraded store gets from its stored changes: what ingest kept
        assert reach_days.totals(conn) == kept_rows
    assert all(n for n in kept_rows.values())  # rows that fell to zero are gone


def test_a_store_kept_before_reach_days_gets_it_when_opened_and_recount_repairs_it(ingestor, db_url):
    """Upgrading: a store whose reach changes were stored before ``reach_days`` existed is filled once, when
    opened; one edited by hand is found out and put right by ``hdc-collector recount``."""
    start = NOW - timedelta(days=20)
    for i, (device, ward, reached) in enumerate([(0, 0, False), (1, 0, True), (0, 0, True), (1, 1, True),
                                                 (1, 1, False), (0, 0, None)]):
        ingestor.ingest(_doc(f"up-{device}", WARDS[ward], start + timedelta(days=3 * i), reached), "{}")
    with ingestor.engine.connect() as conn:
        kept = reach_days.totals(conn)
        figures = reach_days.read(conn, NOW, 30)
    assert set(figures) == {WARDS[0], WARDS[1]} and figures[WARDS[1]].unreached[-1] == 1  # up-1 moved, now short
    with ingestor.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM reach_days")
    migrate(ingestor.engine)
    with ingestor.engine.connect() as conn:
        assert reach_days.totals(conn) == kept
        assert reach_days.read(conn, NOW, 30) == figures
    with ingestor.engine.begin() as conn:  # a restore gone wrong: one day's count off
        conn.exec_driver_sql("UPDATE reach_days SET devices = devices + 5 WHERE kind = 'last'")
    checked = cli("collector.cli", "recount", "--check", "--db", db_url, timeout=120)
    assert checked.returncode == 1 and "reach row(s) wrong" in checked.stderr, checked.stderr
    fixed = cli("collector.cli", "recount", "--db", db_url, timeout=120)
    assert fixed.returncode == 0 and "put right" in fixed.stdout, fixed.stderr
    with ingestor.engine.connect() as conn:
        assert reach_days.totals(conn) == kept
