"""The figures of the readiness page, composed once from the shared queries for the page, API and exports.

Each view (HTML, JSON, CSV, XLSX) renders these values and computes none of
its own, so the ranking a leader downloads has the numbers the page shows,
and both have those of /metrics (``queries.unit_summaries``).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Mapping, NamedTuple, Optional, Protocol

from sqlalchemy.engine import Engine

from collector.cloud.queries import unit_migrations
from collector.i18n import HANOI
from collector.readiness import pasts
from collector.readiness.criteria import (
    RegisterItem,
    application_tallies,
    combine,
    contradiction_tally,
    reachability_tally,
    register_tally,
)
from collector.readiness.forecasts import of_unit, series_forecast, unit_forecasts
from collector.readiness.history import DeviceLife, day_range, load_lives
from collector.readiness.workitems import (
    STATES,
    UnitTallies,
    WorkItem,
    city_tally,
    due_moment,
    kept_items,
    milestone_tallies,
    milestone_work,
)
from collector.settings import Settings
from collector.store import contacts, contradictions, device_work, queries, reach_days, register, unit_days
from collector.store.contacts import UnitContact
from collector.store.queries import UnitSummary
from inventory.baseline import Baseline, Rule
from inventory.catalog import Catalog
from inventory.equipment import Matching
from inventory.forecast import Forecast
from inventory.migration import UnitMigration
from inventory.milestones import Milestone
from inventory.readiness import UNIT_STATUSES, VERDICTS, days_overdue
from inventory.registry import Registry


class Sources(Protocol):
    """What the read model reads from: the collector's ``Context`` has it all (this package needs no Flask)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def registry(self) -> Registry: ...

    @property
    def baseline(self) -> Baseline: ...

    @property
    def catalog(self) -> Catalog: ...

    @property
    def milestones(self) -> list[Milestone]: ...


RAG = {"ready": "green", "unknown": "amber", "incomplete": "amber", "not_ready": "red", "no_register": "grey",
       "no_data": "grey"}


@dataclass(frozen=True)
class Migration:
    """Applications moved to the HDC (on it, or retired) out of those in use that the programme moves."""

    migrated: int
    in_scope: int


@dataclass(frozen=True)
class UnitRow:
    """One unit in the ranking."""

    summary: UnitSummary
    migration: Migration
    work: dict[str, int]
    days_overdue: int = 0  # past the equipment deadline while not ready (inventory.readiness.days_overdue)
    # When the unit will be ready at its recent pace (readiness/forecasts.py); None until composed.
    forecast: Optional[Forecast] = None
    contact: Optional[UnitContact] = None  # the person responsible, from the units sheet
    ready_since: Optional[date] = None  # the Hanoi day a ready unit first met the bar (history.first_ready)

    @property
    def rag(self) -> str:
        return RAG[self.summary.status]


@dataclass(frozen=True)
class Series:
    """Daily values over ``days``; values stop at today, days may run on to a future deadline."""

    days: list[date]
    values: dict[str, list[int]]


@dataclass(frozen=True)
class CityOverview:
    now: datetime
    rows: list[UnitRow]
    units_by_status: dict[str, int]
    devices: int
    passing: int
    silent: int
    migration: Migration
    top: list[tuple[str, Optional[Rule], int]]
    milestones: list[Milestone]
    work_milestone: Milestone
    work_by_milestone: dict[str, dict[str, int]]
    history: Series
    # milestone id -> unit code -> state -> items, for units with any item of that milestone (/metrics, OKRs)
    work_by_unit: dict[str, dict[str, dict[str, int]]]
    # Each unit's forecast (units with a device), from the units' series kept at ingest (readiness/forecasts.py).
    forecasts: dict[str, Forecast] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.now.astimezone(HANOI).date()


class PageNumbers(NamedTuple):
    """The page of each long list of a unit's page to show (from 1), and the rows a page."""

    devices: int
    silent: int
    work_items: int
    size: int


