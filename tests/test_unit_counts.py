"""The counts kept at ingest (collector/store/counts.py) against the devices' own rows, on SQLite and PostgreSQL.

Every figure /metrics and the page show comes from ``unit_counts``; here
random report sequences (out of order, devices moving unit, hostnames taken
over, verdicts, applications and endpoint checks changing, devices falling
silent) are ingested and every shared query is compared with the same count
made directly from the device rows, for stale ages that cut through the
days.
"""
from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.ingest.ingestor import Ingestor
from collector.store import counts, queries
from collector.store.engine import make_engine, migrate
from collector.store.tables import device_apps, devices, reachability, rule_results, verdicts
from collector.store.units import sync_units
from inventory.baseline import load_baseline
from inventory.catalog import load_catalog
from inventory.lifecycle import load_lifecycle
from inventory.registry import load_registry
from inventory.report import GiB, empty_report

from conftest import cli
from support.store import empty_reports

WARDS = ("00070", "00082", "00004")
NOW = datetime(2026, 1, 20, 12, 0, tzinfo=timezone.utc)
SOFTWARE = ([{"name": "HTKK 5.2.6", "version": "5.2.6", "publisher": "Tổng cục Thuế"}],
            [{"name": "Google Chrome", "version": "131.0", "publisher": "Google LLC"}], [])
STEPS = (None, "connect", "tls")


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.fixture
def ingestor(db_url, registry):
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        sync_units(conn, registry)
    yield Ingestor(engine, load_baseline(), load_catalog(), load_lifecycle())
    engine.dispose()


report = st.fixed_dictionaries({
    "device": st.integers(0, 5), "ward": st.sampled_from(WARDS), "host": st.integers(0, 2),
    "hours_ago": st.integers(0, 24 * 45), "ram_gib": st.sampled_from([4, 16]),
    "os": st.sampled_from(["Windows 10 Pro", "Windows 11 Pro"]), "software": st.integers(0, 2),
    "class": st.sampled_from(["workstation", "server", "kiosk"]),
    "checks": st.lists(st.tuples(st.sampled_from(["hdc-portal", "hdc-dvc", "named\tby an agent"]), st.booleans(),
                                 st.sampled_from(STEPS), st.none() | st.floats(0.1, 900)), max_size=2),
})


def _doc(r: dict, prefix: str) -> dict:
    doc = empty_report(r["ward"], "test", "1", "agent")
    doc["collected_at"] = (NOW - timedelta(hours=r["hours_ago"], minutes=7)).isoformat().replace("+00:00", "Z")
    doc["device"].update(id=f"{prefix}-{r['device']}", hostname=f"pc-{r['host']}", **{"class": r["class"]})
    doc["hardware"]["memory_bytes"] = r["ram_gib"] * GiB
    doc["hardware"]["system_disk"].update(mount="C:", size_bytes=500 * 1000 ** 3, free_bytes=200 * 1000 ** 3,
                                          media="ssd")
    doc["os"].update(family="windows", id="windows", name=r["os"], version="10", release="22H2",
                     edition="Professional", build="19045.5011", architecture="x86_64")
    doc["software"] = SOFTWARE[r["software"]]
    doc["network"]["reachability"] = [
        {"target": t, "ok": ok, "latency_ms": 5.0, **({"failed_step": step} if step and not ok else {}),
         **({"connect_ms": ms} if ms is not None else {})} for t, ok, step, ms in r["checks"]]
    if any("failed_step" in c or "connect_ms" in c for c in doc["network"]["reachability"]):
        doc["schema_version"] = 2
    return doc


def _truth(conn, since: datetime) -> dict:
    """The figures counted from the device rows, as the queries did before counts were kept."""
    active = {d.device_id: d for d in conn.execute(sa.select(devices)).all() if d.last_collected_at >= since}
    verdict = {d: (w, s) for d, w, s in conn.execute(sa.select(verdicts.c.device_id, verdicts.c.ward_code,
                                                                  verdicts.c.status)) if d in active}
    out: dict = {"verdicts": Counter(verdict.values()),
                 "classes": Counter((w, active[d].device_class, s) for d, (w, s) in verdict.items()),
                 "rules": Counter((w, r) for d, w, r, o in conn.execute(sa.select(
                     rule_results.c.device_id, rule_results.c.ward_code, rule_results.c.rule_id,
                     rule_results.c.outcome)) if d in active and o == "fail"),
                 "apps": Counter((w, a) for d, w, a in conn.execute(sa.select(
                     device_apps.c.device_id, device_apps.c.ward_code, device_apps.c.app_id)) if d in active)}
    reach: dict = {}
    for row in conn.execute(sa.select(reachability)).all():
        if row.device_id in active:
            acc = reach.setdefault((row.ward_code, row.target), [0, 0, [], Counter()])
            acc[0] += row.ok
            acc[1] += 1
            if row.connect_ms is not None:
                acc[2].append(round(row.connect_ms * 1000))
            if row.failed_step:
                acc[3][row.failed_step] += 1
    out["reach"] = {k: queries.Reach(ok, n, round(sum(c) / len(c) / 1000, 1) if c else None, dict(sorted(s.items())))
                    for k, (ok, n, c, s) in reach.items()}
    everything = conn.execute(sa.select(devices)).all()
    silent, replaced = Counter(), Counter()
    for d in everything:
        if d.last_collected_at < since:
            taken = any(o.ward_code == d.ward_code and o.hostname == d.hostname and o.device_id != d.device_id
                        and o.last_collected_at >= since for o in everything)
            (replaced if taken else silent)[d.ward_code] += 1
    out["silent"], out["replaced"] = silent, replaced
    out["last"] = {w: max(d.last_received_at for d in everything if d.ward_code == w)
                   for w in {d.ward_code for d in everything}}
    return out


