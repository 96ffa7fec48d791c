"""Prometheus metrics: store aggregates read at scrape time, plus the collector's own counters.

Aggregates come from ``queries`` through one custom Collector, so /metrics,
the API and the page show the same numbers and no gauge can drift from the
store. Cardinality is wards x verdicts and wards x rules, never devices.
Each app gets its own CollectorRegistry: no process-global state.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from inventory.baseline import Baseline
from inventory.milestones import Milestone
from inventory.readiness import UNIT_STATUSES, VERDICTS
from inventory.registry import Registry

from . import queries
from .settings import Settings

# Names other parts (dashboards, alert rules) rely on.
DEVICES = "hdc_devices"
SILENT = "hdc_silent_devices"
REPLACED = "hdc_replaced_devices"
RULE_FAILURES = "hdc_rule_failures"
WARD_INFO = "hdc_ward"
WARD_READINESS = "hdc_ward_readiness_ratio"
WARD_LAST_REPORT = "hdc_ward_last_report_timestamp_seconds"
UNITS = "hdc_units"
ENDPOINT_REACHABLE = "hdc_endpoint_reachable_devices"
ENDPOINT_CHECKED = "hdc_endpoint_checked_devices"
MILESTONE_DUE = "hdc_milestone_due_timestamp_seconds"
INGEST_REPORTS = "hdc_ingest_reports"  # exposed as hdc_ingest_reports_total
INGEST_DURATION = "hdc_ingest_duration_seconds"

REJECT_REASONS = ("unauthenticated", "forbidden", "malformed", "invalid", "too_large",
                  "unsupported_media_type", "unavailable")


class StoreCollector(Collector):
    """Reads the store on every scrape; one short read transaction, a handful of GROUP BYs."""

    def __init__(self, engine: Engine, registry: Registry, baseline: Baseline, milestones: Iterable[Milestone],
                 settings: Settings):
        self.engine = engine
        self.settings = settings
        self.registry = registry
        self.baseline = baseline
        self.milestones = list(milestones)

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def _families(self) -> tuple[Metric, ...]:
        return (
            InfoMetricFamily(WARD_INFO, "Commune-level unit of the registry.", labels=["ward", "name", "kind"]),
            GaugeMetricFamily(DEVICES, "Active devices by unit and latest verdict against the baseline.",
                              labels=["ward", "verdict"]),
            GaugeMetricFamily(SILENT, "Devices of a unit with no report within the stale age and no successor.",
                              labels=["ward"]),
            GaugeMetricFamily(REPLACED, "Devices of a unit no longer reporting because a new one took their name.",
                              labels=["ward"]),
            GaugeMetricFamily(RULE_FAILURES, "Devices failing a baseline rule, by unit and rule.",
                              labels=["ward", "rule"]),
            GaugeMetricFamily(WARD_READINESS, "Share of a unit's devices passing every hard rule (0..1).",
                              labels=["ward"]),
            GaugeMetricFamily(WARD_LAST_REPORT, "When a unit's most recent report was received (Unix time).",
                              labels=["ward"]),
            GaugeMetricFamily(UNITS, "Units by readiness status.", labels=["status"]),
            GaugeMetricFamily(ENDPOINT_REACHABLE, "Devices of a unit that reached an HDC endpoint at their last check.",
                              labels=["ward", "target"]),
            GaugeMetricFamily(ENDPOINT_CHECKED, "Devices of a unit that checked an HDC endpoint.",
                              labels=["ward", "target"]),
            GaugeMetricFamily(MILESTONE_DUE, "When a programme milestone is due (Unix time, start of the day, UTC+7).",
                              labels=["milestone"]),
        )

    def collect(self) -> Iterator[Metric]:
        (info, devices, silent, replaced, failures, readiness, last, units, reachable, checked, due) = self._families()
        since = self.settings.active_since()
        with self.engine.connect() as conn:
            summaries = queries.ward_summaries(conn, self.registry, since)
            failing = queries.rule_failure_counts(conn, since)
            reach = queries.reachability_counts(conn, since)
        rules = self.baseline.rule_ids()
        by_status = dict.fromkeys(UNIT_STATUSES, 0)
        for s in summaries:
            info.add_metric([s.code, s.name, s.kind], {})
            for v in VERDICTS:
                devices.add_metric([s.code, v], s.counts[v])
            silent.add_metric([s.code], s.silent)
            replaced.add_metric([s.code], s.replaced)
            for rule in rules:
                failures.add_metric([s.code, rule], failing.get((s.code, rule), 0))
            readiness.add_metric([s.code], s.readiness_ratio)
            if s.last_report_at is not None:
                last.add_metric([s.code], s.last_report_at.timestamp())
            by_status[s.status] += 1
        for status, n in by_status.items():
            units.add_metric([status], n)
        for (ward, target), (ok, n) in sorted(reach.items()):
            reachable.add_metric([ward, target], ok)
            checked.add_metric([ward, target], n)
        for m in self.milestones:
            due.add_metric([m.id], _due_timestamp(m.date))
        yield from (info, devices, silent, replaced, failures, readiness, last, units, reachable, checked, due)


HANOI = timezone(timedelta(hours=7))


def _due_timestamp(day: date) -> float:
    """Milestones are Hanoi calendar days; the due moment is that day's start in UTC+7."""
    return datetime.combine(day, time(0), tzinfo=HANOI).timestamp()


class IngestMetrics:
    """The collector's own counters, kept per app in its own registry."""

    def __init__(self, registry: CollectorRegistry):
        self.reports = Counter(INGEST_REPORTS, "Reports received, by result (accepted, duplicate, rejected reason).",
                               ["result"], registry=registry)
        for result in ("accepted", "duplicate") + REJECT_REASONS:
            self.reports.labels(result)
        self.duration = Histogram(INGEST_DURATION, "Time to validate, judge and store one report.",
                                  registry=registry,
                                  buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))


def build_registry(collector: StoreCollector) -> tuple[CollectorRegistry, IngestMetrics]:
    reg = CollectorRegistry(auto_describe=True)
    reg.register(collector)
    return reg, IngestMetrics(reg)
