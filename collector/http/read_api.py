"""The JSON read API (``/api/v1``): units, devices, milestones, summary, history, the plan, the OpenAPI document.

The read endpoints serve the values the readiness page renders (``overview``,
through the same cache), so a script and a leader looking at the page see
one set of numbers.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Optional

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request

from collector.context import ctx
from collector.http.errors import ApiError
from collector.http.openapi import openapi_document
from collector.readiness.forecasts import NO_HISTORY, of_unit, series_forecast
from collector.readiness.history import device_changes
from collector.readiness.overview import UnitDetail, UnitRow, unit_detail
from collector.readiness.ranking import BadQuery, RankingQuery
from collector.readiness.workitems import WorkItem
from collector.store import queries
from collector.store.bodies import read_body
from collector.store.tables import devices
from inventory.milestones import Milestone
from inventory.readiness import VERDICTS
from inventory.win11 import win11_eligibility

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _page_args(default_limit: int) -> tuple[int, int]:
    """``limit`` and ``offset`` from the query string, refused with the parameter named when malformed."""
    out = []
    for name, default, low, high in (("limit", default_limit, 1, 1000), ("offset", 0, 0, 10 ** 9)):
        raw = request.args.get(name)
        try:
            value = default if raw is None else int(raw)
        except ValueError:
            raise ApiError(400, "invalid", f"parameter '{name}': {raw!r} is not a whole number") from None
        if not low <= value <= high:
            raise ApiError(400, "invalid", f"parameter '{name}': must be between {low} and {high}")
        out.append(value)
    return out[0], out[1]


def _unit_json(row: UnitRow) -> dict[str, Any]:
    """A unit as /api/v1/wards lists it: the shared summary plus what the page's ranking shows, and who answers
    for the unit (``hdc-collector units import``; null until named)."""
    return {**row.summary.to_dict(), "rag": row.rag, "days_overdue": row.days_overdue,
            "ready_since": row.ready_since.isoformat() if row.ready_since else None,
            "applications": {"migrated": row.migration.migrated, "in_scope": row.migration.in_scope},
            "work_items": dict(row.work), "forecast": (row.forecast or NO_HISTORY).to_dict(),
            "responsible": {"name": row.contact.responsible, "contact": row.contact.contact} if row.contact else None}


def _register_json(d: UnitDetail) -> dict[str, Any]:
    """The unit's named assets that never reported, by name, and the reporting devices its register lacks."""
    return {"missing": [{"device_class": a.device_class, "asset_tag": a.asset_tag, "serial": a.serial,
                         "hostname": a.hostname, "location": a.location, "responsible": a.responsible}
                        for a in d.assets.missing],
            "unregistered": [{"device_id": r.device_id, "hostname": r.hostname, "device_class": r.device_class}
                             for r in d.assets.unregistered]}


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
def list_units():
    try:
        query = RankingQuery.from_args(request.args, strict=True, default_sort="registry")
    except BadQuery as exc:
        raise ApiError(400, "invalid", str(exc)) from exc
    limit, offset = _page_args(1000)
    overview = ctx().overview(request.args.get("milestone"), consistent=True)
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
def get_unit(code: str):
    d = _detail(code)
    return jsonify(unit=_unit_json(d.row), register=_register_json(d),
                   devices=d.devices,
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
def list_unit_devices(code: str):
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
        found = queries.devices_of_unit(conn, code, c.settings.active_since())
    chosen = [d for d in found if (verdict is None or d["verdict"] == verdict)
              and (silent is None or d["silent"] == (silent == "true"))]
    page = chosen[offset:offset + limit]
    return jsonify(devices=page, count=len(page), total=len(chosen), limit=limit, offset=offset)


@bp.get("/devices/<device_id>")
def get_device(device_id: str):
    c = ctx()
    with c.engine.connect() as conn:
        found = conn.execute(sa.select(devices.c.ward_code, devices.c.last_report_id)
                             .where(devices.c.device_id == device_id)).first()
        if found is None:
            raise ApiError(404, "not_found", f"no device with id {device_id!r}")
        ward, report_id = found
        device = next(d for d in queries.devices_of_unit(conn, ward, c.settings.active_since())
                      if d["device_id"] == device_id)
        changes = device_changes(conn, device_id)
        body = read_body(conn, report_id)
    report = json.loads(body) if body else {}
    win11 = win11_eligibility(report)
    return jsonify(device={**device, "ward_code": ward}, history=changes, win11=win11.to_dict(),
                   notes=_notes(report))


def _notes(report: dict) -> list[str]:
    """What the latest report says its source could not read (a denied TPM query, an SNMP device silent since a
    day): why a fact is unknown, for whoever must go and fix it."""
    notes = report.get("notes")
    return [n for n in notes if isinstance(n, str)] if isinstance(notes, list) else []


@bp.get("/wards/<code>/plan")
def get_unit_plan(code: str):
    """The unit's bill of quantities, each device's actions and Windows 11 tally, and its forecast."""
    c = ctx()
    if code not in c.registry:
        raise _unknown_unit(code)
    forecast = of_unit(c.overview(consistent=True).forecasts, code)
    return jsonify({**c.plan().unit(code), "forecast": forecast.to_dict()})


@bp.get("/plan")
def get_city_plan():
    """The city's plan: its total, per action and per unit, with each unit's forecast and the city's."""
    c = ctx()
    overview = c.overview(consistent=True)
    city = c.plan().city()
    for unit in city["units"]:
        unit["forecast"] = of_unit(overview.forecasts, unit["unit_code"]).to_dict()
    return jsonify({**city, "forecast": series_forecast(overview.history.days, overview.history.values).to_dict()})


@bp.get("/milestones")
def list_milestones():
    overview = ctx().overview(consistent=True)
    return jsonify(milestones=_milestones_json(overview.milestones, overview.today, overview.work_by_milestone))


@bp.get("/summary")
def summary():
    o = ctx().overview(consistent=True)
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
        series = ctx().overview(consistent=True).history
    else:
        series = _detail(code).history
    observed = len(series.values["not_ready"])
    return jsonify(ward=code, days=[d.isoformat() for d in series.days[:observed]],
                   verdicts={k: v for k, v in series.values.items()})


@bp.get("/openapi.json")
def openapi():
    return Response(json.dumps(openapi_document(), ensure_ascii=False), mimetype="application/json")
