"""Software-list facts kept in the store: a digest-only repeat to a collector process that never saw the list.

Real collectors on SQLite and PostgreSQL: one takes full reports, is
stopped, and a new one on the same store takes the same devices' reports
sent as agents send them (the list named by its digest). What the store
keeps is the witness: the same device rows, applications and bodies as
before; and facts kept under another catalog are not used.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa

from agents.wire import SOFTWARE_HEADER, compact, software_part
from collector.ingest.ingestor import Ingestor
from collector.store import bodies
from collector.store.engine import make_engine
from collector.store.tables import device_apps, devices, list_facts
from inventory.baseline import load_baseline
from inventory.catalog import load_catalog
from inventory.lifecycle import load_lifecycle

from conftest import start_collector, stop
from support.relay import WARD
from support.reports import windows_pc

pytestmark = pytest.mark.integration


def post(url: str, token: str, data: bytes, **headers) -> requests.Response:
    return requests.post(url + "/api/v1/reports", data=data, timeout=60,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers})


def report(device: str, at: datetime, extra: str) -> dict:
    doc = windows_pc(device=device, at=at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    doc["report_id"] = str(uuid.uuid4())
    doc["software"].append({"name": "Một cửa điện tử", "version": extra, "publisher": None})
    return doc


def kept(engine: sa.Engine) -> dict[str, tuple]:
    """Per device: its software count, last report and its catalog applications, as the store holds them."""
    with engine.connect() as conn:
        apps = {}
        for row in conn.execute(sa.select(device_apps).order_by(device_apps.c.app_id)):
            apps.setdefault(row.device_id, []).append((row.app_id, row.software_name, row.version))
        return {r.device_id: (r.software_count, r.last_report_id, apps.get(r.device_id, []))
                for r in conn.execute(sa.select(devices.c.device_id, devices.c.software_count,
                                                devices.c.last_report_id))}


def test_a_repeat_to_a_new_process_is_taken_from_kept_facts_and_stale_facts_are_not_used(collector):
    """Facts of a list are stored with it; a new collector on the store takes a digest-only repeat from them
    without the list (the Ingestor knows it from the store alone) and stores what a full report would; facts
    kept under another catalog fingerprint are not used: that repeat is answered from the list itself."""
    token, now = collector.token(WARD), datetime.now(timezone.utc)
    first = {name: report(name, now - timedelta(hours=1), name) for name in ("dev-known", "dev-stale")}
    for doc in first.values():
        assert post(collector.url, token, compact(doc).encode()).status_code == 201
    stop(collector.proc)
    engine = make_engine(collector.db_url)
    shas = {name: bodies.split(compact(doc)).sha256 for name, doc in first.items()}
    try:
        with engine.begin() as conn:
            stored = {r.sha256: r for r in conn.execute(sa.select(list_facts))}
            assert set(stored) == set(shas.values())
            assert stored[shas["dev-known"]].software_count == len(first["dev-known"]["software"])
            # Facts of an older catalog (and wrong ones, to show they are not read) for the second list.
            conn.execute(list_facts.update().where(list_facts.c.sha256 == shas["dev-stale"])
                         .values(catalog_fingerprint="0" * 64, apps=[], software_count=1))
        before = kept(engine)
        fresh = Ingestor(engine, load_baseline(), load_catalog(), load_lifecycle())
        assert fresh.knows_list(shas["dev-known"]) and not fresh.knows_list(shas["dev-stale"])
    finally:
        engine.dispose()

    again = start_collector(collector.db_url)
    try:
        sent = {}
        for name, doc in first.items():
            doc = dict(doc, report_id=str(uuid.uuid4()), collected_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
            part = software_part(compact(doc).encode("utf-8"))
            answer = post(again.url, token, part.without_software, **{SOFTWARE_HEADER: part.sha256})
            assert answer.status_code == 201, answer.text
            assert answer.json()["software_sha256"] == shas[name]
            sent[name] = doc
    finally:
        stop(again.proc)

    engine = make_engine(collector.db_url)
    try:
        after = kept(engine)
        with engine.connect() as conn:
            for doc in sent.values():
                assert json.loads(bodies.read_body(conn, doc["report_id"])) == doc
            catalogs = {(r.sha256, r.catalog_fingerprint) for r in conn.execute(sa.select(list_facts))}
    finally:
        engine.dispose()
    # The same rows as after the full reports, but for the report each device last sent.
    assert {d: (n, apps) for d, (n, _, apps) in after.items()} == {d: (n, apps) for d, (n, _, apps) in before.items()}
    assert before["dev-known"][2], "the report names catalog applications, so using no facts would show"
    assert {d: rid for d, (_, rid, _) in after.items()} == {d: doc["report_id"] for d, doc in sent.items()}
    # The stale list's facts were worked out again and stored under the catalog in force, beside the old ones.
    assert len(catalogs) == 3 and (shas["dev-stale"], "0" * 64) in catalogs
