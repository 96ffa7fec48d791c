"""The published report schema and its validation messages."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from inventory.report import empty_report, new_report_id, parse_rfc3339, rfc3339
from inventory.schema import CURRENT_VERSION, EQUIPMENT_VERSION, SUPPORTED_VERSIONS, schema_document, validate_report
from inventory.text import unsafe_character

SCHEMAS = Path(__file__).resolve().parents[1] / "inventory" / "schemas"


def test_producers_write_the_current_version():
    assert empty_report("00070", "test", "1", "agent")["schema_version"] == CURRENT_VERSION == 2
    assert EQUIPMENT_VERSION == max(SUPPORTED_VERSIONS)  # hdc-agent probe-snmp writes the newest


def test_report_ids_are_random_version_4_uuids():
    ids = {new_report_id() for _ in range(200)}
    assert len(ids) == 200
    for text in ids:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)


def _minimal() -> dict:
    doc = empty_report("00070", "test", "1", "agent")
    doc["device"].update(id="abc", hostname="pc-1")
    return doc


def test_every_supported_version_is_published_and_a_valid_schema():
    for version in SUPPORTED_VERSIONS:
        path = SCHEMAS / f"report-v{version}.schema.json"
        assert path.is_file()
        Draft202012Validator.check_schema(json.loads(path.read_text("utf-8")))
        assert schema_document(version)["properties"]["schema_version"] == {"const": version}


def test_empty_report_with_identity_is_valid_and_all_unknown():
    doc = _minimal()
    assert validate_report(doc) == []
    assert doc["firmware"]["tpm"]["present"] == "unknown"
    assert doc["hardware"]["memory_bytes"] is None


@pytest.mark.parametrize("mutate, field, words", [
    (lambda d: d["hardware"]["cpu"].__setitem__("family", "six"), "hardware.cpu.family", "integer"),
    (lambda d: d["os"].pop("name"), "os.name", "required"),
    (lambda d: d.pop("device"), "device", "required"),
    (lambda d: d.__setitem__("software", [{"name": ""}]), "software[0].name", "longer"),
    (lambda d: d["hardware"].__setitem__("memory_bytes", True), "hardware.memory_bytes", "integer"),
    (lambda d: d["firmware"]["tpm"].__setitem__("present", "maybe"), "firmware.tpm.present", "one of"),
])
def test_messages_name_the_field(mutate, field, words):
    doc = _minimal()
    mutate(doc)
    (problem,) = validate_report(doc)
    assert problem.field == field
    assert words in problem.message


REACH_V2 = {"target": "hdc-portal", "url": "https://portal.hanoi.gov.vn/", "ok": False, "latency_ms": None,
            "connect_ms": 3.2, "tls_ok": False, "tls_error": "certificate not trusted (self-signed certificate)",
            "http_status": None, "failed_step": "tls", "via_proxy": False,
            "error": "TLS certificate not trusted (self-signed certificate)"}


def _of_version(version: int) -> dict:
    doc = _minimal()
    doc["schema_version"] = version
    doc["software"] = [{"name": "x", "version": "1"}]
    doc["network"]["reachability"] = [{"target": "hdc-portal", "ok": True, "latency_ms": 12.5, "error": None}]
    if version >= 2:
        doc["network"]["reachability"].append(dict(REACH_V2))
    return doc


# Three deliberate differences from the reference are left out: the fast path also refuses infinite
# numbers (no store column holds them), text with control or bidirectional characters (inventory/text.py:
# shown, it would read as something else), and reads a pattern's final "$" as the end of the text, as
# JSON Schema's ECMA-262 does, where Python's re (and so jsonschema) lets a trailing newline through.
_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**12), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=30).filter(lambda t: not t.endswith("\n") and unsafe_character(t) is None),
                    st.sampled_from(["windows", "yes", "00070", "ssd", "tls", "resolve"]))
_PATHS = [("hardware", "memory_bytes"), ("hardware", "cpu", "family"), ("firmware", "tpm", "present"),
          ("os", "family"), ("device", "class"), ("software", 0, "name"), ("ward_code",), ("collected_at",),
          ("network", "reachability", 0, "latency_ms"), ("network", "reachability", 0, "ok")]
_PATHS_V2 = [("network", "reachability", 1, key) for key in REACH_V2 if key != "target"]


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fast_validator_agrees_with_the_reference_implementation(version, data):
    """fastjsonschema runs at ingest; jsonschema is the reference it must agree with, for every version."""
    doc = _of_version(version)
    path = data.draw(st.sampled_from(_PATHS + (_PATHS_V2 if version >= 2 else [])))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = data.draw(_VALUES)
    reference = Draft202012Validator(schema_document(version)).is_valid(doc)
    assert (validate_report(doc) == []) == reference


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_each_version_validates_its_own_documents(version):
    assert validate_report(_of_version(version)) == []
    assert Draft202012Validator(schema_document(version)).is_valid(_of_version(version))


def test_version_1_stays_as_published_and_refuses_the_version_2_fields():
    """A v1 document is judged by the v1 schema: v2's step-by-step fields are unknown there."""
    doc = _of_version(1)
    doc["network"]["reachability"].append(dict(REACH_V2))
    (problem,) = validate_report(doc)
    assert problem.field == "network.reachability[1]" and "connect_ms" in problem.message
    doc["schema_version"] = 2
    assert validate_report(doc) == []


