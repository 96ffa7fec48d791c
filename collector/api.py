"""The JSON API: report ingest and the read endpoints (``/api/v1``).

The read endpoints serve the values the readiness page renders (``overview``,
through the same cache), so a script and a leader looking at the page see
one set of numbers.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from inventory.milestones import Milestone
from inventory.readiness import VERDICTS
from inventory.report import parse_rfc3339

from . import queries
from .app import Context, ctx
from .compression import BodyError, request_body
from .history import device_changes
from .ingest import IngestResult
from .openapi import openapi_document
from .overview import UnitDetail, UnitRow, unit_detail
from .ranking import BadQuery, RankingQuery
from .ratelimit import Refusal, current_limiter
from .store.bodies import SOFTWARE_HEADER, SplitBody, with_software_list
from .store.bodies import parse as parse_body
from .store.engine import ONE_READ, STORE_UNAVAILABLE
from .store.tables import devices
from .store.tokens import TokenIdentity, note_use, verify_token
from .web import current_overview
from .workitems import WorkItem

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


def _throttle(refusal: Optional[Refusal]) -> None:
    if refusal is not None:
        raise _reject(429, "rate_limited", refusal.message, headers=refusal.headers)


def _authenticate() -> TokenIdentity:
    _throttle(current_limiter().check_address(request.remote_addr))
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _reject(401, "unauthenticated", "missing Authorization: Bearer <ward token>",
                      headers={"WWW-Authenticate": 'Bearer realm="hdc-readiness"'})
    with ctx().engine.connect().execution_options(**ONE_READ) as conn:
        identity = verify_token(conn, token.strip())
    if identity is None:
        raise _reject(401, "unauthenticated", "the token is not valid (unknown, revoked, expired or mistyped)",
                      headers={"WWW-Authenticate": 'Bearer realm="hdc-readiness", error="invalid_token"'})
    _throttle(current_limiter().check_token(identity.token_id))
    return identity


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _read_body() -> bytes:
    if request.mimetype != "application/json":
        raise _reject(415, "unsupported_media_type",
                      f"Content-Type must be application/json, not {request.mimetype or 'missing'}")
    try:
        raw = request.get_data(cache=False)
        raw = request_body(raw, request.headers.get("Content-Encoding"), ctx().settings.max_report_bytes)
        return with_software_list(ctx().engine, raw, request.headers.get(SOFTWARE_HEADER))
    except RequestEntityTooLarge:
        raise _reject(413, "too_large", f"report larger than {ctx().settings.max_report_bytes} bytes")
    except BodyError as exc:
        raise _reject(exc.status, exc.reason, exc.message, headers=exc.headers)


def _parse_body(raw: bytes) -> tuple[Any, str, SplitBody]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _reject(400, "malformed", f"body is not UTF-8 (byte {exc.start})")
    try:
        doc, body = parse_body(text, parse_constant=_reject_constant)
        return doc, text, body
    except json.JSONDecodeError as exc:
        raise _reject(400, "malformed", f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except (ValueError, RecursionError) as exc:
        raise _reject(400, "malformed", f"body is not acceptable JSON: {str(exc) or 'nested too deeply'}")


@bp.post("/reports")
def post_report():
    c = ctx()
    with c.ingest_metrics.duration.time():
        identity = _authenticate()
        raw = _read_body()
        with c.ingest_turn:
            result, software_sha256 = _judge_and_store(c, identity, raw)
    c.ingest_metrics.reports.labels(result.status).inc()
    # Only now: a refused request leaves the store exactly as it was, "last used" included.
    note_use(c.engine, identity)
    body = {"status": result.status, "report_id": result.report_id, "device_id": result.device_id,
            "verdict": result.verdict, "software_sha256": software_sha256}
    return jsonify(body), (201 if result.status == "accepted" else 200)


def _judge_and_store(c: Context, identity: TokenIdentity, raw: bytes) -> tuple[IngestResult, Optional[str]]:
    doc, text, body = _parse_body(raw)
    problems = c.validator.problems(doc, body)
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
        return c.ingestor.ingest(doc, text, body), body.sha256
    except STORE_UNAVAILABLE:
        # Could not store (locked, full, read-only): say so, and the agent keeps its copy.
        raise _reject(503, "unavailable", "the store cannot accept reports right now; retry later",
                      headers={"Retry-After": "60"})


def _page_args(default_limit: int) -> tuple[int, int]:
    """``limit`` and ``offset`` from the query string, refused with the parameter named when malformed."""
    out = []
    for name, default, low, high in (("limit", default_limit, 1, 1000), ("offset", 0, 0, 10 ** 9)):
        raw = request.args.get(name)
        try:
            value = default if raw is None else int(raw)
        except ValueError:
            raise ApiError(400, "invalid", f"parameter '{name}': {raw!r} is not a whole number")
        if not low <= value <= high:
            raise ApiError(400, "invalid", f"parameter '{name}': must be between {low} and {high}")
        out.append(value)
    return out[0], out[1]


def _unit_json(row: UnitRow) -> dict[str, Any]:
    """A unit as /api/v1/wards lists it: the shared summary plus what the page's ranking shows."""
    return {**row.summary.to_dict(), "rag": row.rag,
            "applications": {"migrated": row.migration.migrated, "in_scope": row.migration.in_scope},
            "work_items": dict(row.work)}


