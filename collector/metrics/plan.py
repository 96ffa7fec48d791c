"""The upgrade plan's families of /metrics: cost per unit and action, forecast day, Windows 11 eligibility.

Read from the same ``CityPlan`` and overview forecasts the page and the API
show (``readiness/plan.py``, ``readiness/forecasts.py``), so the figures
agree. Series are units x actions of the actions file and units x
eligibility (zeros included), never devices; a unit with no forecast has no
``hdc_ward_forecast_ready_timestamp_seconds`` series, so "no forecast" is
not read as a date.
"""
from __future__ import annotations

import logging
from typing import Iterator, Optional, Protocol

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from collector.metrics.exposition import KeptFamilies, KeptLines, RowGauge, Writer, prewritten
from collector.readiness.forecasts import ready_timestamp
from collector.readiness.overview import CityOverview
from collector.readiness.plan import CityPlan, PlanBook
from inventory.plan import PlanError, UnitPlan
from inventory.win11 import ELIGIBILITIES

log = logging.getLogger(__name__)

PLAN_COST = "hdc_ward_plan_cost_vnd"
FORECAST_READY = "hdc_ward_forecast_ready_timestamp_seconds"
WIN11_DEVICES = "hdc_win11_devices"


class PlanSources(Protocol):
    """What the collector reads: the collector's ``Context`` (passed after it is built)."""

    @property
    def plan_book(self) -> PlanBook: ...

    def plan(self) -> CityPlan: ...

    def overview(self, milestone_id: Optional[str] = None, consistent: bool = False) -> CityOverview: ...


class PlanCollector(Collector):
    """Composes nothing of its own: the kept plan and overview, read at scrape time."""

    def __init__(self, sources: PlanSources):
        self.sources = sources
        self._lines: KeptLines = {}
        self._kept = KeptFamilies()
        # Each unit's plan and Windows 11 tally and their lines, while the plan gives the same objects.
        self._units: dict[str, tuple[UnitPlan, dict, str, str]] = {}

    def _families(self) -> tuple[RowGauge, RowGauge, RowGauge]:
        return (RowGauge(PLAN_COST, "What a unit's upgrade plan costs by action (parts and the action's labour), in "
                                    "VND, priced by the price list in force today; the sum over actions is the "
                                    "plan's total.", ["ward", "action"], self._lines),
                RowGauge(FORECAST_READY, "When a unit will have no device left that is not ready, at its pace of the "
                                         "last 4 weeks (Theil-Sen), as Unix time of that day's start in Hanoi; in the "
                                         "past: ready since. Absent when there is no forecast.", ["ward"],
                         self._lines),
                RowGauge(WIN11_DEVICES, "Active devices of a unit by Windows 11 eligibility (eligible, "
                                        "after_firmware_settings, not_eligible, unknown).", ["ward", "eligibility"],
                         self._lines))

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def forget(self) -> None:
        """Write the families again at the next scrape (see ``StoreCollector.forget``)."""
        self._kept.forget()
        self._units.clear()

    def collect(self) -> Iterator[Metric]:
        """The families of the kept plan and overview, kept with them (their identities are the key)."""
        overview = self.sources.overview()
        try:
            plan: Optional[CityPlan] = self.sources.plan()
        except PlanError:  # an item's price expired since the start: the other families still go out
            log.warning("the upgrade plan cannot be priced; its cost and Windows 11 series are left out",
                        exc_info=True)
            plan = None
        key = (id(plan), id(overview))  # both kept beside the families: no id reuse
        kept = self._kept.get(key)
        if kept is not None:
            return iter(kept[0])
        cost, ready, win11 = self._families()
        if plan is not None:
            self._plan_samples(plan, cost, win11)
        else:
            self._units.clear()
        for code, forecast in sorted(overview.forecasts.items()):
            if forecast.ready_on is not None:
                ready.add_metric([code], ready_timestamp(forecast.ready_on))
        families: list[Metric] = [cost, ready, win11]
        if plan is not None:  # a plan that cannot be priced is tried again at the next scrape
            self._kept.keep(key, families, (plan, overview))
        return iter(families)

    def _plan_samples(self, plan: CityPlan, cost: RowGauge, win11: RowGauge) -> None:
        """Every unit x action and unit x eligibility, zeros included; each unit's lines written again only when
        its plan is a new one (the plan keeps the others' objects while their devices are unchanged)."""
        actions = list(self.sources.plan_book.actions.actions)
        writer = Writer()
        units: dict[str, tuple[UnitPlan, dict, str, str]] = {}
        for code, unit in plan.units.items():
            by_eligibility = plan.win11[code]
            kept = self._units.get(code)
            if kept is not None and kept[0] is unit and kept[1] is by_eligibility:
                units[code] = kept
                continue
            by_action = unit.cost_by_action()
            units[code] = (unit, by_eligibility,
                           writer.rows(cost, [((code, action), by_action.get(action, 0)) for action in actions]),
                           writer.rows(win11, [((code, e), by_eligibility[e]["devices"]) for e in ELIGIBILITIES]))
        self._units = units
        prewritten(cost, writer.header(cost) + "".join([u[2] for u in units.values()]))
        prewritten(win11, writer.header(win11) + "".join([u[3] for u in units.values()]))
