"""The OKR families of /metrics: key-result values, progress and pace, and work items per milestone, state and unit.

Read from ``readiness.okr.OkrProgress`` (the figures of ``/okr`` and
``/api/v1/okr``) at scrape time by a custom collector that the store's
collector runs after its own families, with what it worked out from the
per-unit counts it read (``readiness.okr.Measured``: the store read once per
scrape). Cardinality is bounded by key results x statuses and by
units x milestones x states (126 x 5 x 4), never by devices; every label
value is written, zeros included, so a unit with nothing to do is a visible 0.
"""
from __future__ import annotations

from typing import Callable, Hashable, Iterator, Optional

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from collector.metrics.exposition import KeptFamilies, KeptLines, RowGauge
from collector.readiness.okr import Measured, OkrProgress
from collector.readiness.overview import CityOverview
from collector.readiness.workitems import STATES, due_moment
from inventory.okr import STATUSES

KEY_RESULT_PROGRESS = "hdc_key_result_progress_ratio"
KEY_RESULT_VALUE = "hdc_key_result_value"
KEY_RESULT_TARGET = "hdc_key_result_target"
KEY_RESULT_STATUS = "hdc_key_result_status"
KEY_RESULT_DUE = "hdc_key_result_due_timestamp_seconds"
WORK_ITEMS = "hdc_work_items"
KEY_RESULT_LABELS = ["objective", "key_result"]


def _families(lines: KeptLines) -> dict[str, RowGauge]:
    def gauge(name: str, documentation: str, labels: list[str]) -> RowGauge:
        return RowGauge(name, documentation, labels, lines)

    families = [
        gauge(KEY_RESULT_PROGRESS, "Progress of a key result from its baseline to its target (0..1).",
              KEY_RESULT_LABELS),
        gauge(KEY_RESULT_VALUE, "Current value of a key result's measure (units, or a 0..1 share).",
              KEY_RESULT_LABELS),
        gauge(KEY_RESULT_TARGET, "Target of a key result, in the unit of its value.", KEY_RESULT_LABELS),
        gauge(KEY_RESULT_STATUS, "Pace of a key result: 1 for its current status (done, on_track, at_risk, "
                                 "off_track), 0 for the others.", KEY_RESULT_LABELS + ["status"]),
        gauge(KEY_RESULT_DUE, "When a key result is due (Unix time, end of its day, UTC+7).", KEY_RESULT_LABELS),
        gauge(WORK_ITEMS, "Work items of a milestone by state and unit (done_on_time, done_late, in_progress, "
                          "overdue), zeros included.", ["milestone", "state", "ward"]),
    ]
    return {f.name: f for f in families}


class OkrCollector(Collector):
    """Measures the key results through ``progress`` (``readiness.okr.okr_progress`` of the kept ``overview``,
    ``Context.overview``), given what the scrape worked out from the counts it read (``StoreCollector`` passes it;
    None: ``progress`` reads its own). Its families are kept while the overview and the store's key are the same."""

    def __init__(self, overview: Callable[[], CityOverview],
                 progress: Callable[[CityOverview, Optional[Measured]], OkrProgress]):
        self.overview = overview
        self.progress = progress
        self._lines: KeptLines = {}  # series text kept between scrapes (exposition.RowGauge)
        self._kept = KeptFamilies()
        self._work = KeptFamilies()  # the work items, of the overview alone: kept while it is the same

    def describe(self) -> Iterator[Metric]:
        return iter(_families(self._lines).values())

    def forget(self) -> None:
        """Measure again at the next scrape (see ``StoreCollector.forget``)."""
        self._kept.forget()
        self._work.forget()

    def collect(self, measured: Optional[Measured] = None, store_key: Optional[Hashable] = None
                ) -> Iterator[Metric]:
        """``store_key``: the store's key (``changes.store_key``) ``measured`` was read under; None: measure now."""
        overview = self.overview()
        key = None if store_key is None else (store_key, id(overview))  # the overview is kept beside: no id reuse
        kept = None if key is None else self._kept.get(key)
        if kept is not None:
            return iter(kept[0])
        progress = self.progress(overview, measured)
        families = self._measure(progress)
        work = self._work.get(id(overview))
        families += work[0] if work is not None else self._work.keep(id(overview), [self._work_items(progress)],
                                                                     overview)
        if key is not None:
            self._kept.keep(key, families, overview)
        return iter(families)

    def _measure(self, p: OkrProgress) -> list[Metric]:
        f = _families(self._lines)
        for objective, k in p.key_results():
            labels = [objective.id, k.key_result.id]
            f[KEY_RESULT_PROGRESS].add_metric(labels, k.progress)
            f[KEY_RESULT_VALUE].add_metric(labels, k.value)
            f[KEY_RESULT_TARGET].add_metric(labels, k.key_result.target)
            f[KEY_RESULT_DUE].add_metric(labels, due_moment(k.key_result.due).timestamp())
            for status in STATUSES:
                f[KEY_RESULT_STATUS].add_metric(labels + [status], 1 if k.status == status else 0)
        return [family for name, family in f.items() if name != WORK_ITEMS]

    def _work_items(self, p: OkrProgress) -> Metric:
        """Every milestone x state x unit, zeros included: the kept overview's alone, so written once for it (a
        report changes the key results' values at once, the work items when the overview is composed again)."""
        family = _families(self._lines)[WORK_ITEMS]
        nothing: dict[str, int] = {}
        for m in p.milestones:
            by_unit = p.work_by_unit.get(m.id, {})
            for state in STATES:
                family.add_rows(((m.id, state, code), by_unit.get(code, nothing).get(state, 0))
                                for code in p.unit_codes)
        return family