def _milestones_json(milestones: list[Milestone], today, work: Optional[dict] = None) -> list[dict[str, Any]]:
    out = []
    for m in milestones:
        item = {"id": m.id, "date": m.date.isoformat(), "title_vi": m.title_vi, "title_en": m.title_en,
                "days_left": m.days_left(today)}
        if work is not None:
            item["work_items"] = work[m.id]
        out.append(item)
    return out


def _unknown_unit(code: str) -> ApiError:
    return ApiError(404, "not_found", f"no unit with code {code!r} in the registry")


@bp.get("/wards")
def list_wards():
    try:
        query = RankingQuery.from_args(request.args, strict=True, default_sort="registry")
    except BadQuery as exc:
        raise ApiError(400, "invalid", str(exc))
    limit, offset = _page_args(1000)
    overview = current_overview(request.args.get("milestone"), consistent=True)
    rows = query.apply(overview.rows)
    page = rows[offset:offset + limit]
    return jsonify(units=[_unit_json(r) for r in page], count=len(page), total=len(rows), limit=limit,
                   offset=offset, work_items_milestone=overview.work_milestone.id,
                   milestones=_milestones_json(overview.milestones, overview.today))


def _detail(code: str) -> UnitDetail:
    if code not in ctx().registry:
        raise _unknown_unit(code)
    return unit_detail(ctx(), code, datetime.now(timezone.utc), request.args.get("milestone"))


@bp.get("/wards/<code>")
def get_ward(code: str):
    d = _detail(code)
    return jsonify(unit=_unit_json(d.row), devices=d.devices,
                   applications=[{"app_id": a.app.id, "devices": a.evidence.installed_devices,
                                  "name_vi": a.app.name_vi, "name_en": a.app.name_en, "target": a.app.target,
                                  "state": a.state, "source": a.source,
                                  "contradictions": [c.code for c in a.contradictions]}
                                 for a in d.migration.apps],
                   reachability=[{"target": t, "reachable": r.reached, "checked": r.checked,
                                  "connect_ms": r.connect_ms, "failed_steps": r.failed_steps}
                                 for t, r in d.reachability],
                   work_items={"milestone": d.work_milestone.id, "by_milestone": d.work_by_milestone,
                               "items": [_item_json(i) for i in d.work_items]})


def _item_json(item: WorkItem) -> dict[str, Any]:
    return {"device_id": item.device_id, "hostname": item.hostname, "state": item.state,
            "opened_at": item.opened_at.isoformat(),
            "done_at": item.done_at.isoformat() if item.done_at else None, "done_by": item.done_by}


@bp.get("/wards/<code>/devices")
def list_ward_devices(code: str):
    c = ctx()
    if code not in c.registry:
        raise _unknown_unit(code)
    verdict, silent = request.args.get("verdict"), request.args.get("silent")
    if verdict is not None and verdict not in VERDICTS:
        raise ApiError(400, "invalid", f"parameter 'verdict': {verdict!r} is not one of {', '.join(VERDICTS)}")
    if silent not in (None, "true", "false"):
        raise ApiError(400, "invalid", "parameter 'silent': must be true or false")
    limit, offset = _page_args(100)
    with c.engine.connect() as conn:
        found = queries.ward_devices(conn, code, c.settings.active_since())
    chosen = [d for d in found if (verdict is None or d["verdict"] == verdict)
              and (silent is None or d["silent"] == (silent == "true"))]
    page = chosen[offset:offset + limit]
    return jsonify(devices=page, count=len(page), total=len(chosen), limit=limit, offset=offset)


@bp.get("/devices/<device_id>")
def get_device(device_id: str):
    c = ctx()
    with c.engine.connect() as conn:
        ward = conn.execute(sa.select(devices.c.ward_code).where(devices.c.device_id == device_id)).scalar()
        if ward is None:
            raise ApiError(404, "not_found", f"no device with id {device_id!r}")
        device = next(d for d in queries.ward_devices(conn, ward, c.settings.active_since())
                      if d["device_id"] == device_id)
        changes = device_changes(conn, device_id)
    return jsonify(device={**device, "ward_code": ward}, history=changes)


@bp.get("/milestones")
def list_milestones():
    overview = current_overview(consistent=True)
    return jsonify(milestones=_milestones_json(overview.milestones, overview.today, overview.work_by_milestone))


@bp.get("/summary")
def summary():
    o = current_overview(consistent=True)
    return jsonify(
        as_of=o.now.isoformat(),
        units={"total": len(o.rows), "by_status": o.units_by_status},
        devices={"total": o.devices, "passing": o.passing, "silent": o.silent},
        applications={"migrated": o.migration.migrated, "in_scope": o.migration.in_scope},
        top_failures=[{"rule_id": rule_id, "title_vi": rule.title_vi if rule else None,
                       "title_en": rule.title_en if rule else None, "severity": rule.severity if rule else None,
                       "devices": n} for rule_id, rule, n in o.top],
        milestones=_milestones_json(o.milestones, o.today, o.work_by_milestone))


@bp.get("/history")
def history():
    """The daily series the page's charts draw: the city's, or one unit's with ``ward``."""
    code = request.args.get("ward")
    if code is None:
        series = current_overview(consistent=True).history
    else:
        series = _detail(code).history
    observed = len(series.values["not_ready"])
    return jsonify(ward=code, days=[d.isoformat() for d in series.days[:observed]],
                   verdicts={k: v for k, v in series.values.items()})


@bp.get("/openapi.json")
def openapi():
    return Response(json.dumps(openapi_document(), ensure_ascii=False), mimetype="application/json")
