"""Raw reports are kept without repeating unchanged software lists, and read back byte for byte."""
from __future__ import annotations

import copy
import hashlib
import json
import uuid

import pytest
import requests
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.store import bodies
from collector.store.engine import make_engine, migrate
from collector.store.tables import device_apps, reports, rule_results, software_lists
from collector.store.tokens import create_token
from collector.store.units import sync_units
from inventory.registry import load_registry

from conftest import start_collector, stop
from support.reports import windows_pc

_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: (st.lists(inner, max_size=3)
                                    | st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                     max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(doc=st.dictionaries(st.sampled_from(["software", "a", "software ", "b"]) | st.text(max_size=4), _json,
                           max_size=5),
       indent=st.sampled_from([None, 0, 1, "\t", "compact"]), ascii_=st.booleans())
def test_split_body_joins_back_to_the_exact_text(doc, indent, ascii_):
    # "compact": as agents send it, which orjson parses (bodies._compact_parse); the others go json's way.
    if indent == "compact":
        text = json.dumps(doc, ensure_ascii=ascii_, separators=(",", ":"))
    else:
        text = json.dumps(doc, indent=indent, ensure_ascii=ascii_)
    parsed, part = bodies.parse(text)
    assert repr(parsed) == repr(json.loads(text))
    assert part.join() == text
    if "software" in doc:
        assert json.loads(part.software) == doc["software"]
        assert json.loads(part.body)["software"] is None
        assert part.sha256 == hashlib.sha256(part.software.encode("utf-8")).hexdigest()
    else:
        assert part.software is None and part.body == text


@pytest.mark.parametrize("text", ['  {"software": [1, 2] , "x": {"software": 3}}  ', '{"software":[],"software":[3]}',
                                  '[1, 2]', '{}', '{"a": NaN, "software": []}', '{"software":[3],"software":[3]}',
                                  '{"x":{"software":[1]},"software":[1]}', '{"software":[1],"x":[1]}',
                                  '{"a":1180591620717411303424,"software":[]}', '{"software":[1180591620717411303424]}',
                                  '{"software":[1.0,"\\u00e9"]}', '{"software":[],"n":"[]"}', '{"software":[1e400]}'])
def test_split_body_of_unusual_json(text):
    parsed, part = bodies.parse(text)
    assert repr(parsed) == repr(json.loads(text))  # repr: 1 and 1.0 are equal, but not the same value
    assert part.join() == text
    if isinstance(parsed, dict) and "software" in parsed:
        assert json.loads(part.software) == parsed["software"] and json.loads(part.body)["software"] is None


@pytest.mark.parametrize("text", ['{"software": [1,', '{"a" 1}', '', '{"a": 1} x', '\ufeff{}'])
def test_split_body_raises_what_json_raises(text):
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        bodies.parse(text)
    assert (got.value.msg, got.value.pos) == (expected.value.msg, expected.value.pos)


def _report(doc: dict, at: str) -> tuple[dict, str]:
    doc = copy.deepcopy(doc)
    doc["report_id"], doc["collected_at"] = str(uuid.uuid4()), at
    return doc, json.dumps(doc, ensure_ascii=False, indent=1)


def _count(ingestor, table) -> int:
    with ingestor.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_unchanged_software_list_is_stored_once_and_every_body_reads_back(ingestor):
    base = windows_pc()
    texts = {}
    for hour in range(5):
        doc, text = _report(base, f"2025-10-01T{8 + hour:02d}:00:00Z")
        ingestor.ingest(doc, text)
        texts[doc["report_id"]] = text
    assert _count(ingestor, software_lists) == 1
    upgraded = copy.deepcopy(base)
    upgraded["software"][1]["version"] = "132.0"
    doc, text = _report(upgraded, "2025-10-01T14:00:00Z")
    ingestor.ingest(doc, text)
    texts[doc["report_id"]] = text
    assert _count(ingestor, software_lists) == 2
    with ingestor.engine.connect() as conn:
        assert bodies.read_bodies(conn, list(texts)) == texts
        stored = conn.execute(sa.select(reports.c.body, reports.c.body_zlib)).all()
    # Each body is kept compressed, with only the list's placeholder left in it.
    assert {row.body for row in stored} == {""}
    kept = [bodies.unpack(row.body_zlib) for row in stored]
    assert all(json.loads(text)["software"] is None for text in kept)
    assert sum(len(row.body_zlib) for row in stored) < 0.6 * sum(len(text) for text in kept)


def test_a_list_shared_by_two_devices_is_stored_once(ingestor):
    first, text1 = _report(windows_pc(device="dev-1"), "2025-10-01T08:00:00Z")
    second, text2 = _report(windows_pc(device="dev-2"), "2025-10-01T08:00:00Z")
    ingestor.ingest(first, text1)
    ingestor.ingest(second, text2)
    assert _count(ingestor, software_lists) == 1
    with ingestor.engine.connect() as conn:
        assert bodies.read_body(conn, second["report_id"]) == text2


def test_unchanged_reports_keep_child_rows_and_a_change_replaces_them(ingestor):
    base = windows_pc()
    for hour in range(3):
        ingestor.ingest(*_report(base, f"2025-10-01T{8 + hour:02d}:00:00Z"))
    with ingestor.engine.connect() as conn:
        apps = conn.execute(sa.select(device_apps.c.app_id)).scalars().all()
        failing = set(conn.execute(sa.select(rule_results.c.rule_id)).scalars())
    assert apps == ["e_tax"] and "memory" in failing
    fixed = copy.deepcopy(base)
    fixed["software"] = [p for p in fixed["software"] if not p["name"].startswith("HTKK")]
    fixed["hardware"]["memory_bytes"] = 16 * 1024 ** 3
    ingestor.ingest(*_report(fixed, "2025-10-01T12:00:00Z"))
    with ingestor.engine.connect() as conn:
        assert conn.execute(sa.select(device_apps.c.app_id)).scalars().all() == []
        assert "memory" not in set(conn.execute(sa.select(rule_results.c.rule_id)).scalars())
    # A device moving to another unit takes its rows along even when nothing else changed.
    ingestor.ingest(*_report(base, "2025-10-01T12:30:00Z"))
    moved = copy.deepcopy(base)
    moved["ward_code"] = "00004"
    ingestor.ingest(*_report(moved, "2025-10-01T13:00:00Z"))
    with ingestor.engine.connect() as conn:
        assert conn.execute(sa.select(device_apps.c.ward_code)).scalars().all() == ["00004"]
        assert set(conn.execute(sa.select(rule_results.c.ward_code)).scalars()) == {"00004"}


@pytest.mark.integration
def test_report_posted_over_http_is_kept_byte_for_byte(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        sync_units(conn, load_registry())
        token = create_token(conn, "00070", "test")
    collector = start_collector(db_url)
    try:
        doc, _ = _report(windows_pc(), "2025-10-01T08:00:00Z")
        # Unusual but valid spacing and escapes: what is kept is what was sent, not a re-serialisation.
        text = json.dumps(doc, ensure_ascii=True, indent="\t", separators=(" ,", " :  "))
        r = requests.post(collector.url + "/api/v1/reports", data=text.encode(),
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                          timeout=30)
        assert r.status_code == 201, r.text
    finally:
        stop(collector.proc)
    with engine.connect() as conn:
        assert bodies.read_body(conn, doc["report_id"]) == text
        row = conn.execute(sa.select(reports.c.body_zlib, reports.c.software_sha256)).one()
    assert row.software_sha256 is not None and "HTKK" not in bodies.unpack(row.body_zlib)
    engine.dispose()


def test_bodies_stored_before_compression_still_read_back(ingestor):
    """Rows from before 0007_body_zlib keep their text in ``body``; they read back beside compressed ones."""
    old, old_text = _report(windows_pc(device="dev-old"), "2025-10-01T08:00:00Z")
    new, new_text = _report(windows_pc(device="dev-new"), "2025-10-01T09:00:00Z")
    ingestor.ingest(old, old_text)
    ingestor.ingest(new, new_text)
    with ingestor.engine.begin() as conn:
        packed = conn.execute(sa.select(reports.c.body_zlib).where(reports.c.report_id == old["report_id"])).scalar()
        # As an earlier release stored it: the split body's text, no compressed copy.
        conn.execute(reports.update().where(reports.c.report_id == old["report_id"])
                     .values(body=bodies.unpack(packed), body_zlib=None))
    with ingestor.engine.connect() as conn:
        assert bodies.read_bodies(conn, [old["report_id"], new["report_id"]]) == {
            old["report_id"]: old_text, new["report_id"]: new_text}
