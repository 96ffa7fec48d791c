"""Generated bad input to the foreign-agent endpoints (``/inventory``, ``/ocsinventory``) of a real collector.

Real inventories (the shared GLPI/FusionInventory fixtures) are cut short,
spliced with bytes that are not UTF-8, nested thousands deep, given numbers
of the wrong type or beyond any machine, compressed and then corrupted, or
replaced by random bytes; the HTTP Basic login and the Content-Type are
generated too. Each body is broken by construction, so each answer must be
a 4xx in the protocol's form (JSON naming the problem; for GLPI Agent JSON,
``{"status": "error", "message": ...}`` in the agent's own encoding), never
a 5xx, and the store's data must be unchanged afterwards.
"""
from __future__ import annotations

import base64
import gzip
import json
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import need, start_collector, stop
from support.fuzz import Judge, Tally, TokenPool, fuzz_settings
from support.integrity import left_unchanged

pytestmark = pytest.mark.integration

WARD = "00070"
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "data" / "glpi-inventory-format"
XML_NAME, JSON_NAME = "xml/fusioninventory-12.xml", "examples/computer_1.json"
PATHS = ("/inventory", "/ocsinventory")
COMPRESS = {"zlib": (zlib.compress, "application/x-compress-zlib"),
            "gzip": (gzip.compress, "application/x-compress-gzip"),
            "plain": (lambda d: d, None)}


@pytest.fixture(scope="module")
def fixtures():
    need(FIXTURES.is_dir(), f"GLPI inventory fixtures not found at {FIXTURES}")
    return (FIXTURES / XML_NAME).read_bytes(), (FIXTURES / JSON_NAME).read_bytes()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    db_file = tmp_path_factory.mktemp("fuzz-foreign") / "store.sqlite3"
    # Bad logins on purpose, thousands of them: the failures' own limit is tested in test_routes.py.
    collector = start_collector(f"sqlite:///{db_file}", "--failed-auth-rate-limit", "0")
    try:
        yield collector, db_file, TokenPool(collector.db_url, WARD, 40)
    finally:
        stop(collector.proc)


@pytest.fixture
def unchanged(store):
    collector, db_file, _ = store
    with left_unchanged(collector, db_file):
        yield


bad_numbers_text = st.sampled_from(["abc", "-1", "4 GB", "1e5", "0x10", "NaN", "inf", "1,5", "∞", "-0.5",
                                    "99999999999999999999999", "9" * 400, "1" * 5000])
bad_numbers_json = st.sampled_from([-1, -0.5, 1e300, 2 ** 64 * 1024 ** 2, "abc", "4 GB", "-3", "9" * 400, True,
                                    [], {}, [1], {"a": 1}])


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def broken_xml(draw, xml: bytes) -> bytes:
    kind = draw(st.sampled_from(["truncated", "not-utf8", "deep", "bad-number", "no-content", "wrong-root",
                                 "doctype", "bad-query"]))
    end = xml.rindex(b"</REQUEST>")
    if kind == "truncated":
        return xml[:draw(st.integers(0, end - 1))]
    if kind == "not-utf8":
        at = draw(st.integers(xml.index(b"<REQUEST>"), end))
        junk = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80", b"\xc0\xaf", b"\xfe\xfe"]))
        return xml[:at] + junk + xml[at:]
    if kind == "deep":
        depth = draw(st.integers(10, 50_000))
        return xml.replace(b"<MEMORY>3887</MEMORY>", b"<MEMORY>" + b"<A>" * depth + b"1" + b"</A>" * depth
                           + b"</MEMORY>")
    if kind == "bad-number":
        field = draw(st.sampled_from([b"MEMORY", b"SWAP"]))
        value = xml_escape(draw(bad_numbers_text)).encode()
        if field == b"MEMORY":
            return xml.replace(b"<MEMORY>3887</MEMORY>", b"<MEMORY>" + value + b"</MEMORY>")
        return xml.replace(b"<MEMORY>3887</MEMORY>", b"<MEMORY>" + value + b"</MEMORY>")
    if kind == "no-content":
        return b'<?xml version="1.0"?><REQUEST><DEVICEID>x</DEVICEID><QUERY>INVENTORY</QUERY></REQUEST>'
    if kind == "wrong-root":
        return b"<" + draw(st.sampled_from([b"REPLY", b"request", b"R", b"HTML"])) + b"/>"
    if kind == "doctype":
        return (b'<!DOCTYPE r [<!ENTITY a "' + b"x" * draw(st.integers(1, 1000)) + b'">]>'
                + xml[xml.index(b"<REQUEST>"):])
    query = draw(st.text(st.characters(codec="ascii", exclude_characters="<&>"), max_size=30))
    if query.strip().upper() in ("PROLOG", "INVENTORY"):
        query = "SNMP" + query
    return b"<REQUEST><QUERY>" + query.encode() + b"</QUERY></REQUEST>"


