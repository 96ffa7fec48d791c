"""Bytes on the wire: gzip bodies, a software list sent as its digest, against real collectors and agents.

The real ``hdc-agent run`` talks to the real collector (SQLite and
PostgreSQL) through a relay that records what crossed the wire; the store is
the witness of what was kept.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import time
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psutil
import pytest
import requests
import sqlalchemy as sa

from agents.outbox import Outbox
from agents.wire import SOFTWARE_HEADER, compact, software_part
from collector.store import bodies
from collector.store.engine import make_engine
from collector.store.retention import Retention, prune
from collector.store.tables import devices, list_facts, software_lists

from conftest import start_collector, stop
from support.relay import WARD, relay_to, run_agent, write_config
from support.reports import windows_pc

pytestmark = pytest.mark.integration
LIMIT = 8 * 1024 * 1024  # the collector's default report limit


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    """Loopback traffic must not go through a proxy the environment names (the agent subprocesses inherit this)."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def stored_body(db_url: str, report_id: str) -> str:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return bodies.read_body(conn, report_id)
    finally:
        engine.dispose()


def post(collector, token: str, data: bytes, **headers) -> requests.Response:
    return requests.post(collector.url + "/api/v1/reports", data=data, timeout=60,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers})


def report_text(report_id: str, indent=None) -> str:
    doc = windows_pc(device=f"dev-{report_id[:8]}")
    doc["report_id"] = report_id
    return json.dumps(doc, ensure_ascii=False, indent=indent)


# --- the agent and the collector agree on the digest ------------------------------------------

def test_the_agents_digest_is_the_one_the_collector_keys_its_lists_by(tmp_path):
    doc = windows_pc()
    doc["report_id"] = str(uuid.uuid4())
    doc["software"].append({"name": "Phần mềm \"một cửa\" \\ điện tử\u2028", "version": "1.0\t", "publisher": None})
    queued = Outbox(tmp_path / "outbox").put(doc).read_bytes()
    part = software_part(queued)
    split = bodies.split(queued.decode("utf-8"))
    assert part is not None and part.sha256 == split.sha256
    assert part.sha256 == hashlib.sha256(compact(doc["software"]).encode("utf-8")).hexdigest()
    # What the collector puts back is the report the agent queued.
    joined = bodies.join_software(part.without_software.decode("utf-8"), split.software)
    assert json.loads(joined) == json.loads(queued)


def test_a_body_not_written_by_the_outbox_goes_whole():
    doc = windows_pc()
    assert software_part(json.dumps(doc, indent=1).encode()) is None
    assert software_part(b"[1, 2]") is None and software_part(b"{not json") is None
    assert software_part(compact({k: v for k, v in doc.items() if k != "software"}).encode()) is None


# --- the real agent ---------------------------------------------------------------------------

def test_an_unchanged_list_goes_as_its_digest_and_is_stored_whole(tmp_path, collector):
    relay = relay_to(collector)
    config = write_config(tmp_path, relay.url, collector.token(WARD))
    for _ in range(2):
        done = run_agent(config)
        assert (done.returncode, done.stderr) == (0, "")
    first, second = relay.requests()
    assert first.headers["content-encoding"] == "gzip" and SOFTWARE_HEADER.lower() not in first.headers
    full = json.loads(first.body)
    assert len(first.wire_body) < len(first.body) / 4  # gzip does its part

    digest = second.headers[SOFTWARE_HEADER.lower()]
    assert digest == hashlib.sha256(compact(full["software"]).encode()).hexdigest()
    slim = json.loads(second.body)
    assert "software" not in slim
    assert len(second.raw) <= 5000, f"an unchanged machine's hourly report took {len(second.raw)} bytes"

    # Stored as a full report: the list is back, byte for byte the list of the first report.
    kept = json.loads(stored_body(collector.db_url, slim["report_id"]))
    assert kept == {**slim, "software": full["software"]}
    assert bodies.split(stored_body(collector.db_url, slim["report_id"])).sha256 == digest
    device = requests.get(f"{collector.url}/api/v1/wards/{WARD}", timeout=10).json()["devices"]
    assert len(device) == 1
    relay.close()