@dataclass(frozen=True)
class UnitPages:
    """One page each of a unit's active devices (worst first), silent devices and work items."""

    devices: queries.Paged[dict]
    silent: queries.Paged[dict]
    work_items: queries.Paged[WorkItem]


@dataclass(frozen=True)
class UnitDetail:
    now: datetime
    row: UnitRow
    devices: list[dict]
    reachability: list[tuple[str, queries.Reach]]
    work_milestone: Milestone
    work_items: list[WorkItem]
    work_by_milestone: dict[str, dict[str, int]]
    history: Series
    migration: UnitMigration
    assets: Matching
    listing: Optional[UnitPages] = None  # the pages of the long lists ``devices`` and ``work_items`` hold, if paged


def pick_milestone(milestones: list[Milestone], milestone_id: Optional[str]) -> Milestone:
    """The milestone work items are counted against: the one asked for, else the first (equipment upgraded)."""
    return next((m for m in milestones if m.id == milestone_id), milestones[0])


def _unit_series(kept: unit_days.Kept, code: str, now: datetime, until: date) -> Series:
    """One unit's daily counts from its first day (``unit_days.read`` of that unit): zeros today if it has none."""
    today = now.astimezone(HANOI).date()
    zeros = [0] * len(kept.days)
    values = kept.series.get(code) or {v: zeros for v in VERDICTS}
    return Series(day_range(kept.start, max(today, until)), {v: list(values[v]) for v in VERDICTS})


def _city_series(kept: unit_days.Kept, now: datetime, until: date) -> Series:
    """The city's daily counts: its units' series kept at ingest, added up."""
    today = now.astimezone(HANOI).date()
    return Series(day_range(kept.start, max(today, until)), _CITY.of(kept))


class CitySums:
    """The city's series as its units' added up, kept from the last composition: the next one takes out and puts
    in again only the units whose series are new objects (their rows changed, or today's events moved them);
    ``unit_days.read`` gives the others' again while their rows are unchanged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._units: dict[str, Mapping[str, list[int]]] = {}
        self._terms: tuple = ()
        self._values: dict[str, list[int]] = {}

    def of(self, kept: unit_days.Kept) -> dict[str, list[int]]:
        n = len(kept.days)
        with self._lock:
            if self._terms != (kept.start, n):
                self._units, self._terms = {}, (kept.start, n)
                self._values = {v: [0] * n for v in VERDICTS}
            values = self._values
            for code in self._units.keys() - kept.series.keys():
                _add_to(values, self._units.pop(code), -1)
            for code, series in kept.series.items():
                old = self._units.get(code)
                if old is not series:
                    if old is not None:
                        _add_to(values, old, -1)
                    _add_to(values, series, 1)
                    self._units[code] = series
            return {v: list(values[v]) for v in VERDICTS}


def _add_to(values: dict[str, list[int]], series: Mapping[str, list[int]], sign: int) -> None:
    for v in VERDICTS:
        values[v] = [a + sign * b for a, b in zip(values[v], series[v])]


_CITY = CitySums()
_TALLIES = UnitTallies()


def _work(lives: dict[str, DeviceLife], milestones: list[Milestone], now: datetime
          ) -> dict[str, list[WorkItem]]:
    by_due = milestone_work(lives, {m.date for m in milestones}, now)
    return {m.id: by_due[m.date] for m in milestones}


def _unit_work(m: Milestone, devices: Mapping[str, Mapping[str, int]], migrations: Mapping[str, UnitMigration],
               applications: Mapping[str, Mapping[str, int]], reach: Mapping[str, reach_days.UnitReach],
               spans: list[contradictions.Span], registers: Mapping[str, RegisterItem], now: datetime
               ) -> dict[str, dict[str, int]]:
    """A milestone's items per unit and state from its own criteria: devices, applications (their tally,
    ``application_tallies``), links to the HDC, contradictions, registers to complete."""
    return combine(devices if m.devices else {}, applications,
                   reachability_tally(m, reach, now), contradiction_tally(m, migrations, spans, now),
                   register_tally(m, registers, now))


def _registers(past: Mapping[str, pasts.UnitPast]) -> dict[str, RegisterItem]:
    """The register criterion of the units with a register, which each milestone's tally reads."""
    return {code: p.register for code, p in past.items() if p.register is not None}


