"""Prometheus metrics: store aggregates read at scrape time, plus the collector's own counters.

Aggregates come from ``queries`` through one custom Collector, so /metrics,
the API and the page show the same numbers and no gauge can drift from the
store. Cardinality is bounded by wards x classes x verdicts, wards x rules and
wards x catalog applications, never by devices, unless per-device series are
switched on (``Settings.per_device_metrics``). Every known label value (units,
verdicts, classes, rules, catalog applications, milestones) is emitted from
the first scrape, with zeros, so a unit that never reported is a visible zero
rather than a missing series; HDC endpoint targets are configured at the
wards, so they appear once reported, and only the names the deployment
configured become labels (``endpoint_targets``): a target is free text of
the report, and 256 new names per report would otherwise be 256 new series
per unit. Each app gets its own CollectorRegistry: no process-global state.
"""
from __future__ import annotations

import os
import platform
from datetime import date, datetime, time, timedelta, timezone
from typing import Collection, Iterable, Iterator, Optional, cast
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import InfoMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Connection, Engine

from collector import __version__
from collector.cloud.queries import unit_migrations
from collector.metrics import cloud as migration_metrics
from collector.metrics.exposition import Family, KeptFamilies, KeptLines, RowGauge, Writer, prewritten, row_gauge
from collector.metrics.okr import OkrCollector
from collector.metrics.parts import UnitPart, UnitParts
from collector.readiness.okr import Measured
from collector.settings import DEFAULT_ENDPOINT_TARGETS, Settings
from collector.store import changes, queries
from inventory.baseline import DEVICE_CLASSES, Baseline
from inventory.catalog import Catalog, load_catalog
from inventory.migration import turns_unreachable_at
from inventory.milestones import Milestone
from inventory.readiness import UNIT_STATUSES, VERDICTS
from inventory.registry import Registry

# Names other parts (dashboards, alert rules) rely on. Info families are
# declared without their ``_info`` suffix, which prometheus-client appends.
DEVICES = "hdc_devices"
CLASS_DEVICES = "hdc_class_devices"
SILENT = "hdc_silent_devices"
REPLACED = "hdc_replaced_devices"
RULE_FAILURES = "hdc_rule_failures"
RULE_INFO = "hdc_rule"
WARD_INFO = "hdc_ward"
WARD_READINESS = "hdc_ward_readiness_ratio"
WARD_LAST_REPORT = "hdc_ward_last_report_timestamp_seconds"
UNITS = "hdc_units"
WARD_EXPECTED = "hdc_ward_expected_devices"
WARD_REPORTING = "hdc_ward_reporting_devices"
WARD_COVERAGE = "hdc_ward_coverage_ratio"
APP_DEVICES = "hdc_app_devices"
APP_INFO = "hdc_app"
ENDPOINT_REACHABLE = "hdc_endpoint_reachable_devices"
ENDPOINT_CHECKED = "hdc_endpoint_checked_devices"
ENDPOINT_CONNECT = "hdc_endpoint_connect_seconds"
ENDPOINT_FAILED = "hdc_endpoint_failed_devices"
MILESTONE_DUE = "hdc_milestone_due_timestamp_seconds"
MILESTONE_INFO = "hdc_milestone"
STORE_ROWS = "hdc_store_rows"
BUILD_INFO = "hdc_build"
BASELINE_INFO = "hdc_baseline"
DEVICE_INFO = "hdc_device"
INGEST_REPORTS = "hdc_ingest_reports"  # exposed as hdc_ingest_reports_total
INGEST_DURATION = "hdc_ingest_duration_seconds"

REJECT_REASONS = ("unauthenticated", "forbidden", "malformed", "invalid", "too_large",
                  "unsupported_media_type", "unavailable", "software_list_unknown", "conflict")
INGEST_RESULTS = ("accepted", "duplicate") + REJECT_REASONS
STORE_TABLES = ("reports", "devices")
# The families written unit by unit (``parts.UnitParts``): in registry order, and the endpoint ones in code order.
_UNIT_FAMILIES = (DEVICES, CLASS_DEVICES, SILENT, REPLACED, RULE_FAILURES, WARD_READINESS, WARD_LAST_REPORT,
                  WARD_EXPECTED, WARD_REPORTING, WARD_COVERAGE, APP_DEVICES, migration_metrics.APPLICATIONS,
                  migration_metrics.WARD_APPLICATIONS, migration_metrics.MIGRATED, migration_metrics.IN_USE,
                  migration_metrics.LOCAL_APPS, migration_metrics.CONTRADICTIONS)