def _from_counts(conn, registry, since: datetime) -> dict:
    summaries = [s for s in queries.unit_summaries(conn, registry, since) if s.code in WARDS]
    return {"verdicts": Counter({(s.code, v): n for s in summaries for v, n in s.counts.items() if n}),
            "classes": Counter(queries.class_verdict_counts(conn, since)),
            "rules": Counter(queries.rule_failure_counts(conn, since)),
            "apps": Counter(queries.app_device_counts(conn, since)),
            "reach": queries.reachability_details(conn, since),
            "silent": Counter({s.code: s.silent for s in summaries if s.silent}),
            "replaced": Counter({s.code: s.replaced for s in summaries if s.replaced}),
            "last": {s.code: s.last_report_at for s in summaries if s.last_report_at}}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reports=st.lists(report, min_size=1, max_size=14), cut_hours=st.lists(st.integers(0, 24 * 50), min_size=3,
                                                                              max_size=3))
def test_counts_agree_with_the_device_rows(ingestor, registry, reports, cut_hours):
    # Each example gets its own devices; the tables are emptied so the store holds only this example.
    empty_reports(ingestor.engine)
    prefix = uuid.uuid4().hex[:8]
    for r in reports:
        doc = _doc(r, prefix)
        doc["report_id"] = str(uuid.uuid4())
        ingestor.ingest(doc, "{}")
    with ingestor.engine.connect() as conn:
        for hours in cut_hours:
            since = NOW - timedelta(hours=hours, minutes=3)
            assert _from_counts(conn, registry, since) == _truth(conn, since), f"active since {since}"
        kept = counts.totals(conn)
        # What ingest kept for each device is what its stored rows say (the recount's own reading).
        assert counts.recount(conn, apply=False) == counts.Recount(0, 0)
    with ingestor.engine.begin() as conn:
        counts.rebuild(conn)
        assert counts.totals(conn) == kept  # nothing left behind by devices that moved on: no zero rows either
    assert all(n > 0 for n, _ in kept.values())


def test_a_store_from_before_counts_is_counted_when_opened(ingestor, registry):
    """Upgrading: devices without ``counted`` get it from their rows, and the figures are what they were."""
    prefix = uuid.uuid4().hex[:8]
    for i, hours in enumerate((1, 30, 24 * 40)):
        doc = _doc({"device": i, "ward": WARDS[i % 2], "host": 0, "hours_ago": hours, "ram_gib": 4 + 12 * (i % 2),
                    "os": "Windows 11 Pro", "software": i % 3, "class": "workstation",
                    "checks": [("hdc-portal", bool(i % 2), None if i % 2 else "tls", 12.5 * (i + 1))]}, prefix)
        doc["report_id"] = str(uuid.uuid4())
        ingestor.ingest(doc, "{}")
    since = NOW - timedelta(days=30)
    with ingestor.engine.connect() as conn:
        before = _from_counts(conn, registry, since)
    with ingestor.engine.begin() as conn:
        conn.execute(devices.update().values(counted=None))
        conn.execute(counts.unit_counts.delete())
    migrate(ingestor.engine)
    with ingestor.engine.connect() as conn:
        assert _from_counts(conn, registry, since) == before == _truth(conn, since)
        assert before["replaced"] == Counter({WARDS[0]: 1})  # the old PC at pc-0 of the first unit


def test_recount_finds_and_puts_right_counts_edited_by_hand(ingestor, registry, db_url):
    """`hdc-collector recount --check` names what differs and exits 1; `recount` puts it right; nothing else moves."""
    prefix = uuid.uuid4().hex[:8]
    for i in range(4):
        doc = _doc({"device": i, "ward": WARDS[i % 2], "host": i % 3, "hours_ago": 2 + 30 * i, "ram_gib": 4,
                    "os": "Windows 10 Pro", "software": i % 3, "class": "workstation",
                    "checks": [("hdc-portal", True, None, 3.5)]}, prefix)
        doc["report_id"] = str(uuid.uuid4())
        ingestor.ingest(doc, "{}")
    since = NOW - timedelta(days=30)
    with ingestor.engine.connect() as conn:
        good, kept = _from_counts(conn, registry, since), counts.totals(conn)
    assert cli("collector.cli", "recount", "--check", "--db", db_url, timeout=120).stdout.startswith(
        "The counts match")
    with ingestor.engine.begin() as conn:  # a restore gone wrong: one count off, one device's contribution lost
        conn.execute(counts.unit_counts.update().where(counts.unit_counts.c.kind == counts.VERDICT)
                     .values(devices=counts.unit_counts.c.devices + 5))
        conn.execute(devices.update().where(devices.c.device_id == f"{prefix}-1").values(counted={"ward": WARDS[1],
                     "day": "2026-01-01", "keys": []}))
    checked = cli("collector.cli", "recount", "--check", "--db", db_url, timeout=120)
    assert checked.returncode == 1 and "1 device(s) counted wrongly" in checked.stderr, checked.stderr
    with ingestor.engine.connect() as conn:
        assert _from_counts(conn, registry, since) != good  # --check changed nothing
    fixed = cli("collector.cli", "recount", "--db", db_url, timeout=120)
    assert fixed.returncode == 0 and "put right" in fixed.stdout, fixed.stderr
    with ingestor.engine.connect() as conn:
        assert _from_counts(conn, registry, since) == good == _truth(conn, since)
        assert counts.totals(conn) == kept