def _ready_since(code: str, past: Mapping[str, pasts.UnitPast]) -> Optional[date]:
    """The Hanoi day a ready unit first met the bar (its devices' past verdicts against its register as it is,
    ``pasts``); None for a unit that is not ready. The page's ranking, the unit page, the API and /metrics all
    read this."""
    at = past[code].ready_at if code in past else None
    return at.astimezone(HANOI).date() if at else None


def city_overview(c: Sources, now: datetime, milestone_id: Optional[str] = None, top_n: int = 8) -> CityOverview:
    """The city's figures as of ``now``; work items are only counted here (the page shows no item)."""
    since = c.settings.active_since(now)
    with c.engine.connect() as conn:
        counted = queries.active_counts(conn, since, kinds=queries.OVERVIEW_KINDS)
        summaries = queries.unit_summaries(conn, c.registry, since, counted, c.settings.coverage_threshold)
        top = queries.top_failures(conn, since, limit=top_n, counted=counted)
        migrations = unit_migrations(conn, c.catalog, c.registry, now, since, counted=counted)
        kept = unit_days.read(conn, now, c.settings.stale_after_days)
        reach = reach_days.read(conn, now, c.settings.stale_after_days)
        spans = contradictions.read(conn)
        people = contacts.read(conn)
        # The day each ready unit became ready; each register's coverage over time: replayed for the units
        # whose inputs moved since the last composition (``pasts``).
        past = pasts.read(conn, summaries, register.first_imported(conn), now, since, c.settings.stale_after_days,
                          c.settings.coverage_threshold)
    focus = pick_milestone(c.milestones, milestone_id)
    by_due = _TALLIES(kept.unit_work, {m.date for m in c.milestones}, now)
    registers = _registers(past)
    applications = application_tallies(c.milestones, migrations, now)
    by_milestone = {m.id: _unit_work(m, by_due[m.date], migrations, apps, reach, spans, registers, now)
                    for m, apps in zip(c.milestones, applications)}
    focus_by_ward = by_milestone[focus.id]
    zero = dict.fromkeys(STATES, 0)
    forecasts = unit_forecasts(kept)
    today = now.astimezone(HANOI).date()
    rows = [UnitRow(s, Migration(migrations[s.code].migrated, migrations[s.code].in_use),
                    focus_by_ward.get(s.code, zero), days_overdue(s.status, today), of_unit(forecasts, s.code),
                    people.get(s.code), _ready_since(s.code, past))
            for s in summaries]
    by_status = dict.fromkeys(UNIT_STATUSES, 0)
    for s in summaries:
        by_status[s.status] += 1
    titles = {r.id: r for r in c.baseline.all_rules()}
    return CityOverview(
        now=now, rows=rows, units_by_status=by_status,
        devices=sum(s.devices for s in summaries),
        passing=sum(s.counts["ready"] + s.counts["ready_with_conditions"] for s in summaries),
        silent=sum(s.silent for s in summaries),
        migration=Migration(sum(r.migration.migrated for r in rows), sum(r.migration.in_scope for r in rows)),
        top=[(rule, titles.get(rule), n) for rule, n in top], milestones=c.milestones, work_milestone=focus,
        work_by_milestone={m.id: city_tally(by_milestone[m.id]) for m in c.milestones},
        history=_city_series(kept, now, c.milestones[0].date), work_by_unit=by_milestone, forecasts=forecasts)


