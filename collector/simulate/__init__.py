"""Realistic simulated fleets for every unit of a registry, as schema-v2 reports (schema 3 for equipment).

The city needs to see dashboards, alerts and the readiness page work before
agents are on 3,500 ward machines, and load tests need reports that look like
the real ones (hundreds of packages, old and new hardware, flaky links). So
the simulator models the fleet the programme actually faces: Haswell to
Kaby Lake desktops with 4 GiB and HDDs beside recent purchases, Windows 10
reaching end of support on 14/10/2025, Windows 11 feature updates that lag,
TPMs that are absent, 1.2, or unreadable by a non-elevated agent, and the
catalog's applications installed by role (one-stop counter, accountant,
land officer). Over time (``generate_history``) deficient machines get RAM,
an SSD, Windows 11, a pending feature update or a replacement PC, and servers
RAM or a supported OS, around the 30/11/2025 deadline, some late, and a few
machines stop reporting. Each unit also has a switch, a UPS and a printer
(some a router or firewall) as probe-snmp reports them, some out of support,
too slow or with a battery or toner to replace (``simulate_equipment``).
How much of that a unit does, and when, depends on the unit's diligence
(``simulate_units.unit_diligence``): some finish before the deadline, many
soon after it, most leave a few machines behind, and some laggards hardly
start, so the readiness page shows who is done and who is late.

Everything derives from ``random.Random`` instances seeded with strings made
of the seed, the unit code and the device index, so a device is the same in
every run and in every generator, and one unit's plan does not depend on how
many devices another unit has.

This module is the timeline: which reports the fleet sends, and when. The
model is in ``simulate_machines`` (hardware and OS catalogues),
``simulate_software`` and ``simulate_linux_packages`` (what is installed),
``simulate_units`` (each unit's diligence and shared choices),
``simulate_migration`` (application moves and declarations),
``simulate_fleet`` (devices and their upgrades) and ``simulate_reports``
(a machine's report on a given day); ``simulate_load`` posts it all.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Collection, Iterator, Optional

from collector.simulate.fleet import Slot, unit_slots
from collector.simulate.machines import Machine
from collector.simulate.reports import render_report
from collector.simulate.software import APP_OF_ROW
from inventory.catalog import load_catalog
from inventory.registry import Registry, Unit

HISTORY_START = date(2025, 9, 1)
HISTORY_END = date(2026, 1, 31)


def generate_fleet(registry: Registry, seed: int = 2025, devices_per_unit: tuple[int, int] = (15, 40),
                   now: Optional[datetime] = None, only: Optional[Collection[str]] = None) -> Iterator[dict]:
    """One current report per reporting device of every unit (or of the units coded in ``only``), unit by unit.

    The fleet is the history's state at ``now`` (upgrades done by then are
    in, silent machines are absent), so a snapshot and a history with the
    same seed agree. Pass ``now`` for byte-identical output across runs.
    A unit's devices are the same whether or not ``only`` leaves others out.
    """
    now = now or datetime.now(timezone.utc)
    catalog = load_catalog()
    for unit_no, ward in _units(registry, only):
        for slot in unit_slots(unit_no, ward, seed, devices_per_unit, catalog):
            when = _current_time(slot, now)
            machine = slot.machine_at(when.date())
            if machine is not None:
                yield render_report(slot, machine, when)


def generate_history(registry: Registry, seed: int = 2025, start: date = HISTORY_START, end: date = HISTORY_END,
                     interval_days: int = 28, devices_per_unit: tuple[int, int] = (15, 40),
                     only: Optional[Collection[str]] = None) -> Iterator[dict]:
    """Every device's reports from ``start`` to ``end`` in collected_at order.

    Each device reports once per ``interval_days`` (on its own day and hour
    within the interval, in office hours) and once more right after its
    upgrade, so burn-down charts see upgrades when they happen, and a device
    that goes silent simply stops. Only one interval's events are held at a
    time; the plans of all devices (a few MB) are held throughout.
    """
    if end < start or interval_days < 1:
        raise ValueError("need start <= end and interval_days >= 1")
    slots = fleet_slots(registry, seed, devices_per_unit, only)
    stop = datetime.combine(end + timedelta(days=1), time(0), timezone.utc)
    window = timedelta(days=interval_days)
    begin = datetime.combine(start, time(0), timezone.utc)
    while begin < stop:
        until = min(stop, begin + window)
        events = [(when, i) for i, slot in enumerate(slots) for when in _report_times(slot, begin, window, until)]
        for when, i in sorted(events):
            slot = slots[i]
            machine = slot.machine_at(when.date())
            assert machine is not None  # _report_times yields only times when the slot has a machine
            yield render_report(slot, machine, when)
        begin += window


def _units(registry: Registry, only: Optional[Collection[str]]) -> Iterator[tuple[int, Unit]]:
    """The units to simulate with their place in the registry, which seeds their devices."""
    return ((unit_no, ward) for unit_no, ward in enumerate(registry) if only is None or ward.code in only)


def fleet_slots(registry: Registry, seed: int, devices_per_unit: tuple[int, int],
                only: Optional[Collection[str]] = None) -> list[Slot]:
    """Every slot of the units simulated (all, or those coded in ``only``), unit by unit in registry order."""
    catalog = load_catalog()
    return [s for unit_no, ward in _units(registry, only)
            for s in unit_slots(unit_no, ward, seed, devices_per_unit, catalog)]


def _office_hour(slot: Slot) -> timedelta:
    """The slot's own hour of the day to report, 08:00-17:00 in Hanoi."""
    return timedelta(hours=1 + 9 * ((slot.offset * 7919) % 1))