_ENDPOINT_FAMILIES = (ENDPOINT_REACHABLE, ENDPOINT_CHECKED, ENDPOINT_CONNECT, ENDPOINT_FAILED)
# What a unit's series are added to before they are written (the city-wide ones among them are left out).
_SCRATCH = _UNIT_FAMILIES + _ENDPOINT_FAMILIES + (migration_metrics.LOCAL_TARGET,)


def endpoint_targets(settings: Settings, catalog: Catalog) -> frozenset[str]:
    """The reachability targets that are labels of their own; the rest are counted as ``other``."""
    if settings.endpoint_targets is not None:
        return frozenset(settings.endpoint_targets)
    hosts = (urlsplit(app.hdc_endpoint).hostname for app in catalog.apps if app.hdc_endpoint)
    return frozenset(DEFAULT_ENDPOINT_TARGETS).union(host for host in hosts if host)


class StoreCollector(Collector):
    """Reads the store on every scrape; one short read transaction, a handful of GROUP BYs."""

    def __init__(self, engine: Engine, registry: Registry, baseline: Baseline, milestones: Iterable[Milestone],
                 settings: Settings, catalog: Optional[Catalog] = None, okr: Optional[OkrCollector] = None):
        self.engine = engine
        self.settings = settings
        self.registry = registry
        self.baseline = baseline
        self.milestones = list(milestones)
        self.catalog = catalog or load_catalog(settings.catalog_path)
        self.endpoint_targets = endpoint_targets(settings, self.catalog)
        self._lines: KeptLines = {}  # series text kept between scrapes (exposition.RowGauge)
        self._kept = KeptFamilies()  # the last scrape's families, while the store is unchanged
        self.parts = UnitParts(registry)  # each unit's lines, while its inputs are unchanged
        self.okr = okr  # the key results' families, written with these from the same read of the counts

    def forget(self) -> None:
        """Compose every family again from scratch at the next scrape, every unit's lines too (the benchmark's
        figure of a composition from scratch)."""
        self._kept.forget()
        self.parts.forget()
        if self.okr is not None:
            self.okr.forget()

    def describe(self) -> Iterator[Metric]:
        yield from _metrics(self._families())
        if self.okr is not None:
            yield from self.okr.describe()

    def _families(self) -> dict[str, Family]:
        info = InfoMetricFamily

        def gauge(name: str, documentation: str, labels: list[str]) -> RowGauge:
            return RowGauge(name, documentation, labels, self._lines)

        families: list[Family] = [
            info(BUILD_INFO, "The running collector: its version and Python.", labels=["version", "python"]),
            info(BASELINE_INFO, "The baseline devices are judged against.", labels=["baseline", "fingerprint"]),
            info(WARD_INFO, "Commune-level unit of the registry.", labels=["ward", "name", "kind"]),
            info(RULE_INFO, "Baseline rule titles, for legends.", labels=["rule", "title_vi", "title_en"]),
            info(APP_INFO, "Catalog application and where the programme moves it (target).",
                 labels=["app", "name_vi", "name_en", "category", "target"]),
            info(MILESTONE_INFO, "Programme milestone titles.", labels=["milestone", "title_vi", "title_en"]),
            gauge(DEVICES, "Active devices by unit and latest verdict against the baseline.",
                  labels=["ward", "verdict"]),
            gauge(CLASS_DEVICES, "Active devices by unit, device class and latest verdict; the same devices as "
                                 "hdc_devices, split by class (never add the two families together).",
                  labels=["ward", "device_class", "verdict"]),
            gauge(SILENT, "Devices of a unit with no report within the stale age and no successor.",
                  labels=["ward"]),
            gauge(REPLACED, "Devices of a unit no longer reporting because a new one took their name.",
                  labels=["ward"]),
            gauge(RULE_FAILURES, "Devices failing a baseline rule, by unit and rule.", labels=["ward", "rule"]),
            gauge(WARD_READINESS, "Share of a unit's devices passing every hard rule (0..1).", labels=["ward"]),
            gauge(WARD_LAST_REPORT, "When a unit's most recent report was received (Unix time).", labels=["ward"]),
            gauge(UNITS, "Units by readiness status (no_register and incomplete: the register is missing or too "
                         "few of its machines report).", labels=["status"]),
            gauge(WARD_EXPECTED, "Devices of a class a unit's register lists (units with a register only).",
                  labels=["ward", "device_class"]),
            gauge(WARD_REPORTING, "Active devices of a class reporting in a unit with a register (not capped at the "
                                  "register's number).", labels=["ward", "device_class"]),
            gauge(WARD_COVERAGE, "Share of a unit's registered devices that report, each class counted at most up to "
                                 "its registered number (0..1; units with a register only).", labels=["ward"]),
            gauge(APP_DEVICES, "Active devices of a unit with a catalog application installed.",
                  labels=["ward", "app"]),
            gauge(ENDPOINT_REACHABLE, "Devices of a unit that reached an HDC endpoint at their last check.",
                  labels=["ward", "target"]),
            gauge(ENDPOINT_CHECKED, "Devices of a unit that checked an HDC endpoint.", labels=["ward", "target"]),
            gauge(ENDPOINT_CONNECT, "Mean TCP connect time from a unit's devices to an HDC endpoint at their last "
                                    "check (devices sending report schema v2).", labels=["ward", "target"]),
            gauge(ENDPOINT_FAILED, "Devices of a unit whose last check of an HDC endpoint failed, by the step it "
                                   "stopped at (resolve, connect, proxy, tls, http; schema-v2 reports).",
                  labels=["ward", "target", "step"]),
            gauge(MILESTONE_DUE, "When a programme milestone is due (Unix time, start of the day, UTC+7).",
                  labels=["milestone"]),
            gauge(STORE_ROWS, "Rows in the store's growing tables.", labels=["table"]),
        ]
        families += migration_metrics.families(self._lines)
        if self.settings.per_device_metrics:
            families.append(info(DEVICE_INFO, "One active device and its latest verdict (per-device series on).",
                                 labels=["ward", "device_id", "hostname", "device_class", "os_name", "verdict",
                                         "agent_version"]))
        return {f.name: f for f in families}

    def collect(self) -> Iterator[Metric]:
        """The families of the store as it is now: those of the last scrape while its key is the same (a scrape
        of an unchanged store reads the key only, ``changes.store_key``), else written again from each unit's
        lines (``_parts``: those of the units whose inputs changed worked out again)."""
        since = self.settings.active_since()
        now = datetime.now(timezone.utc)
        with self.engine.connect() as conn:
            key = changes.store_key(conn, since)
            kept = self._kept.get(key)
            if kept is None:
                families, measured, until = self._compose(conn, since, now, key)
                self._kept.keep(key, families, measured,
                                for_seconds=None if until is None else (until - now).total_seconds())
            else:
                families, measured = kept
        yield from families
        if self.okr is not None:  # with what the store's families were made of: the store read once
            yield from self.okr.collect(measured, key)

    def _compose(self, conn: Connection, since: datetime, now: datetime, key: tuple
                 ) -> tuple[list[Metric], Measured, Optional[datetime]]:
        """Every family of the store now, what the key results take of it, and when time alone changes them (the
        migration families' unreachable endpoints; None: never)."""
        f = self._families()
        writer = Writer()
        parts = self.parts.current(conn, since, now, lambda units: self._work_out(conn, since, now, units, writer),
                                   key[2:4])  # the store key's newest declaration and observation
        self._static(f)
        for u in self.registry:  # an info family, written at render: its samples are read by other readers too
            f[WARD_INFO].add_metric([u.code, u.name, u.kind], {})
        in_registry = [u.code for u in self.registry]
        for names, order in ((_UNIT_FAMILIES, in_registry), (_ENDPOINT_FAMILIES, sorted(parts))):
            # The endpoint families' units in code order (targets in order within each), as their rows sort.
            for name in names:
                family = cast(Metric, f[name])
                prewritten(family, writer.header(family) + "".join([parts[code].lines.get(name, "")
                                                                    for code in order]))
        by_status = dict.fromkeys(UNIT_STATUSES, 0)
        for code in in_registry:
            by_status[cast(str, parts[code].status)] += 1
        for status, n in by_status.items():
            f[UNITS].add_metric([status], n)
        f[migration_metrics.LOCAL_TARGET].add_metric([], self.catalog.target_max_local_apps)
        rows = {"reports": key[0], "devices": queries.device_count(conn)}  # the key counts the reports
        for table in STORE_TABLES:
            f[STORE_ROWS].add_metric([table], rows[table])
        if DEVICE_INFO in f:
            for d in queries.active_devices(conn, since):
                f[DEVICE_INFO].add_metric([d.ward_code, d.device_id, d.hostname, d.device_class, d.os_name,
                                           d.verdict, d.agent_version], {})
        failures: dict[str, int] = {}
        for part in parts.values():
            for rule, n in part.failing.items():
                failures[rule] = failures.get(rule, 0) + n
        measured = Measured({code: p.reach for code, p in parts.items() if p.reach != (0, 0)}, failures)
        until = min((p.turns_at for p in parts.values() if p.turns_at is not None), default=None)
        return list(_metrics(f)), measured, until

    def _work_out(self, conn: Connection, since: datetime, now: datetime, units: Collection[str],
                  writer: Writer) -> dict[str, UnitPart]:
        """The parts of ``units`` from the store now: their counts, summaries, reach and applications read for them
        alone (for every unit at the first scrape), each unit's lines written apart."""
        everyone = units == self.parts.known
        counted = queries.active_counts(conn, since, wards=None if everyone else units)
        registry = self.registry if everyone else Registry(u for u in self.registry if u.code in units)
        summaries = {s.code: s for s in queries.unit_summaries(conn, registry, since, counted,
                                                               self.settings.coverage_threshold, self.parts.last)}
        failing = queries.rule_failure_counts(conn, since, counted)
        of_unit = _by_unit(_fold_classes(queries.class_verdict_counts(conn, since, counted)), failing,
                           queries.app_device_counts(conn, since, counted=counted))
        reach_of: dict[str, list[tuple[str, queries.Reach]]] = {}
        for (ward, target), r in sorted(queries.reachability_details(conn, since, counted=counted,
                                                                      targets=self.endpoint_targets).items()):
            reach_of.setdefault(ward, []).append((target, r))
        migrations = unit_migrations(conn, self.catalog, registry, now, since, counted=counted, partial=not everyone)
        failing_of: dict[str, dict[str, int]] = {}
        for (ward, rule), n in failing.items():
            failing_of.setdefault(ward, {})[rule] = n
        template = self._families()
        out: dict[str, UnitPart] = {}
        for code in units:
            f: dict[str, Family] = {name: _blank(row_gauge(template, name)) for name in _SCRATCH}
            s, m, reach = summaries.get(code), migrations.get(code), reach_of.get(code, [])
            if s is not None:
                self._wards(f, [s], of_unit)
            _endpoints(f, code, reach)
            if m is not None:
                migration_metrics.add_samples(f, [m], self.catalog)
            lines = {name: writer.samples(cast(Metric, f[name])) for name in _UNIT_FAMILIES + _ENDPOINT_FAMILIES}
            turns_at = None if m is None else min(
                (at for a in m.apps if (at := turns_unreachable_at(a, now)) is not None), default=None)
            out[code] = UnitPart(lines, None if s is None else s.status,
                                 (sum(r.reached for _, r in reach), sum(r.checked for _, r in reach)),
                                 failing_of.get(code, {}), turns_at)
        return out

    def _static(self, f: dict[str, Family]) -> None:
        """Series that describe the configuration, not the store: the same on every scrape."""
        f[BUILD_INFO].add_metric([__version__, platform.python_version()], {})
        f[BASELINE_INFO].add_metric([self.baseline.name, self.baseline.fingerprint[:16]], {})
        for rule in self.baseline.all_rules():
            f[RULE_INFO].add_metric([rule.id, rule.title_vi, rule.title_en], {})
        for app in self.catalog.apps:
            f[APP_INFO].add_metric([app.id, app.name_vi, app.name_en, app.category, app.target], {})
        for m in self.milestones:
            f[MILESTONE_INFO].add_metric([m.id, m.title_vi, m.title_en], {})
            f[MILESTONE_DUE].add_metric([m.id], _due_timestamp(m.date))

    def _wards(self, f: dict[str, Family], summaries: list[queries.UnitSummary],
               of_unit: dict[str, dict[tuple[str, ...], int]]) -> None:
        """Per-unit families, every unit x label value present, zeros where nothing reported (``of_unit``: the
        units' counts as ``_by_unit`` keys them)."""
        # Each unit's lookups below use these keys, made once (see _by_unit).
        classes = [(v, cls, (cls, v)) for v in VERDICTS for cls in DEVICE_CLASSES]
        rules = [(rule, (RULE_FAILURES, rule)) for rule in self.baseline.rule_ids()]
        app_ids = [(app.id, (APP_DEVICES, app.id)) for app in self.catalog.apps]
        nothing: dict[tuple[str, ...], int] = {}
        g = {name: row_gauge(f, name) for name in (DEVICES, CLASS_DEVICES, RULE_FAILURES, APP_DEVICES)}
        for s in summaries:
            code, unit = s.code, of_unit.get(s.code, nothing)
            g[DEVICES].add_rows([((code, v), s.counts[v]) for v in VERDICTS])
            g[CLASS_DEVICES].add_rows([((code, cls, v), unit.get(key, 0)) for v, cls, key in classes])
            f[SILENT].add_metric((code,), s.silent)
            f[REPLACED].add_metric((code,), s.replaced)
            g[RULE_FAILURES].add_rows([((code, rule), unit.get(key, 0)) for rule, key in rules])
            g[APP_DEVICES].add_rows([((code, app), unit.get(key, 0)) for app, key in app_ids])
            f[WARD_READINESS].add_metric((code,), s.readiness_ratio)
            _coverage(f, s)
            if s.last_report_at is not None:
                f[WARD_LAST_REPORT].add_metric((code,), s.last_report_at.timestamp())


