"""The work items ingest keeps (collector/store/device_work.py) against the list derived from the device lives.

Random report sequences (verdicts failing and passing back and forth,
reports out of order, devices moving unit, hostnames taken over by new
machines, devices falling silent) are ingested on SQLite and PostgreSQL;
then, for moments of reading and stale ages that leave different devices
silent, each unit's work items of several milestones, read page by page
from the kept rows as its page reads them, must be the list
``milestone_work`` derives from the unit's device lives (what the page
showed before), in the same order; and the kept rows what a rebuild from
the stored changes gives.
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_unit_days import NOW, WARDS, _doc, report

from collector.i18n import HANOI
from collector.readiness.history import load_lives
from collector.readiness.workitems import due_moment, kept_items, milestone_work
from collector.store import device_work
from collector.store.engine import migrate

from conftest import cli
from support.store import empty_reports

PAGE = 2  # rows a page: several pages from a few items


def _kept(conn, code: str, since, due: date, now) -> list:
    """Every page of a unit's kept work items, in order, as the unit's page reads them one at a time."""
    out, number = [], 1
    while True:
        page = device_work.page(conn, code, since, due_moment(due), number, PAGE)
        out += kept_items(page.rows, code, due, now)
        if number >= page.pages:
            assert len(out) == page.total
            return out
        number += 1


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# A silent device whose only failure is its latest report, after a new machine at its hostname first reported
# (which took the desk over then, before it failed): no work item.
@example(reports=[(0, WARDS[0], 0, 480, False, "ready"), (1, WARDS[0], 0, 360, False, "ready"),
                  (0, WARDS[0], 0, 240, False, "not_ready"), (1, WARDS[0], 0, 24, False, "ready")],
         reads=[(0, 5), (0, 12)])
@given(reports=st.lists(report, min_size=1, max_size=16),
       reads=st.lists(st.tuples(st.integers(0, 24 * 20), st.integers(1, 12)), min_size=2, max_size=3))
def test_kept_work_items_are_the_derived_list(ingestor, reports, reads):
    empty_reports(ingestor.engine)
    prefix = uuid.uuid4().hex[:8]
    for device, ward, host, hours, midnight, kind in reports:
        collected = NOW - timedelta(hours=hours)
        collected = collected.replace(hour=17, minute=0) if midnight else collected.replace(minute=7)
        ingestor.ingest(_doc(f"{prefix}-{device}", ward, host, collected, kind), "{}")
    with ingestor.engine.connect() as conn:
        for hours_before, stale_days in reads:
            now = NOW - timedelta(hours=hours_before, minutes=3)
            since = now - timedelta(days=stale_days)
            dues = [NOW.astimezone(HANOI).date() - timedelta(days=d) for d in (30, 12, 3, 0)] + [date(2026, 12, 31)]
            for code in WARDS:
                derived = milestone_work(load_lives(conn, now, since, units=[code]), dues, now)
                for due in dues:
                    assert _kept(conn, code, since, due, now) == derived[due], \
                        f"{code}, due {due}, read at {now} with a stale age of {stale_days} days"
        kept_rows = device_work.totals(conn)
        assert kept_rows == device_work.fresh(conn)


def test_a_store_that_failed_before_work_items_were_kept_gets_them_when_opened(ingestor, db_url):
    """Upgrading: a store whose failures were stored before ``device_work`` existed is filled once, when opened;
    one edited by hand is found out and put right by ``hdc-collector recount``."""
    start = NOW - timedelta(days=20)
    for i, (device, host, kind) in enumerate([(0, 0, "not_ready"), (0, 0, "ready"), (1, 1, "unknown"),
                                              (2, 1, "ready"), (1, 1, "not_ready"), (3, 0, "ready")]):
        ingestor.ingest(_doc(f"up-{device}", WARDS[0], host, start + timedelta(days=3 * i), kind), "{}")
    with ingestor.engine.connect() as conn:
        kept = device_work.totals(conn)
    assert {row[0] for row in kept} == {"up-0", "up-1"}
    with ingestor.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM device_work")
    migrate(ingestor.engine)
    with ingestor.engine.connect() as conn:
        assert device_work.totals(conn) == kept
    with ingestor.engine.begin() as conn:  # a restore gone wrong: one item reopened, one lost
        conn.exec_driver_sql("UPDATE device_work SET passing_at = NULL WHERE device_id = 'up-0'")
        conn.exec_driver_sql("DELETE FROM device_work WHERE device_id = 'up-1'")
    checked = cli("collector.cli", "recount", "--check", "--db", db_url, timeout=120)
    assert checked.returncode == 1 and "work-item row(s) wrong" in checked.stderr, checked.stderr
    fixed = cli("collector.cli", "recount", "--db", db_url, timeout=120)
    assert fixed.returncode == 0 and "put right" in fixed.stdout, fixed.stderr
    with ingestor.engine.connect() as conn:
        assert device_work.totals(conn) == kept
