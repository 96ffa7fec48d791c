"""The one object requests and background work use: the store, the domain data and this process's shared state.

Built once by ``build_context`` when a collector starts (or a test makes
one), kept by the app under ``app.extensions["hdc"]`` and read by every
blueprint through ``ctx()``. Blueprints import this module, never the app
factory. Nothing here starts a thread: ``start_background`` is called by
``serve`` and ``demo`` only, so an app made for a test or a script leaves
nothing running.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from flask import current_app
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from collector.cloud.observer import Observer
from collector.i18n import HANOI
from collector.ingest.ingestor import Ingestor
from collector.ingest.ratelimit import IngestLimiter
from collector.ingest.validation import ReportValidator
from collector.metrics.plan import PlanCollector
from collector.metrics.store import IngestMetrics, StoreCollector, build_registry
from collector.readiness.cache import KeptPages, OverviewCache
from collector.readiness.overview import CityOverview
from collector.readiness.plan import CityPlan, PlanBook, check_prices
from collector.settings import Settings
from collector.store.engine import open_store
from inventory.baseline import Baseline, load_baseline
from inventory.catalog import Catalog, load_catalog
from inventory.lifecycle import load_lifecycle
from inventory.milestones import Milestone, load_milestones
from inventory.plan import load_actions
from inventory.prices import load_price_list
from inventory.registry import Registry, load_registry


@dataclass(frozen=True)
class Context:
    """Everything a request handler or a background job needs, built once at start-up."""

    settings: Settings
    engine: Engine
    registry: Registry
    baseline: Baseline
    catalog: Catalog
    milestones: list[Milestone]
    ingestor: Ingestor
    metrics_registry: CollectorRegistry
    ingest_metrics: IngestMetrics
    limiter: IngestLimiter
    overview_cache: OverviewCache = field(default_factory=OverviewCache)
    kept_pages: KeptPages = field(default_factory=KeptPages)
    validator: ReportValidator = field(default_factory=ReportValidator)
    # Held from parsing a received report to its commit: one report at a time per process (the GIL runs one
    # thread's Python anyway), so the thread holding the store's write lock does not take turns at the GIL
    # with threads parsing other reports (a few per cent more reports/s, docs/benchmarks.md); processes
    # (``serve --workers``) are what work on several cores at once. Bodies are read before it is taken, so a
    # slow client holds up no one.
    ingest_turn: threading.Lock = field(default_factory=threading.Lock)
    observer: Optional[Observer] = None
    # The actions file and the price list, loaded once, and the plans made with them (readiness/plan.py).
    plan_book: PlanBook = field(default_factory=lambda: PlanBook(load_actions(), load_price_list()))

    def overview(self, milestone_id: Optional[str] = None, consistent: bool = False) -> CityOverview:
        """The city overview the page, the JSON API and the downloads share (see ``OverviewCache.get``);
        ``consistent`` for the API, which must read back what a script has just stored."""
        return self.overview_cache.get(self, datetime.now(timezone.utc), milestone_id, consistent)

    def plan(self) -> CityPlan:
        """Every unit's upgrade plan, priced with the prices in force today (kept while the store is unchanged)."""
        return self.plan_book.city_plan(self, datetime.now(timezone.utc))

    def start_background(self) -> None:
        """Start the cloud-migration observer of this process (``serve`` and ``demo`` only)."""
        if self.observer is not None and not self.observer.is_alive():
            self.observer.start()

    def stop_background(self) -> None:
        """Stop what ``start_background`` and readers started, before the store goes away."""
        if self.observer is not None:
            self.observer.stop()
        self.overview_cache.stop()


def ctx() -> Context:
    """The context of the app serving this request."""
    return current_app.extensions["hdc"]


def build_context(settings: Settings, engine: Optional[Engine] = None) -> Context:
    """Load domain data and open (and migrate) the store; errors here stop start-up with a clear message."""
    registry = load_registry(settings.registry_path)
    baseline = load_baseline(settings.baseline_path)
    catalog = load_catalog(settings.catalog_path)
    milestones = load_milestones(settings.milestones_path)
    plan_book = PlanBook(load_actions(), load_price_list(settings.price_list_path))
    check_prices(plan_book.actions, plan_book.price_list, datetime.now(timezone.utc).astimezone(HANOI).date())
    engine = open_store(settings.resolved_db_url(), registry, engine=engine)
    ingestor = Ingestor(engine, baseline, catalog, load_lifecycle())
    metrics_registry, ingest_metrics = build_registry(
        StoreCollector(engine, registry, baseline, milestones, settings, catalog))
    context = Context(settings, engine, registry, baseline, catalog, milestones, ingestor, metrics_registry,
                      ingest_metrics, IngestLimiter(settings.rate_limits),
                      observer=Observer(engine, catalog, settings), plan_book=plan_book)
    metrics_registry.register(PlanCollector(context))
    return context
