"""The history ingest keeps (collector/store/unit_days.py) against the rebuild from every device's changes.

Random report sequences (verdicts changing back and forth, reports out of
order, devices moving unit, hostnames taken over by new machines, devices
falling silent) are ingested on SQLite and PostgreSQL; then, for stale ages
and moments of reading that cut through the days (some before the latest
reports, so that changes and drops fall later on the day read), the city's
burn-down, each unit's series, forecast and first day, and the work-item
tallies of several milestones must be what the rebuild from the device
lives (readiness/history.py, readiness/workitems.py) gives, read for the
city and for one unit (its page). The same reads are made once before the
last report, so that the units it leaves alone come from what the earlier
read worked out (``kept.Reuse``, the overview's sums and tallies).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.i18n import HANOI
from collector.readiness.forecasts import series_forecast, unit_forecasts
from collector.readiness.history import DeviceLife, daily_counts, day_ends, day_range, first_day, load_lives
from collector.readiness.overview import CitySums
from collector.readiness.workitems import UnitTallies, milestone_tallies, milestone_work, tally
from collector.store import unit_days
from collector.store.engine import migrate
from collector.store.kept import restamp
from inventory.readiness import VERDICTS

from conftest import cli
from support.reports import modern_pc
from support.store import empty_reports

WARDS = ("00070", "00082")
NOW = datetime(2026, 1, 20, 12, 0, tzinfo=timezone.utc)
DUES = [NOW.astimezone(HANOI).date() - timedelta(days=d) for d in (30, 12, 3, 0)] + [date(2026, 12, 31)]
# What the overview keeps from one composition to the next (a unit's tallies, the city's sums), used across reads.
TALLIES, CITY = UnitTallies(), CitySums()
# A passing machine, one failing a hard rule (memory), one whose TPM is unknown.
KINDS = ("ready", "not_ready", "unknown")


def _doc(device: str, ward: str, host: int, collected: datetime, kind: str) -> dict:
    doc = modern_pc(device, ward, collected, 4 if kind == "not_ready" else 16, [])
    doc["device"]["hostname"] = f"pc-{host}"
    if kind == "unknown":
        doc["firmware"]["tpm"] = {"present": "unknown", "spec_version": None}
    return doc


report = st.tuples(st.integers(0, 4), st.sampled_from(WARDS), st.integers(0, 1),
                   # hours before NOW, some at Hanoi midnight exactly (17:00 UTC) where a day's end is drawn
                   st.integers(0, 24 * 40), st.booleans(), st.sampled_from(KINDS))


def _reference(lives: dict[str, DeviceLife], now: datetime):
    """The city's and each unit's daily counts, rebuilt from the lives as the overview did before history was kept."""
    today = now.astimezone(HANOI).date()
    start = first_day(lives.values()) or today
    city = daily_counts(lives.values(), day_ends(day_range(start, today), now))
    units: dict[str, list[DeviceLife]] = {}
    for life in lives.values():
        units.setdefault(life.ward_code, []).append(life)
    firsts = {code: first_day(ls) for code, ls in units.items()}
    series = {code: daily_counts(ls, day_ends(day_range(firsts[code], today), now)) for code, ls in units.items()}
    return start, city, firsts, series


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reports=st.lists(report, min_size=1, max_size=16),
       reads=st.lists(st.tuples(st.integers(0, 24 * 20), st.integers(1, 12)), min_size=2, max_size=3))
def test_kept_history_is_the_rebuild(ingestor, reports, reads):
    empty_reports(ingestor.engine)
    prefix = uuid.uuid4().hex[:8]
    for i, (device, ward, host, hours, midnight, kind) in enumerate(reports):
        if i == len(reports) - 1:  # read as below first: the last report's unit is worked out again, the other kept
            with ingestor.engine.connect() as conn:
                for hours_before, stale_days in reads:
                    now = NOW - timedelta(hours=hours_before, minutes=3)
                    kept = unit_days.read(conn, now, stale_days)
                    CITY.of(kept), TALLIES(kept.unit_work, DUES, now), unit_forecasts(kept)
        collected = NOW - timedelta(hours=hours)
        collected = collected.replace(hour=17, minute=0) if midnight else collected.replace(minute=7)
        ingestor.ingest(_doc(f"{prefix}-{device}", ward, host, collected, kind), "{}")
    with ingestor.engine.connect() as conn:
        for hours_before, stale_days in reads:
            now = NOW - timedelta(hours=hours_before, minutes=3)
            lives = load_lives(conn, now, now - timedelta(days=stale_days))
            kept = unit_days.read(conn, now, stale_days)
            start, city, firsts, series = _reference(lives, now)
            where = f"read at {now} with a stale age of {stale_days} days"
            assert (kept.start, kept.days) == (start, day_range(start, now.astimezone(HANOI).date())), where
            assert kept.firsts == firsts, where
            kept_city = {v: [sum(day) for day in zip(*(s[v] for s in kept.series.values()))] for v in VERDICTS}
            assert kept_city == city and CITY.of(kept) == city, where
            for code, values in series.items():
                offset = (firsts[code] - start).days
                assert {v: kept.series[code][v][offset:] for v in VERDICTS} == values, f"{code}, {where}"
                forecast = series_forecast(day_range(firsts[code], now.astimezone(HANOI).date()), values)
                assert unit_forecasts(kept)[code] == forecast, f"{code}, {where}"
                one = unit_days.read(conn, now, stale_days, code)  # what the unit's page reads
                assert (one.start, one.series, one.work) == (
                    firsts[code], {code: values}, {k: n for k, n in kept.work.items() if k[0] == code}), where
            work = milestone_work(lives, DUES, now)
            assert milestone_tallies(kept.work, DUES, now) == {due: tally(work[due]) for due in DUES}, where
            assert TALLIES(kept.unit_work, DUES, now) == {due: tally(work[due]) for due in DUES}, where
            assert kept.work == {(w, f): n for w, facts in kept.unit_work.items() for f, n in facts.items()}, where
        kept_rows = unit_days.totals(conn)
    with ingestor.engine.begin() as conn:
        unit_days.rebuild(conn)  # what an upgraded store gets from its stored changes: what ingest kept
        assert unit_days.totals(conn) == kept_rows
    assert all(n for n in kept_rows.values())  # rows that fell to zero are gone


def test_a_store_judged_before_the_history_was_kept_gets_it_when_opened(ingestor, db_url):
    """Upgrading: a store whose changes were stored before ``unit_days`` existed is filled once, when opened;
    one edited by hand is found out and put right by ``hdc-collector recount``."""
    start = NOW - timedelta(days=20)
    for i, (device, host, kind) in enumerate([(0, 0, "not_ready"), (0, 0, "ready"), (1, 1, "unknown"),
                                              (2, 1, "ready"), (1, 1, "not_ready"), (2, 1, "ready")]):
        ingestor.ingest(_doc(f"up-{device}", WARDS[0], host, start + timedelta(days=3 * i), kind), "{}")
    with ingestor.engine.connect() as conn:
        kept = unit_days.totals(conn)
        figures = unit_days.read(conn, NOW, 10)
    assert {row[0] for row in kept} == {"unit_days", "desk_days"} and figures.work  # pc-1 taken over; work items
    with ingestor.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM unit_days")
        conn.exec_driver_sql("DELETE FROM desk_days")
    migrate(ingestor.engine)
    with ingestor.engine.connect() as conn:
        assert unit_days.totals(conn) == kept
        assert unit_days.read(conn, NOW, 10) == figures
    with ingestor.engine.begin() as conn:  # a restore gone wrong: one day's count off, the takeovers lost
        conn.exec_driver_sql("UPDATE unit_days SET devices = devices + 5 WHERE kind = 'change'")
        conn.exec_driver_sql("DELETE FROM desk_days")
    # A hand edit leaves the stamps: this process reuses what it read (docs/collector.md); drawn anew, as recount
    # does, they make it read the rows again.
    with ingestor.engine.connect() as conn:
        assert unit_days.read(conn, NOW, 10) == figures
        restamp(conn, "unit_days", WARDS)
        assert unit_days.read(conn, NOW, 10) != figures
        conn.rollback()
    checked = cli("collector.cli", "recount", "--check", "--db", db_url, timeout=120)
    assert checked.returncode == 1 and "history row(s) wrong" in checked.stderr, checked.stderr
    fixed = cli("collector.cli", "recount", "--db", db_url, timeout=120)
    assert fixed.returncode == 0 and "put right" in fixed.stdout, fixed.stderr
    with ingestor.engine.connect() as conn:
        assert unit_days.totals(conn) == kept and unit_days.read(conn, NOW, 10) == figures