def at_path(doc: dict, path: tuple):
    for key in path:
        doc = doc[key]
    return doc


def test_version_2_is_version_1_plus_the_reachability_steps_and_mac_hostname_ids():
    """Nothing of v1 changes meaning or tightens in v2, so every v1 producer can move up by the number alone."""
    v1, v2 = schema_document(1), schema_document(2)
    reach = ("properties", "network", "properties", "reachability", "items", "properties")
    added = {"connect_ms", "tls_ok", "tls_error", "http_status", "failed_step", "via_proxy"}
    id_sources = ("properties", "device", "properties", "id_source", "enum")
    v2_sources = at_path(v2, id_sources)
    assert set(v2_sources) - set(at_path(v1, id_sources)) == {"mac-hostname"}
    v2_sources.remove("mac-hostname")

    def at(doc: dict, path: tuple) -> dict:
        for key in path:
            doc = doc[key]
        return doc

    assert set(at(v2, reach)) - set(at(v1, reach)) == added
    for doc in (v1, v2):
        for key in added:
            at(doc, reach).pop(key, None)
        at(doc, reach)["latency_ms"].pop("description", None)
        at(doc, reach)["ok"] = {"type": "boolean"}
        at(doc, reach[:-2]).pop("description")
        doc["properties"].pop("schema_version")
        for key in ("$id", "title", "description"):
            doc.pop(key)
    assert v1 == v2


@pytest.mark.parametrize("mutate, field, words", [
    (lambda r: r.__setitem__("failed_step", "dns"), "network.reachability[1].failed_step", "one of"),
    (lambda r: r.__setitem__("http_status", 700), "network.reachability[1].http_status", "smaller than or equal"),
    (lambda r: r.__setitem__("connect_ms", -1), "network.reachability[1].connect_ms", "bigger than or equal"),
    (lambda r: r.__setitem__("tls_ok", "no"), "network.reachability[1].tls_ok", "boolean"),
    (lambda r: r.__setitem__("tls_error", "x" * 513), "network.reachability[1].tls_error", "shorter"),
])
def test_version_2_reachability_messages_name_the_field(mutate, field, words):
    doc = _of_version(2)
    mutate(doc["network"]["reachability"][1])
    (problem,) = validate_report(doc)
    assert problem.field == field and words in problem.message


def test_unknown_and_missing_versions_are_named():
    assert str(validate_report({"schema_version": 7})[0]) == \
        "schema_version: version 7 is not supported; supported: 1, 2, 3"
    with pytest.raises(ValueError, match="no report schema version 4; published: 1, 2, 3"):
        schema_document(4)
    assert validate_report({})[0].field == "schema_version"
    assert validate_report({"schema_version": True})[0].field == "schema_version"
    assert validate_report([1, 2])[0].message == "a report must be a JSON object"


def test_unknown_fields_are_refused():
    doc = _minimal()
    doc["hardware"]["gpu"] = "x"
    assert "gpu" in validate_report(doc)[0].message


def test_ward_code_keeps_leading_zeros():
    doc = _minimal()
    doc["ward_code"] = "70"
    assert validate_report(doc)[0].field == "ward_code"


def test_rfc3339_round_trip():
    text = rfc3339()
    assert text.endswith("Z")
    assert rfc3339(parse_rfc3339(text)) == text
    assert parse_rfc3339("2025-11-30T08:00:00+07:00").hour == 8