def unit_detail(c: Sources, code: str, now: datetime, milestone_id: Optional[str] = None,
                pages: Optional[PageNumbers] = None) -> UnitDetail:
    """One unit's drill-down, read afresh; ``code`` must be in the registry. Its series and work-item tallies are
    those ingest keeps (``unit_days``, as the overview's); its devices and work items all of them, or with
    ``pages`` a page of each long list (``listing``): only the shown devices are read (``queries.device_page``)."""
    since = c.settings.active_since(now)
    focus = pick_milestone(c.milestones, milestone_id)
    with c.engine.connect() as conn:
        # The unit's own counts, read once for its summary, reachability and applications: the city's would cost
        # what composing the overview's summaries does.
        counted = queries.active_counts(conn, since, ward_code=code)
        summary, = queries.unit_summaries(conn, Registry(u for u in c.registry if u.code == code), since, counted,
                                          c.settings.coverage_threshold)
        paged = (queries.device_page(conn, code, since, pages.devices, pages.size),
                 queries.device_page(conn, code, since, pages.silent, pages.size, silent=True)) if pages else None
        devices_ = paged[0].rows + paged[1].rows if paged else queries.devices_of_unit(conn, code, since)
        reach = queries.reachability_details(conn, since, ward_code=code, counted=counted)
        kept = unit_days.read(conn, now, c.settings.stale_after_days, code)
        # The devices' lives for the whole work-item list (a page of it is kept at ingest); the register's
        # coverage over time and the day it became ready as the overview keeps them (``pasts``).
        whole = focus.devices and not pages
        lives = load_lives(conn, now, since, units=[code]) if whole else {}
        past = pasts.read(conn, [summary], register.first_imported(conn, code), now, since,
                          c.settings.stale_after_days, c.settings.coverage_threshold, lives=lives if whole else None)
        kept_page = device_work.page(conn, code, since, due_moment(focus.date), pages.work_items, pages.size) \
            if pages and focus.devices else None
        unit_migration = unit_migrations(conn, c.catalog, c.registry, now, since, code, counted)[code]
        assets = queries.unit_assets(conn, code, since)
        reach_changes = reach_days.read(conn, now, c.settings.stale_after_days, code)
        spans = contradictions.read(conn, code)
        person = contacts.read(conn, code).get(code)
    registers = _registers(past)
    by_due = milestone_tallies(kept.work, {m.date for m in c.milestones}, now)
    applications = application_tallies(c.milestones, {code: unit_migration}, now)
    by_milestone = {m.id: _unit_work(m, by_due[m.date], {code: unit_migration}, apps, reach_changes, spans, registers,
                                     now)
                    for m, apps in zip(c.milestones, applications)}
    zero = dict.fromkeys(STATES, 0)
    history = _unit_series(kept, code, now, c.milestones[0].date)
    row = UnitRow(summary, Migration(unit_migration.migrated, unit_migration.in_use),
                  by_milestone[focus.id].get(code, zero), days_overdue(summary.status, now.astimezone(HANOI).date()),
                  series_forecast(history.days, history.values), person,
                  _ready_since(code, past))
    items = _work(lives, [focus], now)[focus.id] if whole else []
    listing = None
    if pages and paged:
        shown = queries.Paged(kept_items(kept_page.rows, code, focus.date, now), kept_page.number, kept_page.size,
                              kept_page.total) if kept_page else queries.page_of(items, pages.work_items, pages.size)
        listing = UnitPages(*paged, shown)
    return UnitDetail(
        now=now, row=row, devices=devices_,
        reachability=sorted(((t, r) for (w, t), r in reach.items() if w == code), key=lambda tr: tr[0]),
        work_milestone=focus, work_items=listing.work_items.rows if listing else items,
        work_by_milestone={m: city_tally(t) for m, t in by_milestone.items()},
        history=history, migration=unit_migration, assets=assets, listing=listing)
