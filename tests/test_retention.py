"""Retention: pruning old raw reports changes no figure, on real collectors over SQLite and PostgreSQL.

A few devices report every eight hours for two weeks (a verdict that
changes, a software list that alternates, a device that falls silent);
``hdc-collector prune`` then thins the raw reports, and every figure of the
page, the JSON API and /metrics, and every history point, is compared with
what they were before. The background pruner of ``serve`` is run beside
ingest on the same code path.
"""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa

from collector.context import build_context
from collector.ingest.ingestor import Ingestor
from collector.settings import Settings
from collector.store.engine import make_engine
from collector.store.retention import Retention, prune
from collector.store.tables import devices, reports, software_lists, verdict_changes
from collector.store.tokens import create_token
from inventory.baseline import load_baseline
from inventory.catalog import load_catalog
from inventory.lifecycle import load_lifecycle

from conftest import cli
from support.figures import figures
from support.reports import SOFTWARE_LISTS, modern_pc
from support.store import snapshot

pytestmark = pytest.mark.integration
UNITS = ["00070", "00082"]
DAYS, EVERY_HOURS = 14, 8
# Shorter than the defaults so two weeks of reports cross both thinning steps.
KEEP = ["--keep-all-days", "2", "--keep-daily-days", "6"]


def _history(now: datetime) -> list[dict]:
    """Three devices' reports, oldest first: a-… loses and regains memory and swaps lists, c-… falls silent."""
    docs = []
    for step in range(DAYS * 24 // EVERY_HOURS):
        at = now - timedelta(days=DAYS) + timedelta(hours=step * EVERY_HOURS, minutes=13)
        days_ago = (now - at).days
        docs.append(modern_pc("a-1", UNITS[0], at, 4 if days_ago // 4 % 2 else 16, SOFTWARE_LISTS[at.day % 2]))
        docs.append(modern_pc("b-1", UNITS[0], at, 8, SOFTWARE_LISTS[0]))
        if days_ago >= 5:
            docs.append(modern_pc("c-1", UNITS[1], at, 4, SOFTWARE_LISTS[1]))
    return docs


def _rows(db_url: str):
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return (conn.execute(sa.select(reports.c.report_id, reports.c.device_id, reports.c.collected_at,
                                           reports.c.software_sha256)).all(),
                    conn.execute(sa.select(devices.c.last_report_id)).scalars().all(),
                    conn.execute(sa.select(verdict_changes.c.report_id)).scalars().all(),
                    conn.execute(sa.select(software_lists.c.sha256)).scalars().all())
    finally:
        engine.dispose()


def test_pruning_changes_no_figure(collector):
    now = datetime.now(timezone.utc)
    engine = make_engine(collector.db_url)
    with engine.begin() as conn:
        tokens = {unit: create_token(conn, unit) for unit in UNITS}
    engine.dispose()
    history = sorted(_history(now), key=lambda d: d["device"]["id"] == "a-1")  # a-1's latest report last
    with requests.Session() as s:
        for doc in history:
            answer = s.post(collector.url + "/api/v1/reports", json=doc, timeout=60,
                            headers={"Authorization": f"Bearer {tokens[doc['ward_code']]}"})
            assert answer.status_code == 201, answer.text
    before = figures(collector.url, UNITS)
    stored, latest, changed, _ = _rows(collector.db_url)
    assert Counter(r.device_id for r in stored)["a-1"] == DAYS * 24 // EVERY_HOURS
    assert len(set(changed)) > 3  # the verdicts did change: the history has something to lose
    sqlite = collector.db_url.startswith("sqlite")
    if sqlite:  # a store made before incremental vacuum: the first prune switches it
        with sqlite3.connect(collector.db_url.removeprefix("sqlite:///"), timeout=30) as old:
            old.execute("PRAGMA auto_vacuum=NONE")
            old.execute("VACUUM")

    untouched = snapshot(collector.db_url)
    dry = cli("collector.cli", "prune", "--dry-run", "--db", collector.db_url, *KEEP)
    assert dry.returncode == 0, dry.stderr
    assert snapshot(collector.db_url) == untouched
    done = cli("collector.cli", "prune", "--db", collector.db_url, *KEEP)
    assert done.returncode == 0, done.stderr
    # The dry run counted exactly what the real one removed.
    assert dry.stdout.split(" of ")[0].replace("Would remove", "Removed") == done.stdout.split(" of ")[0]
    assert ("Switched the store to incremental vacuum" in done.stdout) == sqlite
    if sqlite:
        sizes = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) bytes", done.stdout)]
        assert sizes[1] < sizes[0], done.stdout

    kept, latest_after, changed_after, lists = _rows(collector.db_url)
    ids = {r.report_id for r in kept}
    assert f"Removed {len(stored) - len(kept):,} report(s)" in done.stdout
    assert set(latest) <= ids and set(changed) <= ids, "a device's latest report or a verdict change's went"
    assert latest_after == latest and changed_after == changed
    assert {r.software_sha256 for r in kept} == set(lists), "a list no report refers to, or a list referred to gone"
    protected = set(latest) | set(changed)
    for device in ("a-1", "b-1", "c-1"):
        mine = [r for r in kept if r.device_id == device and r.report_id not in protected]
        recent = [r for r in mine if now - r.collected_at < timedelta(days=2)]
        daily = Counter(r.collected_at.date() for r in mine if timedelta(days=2) <= now - r.collected_at
                        < timedelta(days=6))
        weekly = Counter(r.collected_at.isocalendar()[:2] for r in mine if now - r.collected_at >= timedelta(days=6))
        assert all(n == 1 for n in daily.values()) and all(n == 1 for n in weekly.values()), device
        whole = [r for r in stored if r.device_id == device and now - r.collected_at < timedelta(days=2)]
        assert len(recent) == len([r for r in whole if r.report_id not in protected])
    assert len(kept) < len(stored) / 2

    assert figures(collector.url, UNITS) == before
    engine = make_engine(collector.db_url)
    assert prune(engine, Retention(2, 6), now, dry_run=True).reports == 0  # a second pass finds nothing more
    engine.dispose()

    # A device's current software list is still known by its digest after pruning (the agent sends only that).
    doc = modern_pc("a-1", UNITS[0], datetime.now(timezone.utc), 16, history[-1]["software"])
    listing = json.dumps(doc["software"])
    without = json.dumps(doc).replace(f', "software": {listing}', "")
    answer = requests.post(collector.url + "/api/v1/reports", data=without.encode(), timeout=60, headers={
        "Authorization": f"Bearer {tokens[UNITS[0]]}", "Content-Type": "application/json",
        "Hdc-Software-Sha256": hashlib.sha256(listing.encode()).hexdigest()})
    assert answer.status_code == 201, answer.text


def _checkpointed_size(engine, path) -> int:
    """The file's size once the write-ahead log is folded into it (else pages still in the log are not counted
    before, and counted after)."""
    with engine.connect().execution_options(hdc_one_read=True) as conn:  # outside a transaction: a full checkpoint
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def test_the_background_pruner_thins_beside_ingest_and_returns_the_space(tmp_path):
    """The pruner ``serve`` starts (``Context.start_background``) removes old reports while reports keep coming,
    each stored at once, and SQLite's file shrinks."""
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    now = datetime.now(timezone.utc)
    c = build_context(Settings(db_url=url, retention=Retention(2, 6), prune_every_seconds=0.05))
    ingestor = Ingestor(c.engine, load_baseline(), load_catalog(), load_lifecycle())
    old = _history(now - timedelta(days=30))
    for doc in old:
        # Names that do not compress, so the old reports hold enough pages for the file to shrink visibly.
        seeds = (f"{doc['report_id']}/{i}".encode() for i in range(40))
        doc["software"] = [{"name": f"pkg-{hashlib.sha256(seed).hexdigest()}", "version": "1", "publisher": None}
                           for seed in seeds]
        ingestor.ingest(doc, json.dumps(doc))
    size = _checkpointed_size(c.engine, tmp_path / "store.sqlite3")
    c.start_background()
    try:
        slowest = 0.0
        for doc in _history(now)[-60:]:
            started = time.monotonic()
            assert ingestor.ingest(doc, json.dumps(doc)).status == "accepted"
            slowest = max(slowest, time.monotonic() - started)
        assert c.pruner is not None
        during, deadline = c.pruner.rounds, time.monotonic() + 60
        while c.pruner.rounds < during + 2 and time.monotonic() < deadline:  # a whole round after the last report
            c.pruner.stopped.wait(0.05)
    finally:
        c.stop_background()
    assert c.pruner.rounds >= during + 2
    left = prune(c.engine, Retention(2, 6), datetime.now(timezone.utc), dry_run=True)
    assert left.reports == 0 and left.software_lists == 0
    with c.engine.connect() as conn:
        thinned = conn.execute(sa.select(sa.func.count()).select_from(reports)
                               .where(reports.c.collected_at < now - timedelta(days=30))).scalar_one()
        assert thinned < len(old) / 3
        assert conn.exec_driver_sql("PRAGMA freelist_count").scalar_one() < 2048
    assert _checkpointed_size(c.engine, tmp_path / "store.sqlite3") < size
    assert slowest < 2.0, f"a report waited {slowest:.2f} s for the pruner"
    c.engine.dispose()


def test_retention_periods_that_cannot_work_are_refused_in_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    done = cli("collector.cli", "prune", "--db", url, "--keep-all-days", "10", "--keep-daily-days", "5")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--keep-daily-days 5: must be at least --keep-all-days (10)" in done.stderr
    assert not (tmp_path / "store.sqlite3").exists()  # refused before the store is touched
