"""Two stateless collectors sharing one store, as behind a load balancer."""
from __future__ import annotations

import copy
import threading
import uuid

import pytest
import requests

from collector.store import counts
from collector.store.engine import make_engine
from collector.store.tables import devices

from conftest import start_collector, stop
from support.reports import windows_pc
from support.store import count, snapshot

pytestmark = pytest.mark.integration


@pytest.fixture
def pair(db_url):
    first = start_collector(db_url)
    try:
        second = start_collector(db_url)
    except Exception:
        stop(first.proc)
        raise
    try:
        yield first, second
    finally:
        stop(first.proc)
        stop(second.proc)


def _post_all(jobs):
    """Fire every (url, doc, token) at once from its own thread; return the HTTP statuses."""
    statuses, barrier = [], threading.Barrier(len(jobs))

    def go(url, doc, token):
        barrier.wait()
        r = requests.post(url + "/api/v1/reports", json=doc, headers={"Authorization": f"Bearer {token}"},
                          timeout=60)
        statuses.append(r.status_code)

    threads = [threading.Thread(target=go, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(statuses)


def test_same_report_at_both_collectors_is_stored_once(pair):
    first, second = pair
    token = first.token("00070")
    for _ in range(5):
        doc = windows_pc(device=str(uuid.uuid4()))
        statuses = _post_all([(c.url, copy.deepcopy(doc), token) for c in (first, second) for _ in range(4)])
        assert statuses == [200] * 7 + [201], statuses
    assert count(first.db_url, "reports") == 5
    assert count(first.db_url, "devices") == 5
    assert count(first.db_url, "verdict_changes") == 5


def test_reports_of_one_new_device_at_both_collectors_make_one_device(pair):
    first, second = pair
    token = first.token("00070")
    device = str(uuid.uuid4())
    jobs = []
    for i, c in enumerate([first, second] * 4):
        doc = windows_pc(device=device, at=f"2025-10-01T08:00:0{i}Z")
        jobs.append((c.url, doc, token))
    assert _post_all(jobs) == [201] * 8
    rows = snapshot(first.db_url)
    assert len(rows["reports"]) == 8
    assert len(rows["devices"]) == 1
    # The device shows the newest of the eight reports, whatever order they were stored in.
    last_collected = rows["devices"][0][devices.columns.keys().index("last_collected_at")]
    assert last_collected.isoformat().startswith("2025-10-01T08:00:07")


def test_counts_kept_by_both_collectors_at_once_match_the_device_rows(pair):
    """Devices of one unit reporting to both collectors at once, on different days, some changing desk
    (hostname): the counts each collector kept in its transactions are those the device rows give."""
    first, second = pair
    token = first.token("00070")
    run = uuid.uuid4().hex[:8]
    jobs = []
    for i in range(24):
        doc = windows_pc(device=f"{run}-{i % 6}", at=f"2025-10-{1 + i % 5:02d}T08:00:{i:02d}Z", ram_gib=(4, 16)[i % 2])
        doc["device"]["hostname"] = f"PC-{i % 4}"
        jobs.append(((first, second)[i % 2].url, doc, token))
    assert _post_all(jobs) == [201] * 24
    engine = make_engine(first.db_url)
    try:
        with engine.connect() as conn:
            kept = counts.totals(conn)
            counts.rebuild(conn)
            rebuilt = counts.totals(conn)
            conn.rollback()
    finally:
        engine.dispose()
    assert kept == rebuilt
    assert sum(n for (kind, *_), (n, _) in kept.items() if kind == counts.ALL) == count(first.db_url, "devices") == 6
