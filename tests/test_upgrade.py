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
from collector.store import bodies, reach_days, unit_days
from collector.store.engine import WRITE, make_engine, migrate
from collector.store.kept import stamps as kept_stamps_of
from collector.store.tables import metadata
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


def _previous_release_store(url: str) -> tuple[str, dict[str, str]]:
    """A store migrated to the previous release's heads, with a unit's devices in it and a ward token; the
    token and the bodies of the reports stored, by report id."""
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
    engine.dispose()
    return token, _store_as_previous_release(url)


def _store_as_previous_release(url: str) -> dict[str, str]:
    """Six devices' reports, stored by this release's Ingestor in a scratch store and copied into the previous
    release's tables in its own form (each body's text in ``body``: it had no ``body_zlib``)."""
    scratch_url = url.replace(".sqlite3", "-scratch.sqlite3")
    scratch = make_engine(scratch_url)
    migrate(scratch)
    with scratch.begin() as conn:
        sync_units(conn, load_registry())
    ingestor = Ingestor(scratch, load_baseline(), load_catalog(), load_lifecycle())
    now, texts = datetime.now(timezone.utc), {}
    for i in range(6):
        doc = modern_pc(f"old-{i}", WARD, now - timedelta(days=i, hours=3), 4 + 4 * (i % 2), SOFTWARE_LISTS[i % 2])
        texts[doc["report_id"]] = json.dumps(doc)
        ingestor.ingest(doc, texts[doc["report_id"]])
    scratch.dispose()
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute("ATTACH DATABASE ? AS scratch", (scratch_url.removeprefix("sqlite:///"),))
        for table in metadata.sorted_tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA main.table_info({table.name})")]
            if columns:
                names = ", ".join(columns)
                conn.execute(f"INSERT OR IGNORE INTO main.{table.name} ({names}) "
                             f"SELECT {names} FROM scratch.{table.name}")
        for report_id, packed in conn.execute("SELECT report_id, body_zlib FROM scratch.reports").fetchall():
            conn.execute("UPDATE main.reports SET body = ? WHERE report_id = ?", (bodies.unpack(packed), report_id))
    conn.close()
    return texts


def test_an_upgrade_under_load_loses_no_report(tmp_path):
    db_file = tmp_path / "store.sqlite3"
    url = f"sqlite:///{db_file}"
    token, old_bodies = _previous_release_store(url)
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
        # One head again (0006_okr_history merges 0004_register and 0005_retention; 0007_body_zlib and
        # 0008_contradiction_spans, 0009_unit_days, 0010_reach_days, 0011_kept_stamps, 0012_device_work and
        # 0013_list_facts follow it); each checking device's reach history starts from its last checks.
        assert versions == {"0013_list_facts"} and "ix_reports_software_sha256" in indexes
        assert reach_started == checking > 0
        assert len(after) == len(set(after)) == len(before) + 2  # the queued one and this run's, each once
        assert before | set(queued) < set(after)
        engine = make_engine(url)
        with engine.connect() as conn:  # bodies stored before compression read back as they were received
            assert bodies.read_bodies(conn, list(old_bodies)) == old_bodies
            # The units' history was filled from the old store's changes, then kept by ingest: as a rebuild has it.
            kept, reach = unit_days.totals(conn), reach_days.totals(conn)
            # Every unit with kept rows has its stamp, so a composition can tell when its rows change.
            assert set(kept_stamps_of(conn, "unit_days")) == {k[2] for k in kept} and \
                set(kept_stamps_of(conn, "reach_days")) == {k[1] for k in reach}
            unit_days.rebuild(conn)
            reach_days.rebuild(conn)
            assert unit_days.totals(conn) == kept and kept and reach_days.totals(conn) == reach and reach
            conn.rollback()
        engine.dispose()
        unit = requests.get(f"{collector.url}/api/v1/wards/{WARD}", timeout=30).json()
        assert len(unit["devices"]) == 7 and unit["unit"]["devices"] == 7  # six from before, this machine
    finally:
        stop(collector.proc)

