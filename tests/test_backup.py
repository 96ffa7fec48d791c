"""``hdc-collector backup``: a copy taken while reports are being stored restores to the same figures.

Reports are stored into a SQLite store by the collector's Ingestor (a
fixed clock, so the same reports stored again give the same store) while
the real command copies it from another process. The copy holds the
reports up to some moment; a real ``serve`` on the copy must show every
figure of the page, the JSON API and /metrics that those same reports,
stored afresh, give.
"""
from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta, timezone
from itertools import count

import pytest
import sqlalchemy as sa

from collector.app import create_app
from collector.ingest.ingestor import Ingestor
from collector.settings import Settings
from collector.store.engine import make_engine, open_store
from collector.store.tables import reports
from inventory.baseline import load_baseline
from inventory.catalog import load_catalog
from inventory.lifecycle import load_lifecycle
from inventory.registry import load_registry

from conftest import cli, start_collector, stop
from support.figures import figures
from support.reports import SOFTWARE_LISTS, modern_pc

pytestmark = pytest.mark.integration
UNITS = ["00070", "00082"]
CLOCK = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)


def _stream():
    """Reports of twenty devices of two units, ten seconds apart, verdicts and software lists changing."""
    start = CLOCK - timedelta(days=2)
    for i in count():
        doc = modern_pc(f"d-{i % 20}", UNITS[i % 20 // 10], start + timedelta(seconds=10 * i),
                   4 if (i // 37) % 2 else 16, SOFTWARE_LISTS[(i // 23) % 2])
        doc["report_id"] = str(uuid.UUID(int=i + 1))
        yield doc


def _ingestor(url: str) -> Ingestor:
    return Ingestor(open_store(url, load_registry()), load_baseline(), load_catalog(), load_lifecycle(),
                    clock=lambda: CLOCK)


def test_a_backup_taken_under_ingest_restores_to_the_same_figures(tmp_path):
    original, copy = tmp_path / "store.sqlite3", tmp_path / "copy.sqlite3"
    writer = _ingestor(f"sqlite:///{original}")
    stored, stop_writing, started = [], threading.Event(), threading.Event()

    def ingest() -> None:
        for doc in _stream():
            writer.ingest(doc, json.dumps(doc))
            stored.append(doc)
            if len(stored) == 50:
                started.set()
            if stop_writing.is_set():
                return

    thread = threading.Thread(target=ingest)
    thread.start()
    try:
        assert started.wait(60)
        done = cli("collector.cli", "backup", str(copy), "--db", f"sqlite:///{original}")
    finally:
        stop_writing.set()
        thread.join(60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Copied ") and str(copy) in done.stdout

    engine = make_engine(f"sqlite:///{copy}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        held = set(conn.execute(sa.select(reports.c.report_id)).scalars())
    engine.dispose()
    k = len(held)
    assert 50 <= k < len(stored), "the copy was not taken while reports were being stored"
    assert held == {d["report_id"] for d in stored[:k]}, "the copy is not one moment of the store"

    fresh = _ingestor(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    for doc in stored[:k]:
        fresh.ingest(doc, json.dumps(doc))
    expected = figures(create_app(Settings(db_url=str(fresh.engine.url))).test_client(), UNITS)
    served = start_collector(f"sqlite:///{copy}")
    try:
        assert figures(served.url, UNITS) == expected
    finally:
        stop(served.proc)

    again = cli("collector.cli", "backup", str(copy), "--db", f"sqlite:///{original}")
    assert again.returncode == 1 and "already exists" in again.stderr and "Traceback" not in again.stderr


def test_backup_refuses_postgresql_with_the_recipe(postgres_server):
    done = cli("collector.cli", "backup", "copy.dump", "--db", postgres_server.new_database())
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "pg_dump" in done.stderr and "docs/retention.md#postgresql" in done.stderr
