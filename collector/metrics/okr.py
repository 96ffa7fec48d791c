"""The OKR families of /metrics: key-result values, progress and pace, and work items per milestone, state and unit.

Read from ``readiness.okr.OkrProgress`` (the figures of ``/okr`` and
``/api/v1/okr``) at scrape time by a custom collector registered in the
app's own registry. Cardinality is bounded by key results x statuses and by
units x milestones x states (126 x 5 x 4), never by devices; every label
value is written, zeros included, so a unit with nothing to do is a visible 0.
"""
from __future__ import annotations

from typing import Callable, Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from collector.metrics.exposition import RowGauge
from collector.readiness.okr import OkrProgress
from collector.readiness.workitems import STATES, due_moment
from inventory.okr import STATUSES

KEY_RESULT_PROGRESS = "hdc_key_result_progress_ratio"
KEY_RESULT_VALUE = "hdc_key_result_value"
KEY_RESULT_TARGET = "hdc_key_result_target"
KEY_RESULT_STATUS = "hdc_key_result_status"
KEY_RESULT_DUE = "hdc_key_result_due_timestamp_seconds"
WORK_ITEMS = "hdc_work_items"
KEY_RESULT_LABELS = ["objective", "key_result"]


def _families() -> dict[str, RowGauge]:
    families = [
        RowGauge(KEY_RESULT_PROGRESS, "Progress of a key result from its baseline to its target (0..1).",
                 KEY_RESULT_LABELS),
        RowGauge(KEY_RESULT_VALUE, "Current value of a key result's measure (units, or a 0..1 share).",
                 KEY_RESULT_LABELS),
        RowGauge(KEY_RESULT_TARGET, "Target of a key result, in the unit of its value.", KEY_RESULT_LABELS),
        RowGauge(KEY_RESULT_STATUS, "Pace of a key result: 1 for its current status (done, on_track, at_risk, "
                                    "off_track), 0 for the others.", KEY_RESULT_LABELS + ["status"]),
        RowGauge(KEY_RESULT_DUE, "When a key result is due (Unix time, end of its day, UTC+7).", KEY_RESULT_LABELS),
        RowGauge(WORK_ITEMS, "Work items of a milestone by state and unit (done_on_time, done_late, in_progress, "
                             "overdue), zeros included.", ["milestone", "state", "ward"]),
    ]
    return {f.name: f for f in families}


class OkrCollector(Collector):
    """Measures the key results on every scrape through ``progress`` (``Context.okr_progress``)."""

    def __init__(self, progress: Callable[[], OkrProgress]):
        self.progress = progress

    def describe(self) -> Iterator[Metric]:
        return iter(_families().values())

    def collect(self) -> Iterator[Metric]:
        p = self.progress()
        f = _families()
        for objective, k in p.key_results():
            labels = [objective.id, k.key_result.id]
            f[KEY_RESULT_PROGRESS].add_metric(labels, k.progress)
            f[KEY_RESULT_VALUE].add_metric(labels, k.value)
            f[KEY_RESULT_TARGET].add_metric(labels, k.key_result.target)
            f[KEY_RESULT_DUE].add_metric(labels, due_moment(k.key_result.due).timestamp())
            for status in STATUSES:
                f[KEY_RESULT_STATUS].add_metric(labels + [status], 1 if k.status == status else 0)
        for m in p.milestones:
            by_unit = p.work_by_unit.get(m.id, {})
            for state in STATES:
                for code in p.unit_codes:
                    f[WORK_ITEMS].add_metric([m.id, state, code], by_unit.get(code, {}).get(state, 0))
        return iter(f.values())
