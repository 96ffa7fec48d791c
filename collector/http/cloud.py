"""The cloud-migration JSON API: per unit and per application with history, and declarations.

Reads come from ``cloud.queries.unit_migrations``, the same call the
page, the exports and /metrics make. Declarations change the store, so they
need an admin token (a ward token speaks for one unit's machines, not for the
city's migration register) and go through the same checks as the command
line and the sheet import: all or nothing, with a message per refused item.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, Optional

from flask import Blueprint, jsonify, request

from collector.cloud import queries as mq
from collector.context import ctx
from collector.http.auth import ADMIN, identity, requires
from collector.http.errors import ApiError
from collector.i18n import HANOI
from collector.store.tokens import TokenIdentity
from inventory.migration import AppMigration, Declaration, Observation, UnitMigration
from inventory.text import unencodable_field

bp = Blueprint("cloud", __name__, url_prefix="/api/v1")
_FIELDS = {"ward_code", "app_id", "state", "date", "note", "reference", "declared_by"}


# --------------------------------------------------------------------------- JSON shapes

def _moment(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value else None


def declaration_json(d: Declaration) -> dict[str, Any]:
    return {"state": d.state, "date": d.effective_on.isoformat(), "declared_by": d.declared_by,
            "declared_at": d.declared_at.isoformat(), "note": d.note, "reference": d.reference, "source": d.source}


def observation_json(o: Observation) -> dict[str, Any]:
    return {"state": o.state, "installed_devices": o.installed_devices, "endpoint": o.endpoint,
            "observed_at": o.observed_at.isoformat()}


def app_json(a: AppMigration) -> dict[str, Any]:
    return {
        "app_id": a.app.id, "name_vi": a.app.name_vi, "name_en": a.app.name_en, "target": a.app.target,
        "state": a.state, "source": a.source, "since": _moment(a.since), "inferred_state": a.inferred,
        "in_use": a.in_use, "migrated": a.migrated,
        "evidence": {"installed_devices": a.evidence.installed_devices,
                     "ever_installed": a.evidence.ever_installed, "endpoint": a.evidence.endpoint},
        "declared": declaration_json(a.declared) if a.declared else None,
        "contradictions": [{"code": c.code, "since": _moment(c.since), "devices": c.devices}
                           for c in a.contradictions],
        "history": {"declarations": [declaration_json(d) for d in a.declarations],
                    "observations": [observation_json(o) for o in a.observations]},
    }


def unit_json(u: UnitMigration) -> dict[str, Any]:
    return {"ward_code": u.ward_code, "migrated": u.migrated, "in_use": u.in_use, "by_state": dict(u.by_state),
            "sprawl": {"local_apps": u.sprawl.local_apps, "target": u.sprawl.target, "over": u.sprawl.over},
            "contradictions": u.contradictions, "applications": [app_json(a) for a in u.apps]}


# --------------------------------------------------------------------------- reads

def _units(ward_code: Optional[str] = None) -> dict[str, UnitMigration]:
    c = ctx()
    now = datetime.now(timezone.utc)
    with c.engine.connect() as conn:
        return mq.unit_migrations(conn, c.catalog, c.registry, now, c.settings.active_since(now), ward_code)


@bp.get("/wards/<code>/applications")
def unit_applications(code: str):
    if code not in ctx().registry:
        raise ApiError(404, "not_found", f"no unit with code {code!r} in the registry")
    return jsonify(unit_json(_units(code)[code]))


@bp.get("/applications/<app_id>")
def application(app_id: str):
    app = ctx().catalog.get(app_id)
    if app is None:
        raise ApiError(404, "not_found", f"no application {app_id!r} in the catalog")
    units = _units()
    rows = [{"ward_code": code, **app_json(u.app(app_id))} for code, u in units.items()]
    by_state: dict[str, int] = {}
    for r in rows:
        by_state[r["state"]] = by_state.get(r["state"], 0) + 1
    return jsonify(app_id=app.id, name_vi=app.name_vi, name_en=app.name_en, target=app.target,
                   migrated=sum(r["migrated"] for r in rows), in_use=sum(r["in_use"] for r in rows),
                   by_state=by_state, units=rows)


# --------------------------------------------------------------------------- declarations

def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise ApiError(400, "malformed", "body must be JSON (Content-Type: application/json)")
    try:
        body = json.loads(request.get_data(cache=False).decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ApiError(400, "malformed", f"body is not JSON: {str(exc)[:200] or 'nested too deeply'}") from None
    field = unencodable_field(body)
    if field:
        raise ApiError(400, "invalid", f"field {field[:200]!r}: holds a lone UTF-16 surrogate, which is not text")
    return body


def _proposal(item: Any, who: TokenIdentity, today: date) -> tuple[Optional[mq.Proposed], Optional[str]]:
    """One declaration from JSON, or the reason it is malformed (naming the field)."""
    if not isinstance(item, dict):
        return None, "must be an object"
    unknown = sorted(set(item) - _FIELDS)
    if unknown:
        return None, f"unknown field {unknown[0]!r}"
    for name in ("ward_code", "app_id", "state", "declared_by"):
        if not isinstance(item.get(name), str) or not item[name].strip():
            return None, f"field {name!r}: required, a non-empty string"
    for name in ("note", "reference", "date"):
        if item.get(name) is not None and not isinstance(item[name], str):
            return None, f"field {name!r}: must be a string"
    try:
        when = date.fromisoformat(item["date"]) if item.get("date") else today
    except ValueError:
        return None, f"field 'date': {item['date']!r} is not a date (YYYY-MM-DD)"
    by = f"{item['declared_by'].strip()} (token {who.token_id})"
    return mq.Proposed(item["ward_code"], item["app_id"], item["state"], when, by,
                       item.get("note") or None, item.get("reference") or None), None


@bp.post("/migration/declarations")
@requires(ADMIN)
def declare():
    """One declaration (an object) or several (``{"declarations": [...]}``), stored all or none."""
    who = identity()
    body = _json_body()
    items = body.get("declarations") if isinstance(body, dict) and "declarations" in body else [body]
    if not isinstance(items, list) or not items:
        raise ApiError(400, "invalid", "field 'declarations': must be a non-empty list")
    c = ctx()
    now = datetime.now(timezone.utc)
    today = now.astimezone(HANOI).date()
    proposals, problems = [], []
    for i, item in enumerate(items):
        p, error = _proposal(item, who, today)
        if error:
            problems.append({"index": i, "message": error})
        proposals.append(p)
    if problems:
        raise ApiError(400, "invalid", f"declaration {problems[0]['index']}: {problems[0]['message']}",
                                problems)
    checked = mq.apply(c.engine, c.catalog, c.registry, proposals, "api", now, c.settings.active_since(now), today)
    refused = [{"index": i, "ward_code": k.proposed.ward_code, "app_id": k.proposed.app_id, "message": k.error}
               for i, k in enumerate(checked) if k.error]
    if refused:
        raise ApiError(422, "refused", f"declaration {refused[0]['index']}: {refused[0]['message']}; "
                                                "nothing was stored", refused)
    return jsonify(stored=len(checked), declarations=[
        {"ward_code": k.proposed.ward_code, "app_id": k.proposed.app_id, "from": k.current,
         "to": k.proposed.state, "date": k.proposed.effective_on.isoformat()} for k in checked]), 201
