"""The Flask application factory: one collector, its store and its domain data."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Optional

from flask import Flask, current_app, jsonify
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException

from inventory.baseline import Baseline, load_baseline
from inventory.catalog import Catalog, load_catalog
from inventory.lifecycle import load_lifecycle
from inventory.milestones import Milestone, load_milestones
from inventory.registry import Registry, load_registry

from .ingest import Ingestor
from .metrics import IngestMetrics, StoreCollector, build_registry
from .settings import Settings
from .validation import ReportValidator
from .store.engine import make_engine, migrate
from .store.wards import sync_wards


@dataclass(frozen=True)
class Context:
    """Everything a request handler needs, built once at start-up."""

    settings: Settings
    engine: Engine
    registry: Registry
    baseline: Baseline
    catalog: Catalog
    milestones: list[Milestone]
    ingestor: Ingestor
    metrics_registry: CollectorRegistry
    ingest_metrics: IngestMetrics
    validator: ReportValidator = field(default_factory=ReportValidator)
    # Held from parsing a received report to its commit: one report at a time per process (the GIL runs one
    # thread's Python anyway), so the thread holding the store's write lock does not take turns at the GIL
    # with threads parsing other reports (a few per cent more reports/s, README); processes (``serve
    # --workers``) are what work on several cores at once. Bodies are read before it is taken, so a slow
    # client holds up no one.
    ingest_turn: threading.Lock = field(default_factory=threading.Lock)


def ctx() -> Context:
    return current_app.extensions["hdc"]


def build_context(settings: Settings, engine: Optional[Engine] = None) -> Context:
    """Load domain data and open (and migrate) the store; errors here stop start-up with a clear message."""
    registry = load_registry(settings.registry_path)
    baseline = load_baseline(settings.baseline_path)
    catalog = load_catalog(settings.catalog_path)
    milestones = load_milestones(settings.milestones_path)
    engine = engine or make_engine(settings.resolved_db_url())
    migrate(engine)
    with engine.begin() as conn:
        sync_wards(conn, registry)
    ingestor = Ingestor(engine, baseline, catalog, load_lifecycle())
    metrics_registry, ingest_metrics = build_registry(
        StoreCollector(engine, registry, baseline, milestones, settings, catalog))
    return Context(settings, engine, registry, baseline, catalog, milestones, ingestor,
                   metrics_registry, ingest_metrics)


def create_app(settings: Optional[Settings] = None, context: Optional[Context] = None) -> Flask:
    from . import admin, api, foreign, login, migration_api, security_headers, web
    from .ratelimit import IngestLimiter

    settings = settings or (context.settings if context else Settings())
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=settings.max_report_bytes, JSON_SORT_KEYS=False)
    app.json.ensure_ascii = False
    app.extensions["hdc"] = context or build_context(settings)
    app.register_blueprint(api.bp)
    app.register_blueprint(web.bp)
    app.register_blueprint(foreign.bp)
    app.register_blueprint(migration_api.bp)
    app.register_blueprint(admin.bp)
    app.extensions["hdc.ratelimit"] = IngestLimiter(settings.rate_limits)
    security_headers.install(app)
    login.install(app, settings.login)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # JSON for every error, so agents and scripts never parse an HTML page.
        response = jsonify(error=exc.name, message=exc.description, status=exc.code)
        response.status_code = exc.code or 500
        for header in ("Retry-After", "WWW-Authenticate", "Allow"):
            if exc.get_response().headers.get(header):
                response.headers[header] = exc.get_response().headers[header]
        return response

    return app