def test_a_collector_without_the_list_asks_for_it_and_the_agent_sends_it_at_once(tmp_path, collector):
    # The agent learns its list with one collector, then talks to a new one (a fresh store, as after a restore).
    first = start_collector(f"sqlite:///{tmp_path / 'first.sqlite3'}")
    try:
        assert run_agent(write_config(tmp_path, first.url, first.token(WARD))).returncode == 0
    finally:
        stop(first.proc)
    relay = relay_to(collector)
    done = run_agent(write_config(tmp_path, relay.url, collector.token(WARD)))
    assert (done.returncode, done.stderr) == (0, "")
    slim, whole = relay.requests()
    assert SOFTWARE_HEADER.lower() in slim.headers and "software" not in json.loads(slim.body)
    assert SOFTWARE_HEADER.lower() not in whole.headers
    report = json.loads(whole.body)
    assert report["report_id"] == json.loads(slim.body)["report_id"] and report["software"]
    assert Outbox(tmp_path / "outbox").pending() == []
    assert json.loads(stored_body(collector.db_url, report["report_id"])) == report

    # The refusal itself, as any client sees it.
    answer = post(collector, collector.token(WARD), slim.body, **{SOFTWARE_HEADER: "ab" * 32})
    assert answer.status_code == 409
    assert answer.json()["error"] == "software_list_unknown" and "ab" * 32 in answer.json()["message"]
    relay.close()


def test_a_list_the_collector_remembers_is_not_read_again_and_one_pruned_meanwhile_is_asked_for(collector):
    """A digest of a list the collector's process has matched is taken without reading the list (bodies.elide):
    the report is stored as with its list put back; if a prune took the list from the store meanwhile, the agent
    still gets the 409 that makes it send the list."""
    token, now = collector.token(WARD), datetime.now(timezone.utc)

    def report(device: str, ago: timedelta, version: str) -> tuple[dict, str]:
        doc = windows_pc(device=device, at=(now - ago).strftime("%Y-%m-%dT%H:%M:%SZ"))
        doc["report_id"] = str(uuid.uuid4())
        doc["software"].append({"name": "Một cửa điện tử", "version": version, "publisher": None})
        return doc, compact(doc)

    def send(text: str) -> tuple[requests.Response, str]:
        """As the agent sends a report whose list the collector acknowledged; and the full body it stands for."""
        part = software_part(text.encode("utf-8"))
        answer = post(collector, token, part.without_software, **{SOFTWARE_HEADER: part.sha256})
        listing = compact(json.loads(text)["software"])
        return answer, bodies.join_software(part.without_software.decode("utf-8"), listing)

    for ago, version in ((timedelta(days=30), "M"), (timedelta(days=20, hours=1), "L")):
        assert post(collector, token, report("dev-x", ago, version)[1].encode()).status_code == 201
    for ago in (timedelta(days=20), timedelta(0)):
        doc, text = report("dev-x", ago, "M")
        answer, whole = send(text)
        assert answer.status_code == 201, answer.text
        assert answer.json()["software_sha256"] == hashlib.sha256(compact(doc["software"]).encode()).hexdigest()
        assert stored_body(collector.db_url, doc["report_id"]) == whole
    engine = make_engine(collector.db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.select(devices.c.software_count)).scalar_one() == len(doc["software"])
        # The report with list L is thinned out (its week keeps the next one), and L with it.
        assert prune(engine, Retention(2, 6), now).software_lists == 1
        with engine.connect() as conn:  # the pruned list's facts went with it
            assert {r[0] for r in conn.execute(sa.select(list_facts.c.sha256))} == \
                {r[0] for r in conn.execute(sa.select(software_lists.c.sha256))}
    finally:
        engine.dispose()
    doc, text = report("dev-y", timedelta(0), "L")
    answer, _ = send(text)
    assert answer.status_code == 409 and answer.json()["error"] == "software_list_unknown", answer.text
    assert post(collector, token, text.encode()).status_code == 201
    assert stored_body(collector.db_url, doc["report_id"]) == text