def _current_time(slot: Slot, now: datetime) -> datetime:
    """The slot's latest report before ``now``: the fleet's agents report within six hours of one another."""
    return now - timedelta(seconds=int(slot.offset * 6 * 3600))


def _after_changes(slot: Slot, hour: timedelta) -> list[datetime]:
    """The slot's reports right after each change: two hours after an upgrade, three after an application left."""
    return ([datetime.combine(since, time(0), timezone.utc) + hour + timedelta(hours=2)
             for since, _ in slot.segments[1:]]
            + [datetime.combine(day, time(0), timezone.utc) + hour + timedelta(hours=3) for day in _move_days(slot)])


def _move_days(slot: Slot) -> list[date]:
    """Days an application left this slot's machine: its agent reports right after, as after an upgrade."""
    if slot.migration is None:
        return []
    days = []
    for day in sorted({moved for _, moved in slot.migration.moves}):
        machine = slot.machine_at(day)
        leaving = {app for app, moved in slot.migration.moves if moved == day}
        if isinstance(machine, Machine) and any(APP_OF_ROW.get(row) in leaving for row in machine.software):
            days.append(day)
    return days


def _report_times(slot: Slot, begin: datetime, window: timedelta, until: datetime) -> Iterator[datetime]:
    """When a slot reports within [begin, until): its routine time, and right after an upgrade."""
    hour = _office_hour(slot)
    routine = begin + timedelta(days=int(slot.offset * window.days)) + hour
    times = [routine] + [when for when in _after_changes(slot, hour) if when.date() != routine.date()]
    for when in times:
        if begin <= when < until and slot.machine_at(when.date()) is not None:
            yield when


class Planned(Iterator[dict]):
    """Simulated reports in collected_at order, rendered one at a time, how many there will be (the demo's
    progress shows it), and the slots they come from (the simulated registers list them: no second draw)."""

    def __init__(self, total: int, reports: Iterator[dict], slots: list[Slot]):
        self.total, self._reports, self.slots = total, reports, slots

    def __next__(self) -> dict:
        return next(self._reports)


def generate_changes(registry: Registry, seed: int = 2025, start: date = HISTORY_START,
                     now: Optional[datetime] = None, devices_per_unit: tuple[int, int] = (15, 40),
                     only: Optional[Collection[str]] = None) -> Planned:
    """A sparse history: each device's first report, one right after each change of machine, and a current one.

    It records the same verdict changes as ``generate_history`` (they happen
    at upgrades) with a fraction of the reports, which is what a demo can
    post over HTTP in about a minute. Same seed, same fleet as the others.
    """
    now = now or datetime.now(timezone.utc)
    if now.date() < start:
        raise ValueError("need start <= now")
    slots = fleet_slots(registry, seed, devices_per_unit, only)
    first = datetime.combine(start, time(0), timezone.utc)
    events = []
    for i, slot in enumerate(slots):
        hour = _office_hour(slot)
        times = [first + timedelta(days=int(slot.offset * 7)) + hour] + _after_changes(slot, hour)
        times.append(_current_time(slot, now))
        events += [(when, i) for when in times
                   if first <= when <= now and slot.machine_at(when.date()) is not None]
    events.sort()
    return Planned(len(events), _render(slots, events), slots)


def _render(slots: list[Slot], events: list[tuple[datetime, int]]) -> Iterator[dict]:
    for when, i in events:
        machine = slots[i].machine_at(when.date())
        assert machine is not None  # events are kept only for times when the slot has a machine
        yield render_report(slots[i], machine, when)
