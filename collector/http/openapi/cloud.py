"""The cloud-migration part of the OpenAPI document (``http/cloud.py``); a test validates real answers against it."""
from __future__ import annotations

from typing import Any

from collector.http.openapi.read import ref
from inventory.catalog import TARGETS
from inventory.migration import CONTRADICTION_CODES, ENDPOINT_STATES, STATES

_INT = {"type": "integer", "minimum": 0}
_TEXT = {"type": ["string", "null"]}
_MOMENT = {"type": ["string", "null"], "format": "date-time"}
_STATE = {"enum": list(STATES)}
_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]{5}$"}}
_APP = {"name": "app_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _closed(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "required": [k for k in properties if k not in optional], "properties": properties}


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = ref("Error")
_DECLARATION = _closed({"state": _STATE, "date": {"type": "string", "format": "date"},
                        "declared_by": {"type": "string"}, "declared_at": _MOMENT, "note": _TEXT,
                        "reference": _TEXT, "source": {"type": "string"}})
_APPLICATION = {
    "app_id": {"type": "string"}, "name_vi": {"type": "string"}, "name_en": {"type": "string"},
    "target": {"enum": list(TARGETS)}, "state": _STATE, "source": {"enum": ["declared", "inferred"]},
    "since": _MOMENT, "inferred_state": _STATE, "in_use": {"type": "boolean"}, "migrated": {"type": "boolean"},
    "evidence": _closed({"installed_devices": _INT, "ever_installed": {"type": "boolean"},
                         "endpoint": {"enum": list(ENDPOINT_STATES)}}),
    "declared": {"oneOf": [{"type": "null"}, ref("MigrationDeclaration")]},
    "contradictions": {"type": "array", "items": _closed({"code": {"enum": list(CONTRADICTION_CODES)},
                                                           "since": _MOMENT, "devices": _INT})},
    "history": _closed({
        "declarations": {"type": "array", "items": ref("MigrationDeclaration")},
        "observations": {"type": "array", "items": _closed({
            "state": _STATE, "installed_devices": _INT, "endpoint": {"enum": list(ENDPOINT_STATES)},
            "observed_at": _MOMENT})}}),
}
_BY_STATE = {"type": "object", "additionalProperties": _INT, "propertyNames": _STATE}

MIGRATION_SCHEMAS: dict[str, Any] = {
    "MigrationDeclaration": _DECLARATION,
    "ApplicationMigration": _closed(_APPLICATION),
    "UnitMigration": _closed({
        "ward_code": {"type": "string"}, "migrated": _INT, "in_use": _INT, "by_state": _BY_STATE,
        "sprawl": _closed({"local_apps": _INT, "target": _INT, "over": _INT}), "contradictions": _INT,
        "applications": {"type": "array", "items": ref("ApplicationMigration")}}),
    "ApplicationAcrossUnits": _closed({
        "app_id": {"type": "string"}, "name_vi": {"type": "string"}, "name_en": {"type": "string"},
        "target": {"enum": list(TARGETS)}, "migrated": _INT, "in_use": _INT, "by_state": _BY_STATE,
        "units": {"type": "array", "items": _closed({"ward_code": {"type": "string"}, **_APPLICATION})}}),
    "DeclarationInput": _closed({
        "ward_code": {"type": "string"}, "app_id": {"type": "string"}, "state": _STATE,
        "date": {"type": "string", "format": "date", "description": "default: today (Hanoi)"},
        "note": _TEXT, "reference": _TEXT, "declared_by": {"type": "string"}},
        optional=("date", "note", "reference")),
    "DeclarationResult": _closed({"stored": _INT, "declarations": {"type": "array", "items": _closed({
        "ward_code": {"type": "string"}, "app_id": {"type": "string"}, "from": _STATE, "to": _STATE,
        "date": {"type": "string", "format": "date"}})}}),
}

MIGRATION_PATHS: dict[str, Any] = {
    "/api/v1/wards/{code}/applications": {"get": {
        "summary": "A unit's catalog applications: migration state, evidence, contradictions and history",
        "parameters": [_CODE],
        "responses": {"200": _answer("The unit's applications", ref("UnitMigration")),
                      "404": _answer("Unknown unit code", _ERROR)}}},
    "/api/v1/applications/{app_id}": {"get": {
        "summary": "One catalog application at every unit, with history",
        "parameters": [_APP],
        "responses": {"200": _answer("The application across units", ref("ApplicationAcrossUnits")),
                      "404": _answer("Unknown application", _ERROR)}}},
    "/api/v1/migration/declarations": {"post": {
        "summary": "Declare applications' migration states (one object, or {declarations: [...]}); all or none",
        "security": [{"adminToken": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
            ref("DeclarationInput"),
            _closed({"declarations": {"type": "array", "minItems": 1, "items": ref("DeclarationInput")}})]}}}},
        "responses": {"201": _answer("Stored", ref("DeclarationResult")),
                      "400": _answer("Malformed body; the message names the item and field", _ERROR),
                      "401": _answer("No token or an invalid one", _ERROR),
                      "403": _answer("Not an admin token", _ERROR),
                      "422": _answer("Refused (unknown unit or application, impossible change, date in the "
                                     "future); nothing stored; one problem per refused item", _ERROR)}}},
}
