"""The published report schema and its validation messages."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from jsonschema import Draft202012Validator

from inventory.report import empty_report, parse_rfc3339, rfc3339
from inventory.schema import SUPPORTED_VERSIONS, schema_document, validate_report

SCHEMAS = Path(__file__).resolve().parents[1] / "inventory" / "schemas"


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


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fast_validator_agrees_with_the_reference_implementation(data):
    """fastjsonschema runs at ingest; jsonschema is the reference it must agree with."""
    doc = _minimal()
    doc["software"] = [{"name": "x", "version": "1"}]
    paths = [("hardware", "memory_bytes"), ("hardware", "cpu", "family"), ("firmware", "tpm", "present"),
             ("os", "family"), ("device", "class"), ("software", 0, "name"), ("ward_code",), ("collected_at",)]
    path = data.draw(st.sampled_from(paths))
    value = data.draw(st.one_of(st.none(), st.booleans(), st.integers(-5, 10**12), st.floats(allow_nan=False),
                                st.text(max_size=30), st.sampled_from(["windows", "yes", "00070", "ssd"])))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    reference = Draft202012Validator(schema_document(1)).is_valid(doc)
    assert (validate_report(doc) == []) == reference


def test_unknown_and_missing_versions_are_named():
    assert str(validate_report({"schema_version": 7})[0]).startswith("schema_version: version 7 is not supported")
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