def _endpoints(f: dict[str, Family], code: str, reach: list[tuple[str, queries.Reach]]) -> None:
    """A unit's endpoint families, its targets in order."""
    for target, r in reach:
        f[ENDPOINT_REACHABLE].add_metric([code, target], r.reached)
        f[ENDPOINT_CHECKED].add_metric([code, target], r.checked)
        if r.connect_ms is not None:
            f[ENDPOINT_CONNECT].add_metric([code, target], r.connect_ms / 1000)
        for step, n in r.failed_steps.items():
            f[ENDPOINT_FAILED].add_metric([code, target, step], n)


def _blank(family: RowGauge) -> RowGauge:
    """An empty family like ``family`` (its name, help, labels and kept lines), to fill with one unit's series: its
    attributes taken over as they are (``copy.copy`` cost more than the unit's rows)."""
    blank = RowGauge.__new__(RowGauge)
    vars(blank).update(vars(family))
    blank.rows = []
    return blank


def _by_unit(by_class: dict[tuple[str, str, str], int], failing: dict[tuple[str, str], int],
             apps: dict[tuple[str, str], int]) -> dict[str, dict[tuple[str, ...], int]]:
    """The counts of each unit on their own, keyed (class, verdict), (RULE_FAILURES, rule) and (APP_DEVICES, app):
    a unit's lookups then make no key of their own."""
    out: dict[str, dict[tuple[str, ...], int]] = {}
    for (ward, cls, verdict), n in by_class.items():
        out.setdefault(ward, {})[(cls, verdict)] = n
    for (ward, rule), n in failing.items():
        out.setdefault(ward, {})[(RULE_FAILURES, rule)] = n
    for (ward, app), n in apps.items():
        out.setdefault(ward, {})[(APP_DEVICES, app)] = n
    return out


