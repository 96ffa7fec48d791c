"""The JSON API: report ingest and the read endpoints (``/api/v1``)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from inventory.milestones import Milestone
from inventory.report import parse_rfc3339
from inventory.schema import validate_report

from . import queries
from .app import ctx
from .openapi import openapi_document
from .store.tokens import TokenIdentity, verify_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class ApiError(Exception):
    """An answer to bad input: status, a metric reason, a message naming the field, optional problem list."""

    def __init__(self, status: int, reason: str, message: str, problems: Optional[list[dict]] = None,
                 headers: Optional[dict[str, str]] = None):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message
        self.problems, self.headers = problems, headers or {}


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    body: dict[str, Any] = {"error": exc.reason, "message": exc.message, "status": exc.status}
    if exc.problems:
        body["problems"] = exc.problems
    response = jsonify(body)
    response.status_code = exc.status
    response.headers.update(exc.headers)
    return response


def _reject(status: int, reason: str, message: str, **kw) -> ApiError:
    ctx().ingest_metrics.reports.labels(reason).inc()
    return ApiError(status, reason, message, **kw)


def _authenticate() -> TokenIdentity:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _reject(401, "unauthenticated", "missing Authorization: Bearer <ward token>",
                      headers={"WWW-Authenticate": 'Bearer realm="hdc-readiness"'})
    with ctx().engine.connect() as conn:
        identity = verify_token(conn, token.strip())
    if identity is None:
        raise _reject(401, "unauthenticated", "the token is not valid (unknown, revoked or mistyped)",
                      headers={"WWW-Authenticate": 'Bearer realm="hdc-readiness", error="invalid_token"'})
    return identity


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _parse_body() -> tuple[Any, str]:
    if request.mimetype != "application/json":
        raise _reject(415, "unsupported_media_type",
                      f"Content-Type must be application/json, not {request.mimetype or 'missing'}")
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise _reject(413, "too_large", f"report larger than {ctx().settings.max_report_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _reject(400, "malformed", f"body is not UTF-8 (byte {exc.start})")
    try:
        return json.loads(text, parse_constant=_reject_constant), text
    except json.JSONDecodeError as exc:
        raise _reject(400, "malformed", f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except (ValueError, RecursionError) as exc:
        raise _reject(400, "malformed", f"body is not acceptable JSON: {str(exc) or 'nested too deeply'}")


@bp.post("/reports")
def post_report():
    c = ctx()
    with c.ingest_metrics.duration.time():
        identity = _authenticate()
        doc, text = _parse_body()
        problems = validate_report(doc)
        if problems:
            raise _reject(400, "invalid", f"report does not match the schema: {problems[0]}",
                          problems=[{"field": p.field, "message": p.message} for p in problems])
        if identity.ward_code != doc["ward_code"]:
            raise _reject(403, "forbidden", f"field 'ward_code': this token may only file reports for unit "
                                            f"{identity.ward_code}, not {doc['ward_code']}")
        collected = parse_rfc3339(doc["collected_at"])
        if collected > datetime.now(timezone.utc) + timedelta(seconds=c.settings.max_clock_skew_seconds):
            raise _reject(400, "invalid", "field 'collected_at': in the future; check the device's clock")
        try:
            result = c.ingestor.ingest(doc, text)
        except sa.exc.OperationalError:
            # Could not store (locked, full, read-only): say so, and the agent keeps its copy.
            raise _reject(503, "unavailable", "the store cannot accept reports right now; retry later",
                          headers={"Retry-After": "60"})
    c.ingest_metrics.reports.labels(result.status).inc()
    body = {"status": result.status, "report_id": result.report_id, "device_id": result.device_id,
            "verdict": result.verdict}
    return jsonify(body), (201 if result.status == "accepted" else 200)


def _milestones_json(milestones: list[Milestone], today) -> list[dict[str, Any]]:
    return [{"id": m.id, "date": m.date.isoformat(), "title_vi": m.title_vi, "title_en": m.title_en,
             "days_left": m.days_left(today)} for m in milestones]


@bp.get("/wards")
def list_wards():
    c = ctx()
    with c.engine.connect() as conn:
        summaries = queries.ward_summaries(conn, c.registry, c.settings.active_since())
    return jsonify(units=[s.to_dict() for s in summaries], count=len(summaries),
                   milestones=_milestones_json(c.milestones, datetime.now(timezone.utc).date()))


@bp.get("/wards/<code>")
def get_ward(code: str):
    c = ctx()
    if code not in c.registry:
        raise ApiError(404, "not_found", f"no unit with code {code!r} in the registry")
    since = c.settings.active_since()
    with c.engine.connect() as conn:
        summary = next(s for s in queries.ward_summaries(conn, c.registry, since) if s.code == code)
        devices = queries.ward_devices(conn, code, since)
        apps = queries.ward_apps(conn, code, since)
    return jsonify(unit=summary.to_dict(), devices=devices,
                   applications=[{"app_id": a, "devices": n} for a, n in apps.items()])


@bp.get("/openapi.json")
def openapi():
    return Response(json.dumps(openapi_document(), ensure_ascii=False), mimetype="application/json")
