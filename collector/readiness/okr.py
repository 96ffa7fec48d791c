"""Key-result values, progress and pace, measured once from the city overview for the page, API, exports and /metrics.

Every view of the OKRs renders an ``OkrProgress`` and computes nothing of
its own, so the value a leader reads on ``/okr`` is the one the API returns,
the one the spreadsheet holds and the one Prometheus scrapes. The measures
read the same figures as the readiness page (``CityOverview``: units by
status, devices passing, applications migrated, work items per milestone)
plus two small store reads (HDC reachability per unit, failures of a rule).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable, Iterable, NamedTuple, Optional, Protocol

from collector.i18n import Translator
from collector.readiness.export import Column, Table
from collector.readiness.overview import CityOverview, Sources
from collector.store import okr_weeks, queries
from inventory.milestones import Milestone
from inventory.okr import KeyResult, Objective, Okr, pace, progress

log = logging.getLogger(__name__)


class OkrSources(Sources, Protocol):
    """The read model's sources and the OKR file (the collector's ``Context``)."""

    @property
    def okr(self) -> Okr: ...


def _week_index(week: str) -> int:
    """An ISO week ('2025-W49') as a count of weeks, so that consecutive weeks differ by one across years."""
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1).toordinal() // 7


@dataclass(frozen=True)
class KeyResultProgress:
    key_result: KeyResult
    value: float
    progress: float
    status: str
    history: tuple[tuple[str, float], ...] = ()  # (ISO week, its last value), oldest first, this week included

    def sparklines(self, width: int = 96, height: int = 24) -> list[str]:
        """The weekly history's progress as SVG polylines' points, one per run of consecutive weeks (x right by
        week from the first kept, y up by progress): a week without a value is a gap in the line, never a zero.
        A lone week is a point drawn twice (a dot with round line caps)."""
        k = self.key_result
        weeks = [_week_index(w) for w, _ in self.history]
        step = width / max(weeks[-1] - weeks[0], 1) if weeks else 0.0
        runs: list[list[str]] = []
        for i, (week, (_, v)) in enumerate(zip(weeks, self.history)):
            if i == 0 or week != weeks[i - 1] + 1:
                runs.append([])
            runs[-1].append(f"{(week - weeks[0]) * step:.1f},{height - progress(v, k.baseline, k.target) * height:.1f}")
        return [" ".join(run if len(run) > 1 else run * 2) for run in runs]

    def to_dict(self) -> dict:
        k = self.key_result
        return {"id": k.id, "title_vi": k.title_vi, "title_en": k.title_en, "measure": k.measure,
                "value": self.value, "baseline": k.baseline, "target": k.target, "progress": self.progress,
                "status": self.status, "start": k.start.isoformat(), "due": k.due.isoformat(), "owner": k.owner,
                "history": [{"week": w, "value": v} for w, v in self.history]}


@dataclass(frozen=True)
class ObjectiveProgress:
    objective: Objective
    key_results: list[KeyResultProgress]

    def to_dict(self) -> dict:
        o = self.objective
        return {"id": o.id, "title_vi": o.title_vi, "title_en": o.title_en,
                "key_results": [k.to_dict() for k in self.key_results]}


@dataclass(frozen=True)
class OkrProgress:
    now: datetime
    today: date
    objectives: list[ObjectiveProgress]
    milestones: list[Milestone]
    work_by_milestone: dict[str, dict[str, int]]
    work_by_unit: dict[str, dict[str, dict[str, int]]]
    unit_codes: list[str]

    def key_results(self) -> list[tuple[Objective, KeyResultProgress]]:
        return [(o.objective, k) for o in self.objectives for k in o.key_results]


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


class Measured(NamedTuple):
    """The two store reads the measures take beyond the overview: per unit, its active devices' last checks of HDC
    endpoints that succeeded and all of them (every target); and per rule, the active devices failing it."""

    reach: dict[str, tuple[int, int]]
    rule_failures: dict[str, int]


def unit_reach(reach: Iterable[tuple[tuple[str, str], queries.Reach]]) -> dict[str, tuple[int, int]]:
    """(reached, checked) per unit over its targets, from ``queries.reachability_details``' items."""
    sums: dict[str, tuple[int, int]] = {}
    for (ward, _target), r in reach:
        reached, checked = sums.get(ward, (0, 0))
        sums[ward] = (reached + r.reached, checked + r.checked)
    return sums


def measured_now(c: OkrSources, at: datetime) -> Measured:
    """``Measured`` read from the store for the devices active at ``at``."""
    since = c.settings.active_since(at)
    with c.engine.connect() as conn:
        reach = queries.reachability_details(conn, since)
        failing = queries.rule_failure_counts(conn, since)
    rule_failures: dict[str, int] = {}
    for (_ward, rule), n in failing.items():
        rule_failures[rule] = rule_failures.get(rule, 0) + n
    return Measured(unit_reach(reach.items()), rule_failures)


def _units_reaching(reach: dict[str, tuple[int, int]], threshold: float) -> int:
    """Units whose devices' last checks of the HDC endpoints succeeded in at least ``threshold`` of cases."""
    return sum(1 for reached, checked in reach.values() if checked and reached / checked >= threshold)


