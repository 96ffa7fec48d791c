"""Generated bad input to ``POST /api/v1/reports`` of a real collector: always a 4xx naming the problem.

Bodies are random bytes, random JSON, valid reports with one field broken,
truncated, re-encoded with invalid UTF-8, nested thousands deep, or larger
than the limit; headers are random tokens and content types. Whatever the
input, the answer is a 4xx with a JSON message, never a 5xx, and the store
(its rows, and the SQLite file's bytes) is unchanged afterwards.

Mutated reports go out under another unit's token: a mutation that happens
to leave a valid report is then answered 403, an invalid one 400, and the
independent ``jsonschema`` validator says which to expect. Valid reports at
the edges of the schema's ranges are sent with the right token in a test of
their own, since they must be stored.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime

import jsonschema
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from inventory.report import GiB, empty_report
from inventory.schema import SUPPORTED_VERSIONS, schema_document
from inventory.text import unencodable_field, unsafe_field

from conftest import start_collector, stop
from support.fuzz import Judge, Tally, TokenPool, fuzz_settings
from support.integrity import left_unchanged

pytestmark = pytest.mark.integration

WARD, OTHER = "00070", "00004"


def ecma_anchors(node):
    """JSON Schema patterns are ECMA-262: ``$`` ends the text, where Python's also matches before a final newline."""
    if isinstance(node, dict):
        return {k: v[:-1] + r"\Z" if k == "pattern" and v.endswith("$") else ecma_anchors(v) for k, v in node.items()}
    return [ecma_anchors(v) for v in node] if isinstance(node, list) else node


VALIDATORS = {v: jsonschema.Draft202012Validator(ecma_anchors(schema_document(v))) for v in SUPPORTED_VERSIONS}
MAX_BYTES = 8 * 1024 * 1024
INT64 = 2 ** 63 - 1


def valid_report(ward: str = WARD) -> dict:
    doc = empty_report(ward, "hdc-agent", "0.1.0", "agent")
    doc["collected_at"] = "2025-10-01T08:00:00Z"
    doc["device"].update(id="fuzz-device", hostname="UB-HOANKIEM-PC01", **{"class": "workstation"})
    doc["hardware"]["cpu"].update(model="Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz", vendor="GenuineIntel",
                                  family=6, model_number=60, stepping=3, logical_cores=4, physical_cores=4)
    doc["hardware"]["memory_bytes"] = 8 * GiB
    doc["hardware"]["system_disk"].update(mount="C:", size_bytes=500 * 10 ** 9, free_bytes=200 * 10 ** 9,
                                          media="ssd")
    doc["os"].update(family="windows", id="windows", name="Windows 11 Pro", version="10", release="23H2",
                     build="22631.4317", architecture="x86_64")
    doc["software"] = [{"name": "HTKK 5.2.6", "version": "5.2.6", "publisher": "Tổng cục Thuế"}]
    doc["network"]["reachability"] = [{"target": "hdc-portal", "ok": True, "latency_ms": 12.5}]
    return doc


def schema_errors(doc) -> list[str]:
    """What the independent validator finds wrong, against the version the report claims."""
    version = doc.get("schema_version") if isinstance(doc, dict) else None
    if isinstance(version, bool) or not isinstance(version, int) or version not in VALIDATORS:
        return ["schema_version"]
    errors = [e.message for e in VALIDATORS[version].iter_errors(doc)]
    return errors or beyond_schema(doc)


def beyond_schema(doc) -> list[str]:
    """What the collector refuses although the schema allows it: an impossible time, numbers no column holds,
    text that cannot be shown safely (inventory/text.py: a host name that is not one, control characters)."""
    unsafe = unsafe_field(doc)
    if unsafe:
        return [f"{unsafe[0]}: {unsafe[1]}"]
    try:
        if datetime.fromisoformat(doc["collected_at"].replace("Z", "+00:00")).year < 2000:
            return ["collected_at before 2000"]
    except ValueError:
        return ["collected_at is not a real time"]
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, int) and not isinstance(value, bool) and not -2 ** 63 <= value < 2 ** 63:
            return [f"{value} beyond 64 bits"]
    return []


def paths(doc, prefix=()) -> list[tuple]:
    """Every location in a report, objects and lists alike, for mutations to aim at."""
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += paths(value, prefix + (i,))
    return out


