"""For the machines that watch the collector: ``/metrics`` for Prometheus and ``/healthz`` for probes."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify

from collector import __version__
from collector.context import ctx
from collector.http.auth import open_route
from collector.metrics.exposition import CONTENT_TYPE
from collector.metrics.exposition import render as render_metrics

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@open_route
def healthz():
    try:
        with ctx().engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return jsonify(status="unavailable", store="unreachable"), 503
    return jsonify(status="ok", version=__version__)


@bp.get("/metrics")
def metrics():
    return Response(render_metrics(ctx().metrics_registry), content_type=CONTENT_TYPE)
