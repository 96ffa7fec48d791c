"""The OpenAPI 3.1 description of the HTTP API, with the report schema embedded as published."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from collector import __version__
from collector.http.openapi.admin import ADMIN_PATHS, ADMIN_SCHEMAS, ADMIN_SECURITY_SCHEME
from collector.http.openapi.cloud import MIGRATION_PATHS, MIGRATION_SCHEMAS
from collector.http.openapi.login import VIEWER_SCHEME, VIEWER_SECURITY_SCHEME, with_login
from collector.http.openapi.okr import OKR_PATHS, OKR_SCHEMAS
from collector.http.openapi.plan import PLAN_PATHS, PLAN_SCHEMAS
from collector.http.openapi.read import READ_SCHEMAS, array, ref
from collector.readiness.ranking import SORT_KEYS
from inventory.readiness import UNIT_STATUSES, VERDICTS
from inventory.schema import SUPPORTED_VERSIONS, schema_document

_ERROR = {"$ref": "#/components/schemas/Error"}
_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]{5}$"}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


_REPORT_HEADERS = [
    {"name": "Content-Encoding", "in": "header", "required": False, "schema": {"enum": ["gzip", "identity"]},
     "description": "gzip: the body is compressed; the report limit applies to the inflated size (413 beyond it, "
                    "refused while inflating). Any other encoding is answered 415."},
    {"name": "Hdc-Software-Sha256", "in": "header", "required": False,
     "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
     "description": "The body is the report without its `software` member; this is the SHA-256 (hex) of that "
                    "list's JSON text as an earlier full report sent it (the `software_sha256` the collector "
                    "answered then). The collector puts the list back and judges and stores a full report. "
                    "409 `software_list_unknown` when it does not hold the list: send the report whole."},
]


def _paging(max_default: int) -> list[dict[str, Any]]:
    return [_query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": max_default},
                   "at most this many items"),
            _query("offset", {"type": "integer", "minimum": 0, "default": 0}, "skip this many items")]


def _answer(description: str, schema: dict[str, Any] = _ERROR) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _embedded(schema: dict[str, Any]) -> dict[str, Any]:
    """A report schema as an OpenAPI component: its own identifiers would clash inside another document."""
    return {k: v for k, v in schema.items() if k not in ("$schema", "$id")}


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    reports = {f"ReportV{v}": _embedded(schema_document(v)) for v in SUPPORTED_VERSIONS}
    return {
        "openapi": "3.1.0",
        "info": {"title": "hdc-readiness collector", "version": __version__,
                 "description": "Ingest of device reports and readiness of Hanoi's commune-level units. "
                                "The read endpoints are open unless the collector runs with `serve --login`: "
                                "with `basic` they need a viewer (HTTP Basic, 401 without one); with `header` "
                                "only requests through the signing-in reverse proxy are answered (403 otherwise)."},
        "paths": with_login({
            "/api/v1/reports": {"post": {
                "summary": "File one device report for the token's unit",
                "security": [{"wardToken": []}],
                "parameters": _REPORT_HEADERS,
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}}}},
                "responses": {
                    "201": _answer("Stored", {"$ref": "#/components/schemas/IngestResult"}),
                    "200": _answer("Already stored (same report id)", {"$ref": "#/components/schemas/IngestResult"}),
                    "400": _answer("Malformed JSON or not a valid report; the message names the field"),
                    "401": _answer("No token or an invalid one"),
                    "403": _answer("The report is for another unit than the token's"),
                    "409": _answer("`software_list_unknown`: the list named by Hdc-Software-Sha256 is not held "
                                   "here (a new collector, a restored backup); send the report with its list. "
                                   "`conflict`: `device.id` names a device the store holds under another unit; "
                                   "nothing is stored (an operator moves devices: `hdc-collector device move`)"),
                    "413": _answer("Body too large, or a gzip body inflating beyond the report limit"),
                    "415": _answer("Not application/json, or a Content-Encoding other than gzip or identity"),
                    "429": _answer("Too many reports from this token or address (`rate_limited`), or the unit's daily "
                                   "budget of report bytes is spent (`over_budget`); retry after Retry-After seconds"),
                    "503": _answer("The store cannot accept reports now; retry after Retry-After seconds"),
                }}},
            "/api/v1/wards": {"get": {
                "summary": "Units with device counts by verdict, filtered, sorted and paged like the page's ranking",
                "parameters": [
                    _query("kind", {"enum": ["phuong", "xa"]}, "ward (phuong) or commune (xa)"),
                    _query("status", {"enum": list(UNIT_STATUSES)}, "unit status"),
                    _query("q", {"type": "string"}, "name or code; accents and case are ignored"),
                    _query("sort", {"enum": list(SORT_KEYS)}, "sort key; default: the official list's order"),
                    _query("order", {"enum": ["asc", "desc"]}, "sort direction"),
                    _query("milestone", {"type": "string"}, "milestone the work item counts refer to"),
                    *_paging(1000)],
                "responses": {"200": _answer("Units", ref("UnitList")), "400": _answer("A bad parameter")}}},
            "/api/v1/wards/{code}": {"get": {
                "summary": "One unit: its devices, verdicts, applications, reachability, work items and forecast",
                "parameters": [_CODE, _query("milestone", {"type": "string"}, "milestone of the work items")],
                "responses": {"200": _answer("The unit", ref("UnitDetail")), "404": _answer("Unknown unit code")}}},
            "/api/v1/wards/{code}/devices": {"get": {
                "summary": "A unit's devices, filtered and paged",
                "parameters": [_CODE, _query("verdict", {"enum": list(VERDICTS)}, "latest verdict"),
                               _query("silent", {"enum": ["true", "false"]}, "silent devices only, or active only"),
                               *_paging(100)],
                "responses": {"200": _answer("Devices", ref("DeviceList")), "400": _answer("A bad parameter"),
                              "404": _answer("Unknown unit code")}}},
            "/api/v1/devices/{device_id}": {"get": {
                "summary": "One device with its verdict, failed rules, history of verdict changes and Windows 11 "
                           "eligibility",
                "parameters": [{"name": "device_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _answer("The device", ref("DeviceDetail")),
                              "404": _answer("Unknown device")}}},
            "/api/v1/milestones": {"get": {
                "summary": "The programme's milestones, days left, and the city's work items for each",
                "responses": {"200": _answer("Milestones", {"type": "object", "required": ["milestones"],
                                                            "additionalProperties": False,
                                                            "properties": {"milestones": array("Milestone")}})}}},
            "/api/v1/summary": {"get": {
                "summary": "The city's headline figures, as on the readiness page",
                "responses": {"200": _answer("Headline figures", ref("Summary"))}}},
            "/api/v1/history": {"get": {
                "summary": "Devices per verdict at the end of each day, for the city or one unit (the page's charts)",
                "parameters": [_query("ward", {"type": "string", "pattern": "^[0-9]{5}$"}, "one unit's code")],
                "responses": {"200": _answer("Daily series", ref("History")), "404": _answer("Unknown unit code")}}},
            **ADMIN_PATHS,
            **MIGRATION_PATHS,
            **OKR_PATHS,
            **PLAN_PATHS,
            "/healthz": {"get": {"summary": "Liveness and store reachability",
                                 "responses": {"200": _answer("Healthy", {"type": "object"}),
                                               "503": _answer("Store unreachable")}}},
        }),
        "components": {
            "securitySchemes": {"wardToken": {"type": "http", "scheme": "bearer",
                                              "description": "Ward token from `hdc-collector token create`"},
                                "adminToken": ADMIN_SECURITY_SCHEME,
                                VIEWER_SCHEME: VIEWER_SECURITY_SCHEME},
            "schemas": {
                # Every version a collector ever accepted stays accepted; schema_version tells them apart.
                "Report": {"oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in reports]},
                **reports,
                "IngestResult": {"type": "object", "required": ["status", "report_id", "device_id"],
                                 "properties": {"status": {"enum": ["accepted", "duplicate"]},
                                                "report_id": {"type": "string"},
                                                "device_id": {"type": "string"},
                                                "verdict": {"type": ["string", "null"]},
                                                "software_sha256": {
                                                    "type": ["string", "null"],
                                                    "description": "digest of the report's software list, which "
                                                                   "this collector now holds: later reports may "
                                                                   "name it in Hdc-Software-Sha256 instead"}}},
                **READ_SCHEMAS,
                **ADMIN_SCHEMAS,
                **MIGRATION_SCHEMAS,
                **OKR_SCHEMAS,
                **PLAN_SCHEMAS,
                "Error": {"type": "object", "required": ["error", "message", "status"],
                          "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                                         "status": {"type": "integer"},
                                         "problems": {"type": "array", "items": {"type": "object"}}}},
            },
        },
    }
