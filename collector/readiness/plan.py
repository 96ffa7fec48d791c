"""The upgrade plan of every unit and Windows 11 eligibility of its devices, priced once per store change and day.

The page, the JSON API, the exports and /metrics all read the one ``CityPlan``
this keeps, so they agree on each unit's total. Planning a device reads its
latest report body and stored verdict (``inventory.plan`` and
``inventory.win11`` do the judging); at 5,000 devices that is the costly
part, so each device's plan is kept until its report or verdict changes or
the day (and so the prices in force) turns; and each unit's plan is kept
while its key (``_unit_keys``: its stamp of the counts, newest receipt,
devices on the stale age's edge day, shortfall, the day) is the same. A
composition after a report then reads the keys, the active devices of the
unit it landed in, and adds up that unit: at 150,000 devices, reading every
active device's key took seconds, on every /metrics scrape that followed a
report.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, NamedTuple, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from collector.i18n import HANOI, Translator
from collector.readiness.cache import store_version
from collector.readiness.export import Column, Table
from collector.readiness.overview import Sources
from collector.store import counts, kept, queries
from collector.store.bodies import stored_text
from collector.store.tables import devices, register_changes, register_counts, reports, verdicts
from inventory.evaluate import RuleResult, Verdict
from inventory.plan import (
    LABOUR,
    Actions,
    DevicePlan,
    PlanError,
    Pricer,
    UnitPlan,
    load_actions,
    plan_city,
    plan_device,
    plan_unit,
)
from inventory.prices import PriceList, load_price_list
from inventory.registry import KINDS, Registry
from inventory.win11 import ELIGIBILITIES, win11_eligibility

# How long a composed plan is kept when nothing was stored: devices fall silent with time alone.
MAX_AGE_SECONDS = 60.0
_CHUNK = 500


def check_prices(actions: Actions, price_list: PriceList, day: date) -> None:
    """Refuse, at start-up, a price list that leaves an item of the actions file without a price on ``day``:
    one line naming the file, the items and the actions that use them."""
    priced = price_list.prices_on(day)
    used: dict[str, list[str]] = {actions.labour_item: [LABOUR]}
    for action in actions.actions.values():
        for item in (action.item, *action.choose, *action.by_class.values()):
            if item is not None:
                used.setdefault(item, []).append(action.id)
    missing = [f"{item} ({', '.join(names)})" for item, names in used.items() if item not in priced]
    if missing:
        raise PlanError(f"{price_list.source}: no price in force on {day.strftime('%d/%m/%Y')} for "
                        f"{'; '.join(missing)}; add a line for each item the actions file uses")


def load_plan_book(price_list_path: Optional[Path], day: date) -> "PlanBook":
    """The shipped actions priced by the city's list (the example without one), checked whole before anything
    starts: a bad row, or an item left without a price on ``day``, is one line naming it (``serve``, ``demo``)."""
    book = PlanBook(load_actions(), load_price_list(price_list_path))
    check_prices(book.actions, book.price_list, day)
    return book


class _Planned(NamedTuple):
    key: tuple
    ward: str
    plan: DevicePlan
    eligibility: str
    windows_10: bool
    collected: datetime  # of its latest report: it leaves the plan when the stale age passes it


class _UnitPlanned(NamedTuple):
    key: Optional[tuple]  # _unit_keys
    newest: Optional[datetime]  # the unit's newest receipt when it was planned: newer ones are read next time
    planned: dict[str, _Planned]  # its active devices' plans and what each was made from
    devices: dict[str, DevicePlan]
    win11: dict[str, dict[str, int]]
    plan: UnitPlan


@dataclass(frozen=True)
class CityPlan:
    """Every unit's plan and Windows 11 tally, as of one moment and the prices in force on its day."""

    now: datetime
    day: date
    units: dict[str, UnitPlan]
    devices: dict[str, dict[str, DevicePlan]]
    win11: dict[str, dict[str, dict[str, int]]]

    def city(self) -> dict[str, Any]:
        """City totals and per-unit totals (``GET /api/v1/plan``)."""
        tally = {e: {"devices": 0, "windows_10": 0} for e in ELIGIBILITIES}
        for unit in self.win11.values():
            for eligibility, row in unit.items():
                for key, n in row.items():
                    tally[eligibility][key] += n
        return {"as_of": self.now.isoformat(), **plan_city(self.units), "win11": tally,
                "price_list": self.price_list}

    @property
    def price_list(self) -> dict[str, Any]:
        """What priced the plan: the file, the day, whether an example price was used, the regulations."""
        return dict(next(iter(self.units.values())).price_list) if self.units else {}

    def unit(self, code: str) -> dict[str, Any]:
        """One unit's plan (``GET /api/v1/wards/<code>/plan``): the bill of quantities, each device's actions,
        and its devices' Windows 11 eligibility."""
        return {"ward_code": code, "as_of": self.now.isoformat(), **self.units[code].to_dict(),
                "devices": [p.to_dict() for _, p in sorted(self.devices.get(code, {}).items())],
                "win11": self.win11[code]}


