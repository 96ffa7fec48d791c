"""``POST /api/v1/reports``: our agents' reports, from the body to the commit.

Authenticated by the unit's token (``auth``); the body is read before the
ingest turn is taken (a slow client holds up no one), then parsed,
validated, checked against the token's unit and the clock, judged and
stored by the Ingestor. A report sent without its software list, named by
its digest, has the stored list put back before the turn, unless the
process already knows that list: then ``null`` stands for it and the list is
neither read nor parsed (``bodies.elide``), and if it is needed after all
(``ListNeeded``) the report is taken again with it. Every refusal is counted
in ``hdc_reports_received_total`` by its reason.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from collector.context import Context, ctx
from collector.http.auth import UNIT, identity, note_use_within, requires, use_noted
from collector.http.errors import ApiError, error_response
from collector.ingest.digest import body_with_list
from collector.ingest.encoding import BodyError, request_body
from collector.ingest.ingestor import ACCEPTED, DeviceOfAnotherUnit, IngestResult
from collector.store.bodies import SOFTWARE_HEADER, ListNeeded, SplitBody, elide
from collector.store.bodies import parse as parse_body
from collector.store.engine import STORE_UNAVAILABLE
from collector.store.tokens import TokenIdentity
from inventory.report import parse_rfc3339
from inventory.text import SURROGATE_ESCAPE, unencodable_field

bp = Blueprint("reports", __name__, url_prefix="/api/v1")


@bp.errorhandler(ApiError)
def _refused(exc: ApiError) -> Response:
    if exc.counted:
        ctx().ingest_metrics.reports.labels(exc.reason).inc()
    return error_response(exc)


@bp.before_request
def _start_clock() -> None:
    g.hdc_started = time.perf_counter()


@bp.after_request
def _stop_clock(response: Response) -> Response:
    """Every answer, refusals by ``auth`` included, in ``hdc_ingest_duration_seconds``."""
    ctx().ingest_metrics.duration.observe(time.perf_counter() - g.hdc_started)
    return response


@bp.post("/reports")
@requires(UNIT)
def post_report():
    c = ctx()
    raw, named = _read_body(c)
    body, elided = _with_list(c, raw, named, may_elide=True)
    try:
        with c.ingest_turn:
            result, software_sha256 = _judge_and_store(c, identity(), body, elided)
    except ListNeeded:
        body, _ = _with_list(c, raw, named, may_elide=False)
        with c.ingest_turn:
            result, software_sha256 = _judge_and_store(c, identity(), body, None)
    if result.status == ACCEPTED:  # committed, with the token's last use (``_judge_and_store``)
        use_noted()
    c.ingest_metrics.reports.labels(result.status).inc()
    # software_sha256: the digest of the list this collector now holds, which the agent may send instead of it.
    body = {"status": result.status, "report_id": result.report_id, "device_id": result.device_id,
            "verdict": result.verdict, "software_sha256": software_sha256}
    return jsonify(body), (201 if result.status == "accepted" else 200)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _read_body(c: Context) -> tuple[bytes, Optional[str]]:
    """The body as sent (inflated, within the unit's budget) and the software list digest its header names."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Type must be application/json, not {request.mimetype or 'missing'}")
    try:
        raw = request.get_data(cache=False)
        raw = request_body(raw, request.headers.get("Content-Encoding"), c.settings.max_report_bytes)
        refusal = c.unit_budget.charge(identity().ward_code or "", len(raw))
        if refusal is not None:
            raise ApiError(429, "over_budget", refusal.message, headers=refusal.headers)
        return raw, request.headers.get(SOFTWARE_HEADER)
    except RequestEntityTooLarge:
        raise ApiError(413, "too_large", f"report larger than {c.settings.max_report_bytes} bytes") from None
    except BodyError as exc:
        raise ApiError(exc.status, exc.reason, exc.message, headers=exc.headers) from None


def _with_list(c: Context, raw: bytes, named: Optional[str], may_elide: bool) -> tuple[bytes, Optional[str]]:
    """The body to parse (``digest.body_with_list``): with ``null`` standing for a list the Ingestor knows only
    when ``may_elide``."""
    try:
        return body_with_list(c.engine, raw, named, c.ingestor.knows_list if may_elide else _unknown)
    except BodyError as exc:
        raise ApiError(exc.status, exc.reason, exc.message, headers=exc.headers) from None


def _unknown(digest: str) -> bool:
    return False


def _parse_body(raw: bytes) -> tuple[Any, str, SplitBody]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed", f"body is not UTF-8 (byte {exc.start})") from None
    try:
        doc, body = parse_body(text, parse_constant=_reject_constant)
        return doc, text, body
    except json.JSONDecodeError as exc:
        raise ApiError(400, "malformed", f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") \
            from None
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "malformed", f"body is not acceptable JSON: {str(exc) or 'nested too deeply'}") from None


def _judge_and_store(c: Context, token: TokenIdentity, raw: bytes, elided: Optional[str]
                     ) -> tuple[IngestResult, Optional[str]]:
    doc, text, body = _parse_body(raw)
    if elided is not None:
        body = elide(body, elided)
    if SURROGATE_ESCAPE.search(text):
        field = unencodable_field(doc)
        if field:
            message = "holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text; send the value as UTF-8"
            raise ApiError(400, "invalid", f"field {field[:200]!r}: {message}",
                           problems=[{"field": field[:200], "message": message}])
    problems = c.validator.problems(doc, body)
    if problems:
        raise ApiError(400, "invalid", f"report does not match the schema: {problems[0]}",
                       problems=[{"field": p.field, "message": p.message} for p in problems])
    if token.ward_code != doc["ward_code"]:
        raise ApiError(403, "forbidden", f"field 'ward_code': this token may only file reports for unit "
                                         f"{token.ward_code}, not {doc['ward_code']}")
    collected = parse_rfc3339(doc["collected_at"])
    if collected > datetime.now(timezone.utc) + timedelta(seconds=c.settings.max_clock_skew_seconds):
        raise ApiError(400, "invalid", "field 'collected_at': in the future; check the device's clock")
    try:
        # The token's last use goes into the report's own transaction: a second write transaction (the lock
        # queue, BEGIN IMMEDIATE, a commit) cost 0.85 ms at machine 27 ms, paid whenever the last use was a minute old.
        return c.ingestor.ingest(doc, text, body, unit_scope=token.ward_code, also=note_use_within), body.sha256
    except DeviceOfAnotherUnit as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except STORE_UNAVAILABLE:
        # Could not store (locked, full, read-only): say so, and the agent keeps its copy.
        raise ApiError(503, "unavailable", "the store cannot accept reports right now; retry later",
                       headers={"Retry-After": "60"}) from None
