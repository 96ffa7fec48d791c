"""FusionInventory/OCS XML and GLPI JSON protocols against a real collector process, on both backends.

The shared fixture inventories are sent the way agents send them: zlib, gzip
and uncompressed, each preceded by its PROLOG or CONTACT.
"""
from __future__ import annotations

import gzip
import json
import re
import zlib
from pathlib import Path

import pytest
import requests

from conftest import need
from support.store import count, snapshot

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "data" / "glpi-inventory-format"
NAMES = ["examples/computer_1.json", "examples/computer_1_partial_softs.json", "examples/computer_2.json",
         "examples/computer_3.json", "examples/computer_3_updated.json", "xml/fusioninventory-1.xml",
         "xml/fusioninventory-2.xml", "xml/fusioninventory-3.xml", "xml/fusioninventory-12.xml"]
ENCODINGS = {
    "zlib": (zlib.compress, zlib.decompress, "application/x-compress-zlib"),
    "gzip": (gzip.compress, gzip.decompress, "application/x-compress-gzip"),
    "plain": (lambda d: d, lambda d: d, None),
}
PROLOG = b'<?xml version="1.0" encoding="UTF-8" ?><REQUEST><DEVICEID>pc-2025</DEVICEID><QUERY>PROLOG</QUERY></REQUEST>'
MiB = 1024 ** 2


def post(collector, path: str, body: bytes, auth, content_type=None) -> requests.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return requests.post(collector.url + path, data=body, auth=auth, headers=headers, timeout=60)


def ingest_counts(collector) -> dict[str, float]:
    text = requests.get(collector.url + "/metrics", timeout=30).text
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'^hdc_ingest_reports_total\{result="(\w+)"\} (\S+)$', text, re.M)}


def devices(collector) -> dict[str, dict]:
    body = requests.get(collector.url + "/api/v1/wards/00070", timeout=30).json()
    return {d["device_id"]: d for d in body["devices"]}


def test_every_fixture_in_every_encoding_is_stored_once(collector):
    need(FIXTURES.is_dir(), f"GLPI inventory fixtures not found at {FIXTURES}")
    auth = ("00070", collector.token("00070"))
    for name in NAMES:
        data = (FIXTURES / name).read_bytes()
        for label, (encode, decode, content_type) in ENCODINGS.items():
            if name.endswith(".xml"):
                prolog = post(collector, "/inventory", encode(PROLOG), auth, content_type)
                assert prolog.status_code == 200, prolog.text
                assert b"<RESPONSE>SEND</RESPONSE><PROLOG_FREQ>24</PROLOG_FREQ>" in decode(prolog.content)
                sent = post(collector, "/inventory", encode(data), auth, content_type)
                assert sent.status_code == 200, (name, label, sent.text)
                assert b"<REPLY>" in decode(sent.content)
            else:
                contact = json.dumps({"action": "contact", "deviceid": "pc", "enabled-tasks": ["inventory"]})
                answer = post(collector, "/inventory", encode(contact.encode()), auth, content_type)
                assert json.loads(decode(answer.content)) == {"status": "ok", "expiration": 24}
                sent = post(collector, "/inventory", encode(data), auth, content_type)
                assert sent.status_code == 200, (name, label, sent.text)
                assert json.loads(decode(sent.content)) == {"status": "ok", "expiration": 24}
            assert sent.headers["Content-Type"] == (content_type or ("application/xml" if name.endswith(".xml")
                                                                      else "application/json"))

    # OCS agents read only zlib, whatever they sent
    answer = post(collector, "/ocsinventory", PROLOG, auth, "application/xml")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/x-compress"
    assert b"<RESPONSE>SEND</RESPONSE>" in zlib.decompress(answer.content)

    counts = ingest_counts(collector)
    # one report per file; the other two encodings of the same bytes are duplicates
    assert (counts["accepted"], counts["duplicate"]) == (len(NAMES), 2 * len(NAMES))
    assert count(collector.db_url, "reports") == len(NAMES)
    stored = devices(collector)
    # inventory.identity: UUID and serial together; LF014's XML and JSON share a UUID, not a serial
    assert set(stored) == {"4c4c4544-0034-3010-8048-b6c04f503732/640HP72", "serial:2FAGP34",
                           "0055adc9-1d3a-e411-8043-b05d95113232/9E113232I",
                           "0055adc9-1d3a-e411-8043-b05d95113232/8C554721F",
                           "33e737a8-f827-11df-9297-47c0a301005a/CZC0479792",
                           "00000000-0000-1000-8000-0017f2d11432/W87051UGVUV"}
    windows = stored["33e737a8-f827-11df-9297-47c0a301005a/CZC0479792"]
    assert windows["memory_bytes"] == 3887 * MiB and windows["os"] == "Microsoft Windows 8.1 Professionnel"
    assert windows["verdict"] == "not_ready"
    # judged as of its 2017 collection date, when Windows 8.1 was still supported
    assert {f["rule_id"] for f in windows["failures"] if f["outcome"] == "fail"} >= {"memory", "win11_cpu"}
    assert windows["agent"] == {"source": "fusioninventory", "version": "2.3.19"}
    # the partial inventory came last for this PC: its CPU was carried over from the full one
    dell = stored["4c4c4544-0034-3010-8048-b6c04f503732/640HP72"]
    assert dell["cpu"] == "Intel(R) Core(TM) i5-6200U CPU @ 2.30GHz"
    assert dell["memory_bytes"] == 7800 * MiB


