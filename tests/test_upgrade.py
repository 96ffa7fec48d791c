"""Upgrading the collector while agents keep sending: a store made by the previous release's migrations is
migrated when the new collector starts, the reports agents queued during the restart arrive, nothing is lost.

The store is built by the previous release's Alembic heads and holds reports
stored then; the real agent runs while no collector listens (its reports
wait in its outbox), the new collector starts on the old store (migrating it
before it listens) and the agent's next run delivers everything queued.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
import requests
from alembic import command
from alembic.config import Config

from agents.outbox import Outbox
from collector.ingest.ingestor import Ingestor
from collector.store.engine import WRITE, make_engine
from collector.store.tables import reachability_changes
from collector.store.tokens import create_token
from collector.store.units import sync_units
from inventory.baseline import load_baseline
from inventory.catalog import load_catalog
from inventory.lifecycle import load_lifecycle
from inventory.registry import load_registry

from conftest import free_port, start_collector, stop
from support.relay import WARD, run_agent, write_config
from support.reports import SOFTWARE_LISTS, modern_pc

pytestmark = pytest.mark.integration
# The schema heads of the release before this one (0005_retention and 0006_okr_history are new).
PREVIOUS_RELEASE = ("0004_device_vendor", "0004_register")


def _previous_release_store(url: str) -> str:
    """A store migrated to the previous release's heads, with a unit's devices in it and a ward token."""
    engine = make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", "collector.store:alembic")
    with engine.connect().execution_options(**WRITE) as conn:
        cfg.attributes["connection"] = conn
        for head in PREVIOUS_RELEASE:
            command.upgrade(cfg, head)
        conn.commit()
    with engine.begin() as conn:
        sync_units(conn, load_registry())
        token = create_token(conn, WARD)
        reachability_changes.create(conn)  # today's ingest writes reach history; the previous release kept none
    ingestor = Ingestor(engine, load_baseline(), load_catalog(), load_lifecycle())
    now = datetime.now(timezone.utc)
    for i in range(6):
        doc = modern_pc(f"old-{i}", WARD, now - timedelta(days=i, hours=3), 4 + 4 * (i % 2), SOFTWARE_LISTS[i % 2])
        ingestor.ingest(doc, json.dumps(doc))
    with engine.begin() as conn:
        reachability_changes.drop(conn)
    engine.dispose()
    return token


def test_an_upgrade_under_load_loses_no_report(tmp_path):
    db_file = tmp_path / "store.sqlite3"
    url = f"sqlite:///{db_file}"
    token = _previous_release_store(url)
    with sqlite3.connect(db_file) as conn:
        assert {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")} == set(PREVIOUS_RELEASE)
        before = {r[0] for r in conn.execute("SELECT report_id FROM reports")}

    # The collector is down for its upgrade: the agent's hourly run queues its report.
    done = run_agent(write_config(tmp_path, f"http://127.0.0.1:{free_port()}", token))
    assert done.returncode == 1 and "1 report(s) kept in" in done.stderr, done.stderr
    queued = [q.report_id for q in Outbox(tmp_path / "outbox").pending()]
    assert len(queued) == 1

    collector = start_collector(url)  # the new release: migrates the old store before it listens
    try:
        done = run_agent(write_config(tmp_path, collector.url, token))
        assert (done.returncode, done.stderr) == (0, "")
        assert Outbox(tmp_path / "outbox").pending() == []
        with sqlite3.connect(db_file) as conn:
            versions = {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}
            after = [r[0] for r in conn.execute("SELECT report_id FROM reports")]
            indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
            reach_started = conn.execute("SELECT COUNT(DISTINCT device_id) FROM reachability_changes").fetchone()[0]
            checking = conn.execute("SELECT COUNT(DISTINCT device_id) FROM reachability").fetchone()[0]
        # One head again (0006 merges 0004_register and 0005_retention); each checking device's reach history
        # starts from its last checks.
        assert versions == {"0006_okr_history"} and "ix_reports_software_sha256" in indexes
        assert reach_started == checking
        assert len(after) == len(set(after)) == len(before) + 2  # the queued one and this run's, each once
        assert before | set(queued) < set(after)
        unit = requests.get(f"{collector.url}/api/v1/wards/{WARD}", timeout=30).json()
        assert len(unit["devices"]) == 7 and unit["unit"]["devices"] == 7  # six from before, this machine
    finally:
        stop(collector.proc)