def _coverage(f: dict[str, Family], s: queries.UnitSummary) -> None:
    """A unit's coverage by its register; nothing for a unit without one (a zero would read as "none report")."""
    if s.coverage.ratio is None:
        return
    for cls, c in s.coverage.by_class.items():
        f[WARD_EXPECTED].add_metric([s.code, cls], c["expected"])
        f[WARD_REPORTING].add_metric([s.code, cls], c["reporting"])
    f[WARD_COVERAGE].add_metric([s.code], s.coverage.ratio)


def _metrics(families: dict[str, Family]) -> Iterator[Metric]:
    # Known by construction: _families makes every family a RowGauge or an InfoMetricFamily, both Metrics.
    return cast(Iterator[Metric], iter(families.values()))


def _fold_classes(counts: dict[tuple[str, str, str], int]) -> dict[tuple[str, str, str], int]:
    """A class outside the known ones is judged as ``other`` (Baseline.rules_for), so it is counted there too."""
    out: dict[tuple[str, str, str], int] = {}
    for (ward, cls, verdict), n in counts.items():
        key = (ward, cls if cls in DEVICE_CLASSES else "other", verdict)
        out[key] = out.get(key, 0) + n
    return out


HANOI = timezone(timedelta(hours=7))


def _due_timestamp(day: date) -> float:
    """Milestones are Hanoi calendar days; the due moment is that day's start in UTC+7."""
    return datetime.combine(day, time(0), tzinfo=HANOI).timestamp()


class IngestMetrics:
    """The collector's own counters, kept per app in its own registry."""

    def __init__(self, registry: CollectorRegistry):
        self.reports = Counter(INGEST_REPORTS, "Reports received, by result (accepted, duplicate, rejected reason).",
                               ["result"], registry=registry)
        for result in INGEST_RESULTS:
            self.reports.labels(result)
        self.duration = Histogram(INGEST_DURATION, "Time to validate, judge and store one report.",
                                  registry=registry,
                                  buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))


def build_registry(collector: StoreCollector) -> tuple[CollectorRegistry, IngestMetrics]:
    reg = CollectorRegistry(auto_describe=True)
    reg.register(collector)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several worker processes (serve --workers): each counts into its own file and a
        # scrape, whichever worker answers it, sums them all.
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(reg)
        return reg, IngestMetrics(CollectorRegistry())
    return reg, IngestMetrics(reg)