PATHS = paths(valid_report())[1:]

json_scalars = st.none() | st.booleans() | st.integers(min_value=-2 ** 70, max_value=2 ** 70) \
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=300)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=20), inner, max_size=5), max_leaves=30)
boundary_ints = st.sampled_from([-1, 0, 1, 1023, 1024, 1025, 65535, 65536, 65537, 2 ** 31, 2 ** 32, INT64,
                                 INT64 + 1, 2 ** 64, 10 ** 30])
boundary_texts = st.sampled_from([0, 1, 5, 36, 63, 64, 65, 127, 128, 129, 255, 256, 257, 4096]).map(lambda n: "x" * n)
odd_texts = st.sampled_from(["", " ", "\n", "00070\n", "\u0000", "\ud800", "Ω" * 70, "../../etc/passwd",
                             "<script>alert(1)</script>", "' OR 1=1 --", "2025-10-01T08:00:00Z\n",
                             "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "2025-13-45T25:61:61Z"])
bad_values = json_values | boundary_ints | boundary_texts | odd_texts


def set_at(doc, path, value):
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


@st.composite
def mutated_reports(draw) -> dict:
    """A valid report with one to three fields replaced, removed or added."""
    doc = valid_report()
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        try:
            action = draw(st.sampled_from(["replace", "remove", "add"]))
            parent = doc
            for part in path[:-1]:
                parent = parent[part]
            if action == "replace":
                parent[path[-1]] = draw(bad_values)
            elif action == "remove" and isinstance(parent, dict):
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=20))] = draw(bad_values)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation removed or replaced the parent: that is a mutation too
    return doc


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One collector on SQLite with token pools for WARD and OTHER; the module's tests share it."""
    db_file = tmp_path_factory.mktemp("fuzz-reports") / "store.sqlite3"
    # The fuzzers send thousands of bad tokens on purpose: the failures' own limit is tested in test_routes.py.
    collector = start_collector(f"sqlite:///{db_file}", "--failed-auth-rate-limit", "0")
    try:
        tokens = {WARD: TokenPool(collector.db_url, WARD, 40), OTHER: TokenPool(collector.db_url, OTHER, 40)}
        yield collector, db_file, tokens
    finally:
        stop(collector.proc)


@pytest.fixture
def unchanged(store):
    collector, db_file, _ = store
    with left_unchanged(collector, db_file):
        yield


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def test_random_bytes_and_random_json_are_refused(store, unchanged):
    collector, _, tokens = store
    judge = Judge(Tally("reports-random"), collector.url)

    @fuzz_settings(1500)
    @given(body=st.binary(max_size=4096) | st.text(max_size=2000).map(str.encode))
    def random_bytes(body):
        answer = judge.post("/api/v1/reports", body, bearer(tokens[WARD].next()))
        assert answer.status_code == 400

    @fuzz_settings(1500)
    @given(doc=json_values)
    def random_json(doc):
        answer = judge.post("/api/v1/reports", json.dumps(doc).encode(), bearer(tokens[WARD].next()))
        assert answer.status_code == 400 and answer.json()["error"] in ("invalid", "malformed")

    random_bytes()
    random_json()
    assert judge.tally.save()["server_errors"] == 0


def test_mutated_reports_are_refused_with_the_field_named(store, unchanged):
    collector, _, tokens = store
    judge = Judge(Tally("reports-mutated"), collector.url)

    @fuzz_settings(2000)
    @given(doc=mutated_reports())
    def mutated(doc):
        assume(doc.get("ward_code") != OTHER)  # that would be a valid report for the token's own unit
        body = json.dumps(doc).encode()  # ASCII, with lone surrogates as \\ud800 escapes
        answer = judge.post("/api/v1/reports", body, bearer(tokens[OTHER].next()))
        errors = schema_errors(doc)
        not_text = unencodable_field(doc)
        if errors or not_text:
            assert answer.status_code == 400, (answer.text, errors[:1], not_text)
            body = answer.json()
            assert body["error"] == "invalid" and body["problems"][0]["message"]
            if not_text:  # a lone surrogate is refused first, naming where it is (a key's own surrogate escaped)
                assert body["problems"][0]["field"] == not_text[:200].encode("utf-8", "backslashreplace").decode()
        else:
            # still a valid report: refused only because it is for another unit than the token's
            assert answer.status_code == 403, answer.text

    mutated()
    assert judge.tally.save()["server_errors"] == 0