def _done_ratio(tally: dict[str, int], devices: int) -> float:
    """Done items out of all; a milestone with no item is done only where devices report (nothing to fix),
    never in an empty store."""
    total = sum(tally.values())
    if not total:
        return 1.0 if devices else 0.0
    return (tally["done_on_time"] + tally["done_late"]) / total


def measure(c: OkrSources, overview: CityOverview,
            measured: Optional[Measured] = None) -> Callable[[KeyResult], float]:
    """The measuring function for ``overview``'s moment (its two extra store reads made once).

    Reach and rule failures are read from the store now; a /metrics scrape gives what it has just worked out from
    the counts it read (``measured``) instead, so its key results count the same active devices as its
    ``hdc_rule_failures`` and endpoint families, and the store is read once.
    """
    reach, rule_failures = measured if measured is not None else measured_now(c, overview.now)

    def value(k: KeyResult) -> float:
        m = k.measure
        if m == "units_ready":
            return overview.units_by_status.get("ready", 0)
        if m == "units_reporting":
            return sum(1 for r in overview.rows if r.summary.devices)
        if m == "units_reaching_hdc":
            return _units_reaching(reach, k.threshold or 0.0)
        if m == "devices_passing_ratio":
            return _ratio(overview.passing, overview.devices)
        if m == "rule_passing_ratio":
            return _ratio(overview.devices - rule_failures.get(k.rule or "", 0), overview.devices)
        if m == "applications_migrated_ratio":
            return _ratio(overview.migration.migrated, overview.migration.in_scope)
        return _done_ratio(overview.work_by_milestone[k.milestone or ""], overview.devices)

    return value


def okr_progress(c: OkrSources, overview: CityOverview, keep_week: bool = False,
                 measured: Optional[Measured] = None) -> OkrProgress:
    """Every key result's value, progress and pace as of ``overview``'s moment; ``keep_week`` also stores this
    week's values (``WeekKeeper`` only: a page, the API or a scrape never writes to the store); ``measured`` as
    ``measure`` takes it."""
    value_of = measure(c, overview, measured)
    today, margin = overview.today, c.okr.at_risk_margin
    values = {f"{o.id}.{k.id}": round(value_of(k), 4) for o, k in c.okr.key_results()}
    history = (okr_weeks.keep(c.engine, today, values, overview.now) if keep_week
               else okr_weeks.current(okr_weeks.read(c.engine), today, values))
    objectives = []
    for o in c.okr.objectives:
        krs = []
        for k in o.key_results:
            value = values[f"{o.id}.{k.id}"]
            done = round(progress(value, k.baseline, k.target), 4)
            krs.append(KeyResultProgress(k, value, done, pace(done, k.start, k.due, today, margin),
                                         tuple(history.get(f"{o.id}.{k.id}", ()))))
        objectives.append(ObjectiveProgress(o, krs))
    return OkrProgress(overview.now, today, objectives, overview.milestones, overview.work_by_milestone,
                       overview.work_by_unit, [r.summary.code for r in overview.rows])


OKR_COLUMNS = (Column("objective"), Column("key_result_id"), Column("key_result"), Column("value"),
               Column("baseline"), Column("target"), Column("progress", "ratio"), Column("status"),
               Column("start"), Column("due"), Column("owner"))


def okr_table(p: OkrProgress, t: Translator) -> Table:
    """The key results as ``/okr`` shows them, one row each, for the CSV/XLSX download."""
    rows = [[t.pick(o.title_vi, o.title_en), k.key_result.id, t.pick(k.key_result.title_vi, k.key_result.title_en),
             k.value, k.key_result.baseline, k.key_result.target, k.progress, t(f"okr.status.{k.status}"),
             t.date(k.key_result.start), t.date(k.key_result.due), k.key_result.owner]
            for o, k in p.key_results()]
    return Table(t("okr.export_title"), OKR_COLUMNS, [t(f"okr.col.{c.key}") for c in OKR_COLUMNS], rows)


class WeekKeeper(threading.Thread):
    """Keeps each key result's value of the week: once when ``serve`` starts (before it listens, so what it
    stores is there before any reader), then every ``every`` seconds. At start it first fills, once, the past
    weeks no collector kept where the stored history tells their values (``backfill``, ``okr_backfill``)."""

    def __init__(self, keep: Callable[[], object], every: float = 3600.0,
                 backfill: Optional[Callable[[], object]] = None):
        super().__init__(name="hdc-okr-weeks", daemon=True)
        self.keep, self.every, self.backfill = keep, every, backfill
        self.stopped = threading.Event()

    def start(self) -> None:
        if self.backfill is not None:
            try:
                self.backfill()
            except Exception:  # the past weeks stay gaps; serving and this week's keeping go on
                log.warning("filling the key results' past weeks from the stored history failed", exc_info=True)
        self._keep_once()
        super().start()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            self._keep_once()

    def _keep_once(self) -> None:
        try:
            self.keep()
        except Exception:  # a store hiccup must not stop serve; the next round retries
            log.warning("keeping the key results' weekly values failed; the next round retries", exc_info=True)

    def stop(self) -> None:
        """End the thread and wait for it."""
        self.stopped.set()
        if self.is_alive():
            self.join(30)