# --- compressed bodies ------------------------------------------------------------------------

def test_a_gzip_body_is_stored_byte_for_byte_like_the_plain_one(collector):
    token = collector.token(WARD)
    plain_id, gzip_id = str(uuid.uuid4()), str(uuid.uuid4())
    plain = report_text(plain_id, indent=1)
    assert post(collector, token, plain.encode()).status_code == 201
    zipped = report_text(gzip_id, indent=1)
    answer = post(collector, token, gzip.compress(zipped.encode()), **{"Content-Encoding": "gzip"})
    assert answer.status_code == 201, answer.text
    assert stored_body(collector.db_url, plain_id) == plain
    assert stored_body(collector.db_url, gzip_id) == zipped
    again = post(collector, token, gzip.compress(zipped.encode()), **{"Content-Encoding": "gzip"})
    assert again.status_code == 200 and again.json()["status"] == "duplicate"


def test_an_old_agents_plain_full_report_is_accepted_and_its_list_acknowledged(collector):
    report_id = str(uuid.uuid4())
    text = report_text(report_id)
    answer = post(collector, collector.token(WARD), text.encode())
    assert answer.status_code == 201
    software = json.dumps(json.loads(text)["software"], ensure_ascii=False)
    assert answer.json()["software_sha256"] == hashlib.sha256(software.encode()).hexdigest()


def test_a_gzip_bomb_is_refused_without_inflating_it(collector):
    inflater = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = inflater.compress(b'{"a": "') + b"".join(inflater.compress(b"\0" * 2**20) for _ in range(100))
    bomb += inflater.flush()
    assert len(bomb) < 200_000
    token = collector.token(WARD)
    before = _peak_rss(collector.proc.pid)
    started = time.monotonic()
    answer = post(collector, token, bomb, **{"Content-Encoding": "gzip"})
    elapsed = time.monotonic() - started
    assert answer.status_code == 413 and answer.json()["error"] == "too_large"
    assert str(LIMIT) in answer.json()["message"]
    assert elapsed < 10.0, f"a 100 MB bomb took {elapsed:.2f} s to refuse"
    grown = _peak_rss(collector.proc.pid) - before
    assert grown < 60 * 2**20, f"the collector's peak memory grew by {grown / 2**20:.0f} MiB"


def _peak_rss(pid: int) -> int:
    """The largest resident size any of the collector's processes ever had (VmHWM), in bytes."""
    total = 0
    for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total = max(total, int(line.split()[1]) * 1024)
    return total


@pytest.mark.parametrize("headers, status, words", [
    ({"Content-Encoding": "br"}, 415, "'br' is not accepted"),
    ({"Content-Encoding": "gzip"}, 400, "gzip body is corrupt"),
    ({SOFTWARE_HEADER: "not-a-digest"}, 400, "is not a SHA-256 digest"),
])
def test_bad_encodings_and_digests_are_refused_with_the_reason(collector, headers, status, words):
    answer = post(collector, collector.token(WARD), report_text(str(uuid.uuid4())).encode(), **headers)
    assert answer.status_code == status and words in answer.json()["message"], answer.text


def test_a_body_with_both_a_list_and_a_digest_is_refused(collector):
    text = report_text(str(uuid.uuid4()))
    digest = bodies.split(text).sha256
    answer = post(collector, collector.token(WARD), text.encode(), **{SOFTWARE_HEADER: digest})
    assert answer.status_code == 400 and "send one or the other" in answer.json()["message"]


def test_acknowledged_lists_are_kept_beside_the_delivery_state(tmp_path):
    box = Outbox(tmp_path / "outbox")
    for digest in ("a" * 64, "b" * 64, "a" * 64):
        box.remember_software(digest)
    again = Outbox(tmp_path / "outbox")  # the next run
    assert again.acknowledged_software() == ("a" * 64, "b" * 64)
    assert json.loads((tmp_path / "outbox" / ".state.json").read_text())["software_acknowledged"] == \
        ["a" * 64, "b" * 64]
    again.forget_software("a" * 64)
    assert Outbox(tmp_path / "outbox").acknowledged_software() == ("b" * 64,)