@st.composite
def broken_encodings(draw) -> bytes:
    """A valid report's bytes, cut short, or with bytes that are not UTF-8 spliced in."""
    text = json.dumps(valid_report(), ensure_ascii=False).encode()
    cut = draw(st.integers(0, len(text) - 1))
    if draw(st.booleans()):
        return text[:cut]
    junk = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80\x80",
                                 b"\xe0\x80\xaf", b"\xc0\xae"]))
    return text[:cut] + junk + text[cut:]


@st.composite
def nested(draw) -> bytes:
    """Arrays or objects thousands deep, alone or as a report field."""
    depth = draw(st.integers(100, 200_000))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    deep = opener * depth + b"1" + closer * depth
    if draw(st.booleans()):
        return deep
    text = json.dumps(valid_report()).encode()
    return text.replace(b'"notes": []', b'"notes": ' + deep)


def test_truncated_non_utf8_and_deeply_nested_bodies_are_refused(store, unchanged):
    collector, _, tokens = store
    judge = Judge(Tally("reports-encoding-nesting"), collector.url)

    @fuzz_settings(1000)
    @given(body=broken_encodings())
    def encodings(body):
        answer = judge.post("/api/v1/reports", body, bearer(tokens[WARD].next()))
        assert answer.status_code == 400 and answer.json()["error"] == "malformed"

    @fuzz_settings(150)
    @given(body=nested())
    def deep(body):
        answer = judge.post("/api/v1/reports", body, bearer(tokens[WARD].next()))
        assert answer.status_code == 400

    encodings()
    deep()
    # numbers JSON can write but a store cannot hold
    for number in (b"1e400", b"-1e400", b"18446744073709551616", b"9" * 400):
        body = json.dumps(valid_report()).replace('"memory_bytes": 8589934592', '"memory_bytes": %s'
                                                  % number.decode()).encode()
        assert judge.post("/api/v1/reports", body, bearer(tokens[WARD].next())).status_code == 400
    assert judge.tally.save()["server_errors"] == 0


def test_oversized_bodies_are_refused_without_reading_them_whole(store, unchanged):
    collector, _, tokens = store
    judge = Judge(Tally("reports-oversized"), collector.url)
    padding = b" " * (MAX_BYTES + 1)
    body = json.dumps(valid_report()).encode()
    answer = judge.post("/api/v1/reports", body + padding, bearer(tokens[WARD].next()))
    assert answer.status_code == 413 and "larger than" in answer.json()["message"]
    # no Content-Length: the limit holds for a chunked body as well
    chunks = iter([body] + [b" " * 1024 * 1024] * 9)
    answer = judge.session.post(collector.url + "/api/v1/reports", data=chunks, headers=bearer(tokens[WARD].next()),
                                timeout=120)
    judge.check(answer)
    assert answer.status_code == 413
    assert judge.tally.save()["server_errors"] == 0


header_texts = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                       max_size=200)


@st.composite
def authorizations(draw, tokens: dict) -> tuple[str, int]:
    """An Authorization header that is never the right token, and the status it must get."""
    token = tokens[WARD].next()
    kind = draw(st.sampled_from(["random", "bearer-random", "altered", "basic", "other-unit", "empty",
                                 "padded-prefix", "long"]))
    if kind == "random":
        return draw(header_texts), 401
    if kind == "bearer-random":
        return "Bearer " + draw(header_texts), 401
    if kind == "altered":
        i = draw(st.integers(4, len(token) - 1))
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_".replace(token[i], "")
        return "Bearer " + token[:i] + draw(st.sampled_from(alphabet)) + token[i + 1:], 401
    if kind == "basic":
        return "Basic " + token, 401
    if kind == "other-unit":
        return "Bearer " + tokens[OTHER].next(), 403
    if kind == "empty":
        return draw(st.sampled_from(["", "Bearer", "Bearer ", "Bearer \t"])), 401
    if kind == "padded-prefix":
        return "Bearer x" + token, 401
    return "Bearer " + "A" * draw(st.integers(1000, 60_000)), 401


