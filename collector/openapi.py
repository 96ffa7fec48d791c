"""The OpenAPI 3.1 description of the HTTP API, with the report schema embedded as published."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from inventory.schema import CURRENT_VERSION, schema_document

from . import __version__

_ERROR = {"$ref": "#/components/schemas/Error"}


def _answer(description: str, schema: dict[str, Any] = _ERROR) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    report = dict(schema_document(CURRENT_VERSION))
    report.pop("$schema", None)
    report.pop("$id", None)
    return {
        "openapi": "3.1.0",
        "info": {"title": "hdc-readiness collector", "version": __version__,
                 "description": "Ingest of device reports and readiness of Hanoi's commune-level units."},
        "paths": {
            "/api/v1/reports": {"post": {
                "summary": "File one device report for the token's unit",
                "security": [{"wardToken": []}],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}}}},
                "responses": {
                    "201": _answer("Stored", {"$ref": "#/components/schemas/IngestResult"}),
                    "200": _answer("Already stored (same report id)", {"$ref": "#/components/schemas/IngestResult"}),
                    "400": _answer("Malformed JSON or not a valid report; the message names the field"),
                    "401": _answer("No token or an invalid one"),
                    "403": _answer("The report is for another unit than the token's"),
                    "413": _answer("Body too large"),
                    "415": _answer("Not application/json"),
                    "503": _answer("The store cannot accept reports now; retry after Retry-After seconds"),
                }}},
            "/api/v1/wards": {"get": {"summary": "All units with device counts by verdict",
                                      "responses": {"200": _answer("Units", {"type": "object"})}}},
            "/api/v1/wards/{code}": {"get": {
                "summary": "One unit: its devices, verdicts and applications",
                "parameters": [{"name": "code", "in": "path", "required": True,
                                "schema": {"type": "string", "pattern": "^[0-9]{5}$"}}],
                "responses": {"200": _answer("The unit", {"type": "object"}), "404": _answer("Unknown unit code")}}},
            "/healthz": {"get": {"summary": "Liveness and store reachability",
                                 "responses": {"200": _answer("Healthy", {"type": "object"}),
                                               "503": _answer("Store unreachable")}}},
        },
        "components": {
            "securitySchemes": {"wardToken": {"type": "http", "scheme": "bearer",
                                              "description": "Ward token from `hdc-collector token create`"}},
            "schemas": {
                "Report": report,
                "IngestResult": {"type": "object", "required": ["status", "report_id", "device_id"],
                                 "properties": {"status": {"enum": ["accepted", "duplicate"]},
                                                "report_id": {"type": "string"},
                                                "device_id": {"type": "string"},
                                                "verdict": {"type": ["string", "null"]}}},
                "Error": {"type": "object", "required": ["error", "message", "status"],
                          "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                                         "status": {"type": "integer"},
                                         "problems": {"type": "array", "items": {"type": "object"}}}},
            },
        },
    }
