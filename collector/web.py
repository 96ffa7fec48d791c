"""The readiness page, /metrics and /healthz."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, render_template
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from inventory.readiness import UNIT_STATUSES

from . import __version__, queries
from .app import ctx

bp = Blueprint("web", __name__)
HANOI = timezone(timedelta(hours=7))


@bp.get("/healthz")
def healthz():
    try:
        with ctx().engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return jsonify(status="unavailable", store="unreachable"), 503
    return jsonify(status="ok", version=__version__)


@bp.get("/metrics")
def metrics():
    return Response(generate_latest(ctx().metrics_registry), mimetype=CONTENT_TYPE_LATEST)


@bp.get("/")
def index():
    c = ctx()
    today = datetime.now(HANOI).date()
    since = c.settings.active_since()
    with c.engine.connect() as conn:
        summaries = queries.ward_summaries(conn, c.registry, since)
        top = queries.top_failures(conn, since, limit=8)
    totals = dict.fromkeys(UNIT_STATUSES, 0)
    for s in summaries:
        totals[s.status] += 1
    devices = sum(s.devices for s in summaries)
    passing = sum(s.counts["ready"] + s.counts["ready_with_conditions"] for s in summaries)
    titles = {r.id: r for r in c.baseline.all_rules()}
    return render_template(
        "index.html", summaries=summaries, totals=totals, devices=devices, passing=passing,
        top=[(rule, titles.get(rule), n) for rule, n in top], milestones=c.milestones, today=today,
        silent=sum(s.silent for s in summaries), stale_days=c.settings.stale_after_days,
        version=__version__)


@bp.app_template_filter("vn_number")
def vn_number(value: float, digits: int = 0) -> str:
    """Vietnamese separators: 1.234.567,8."""
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


@bp.app_template_filter("vn_date")
def vn_date(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(HANOI)
        return value.strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")