content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "APPLICATION/JSON"]) \
    | st.sampled_from(["", "text/plain", "application/xml", "application/x-www-form-urlencoded",
                       "multipart/form-data; boundary=x", "application/jsonx", "json", "*/*"]) \
    | header_texts


def test_random_headers_are_refused(store, unchanged):
    collector, _, tokens = store
    judge = Judge(Tally("reports-headers"), collector.url)
    body = json.dumps(valid_report()).encode()
    good_type = {"application/json"}

    @fuzz_settings(2500)
    @given(auth=authorizations(tokens), content_type=content_types,
           extra=st.dictionaries(st.sampled_from(["X-Forwarded-For", "Forwarded", "X-Real-IP", "Accept",
                                                  "Accept-Encoding", "Content-Encoding", "User-Agent", "Expect",
                                                  "Transfer-Encoding-Bogus", "X-Request-Id"]),
                                 header_texts, max_size=4))
    def headers(auth, content_type, extra):
        value, status = auth
        sent = {name: text.encode("latin-1").lstrip() for name, text in
                {**extra, "Authorization": value, "Content-Type": content_type}.items()}
        answer = judge.post("/api/v1/reports", body, sent)
        mimetype = content_type.split(";")[0].strip().lower()
        encoding = sent.get("Content-Encoding", b"").strip().lower()
        if status == 401:
            assert answer.status_code == 401, answer.text
        elif mimetype not in good_type or encoding not in (b"", b"identity"):
            # An encoding other than gzip is 415; "gzip" over a plain body is a corrupt stream, 400.
            assert answer.status_code in (415, 400), answer.text
        else:
            assert answer.status_code == 403, answer.text

    headers()
    assert judge.tally.save()["server_errors"] == 0


@pytest.fixture
def edge_store(tmp_path):
    collector = start_collector(f"sqlite:///{tmp_path / 'store.sqlite3'}", "--failed-auth-rate-limit", "0")
    try:
        yield collector, collector.token(WARD)
    finally:
        stop(collector.proc)


EDGES = [(("hardware", "memory_bytes"), [0, 1, INT64, INT64 + 1, 2 ** 64]),
         (("hardware", "system_disk", "size_bytes"), [0, INT64, INT64 + 1]),
         (("hardware", "cpu", "family"), [0, 1024, 1025, -1]),
         (("hardware", "cpu", "logical_cores"), [0, 1, 65536, 65537]),
         (("hardware", "cpu", "max_mhz"), [0, 0.5, 100000, 100000.5]),
         (("device", "id"), ["", "x", "x" * 128, "x" * 129]),
         (("device", "hostname"), ["x" * 255, "x" * 256]),
         (("report_id",), ["00000000-0000-0000-0000-000000000000\n", "ffffffff-ffff-ffff-ffff-ffffffffffff"]),
         (("collected_at",), ["2025-10-01T08:00:00Z\n", "2025-10-01T08:00:00.123456789+07:00",
                              "0001-01-01T00:00:00Z", "2025-02-30T00:00:00Z", "2025-10-01T24:00:00Z",
                              "2025-10-01T08:00:00+25:00"]),
         (("ward_code",), ["00070\n"]),
         (("network", "reachability", 0, "latency_ms"), [0, 1e308])]


def test_values_at_the_edges_of_the_schema_are_stored_or_refused_never_a_5xx(edge_store):
    """Valid edge values are stored; one past the edge, or beyond what the store can hold, is a 400."""
    collector, token = edge_store
    judge_tally = Tally("reports-edges")
    judge = Judge(judge_tally, collector.url)
    stored = 0
    for path, values in EDGES:
        for value in values:
            doc = valid_report()
            doc["report_id"] = str(uuid.uuid4())
            set_at(doc, path, value)
            answer = judge.session.post(collector.url + "/api/v1/reports", data=json.dumps(doc).encode(),
                                        headers=bearer(token), timeout=60)
            judge_tally.record(answer.status_code, None)
            assert answer.status_code in (201, 400), (path, value, answer.text)
            if answer.status_code == 201:
                stored += 1
                assert not schema_errors(doc), (path, value)
            else:
                assert ".".join(map(str, path)) in answer.json()["message"] or path == ("report_id",) \
                    or path == ("collected_at",) or path == ("ward_code",), (path, value, answer.text)
    figures = judge_tally.save(stored=stored)
    assert figures["server_errors"] == 0 and stored >= 10
