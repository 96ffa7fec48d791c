"""The units' dates in /metrics: time overdue against the equipment deadline, and the day a ready unit became so.

Read from the kept overview's ranking rows (``readiness/overview.py``), the
rows the page, the exports and the API show, so the figures agree and a
scrape never waits for a composition. A unit that is not ready has no
``hdc_ward_ready_since_timestamp_seconds`` series.
"""
from __future__ import annotations

from typing import Callable, Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from collector.metrics.exposition import KeptFamilies, KeptLines, RowGauge
from collector.readiness.forecasts import ready_timestamp
from collector.readiness.overview import CityOverview

OVERDUE = "hdc_ward_overdue_seconds"
READY_SINCE = "hdc_ward_ready_since_timestamp_seconds"
DAY_SECONDS = 86_400


class UnitDatesCollector(Collector):
    """Takes the overview it reads as a parameter (``Context.overview``), like the other collectors their sources."""

    def __init__(self, overview: Callable[[], CityOverview]):
        self.overview = overview
        self._lines: KeptLines = {}
        self._kept = KeptFamilies()  # the families of the last overview read

    def _families(self) -> tuple[RowGauge, RowGauge]:
        return (RowGauge(OVERDUE, "Time past the equipment deadline (30/11/2025) while the unit is not ready, in "
                                  "whole days (the page's days overdue x 86,400); 0 for a ready unit.", ["ward"],
                         self._lines),
                RowGauge(READY_SINCE, "The day a ready unit first met the bar (register coverage and every active "
                                      "device passing), as Unix time of that day's start in Hanoi; absent while the "
                                      "unit is not ready.", ["ward"], self._lines))

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def forget(self) -> None:
        """Write the families again at the next scrape (see ``StoreCollector.forget``)."""
        self._kept.forget()

    def collect(self) -> Iterator[Metric]:
        """The kept overview's dates, kept with it (its identity is the key)."""
        overview = self.overview()
        kept = self._kept.get(id(overview))
        if kept is not None:
            return iter(kept[0])
        overdue, ready = self._families()
        for row in overview.rows:
            overdue.add_metric([row.summary.code], row.days_overdue * DAY_SECONDS)
            if row.ready_since is not None:
                ready.add_metric([row.summary.code], ready_timestamp(row.ready_since))
        return iter(self._kept.keep(id(overview), [overdue, ready], overview))