def test_refused_requests_get_4xx_and_change_nothing(collector):
    need(FIXTURES.is_dir(), f"GLPI inventory fixtures not found at {FIXTURES}")
    token = collector.token("00070")
    other = collector.token("00004")
    auth = ("00070", token)
    inventory = (FIXTURES / "xml/fusioninventory-12.xml").read_bytes()
    compressor = zlib.compressobj(1)
    bomb = b"".join(compressor.compress(b"<" + b"\0" * (1 << 20)) for _ in range(64)) + compressor.flush()
    before = snapshot(collector.db_url)
    before_counts = ingest_counts(collector)

    cases = [
        # (path, body, auth, content type, status, reason counted or None, words in the message)
        ("/inventory", inventory, None, None, 401, None, "HTTP Basic authentication required"),
        ("/inventory", inventory, ("00070", token[:-2] + "xx"), None, 401, "unauthenticated", "not a valid token"),
        ("/inventory", inventory, ("00070", other), None, 403, "forbidden", "use the unit code 00004"),
        ("/inventory", zlib.compress(inventory)[:4000], auth, None, 400, "malformed", "truncated"),
        ("/inventory", inventory[:-200], auth, None, 400, "malformed", "not well-formed XML"),
        ("/inventory", gzip.compress(inventory), auth, "application/x-compress-zlib", 415, "unsupported_media_type",
         "says zlib, but the body is gzip"),
        ("/inventory", bomb, auth, None, 413, "too_large", "inflates to more than"),
        ("/ocsinventory", b'<!DOCTYPE r [<!ENTITY a "x">]><REQUEST><QUERY>PROLOG</QUERY></REQUEST>', auth, None,
         400, "malformed", "<!DOCTYPE>"),
        ("/inventory", b"<REQUEST><QUERY>SNMPQUERY</QUERY></REQUEST>", auth, None, 400, "malformed",
         "answers PROLOG and INVENTORY"),
        ("/inventory", inventory.replace(b"<MEMORY>3887</MEMORY>", b"<MEMORY>4 GB</MEMORY>"), auth, None, 400,
         "invalid", "REQUEST/CONTENT/HARDWARE/MEMORY"),
        ("/inventory", b"\x00\x01\x02", auth, "application/octet-stream", 415, "unsupported_media_type",
         "neither zlib"),
    ]
    expected = dict(before_counts)
    for path, body, who, content_type, status, reason, words in cases:
        answer = post(collector, path, body, who, content_type)
        assert answer.status_code == status, (words, answer.text)
        assert words in answer.json()["message"], answer.text
        if reason:
            expected[reason] += 1
        if status == 401:
            assert answer.headers["WWW-Authenticate"] == 'Basic realm="hdc-readiness"'

    # GLPI Agent reads errors as {"status": "error"} in the encoding it used
    bad = json.dumps({"action": "inventory", "deviceid": "pc", "content": {"cpus": [{"core": "two"}]}}).encode()
    answer = post(collector, "/inventory", gzip.compress(bad), auth, "application/x-compress-gzip")
    assert answer.status_code == 400 and answer.headers["Content-Type"] == "application/x-compress-gzip"
    assert json.loads(gzip.decompress(answer.content)) == {
        "status": "error", "message": "content.cpus[0].core: expected a non-negative number, got 'two'"}
    expected["invalid"] += 1
    unknown = post(collector, "/inventory", b'{"action": "netdiscovery", "deviceid": "pc"}', auth)
    assert unknown.status_code == 400 and "netdiscovery" in unknown.json()["message"]
    expected["malformed"] += 1

    assert requests.get(collector.url + "/inventory", timeout=30).status_code == 405
    assert snapshot(collector.db_url) == before
    assert ingest_counts(collector) == expected
