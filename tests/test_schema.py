"""The published report schema and its validation messages."""
from __future__ import annotations

import json
from pathlib import Path

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


def test_messages_name_the_field():
    doc = _minimal()
    doc["hardware"]["cpu"]["family"] = "six"
    del doc["os"]["name"]
    doc["software"] = [{"name": ""}]
    fields = {e.field for e in validate_report(doc)}
    assert fields == {"hardware.cpu.family", "os.name", "software[0].name"}


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
