"""Management over HTTP (``/api/v1/admin``): tokens and the audit log, for admin tokens only.

The same operations as ``hdc-collector token ...``, for operators who have
no shell on the collector's host. A ward token is refused with 403, a
missing or invalid one with 401. Each change is audited with the admin
token's id as the actor. New secrets appear once, in the answer to create
or rotate, which is marked ``Cache-Control: no-store`` like every answer here.
"""
from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

from flask import Blueprint, Response, jsonify, request

from collector.cloud.sheet import SheetError
from collector.context import ctx
from collector.http.auth import ADMIN, identity, requires
from collector.http.errors import ApiError
from collector.register.importer import import_sheet
from collector.store import audit
from collector.store.engine import write_transaction
from collector.store.tokens import ADMIN as ADMIN_KIND
from collector.store.tokens import (
    DEFAULT_GRACE,
    KINDS,
    MAX_LABEL,
    WARD,
    TokenError,
    TokenNotFound,
    create_token,
    get_token,
    list_tokens,
    revoke_token,
    rotate_token,
)

bp = Blueprint("admin", __name__, url_prefix="/api/v1/admin")

MAX_GRACE_DAYS = 365
_CREATE_FIELDS = {"kind", "ward_code", "label"}
_ROTATE_FIELDS = {"grace_days"}


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _body(allowed: set[str], required: bool) -> dict[str, Any]:
    raw = request.get_data(cache=False)
    if not raw.strip():
        if required:
            raise ApiError(400, "malformed", "a JSON object is required")
        return {}
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type",
                         f"Content-Type must be application/json, not {request.mimetype or 'missing'}")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ApiError(400, "malformed", f"body is not JSON: {str(exc)[:200] or 'nested too deeply'}") from None
    if not isinstance(doc, dict):
        raise ApiError(400, "malformed", "body must be a JSON object")
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise ApiError(400, "invalid", f"field {unknown[0][:40]!r} is not known; "
                                         f"expected: {', '.join(sorted(allowed)) or 'no body'}")
    return doc


def _optional_string(doc: dict[str, Any], name: str, limit: int) -> Optional[str]:
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "invalid", f"field '{name}': must be a string")
    if len(value) > limit:
        raise ApiError(400, "invalid", f"field '{name}': at most {limit} characters")
    return value


@bp.get("/tokens")
@requires(ADMIN)
def tokens_list():
    ward = request.args.get("ward")
    if ward is not None and ward not in ctx().registry:
        raise ApiError(400, "invalid", f"parameter 'ward': {ward[:20]!r} is not a unit code")
    with ctx().engine.connect() as conn:
        found = list_tokens(conn, ward)
    return jsonify(tokens=[t.to_dict() for t in found], count=len(found))


@bp.post("/tokens")
@requires(ADMIN)
def tokens_create():
    admin = identity()
    doc = _body(_CREATE_FIELDS, required=True)
    kind = doc.get("kind", WARD)
    if kind not in KINDS:
        raise ApiError(400, "invalid", f"field 'kind': must be one of {', '.join(KINDS)}")
    ward = _optional_string(doc, "ward_code", 16)
    label = _optional_string(doc, "label", MAX_LABEL)
    if kind == WARD and (ward is None or ward not in ctx().registry):
        raise ApiError(400, "invalid", "field 'ward_code': a ward token needs a unit code of the registry"
                                         + (f"; {ward!r} is not one" if ward is not None else ""))
    if kind == ADMIN_KIND and ward is not None:
        raise ApiError(400, "invalid", "field 'ward_code': an admin token belongs to no unit; leave it out")
    try:
        with write_transaction(ctx().engine) as conn:
            secret = create_token(conn, ward, label, kind, actor=audit.token_actor(admin.token_id))
            info = get_token(conn, secret.split("_", 2)[1])
    except TokenError as exc:
        raise ApiError(400, "invalid", str(exc)) from None  # the message names the field
    return jsonify(token=secret, **info.to_dict()), 201


@bp.post("/tokens/<token_id>/rotate")
@requires(ADMIN)
def tokens_rotate(token_id: str):
    admin = identity()
    doc = _body(_ROTATE_FIELDS, required=False)
    grace_days = doc.get("grace_days", DEFAULT_GRACE.days)
    if isinstance(grace_days, bool) or not isinstance(grace_days, (int, float)) \
            or not 0 <= grace_days <= MAX_GRACE_DAYS:
        raise ApiError(400, "invalid", f"field 'grace_days': a number of days from 0 to {MAX_GRACE_DAYS}")
    try:
        with write_transaction(ctx().engine) as conn:
            rotation = rotate_token(conn, token_id, timedelta(days=grace_days),
                                    actor=audit.token_actor(admin.token_id))
            info = get_token(conn, rotation.token_id)
    except TokenNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except TokenError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return jsonify(token=rotation.token, **info.to_dict(), old_expires_at=rotation.old_expires_at.isoformat()), 201


@bp.post("/tokens/<token_id>/revoke")
@requires(ADMIN)
def tokens_revoke(token_id: str):
    admin = identity()
    _body(set(), required=False)
    try:
        with write_transaction(ctx().engine) as conn:
            info = revoke_token(conn, token_id, actor=audit.token_actor(admin.token_id))
    except TokenNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except TokenError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return jsonify(info.to_dict())


@bp.get("/audit")
@requires(ADMIN)
def audit_list():
    limit, offset = _int_arg("limit", 100, 1, 1000), _int_arg("offset", 0, 0, 10 ** 9)
    with ctx().engine.connect() as conn:
        found = audit.entries(conn, limit, offset)
    return jsonify(entries=[e.to_dict() for e in found], count=len(found), limit=limit, offset=offset)


# What a register sheet is sent as: the bytes of the file, typed by Content-Type (a file name would be a guess).
SHEET_TYPES = {"text/csv": ".csv",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx"}


@bp.post("/register")
@requires(ADMIN)
def register_import():
    """A register sheet (CSV or XLSX, the body itself), checked whole and stored or refused with every bad row;
    ``?dry_run=true`` only says what would change. The same import as ``hdc-collector register import``."""
    suffix = SHEET_TYPES.get(request.mimetype)
    if suffix is None:
        raise ApiError(415, "unsupported", f"Content-Type {request.mimetype or '(none)'!r}: send the sheet as "
                                           f"{' or '.join(SHEET_TYPES)}")
    c = ctx()
    body = request.get_data(cache=False)
    if len(body) > c.settings.max_report_bytes:
        raise ApiError(413, "too_large", f"the sheet is larger than {c.settings.max_report_bytes} bytes")
    dry_run = request.args.get("dry_run", "false") == "true"
    reason = (request.args.get("reason") or "import over the API").strip()[:1000]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"register{suffix}"
        path.write_bytes(body)
        try:
            done = import_sheet(c.engine, c.registry, path, f"token:{identity().token_id}", reason,
                                datetime.now(timezone.utc), dry_run)
        except SheetError as exc:
            raise ApiError(400, "invalid", str(exc).replace(str(path), path.name)) from None
    if done.errors:
        raise ApiError(422, "refused", f"{len(done.errors)} bad row(s); nothing was changed",
                       [{"message": e} for e in done.errors])
    return jsonify(stored=done.stored, units=done.units, changes=[
        {"ward_code": ch.unit_code, "item": ch.item, "before": ch.before, "after": ch.after} for ch in done.changes])


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "invalid", f"parameter '{name}': {raw[:20]!r} is not a whole number") from None
    if not low <= value <= high:
        raise ApiError(400, "invalid", f"parameter '{name}': must be between {low} and {high}")
    return value
