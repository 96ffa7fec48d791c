"""The OpenAPI description of the management endpoints (``http/admin.py``)."""
from __future__ import annotations

from typing import Any

from collector.store.tokens import KINDS, MAX_LABEL

_ERROR = {"$ref": "#/components/schemas/Error"}
_SECURITY: list[dict[str, list[str]]] = [{"adminToken": []}]
_TIME = {"type": ["string", "null"], "format": "date-time"}


def _answer(description: str, schema: dict[str, Any] = _ERROR) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


_REFUSALS = {
    "401": _answer("No token, or not a valid one"),
    "403": _answer("Not an admin token"),
    "429": _answer("Too many requests from this address; retry after Retry-After seconds"),
    "503": _answer("The store cannot be reached; retry after Retry-After seconds"),
}
_TOKEN_ID = {"name": "token_id", "in": "path", "required": True,
             "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"}}
_INFO_PROPERTIES: dict[str, Any] = {
    "token_id": {"type": "string"},
    "kind": {"enum": list(KINDS)},
    "ward_code": {"type": ["string", "null"]},
    "label": {"type": ["string", "null"]},
    "state": {"enum": ["active", "expiring", "expired", "revoked"]},
    "created_at": {"type": "string", "format": "date-time"},
    "last_used_at": _TIME,
    "expires_at": _TIME,
    "revoked_at": _TIME,
    "replaces": {"type": ["string", "null"]},
}

ADMIN_SCHEMAS: dict[str, Any] = {
    "TokenInfo": {"type": "object", "required": list(_INFO_PROPERTIES), "properties": _INFO_PROPERTIES,
                  "description": "A token without its secret; last_used_at is updated at most once a minute"},
    "IssuedToken": {"type": "object", "required": ["token", *_INFO_PROPERTIES],
                    "properties": {"token": {"type": "string", "description": "The secret, shown only here"},
                                   **_INFO_PROPERTIES,
                                   "old_expires_at": {"type": "string", "format": "date-time",
                                                      "description": "After a rotation: end of the old token"}}},
    "AuditEntry": {"type": "object", "required": ["id", "at", "actor", "action", "token_id", "ward_code", "detail"],
                   "properties": {"id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
                                  "actor": {"type": "string", "description": "cli:<os user> or token:<admin token id>"},
                                  "action": {"type": "string", "examples": ["token.create", "token.rotate",
                                                                            "token.revoke"]},
                                  "token_id": {"type": ["string", "null"]},
                                  "ward_code": {"type": ["string", "null"]},
                                  "detail": {"type": "object"}}},
}

ADMIN_PATHS: dict[str, Any] = {
    "/api/v1/admin/tokens": {
        "get": {"summary": "Every token (or one unit's) without secrets", "security": _SECURITY,
                "parameters": [{"name": "ward", "in": "query", "required": False,
                                "schema": {"type": "string", "pattern": "^[0-9]{5}$"}}],
                "responses": {"200": _answer("Tokens", {"type": "object", "required": ["tokens", "count"],
                                                        "properties": {"tokens": {"type": "array",
                                                                                  "items": _ref("TokenInfo")},
                                                                       "count": {"type": "integer"}}}),
                              "400": _answer("Unknown unit code"), **_REFUSALS}},
        "post": {"summary": "Create a ward token (kind ward, with ward_code) or an admin token; the secret is "
                            "in this answer only", "security": _SECURITY,
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "additionalProperties": False,
                     "properties": {"kind": {"enum": list(KINDS), "default": "ward"},
                                    "ward_code": {"type": "string", "pattern": "^[0-9]{5}$"},
                                    "label": {"type": "string", "maxLength": MAX_LABEL}}}}}},
                 "responses": {"201": _answer("Created", _ref("IssuedToken")),
                               "400": _answer("A bad field; the message names it"),
                               "415": _answer("Not application/json"), **_REFUSALS}}},
    "/api/v1/admin/tokens/{token_id}/rotate": {"post": {
        "summary": "Issue a successor; the old token keeps working for grace_days (default 7, 0 ends it now)",
        "security": _SECURITY, "parameters": [_TOKEN_ID],
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False,
            "properties": {"grace_days": {"type": "number", "minimum": 0, "maximum": 365, "default": 7}}}}}},
        "responses": {"201": _answer("The successor", _ref("IssuedToken")), "400": _answer("A bad field"),
                      "404": _answer("No such token"), "409": _answer("The token is not active"), **_REFUSALS}}},
    "/api/v1/admin/tokens/{token_id}/revoke": {"post": {
        "summary": "End a token at once", "security": _SECURITY, "parameters": [_TOKEN_ID],
        "responses": {"200": _answer("Revoked", _ref("TokenInfo")), "404": _answer("No such token"),
                      "409": _answer("Already revoked"), **_REFUSALS}}},
    "/api/v1/admin/audit": {"get": {
        "summary": "The audit log, newest first", "security": _SECURITY,
        "parameters": [{"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
                       {"name": "offset", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 0, "default": 0}}],
        "responses": {"200": _answer("Entries", {"type": "object", "required": ["entries", "count"],
                                                 "properties": {"entries": {"type": "array",
                                                                            "items": _ref("AuditEntry")},
                                                                "count": {"type": "integer"},
                                                                "limit": {"type": "integer"},
                                                                "offset": {"type": "integer"}}}),
                      "400": _answer("A bad parameter"), **_REFUSALS}}},
    "/api/v1/admin/register": {"post": {
        "summary": "Import units' equipment registers from a sheet (the same as 'hdc-collector register import')",
        "security": _SECURITY,
        "parameters": [{"name": "dry_run", "in": "query", "required": False,
                        "schema": {"type": "string", "enum": ["true", "false"], "default": "false"}},
                       {"name": "reason", "in": "query", "required": False,
                        "schema": {"type": "string", "maxLength": 1000}}],
        "requestBody": {"required": True, "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}}}},
        "responses": {"200": _answer("Stored (or, for a dry run, what would change)", {
            "type": "object", "required": ["stored", "units", "changes"],
            "properties": {"stored": {"type": "boolean"}, "units": {"type": "integer"},
                           "changes": {"type": "array", "items": {
                               "type": "object", "required": ["ward_code", "item", "before", "after"],
                               "properties": {"ward_code": {"type": "string"}, "item": {"type": "string"},
                                              "before": {"type": ["object", "null"]},
                                              "after": {"type": ["object", "null"]}}}}}}),
                      "400": _answer("The file cannot be read (format, columns, formulas)"),
                      "413": _answer("The file is too large"),
                      "415": _answer("Not sent as text/csv or XLSX"),
                      "422": _answer("Bad rows, one problem each; nothing was stored"), **_REFUSALS}}},
}

ADMIN_SECURITY_SCHEME = {"type": "http", "scheme": "bearer",
                         "description": "Admin token from `hdc-collector token create --admin`"}