@st.composite
def broken_json(draw, text: bytes) -> bytes:
    doc = json.loads(text)
    kind = draw(st.sampled_from(["truncated", "not-utf8", "deep", "bad-number", "content-type", "action",
                                 "deviceid", "constant", "not-object"]))
    if kind == "truncated":
        return text[:draw(st.integers(1, len(text.rstrip()) - 1))]
    if kind == "not-utf8":
        at = draw(st.integers(1, len(text) - 1))
        return text[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80"])) + text[at:]
    if kind == "deep":
        depth = draw(st.integers(500, 200_000))
        return b'{"action": "inventory", "content": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == "bad-number":
        doc["content"]["hardware"]["memory"] = draw(bad_numbers_json)
    elif kind == "content-type":
        doc["content"] = draw(st.sampled_from([[], "x", 1, True, None]))
    elif kind == "action":
        doc["action"] = draw(st.sampled_from([1, True, [], {}, "netdiscovery", "deploy", "x" * 1000]))
    elif kind == "deviceid":
        doc["deviceid"] = draw(st.sampled_from([1, True, [], {"a": 1}]))
    elif kind == "constant":
        return text.replace(b'"memory": 7800', b'"memory": ' + draw(st.sampled_from([b"NaN", b"Infinity",
                                                                                     b"-Infinity", b"1e400"])))
    else:
        return json.dumps(draw(st.sampled_from([[doc], "inventory", 1, None]))).encode()
    return json.dumps(doc).encode()


def compressed(body: bytes, how: str, damage: str, draw) -> bytes:
    data = COMPRESS[how][0](body)
    if how == "plain" or damage == "none":
        return data
    if damage == "truncate":
        return data[:draw(st.integers(1, len(data) - 1))]
    if damage == "trailing":
        return data + draw(st.binary(min_size=1, max_size=16))
    at = draw(st.integers(len(data) // 2, len(data) - 1))
    return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]


def test_broken_inventories_are_refused_in_the_protocols_form(fixtures, store, unchanged):
    xml, text = fixtures
    collector, _, tokens = store
    judge = Judge(Tally("foreign-bodies"), collector.url)

    @fuzz_settings(3000)
    @given(data=st.data())
    def bodies(data):
        draw = data.draw
        inner = draw(broken_xml(xml) | broken_json(text) | st.binary(max_size=2048))
        how = draw(st.sampled_from(list(COMPRESS)))
        damage = draw(st.sampled_from(["none", "truncate", "trailing", "flip"]))
        body = compressed(inner, how, damage, draw)
        content_type = COMPRESS[how][1] if draw(st.booleans()) else None
        path = draw(st.sampled_from(PATHS))
        answer = judge.post(path, body, {"Content-Type": content_type} if content_type else {},
                            auth=(WARD, tokens.next()))
        assert answer.status_code in (400, 413, 415), answer.text
        if how != "plain" and damage == "none" and inner.lstrip()[:1] == b"{" and path == "/inventory":
            # GLPI Agent reads its errors in the encoding it used
            assert answer.headers["Content-Type"] == COMPRESS[how][1]

    bodies()
    assert judge.tally.save()["server_errors"] == 0


def test_compression_bombs_and_oversized_bodies_are_refused(store, unchanged):
    collector, _, tokens = store
    judge = Judge(Tally("foreign-bombs"), collector.url)
    for _how, wbits in (("zlib", 15), ("gzip", 31)):
        packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
        bomb = b"".join(packer.compress(b"<" + b"\0" * (1 << 20)) for _ in range(40)) + packer.flush()
        for path in PATHS:
            answer = judge.post(path, bomb, {}, auth=(WARD, tokens.next()))
            assert answer.status_code == 413, answer.text
    answer = judge.post("/inventory", b"<" + b" " * (8 * 1024 * 1024), {}, auth=(WARD, tokens.next()))
    assert answer.status_code == 413
    assert judge.tally.save()["server_errors"] == 0


header_texts = st.text(st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"),
                       max_size=100)


@st.composite
def logins(draw, tokens: TokenPool) -> tuple[bytes, set]:
    """An Authorization header that never logs in, and the statuses it may get."""
    token = tokens.next()
    kind = draw(st.sampled_from(["random", "basic-garbage", "wrong-password", "wrong-user", "bearer", "no-colon",
                                 "latin1-user"]))
    if kind == "random":
        return draw(header_texts).encode("latin-1"), {401}
    if kind == "basic-garbage":
        return b"Basic " + draw(header_texts).encode("latin-1"), {401}
    if kind == "wrong-password":
        return b"Basic " + base64.b64encode(f"{WARD}:{token[:-1]}{'A' if token[-1] != 'A' else 'B'}".encode()), {401}
    if kind == "wrong-user":
        user = draw(st.text(max_size=30).filter(lambda u: u.strip() != WARD and ":" not in u))
        return b"Basic " + base64.b64encode(f"{user}:{token}".encode()), {403}
    if kind == "bearer":
        return b"Bearer " + token.encode(), {401}
    if kind == "no-colon":
        return b"Basic " + base64.b64encode(token.encode()), {401}
    return b"Basic " + base64.b64encode(b"\xe9\xff:" + token.encode()), {403, 401}


def test_bad_logins_and_headers_are_refused(fixtures, store, unchanged):
    xml, _ = fixtures
    collector, _, tokens = store
    judge = Judge(Tally("foreign-logins"), collector.url)

    @fuzz_settings(1500)
    @given(login=logins(tokens), path=st.sampled_from(PATHS),
           content_type=st.sampled_from(["application/xml", "application/x-compress-zlib", "text/plain", ""])
           | header_texts,
           agent=header_texts)
    def headers(login, path, content_type, agent):
        value, statuses = login
        sent = {"Authorization": value, "Content-Type": content_type.encode("latin-1"),
                "User-Agent": agent.encode("latin-1")}
        answer = judge.post(path, xml, sent)
        assert answer.status_code in statuses, answer.text

    headers()
    assert judge.tally.save()["server_errors"] == 0
