"""The one object requests and background work use: the store, the domain data and this process's shared state.

Built once by ``build_context`` when a collector starts (or a test makes
one), kept by the app under ``app.extensions["hdc"]`` and read by every
blueprint through ``ctx()``. Blueprints import this module, never the app
factory. Nothing here starts a thread: ``start_background`` is called by
``serve`` and ``demo`` only, so an app made for a test or a script leaves
nothing running.
"""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from flask import current_app
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from collector.cloud.observer import Observer
from collector.i18n import HANOI
from collector.ingest.budget import UnitByteBudget
from collector.ingest.ingestor import Ingestor
from collector.ingest.ratelimit import IngestLimiter
from collector.ingest.validation import ReportValidator
from collector.metrics.okr import OkrCollector
from collector.metrics.plan import PlanCollector
from collector.metrics.store import IngestMetrics, StoreCollector, build_registry
from collector.metrics.units import UnitDatesCollector
from collector.readiness.cache import KeptPages, OverviewCache
from collector.readiness.okr import Measured, OkrProgress, WeekKeeper, okr_progress
from collector.readiness.okr_backfill import backfill
from collector.readiness.okr_sheet import load_okr_file
from collector.readiness.overview import CityOverview
from collector.readiness.plan import CityPlan, PlanBook, load_plan_book
from collector.settings import Settings
from collector.store.engine import open_store
from collector.store.retention import Pruner
from inventory.baseline import Baseline, load_baseline
from inventory.catalog import Catalog, load_catalog
from inventory.lifecycle import load_lifecycle
from inventory.milestones import DEFAULT_MILESTONES, Milestone, check_applications, load_milestones
from inventory.okr import DEFAULT_OKR, Okr, load_okr
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
    pruner: Optional[Pruner] = None
    okr_keeper: Optional[WeekKeeper] = None
    okr: Okr = field(default_factory=load_okr)
    # Bytes of report bodies per unit and day (ingest/budget.py); set from the settings by build_context.
    unit_budget: UnitByteBudget = field(default_factory=lambda: UnitByteBudget(0))
    # The actions file and the price list, loaded once, and the plans made with them (readiness/plan.py).
    plan_book: PlanBook = field(default_factory=lambda: PlanBook(load_actions(), load_price_list()))

    def overview(self, milestone_id: Optional[str] = None, consistent: bool = False) -> CityOverview:
        """The city overview the page, the JSON API and the downloads share (see ``OverviewCache.get``);
        ``consistent`` for the API, which must read back what a script has just stored."""
        return self.overview_cache.get(self, datetime.now(timezone.utc), milestone_id, consistent)

    def okr_progress(self, consistent: bool = False, measured: Optional[Measured] = None) -> OkrProgress:
        """The key results measured on the kept overview the page shows (``consistent`` for the API, as
        ``overview``), so the page, the API, the exports and /metrics show the same values and a scrape never
        waits for a composition; ``measured``: what a scrape worked out from its counts (``readiness.okr.measure``)."""
        return okr_progress(self, self.overview(consistent=consistent), measured=measured)
    def plan(self) -> CityPlan:
        """Every unit's upgrade plan, priced with the prices in force today (kept while the store is unchanged)."""
        return self.plan_book.city_plan(self, datetime.now(timezone.utc))

    def keep_okr_week(self) -> None:
        """Store this week's key-result values (the weekly history); ``okr_keeper`` calls it."""
        okr_progress(self, self.overview(), keep_week=True)

    def backfill_okr_weeks(self) -> None:
        """Fill the past weeks no collector kept, from the stored history; ``okr_keeper`` calls it once."""
        backfill(self, datetime.now(timezone.utc))

    def start_background(self) -> None:
        """Start the cloud-migration observer, the pruner and the OKR week keeper of this process (``serve`` and
        ``demo`` only)."""
        for job in (self.observer, self.pruner, self.okr_keeper):
            if job is not None and not job.is_alive():
                job.start()

    def stop_background(self) -> None:
        """Stop what ``start_background`` and readers started, before the store goes away."""
        for job in (self.observer, self.pruner, self.okr_keeper):
            if job is not None:
                job.stop()
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
    check_applications(milestones, [a.id for a in catalog.apps], str(settings.milestones_path or DEFAULT_MILESTONES))
    okr = load_okr_file(settings.okr_path)
    okr.check_references([m.id for m in milestones], baseline.rule_ids(), str(settings.okr_path or DEFAULT_OKR))
    plan_book = load_plan_book(settings.price_list_path, datetime.now(timezone.utc).astimezone(HANOI).date())
    engine = open_store(settings.resolved_db_url(), registry, engine=engine)
    ingestor = Ingestor(engine, baseline, catalog, load_lifecycle())
    # The OKR families are written with the store's (StoreCollector.collect): they count from its read.
    okr_metrics = OkrCollector(lambda: context.overview(),
                               lambda overview, measured: okr_progress(context, overview, measured=measured))
    metrics_registry, ingest_metrics = build_registry(
        StoreCollector(engine, registry, baseline, milestones, settings, catalog, okr=okr_metrics))
    context = Context(settings, engine, registry, baseline, catalog, milestones, ingestor, metrics_registry,
                      ingest_metrics, IngestLimiter(settings.rate_limits),
                      observer=Observer(engine, catalog, settings),
                      pruner=Pruner(engine, settings.retention, settings.prune_every_seconds)
                      if settings.prune_every_seconds > 0 else None, okr=okr,
                      unit_budget=UnitByteBudget(settings.unit_bytes_per_day), plan_book=plan_book,
                      validator=ReportValidator(trusted=ingestor.valid_list))
    metrics_registry.register(PlanCollector(context))
    metrics_registry.register(UnitDatesCollector(context.overview))
    # The keeper measures through the context it belongs to; the copy shares every part of it (the same cache,
    # engine and collectors), so both read one overview.
    return dataclasses.replace(context, okr_keeper=WeekKeeper(context.keep_okr_week,
                                                            backfill=context.backfill_okr_weeks))
