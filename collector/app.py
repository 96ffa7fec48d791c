"""The Flask application factory: one collector, its context, its blueprints and its JSON errors."""
from __future__ import annotations

from typing import Optional

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from collector.context import Context, build_context
from collector.http import admin, cloud, foreign, login, okr, ops, page, read_api, reports, security_headers
from collector.http.auth import note_success
from collector.http.errors import ApiError, error_response, http_error_response
from collector.settings import Settings
from collector.store.engine import STORE_UNAVAILABLE
from inventory.plan import PlanError

BLUEPRINTS = (reports.bp, read_api.bp, page.bp, ops.bp, foreign.bp, cloud.bp, admin.bp, okr.bp)


def create_app(settings: Optional[Settings] = None, context: Optional[Context] = None) -> Flask:
    """An app serving ``context`` (built from ``settings`` when not given); starts no thread."""
    settings = settings or (context.settings if context else Settings())
    settings.login.check()
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=settings.max_report_bytes, JSON_SORT_KEYS=False)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["hdc"] = context or build_context(settings)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_error_handler(ApiError, error_response)
    app.register_error_handler(HTTPException, http_error_response)
    for unavailable in STORE_UNAVAILABLE:
        app.register_error_handler(unavailable, _store_unavailable)
    app.register_error_handler(PlanError, _price_list_gap)
    app.after_request(note_success)
    security_headers.install(app)
    login.install(app, settings.login)
    return app


def _price_list_gap(exc: PlanError) -> Response:
    """A price list with no line in force today for an item the actions use (a line expired since the start):
    a 503 naming the item, never a 500; the page and API plan again once the list is replaced."""
    return error_response(ApiError(503, "price_list_incomplete", str(exc)))


def _store_unavailable(_exc: Exception) -> Response:
    """A store that cannot be reached is a 503 the client can retry, never a 500."""
    return error_response(ApiError(503, "unavailable", "the store cannot be reached right now; retry later",
                                   headers={"Retry-After": "60"}))