class PlanBook:
    """The actions file and the price list loaded at start-up, and the plans made with them (thread-safe)."""

    def __init__(self, actions: Actions, price_list: PriceList):
        self.actions, self.price_list = actions, price_list
        self._lock = threading.Lock()
        self._units: dict[str, _UnitPlanned] = {}
        self._unit_of: dict[str, str] = {}  # device -> the unit it was last read in
        self._kept: Optional[tuple[tuple, float, CityPlan]] = None

    def city_plan(self, c: Sources, now: datetime) -> CityPlan:
        """The kept plan while the store, the register and the day are unchanged (and it is under a minute
        old), else a new one: only devices with a new report or verdict are planned again."""
        day = now.astimezone(HANOI).date()
        with self._lock:
            version = (*store_version(c), _register_version(c), day)
            kept = self._kept
            if kept is not None and kept[0] == version and time.monotonic() - kept[1] < MAX_AGE_SECONDS:
                return kept[2]
            plan = self._compose(c, now, day)
            self._kept = (version, time.monotonic(), plan)
            return plan

    def _compose(self, c: Sources, now: datetime, day: date) -> CityPlan:
        """Each unit's plan kept while its key is the same (``_unit_keys``); the others' devices read and those
        with a new report or verdict planned again."""
        pricer = Pricer(self.actions, self.price_list, day)
        since = c.settings.active_since(now)
        with c.engine.connect() as conn:
            shortfall = _shortfalls(conn)
            unit_keys = _unit_keys(conn, since, day, shortfall)
            stale = [u.code for u in c.registry if (kept := self._units.get(u.code)) is None
                     or kept.key != unit_keys.get(u.code)]
            if stale:
                self._plan_units(conn, c, pricer, since, day, stale, unit_keys, shortfall)
        self._units = {u.code: self._units[u.code] for u in c.registry}
        return CityPlan(now, day, {code: u.plan for code, u in self._units.items()},
                        {code: u.devices for code, u in self._units.items()},
                        {code: u.win11 for code, u in self._units.items()})

    def _plan_units(self, conn: Connection, c: Sources, pricer: Pricer, since: datetime, day: date,
                    units: list[str], unit_keys: dict[str, tuple], shortfall: dict[str, dict[str, int]]) -> None:
        """Plan ``units`` again: the devices received since each one's last plan (all its active devices the first
        time) read, those with a new report or verdict planned; those past the stale age, or gone to another unit,
        left out."""
        again = set(units)
        planned: dict[str, dict[str, _Planned]] = {}
        for code in units:
            kept_unit = self._units.get(code)
            planned[code] = dict(kept_unit.planned) if kept_unit is not None and kept_unit.newest else {}
        keys: dict[str, tuple[str, tuple, datetime]] = {}
        for device_id, ward, report_id, evaluated_at, collected in _received(conn, since, self._units, units):
            moved_from = self._unit_of.get(device_id)
            if moved_from is not None and moved_from != ward:
                if moved_from not in planned:
                    kept_unit = self._units.get(moved_from)
                    planned[moved_from] = dict(kept_unit.planned) if kept_unit is not None else {}
                    again.add(moved_from)
                planned[moved_from].pop(device_id, None)
            self._unit_of[device_id] = ward
            key = (report_id, evaluated_at, day)
            before = planned[ward].get(device_id)
            if collected < since:
                planned[ward].pop(device_id, None)
            elif before is None or before.key != key:
                keys[device_id] = (ward, key, collected)
        unplanned = list(keys)
        for start in range(0, len(unplanned), _CHUNK):
            for device_id, p in _plan_devices(conn, unplanned[start:start + _CHUNK], c, pricer, keys):
                planned[p.ward][device_id] = p
        for code in again:
            active = {device_id: p for device_id, p in planned[code].items() if p.collected >= since}
            win11 = {e: {"devices": 0, "windows_10": 0} for e in ELIGIBILITIES}
            for p in active.values():
                win11[p.eligibility]["devices"] += 1
                win11[p.eligibility]["windows_10"] += int(p.windows_10)
            plans = {device_id: p.plan for device_id, p in active.items()}
            if code in units:
                key_ = unit_keys.get(code)
                newest = key_[1] if key_ else None  # read before the devices: later receipts are read next time
            else:  # a unit a device left, not due to be read: read at its next plan from where it was
                previous = self._units.get(code)
                key_, newest = None, previous.newest if previous else None
            self._units[code] = _UnitPlanned(key_, newest, active, plans, win11,
                                             plan_unit(plans.values(), pricer, shortfall.get(code)))


def _received(conn: Connection, since: datetime, kept: dict[str, "_UnitPlanned"], units: list[str]) -> list:
    """(device, unit, report, evaluated at, collected at) of the devices of ``units`` with a verdict: those received
    since the unit's newest receipt at its last plan (an index range per unit), all the active ones of a unit
    planned for the first time."""
    d = devices.c
    newest = {code: kept[code].newest for code in units if code in kept and kept[code].newest is not None}
    fresh = [code for code in units if code not in newest]
    which = [sa.and_(d.ward_code == code, d.last_received_at >= at) for code, at in newest.items()]
    if fresh:
        which.append(sa.and_(d.ward_code.in_(fresh), d.last_collected_at >= since))
    q = (sa.select(d.device_id, d.ward_code, d.last_report_id, verdicts.c.evaluated_at, d.last_collected_at)
         .join(verdicts, verdicts.c.device_id == d.device_id).where(sa.or_(*which)))
    return list(conn.execute(q).all())


def _unit_keys(conn: Connection, since: datetime, day: date, shortfall: dict[str, dict[str, int]]
               ) -> dict[str, tuple]:
    """Per unit, what its plan is made of, read cheaply: a new report sets its newest receipt, a device that
    comes, goes or changes its counts moves its stamp of the counts (``store.kept``), and time alone takes out
    the devices on the stale age's edge day (their number) or turns the day; and its register's shortfall."""
    stamps = kept.stamps(conn, counts.KEPT)
    last = queries.last_received(conn)
    edge = counts.edge_devices(conn, since)
    return {code: (stamps.get(code), last.get(code), edge.get(code, 0), since.astimezone(timezone.utc).date(), day,
                   tuple(sorted(shortfall.get(code, {}).items())))
            for code in stamps.keys() | last.keys() | edge.keys() | shortfall.keys()}


def _plan_devices(conn: Connection, ids: list[str], c: Sources, pricer: Pricer,
                  keys: dict[str, tuple[str, tuple, datetime]]) -> Iterable[tuple[str, _Planned]]:
    """Plan these devices from their latest report (its body without the software list, which no rule of
    the plan reads) and their stored verdict."""
    q = (sa.select(devices.c.device_id, devices.c.device_class, reports.c.body, reports.c.body_zlib,
                   verdicts.c.status, verdicts.c.results, verdicts.c.baseline, verdicts.c.evaluated_at)
         .join(verdicts, verdicts.c.device_id == devices.c.device_id)
         .outerjoin(reports, reports.c.report_id == devices.c.last_report_id)
         .where(devices.c.device_id.in_(ids)))
    for device_id, device_class, body, body_zlib, status, results, baseline, evaluated_at in conn.execute(q).all():
        report = _report(None if body is None else stored_text(body, body_zlib))
        rules = tuple(RuleResult.from_dict(r) for r in results)
        verdict = Verdict(status, rules, device_class, c.baseline.name, baseline, evaluated_at.astimezone(HANOI).date())
        judged = win11_eligibility(report)
        raw_os = report.get("os")
        os = raw_os if isinstance(raw_os, dict) else {}
        ward, key, collected = keys[device_id]
        yield device_id, _Planned(key, ward, plan_device(device_id, report, verdict, judged, c.baseline, pricer),
                                  judged.eligibility, os.get("id") == "windows" and os.get("version") == "10",
                                  collected)


def _report(body: Optional[str]) -> dict[str, Any]:
    """A stored body as a report; none (a body pruned or never kept) is a report whose facts are all unknown,
    so the device is listed as unresolved rather than dropped or priced on a guess."""
    try:
        report = json.loads(body) if body else {}
    except ValueError:
        return {}
    return report if isinstance(report, dict) else {}


def _shortfalls(conn: Connection) -> dict[str, dict[str, int]]:
    """Machines each unit needs but does not own, by class, from its equipment register."""
    out: dict[str, dict[str, int]] = {}
    rc = register_counts.c
    for ward, cls, expected, needed in conn.execute(
            sa.select(rc.ward_code, rc.device_class, rc.expected, rc.needed)).all():
        if needed > expected:
            out.setdefault(ward, {})[cls] = needed - expected
    return out


def _register_version(c: Sources) -> Optional[int]:
    with c.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(register_changes.c.id))).scalar()


# The procurement estimate's columns, in the order a finance department reads them (docs/plan.md).
PLAN_COLUMNS = (Column("code"), Column("unit"), Column("action"), Column("item_id"), Column("item"),
                Column("unit_of_measure"), Column("quantity", "number"), Column("unit_price", "int"),
                Column("amount", "int"), Column("labour_hours", "number"), Column("devices", "int"),
                Column("basis"))


def plan_table(plan: CityPlan, codes: Iterable[str], registry: Registry, actions: Actions, t: Translator) -> Table:
    """The bill of quantities of ``codes`` (one unit, or the city): a row per line, a total per unit, the
    grand total, and, when an example price was used, a last row that says so. Values only, no formula: the
    totals are the sums the plan made, as the page and the API show them."""
    rows: list[list[Any]] = []
    total = 0
    for code in codes:
        unit, place = plan.units[code], registry.get(code)
        name = f"{KINDS[place.kind][0 if t.lang == 'vi' else 1]} {place.name}" if place else code
        for line in unit.lines:
            rows.append([code, name, action_title(line.action, actions, t), line.item or "",
                         line.description_vi, line.unit_of_measure, line.quantity, line.unit_price_vnd,
                         line.amount_vnd, line.labour_hours, len(line.device_ids), line.basis])
        rows.append([code, name, t("plan.unit_total"), "", "", "", None, None, unit.total_vnd, unit.labour_hours,
                     None, ""])
        total += unit.total_vnd
    rows.append(["", "", t("plan.grand_total"), "", "", "", None, None, total, None, None, ""])
    if plan.price_list.get("example"):
        rows.append(["", "", t("plan.example"), "", "", "", None, None, None, None, None, plan.price_list["source"]])
    headers = [t(f"export.col.plan.{c.key}") for c in PLAN_COLUMNS]
    return Table(t("plan.export_title", date=t.date(plan.day)), PLAN_COLUMNS, headers, rows)


def action_title(action: str, actions: Actions, t: Translator) -> str:
    """An action's title in the reader's language (the labour line has no action of the file)."""
    known = actions.actions.get(action)
    return t.pick(known.title_vi, known.title_en) if known else t(f"plan.action.{action}")
