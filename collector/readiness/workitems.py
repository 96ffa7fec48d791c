"""Remediation work items, in the four states the city reports its tasks in.

A work item of a milestone is a device that failed a hard rule (verdict
``not_ready``) at some time up to the end of the milestone's day: it had to
be brought up to the baseline by then. It is done when the device passes the
hard rules again (``ready`` or ``ready_with_conditions``) and still does, or
when a new machine that took over its hostname does (a replaced PC); the
moment it was done is the start of that last passing stretch. Then:

- ``done_on_time``: done by the end of the due day;
- ``done_late``: done after it;
- ``in_progress``: not done, and the due day has not passed;
- ``overdue``: not done, and the due day has passed.

A failing device that stopped reporting stays open: someone has to go and
look at it, and nothing proves it was fixed.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Iterable, Mapping, NamedTuple, Optional

from collector.i18n import HANOI
from collector.readiness.history import PASSING, DeviceLife
from collector.store.device_work import Item
from collector.store.unit_days import WorkFact

STATES = ("done_on_time", "done_late", "in_progress", "overdue")


@dataclass(frozen=True)
class WorkItem:
    device_id: str
    ward_code: str
    hostname: str
    opened_at: datetime
    done_at: Optional[datetime]
    done_by: Optional[str]
    state: str


@lru_cache(maxsize=4096)
def due_moment(due: date) -> datetime:
    """A milestone is met or missed at the end of its Hanoi day (in UTC, like stored moments: comparing
    datetimes of one time zone is much faster than across zones). Remembered: a composition asks it of each
    unit's link for every milestone, and the days asked are few."""
    return datetime.combine(due + timedelta(days=1), time(0), HANOI).astimezone(timezone.utc)


def _passing_since(life: DeviceLife) -> Optional[datetime]:
    """When the device's current passing stretch began; None if it does not pass now."""
    since = None
    for changed_at, status in reversed(life.changes):
        if status not in PASSING:
            break
        since = changed_at
    return since


class _Facts(NamedTuple):
    """What a device's history says about remediation, whatever the milestone (one per failing device)."""

    life: DeviceLife
    opened_at: datetime
    done_at: Optional[datetime]
    done_by: Optional[str]

    def state(self, deadline: datetime, now: datetime) -> Optional[str]:
        """Its state for a milestone met or missed at ``deadline``; None if it had not failed by then."""
        return None if self.opened_at >= deadline else _state(self.done_at, deadline, now)


def _state(done_at: Optional[datetime], deadline: datetime, now: datetime) -> str:
    """The state of an item opened before ``deadline``."""
    if done_at is not None:
        return "done_on_time" if done_at < deadline else "done_late"
    return "overdue" if now >= deadline else "in_progress"


def _facts(lives: Mapping[str, DeviceLife]) -> list[_Facts]:
    """The devices that failed while counted (a work item of some milestone), in ``lives`` order."""
    out = []
    for life in lives.values():
        end = life.end
        opened = next((t for t, status in life.changes if status == "not_ready" and (end is None or t < end)), None)
        if opened is None:
            continue
        resolver: Optional[DeviceLife] = lives.get(life.successor) if life.successor else life
        done_at = _passing_since(resolver) if resolver else None
        done_by = resolver.device_id if resolver is not None and done_at and resolver is not life else None
        out.append(_Facts(life, opened, done_at, done_by))
    return out


def milestone_work(lives: Mapping[str, DeviceLife], dues: Iterable[date], now: datetime
                   ) -> dict[date, list[WorkItem]]:
    """The work items of milestones due on each of ``dues``, as of ``now``, in hostname order.

    The facts are sorted once, not each milestone's list: a milestone's items
    are a subset of them, kept in that (stable) order.
    """
    facts = sorted(_facts(lives), key=lambda f: (f.life.ward_code, f.life.hostname, f.opened_at, f.life.device_id))
    now = now.astimezone(timezone.utc)
    out = {}
    for due in dues:
        deadline = due_moment(due)
        out[due] = [WorkItem(f.life.device_id, f.life.ward_code, f.life.hostname, f.opened_at, f.done_at, f.done_by,
                             state)
                    for f in facts if (state := f.state(deadline, now)) is not None]
    return out


def milestone_tallies(work: Mapping[tuple[str, WorkFact], int], dues: Iterable[date], now: datetime
                      ) -> dict[date, dict[str, dict[str, int]]]:
    """``tally`` of each due's ``milestone_work``, from the work items ingest keeps by day (store/unit_days.py):
    the city overview needs only counts. Items are dated by Hanoi day, and a milestone is met or missed at the
    end of its day, so a day says on which side of the deadline a moment falls."""
    now = now.astimezone(timezone.utc)
    out: dict[date, dict[str, dict[str, int]]] = {}
    for due in dues:
        late = now >= due_moment(due)
        by_ward: dict[str, dict[str, int]] = {}
        for (ward, fact), n in work.items():
            if fact.opened <= due:
                by_ward.setdefault(ward, dict.fromkeys(STATES, 0))[_fact_state(fact, due, late)] += n
        out[due] = by_ward
    return out


class UnitTallies:
    """``milestone_tallies`` of a city's work items by unit (``unit_days.Kept.unit_work``), keeping each unit's
    tallies while its mapping is the same object and the milestones' sides of ``now`` are the same: the overview
    is recomposed every few seconds, and most units' work items have not moved since."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[Mapping[WorkFact, int], tuple, dict[date, dict[str, int]]]] = {}

    def __call__(self, unit_work: Mapping[str, Mapping[WorkFact, int]], dues: Iterable[date], now: datetime
                 ) -> dict[date, dict[str, dict[str, int]]]:
        now = now.astimezone(timezone.utc)
        terms = tuple(sorted((due, now >= due_moment(due)) for due in set(dues)))
        out: dict[date, dict[str, dict[str, int]]] = {due: {} for due, _late in terms}
        kept = {}
        for ward, work in unit_work.items():
            found = self._kept.get(ward)
            if found is None or found[0] is not work or found[1] != terms:
                found = (work, terms, _unit_tallies(work, terms))
            kept[ward] = found
            for due, counts in found[2].items():
                out[due][ward] = counts
        self._kept = kept  # units gone from the city are let go
        return out


def _unit_tallies(work: Mapping[WorkFact, int], terms: tuple) -> dict[date, dict[str, int]]:
    """One unit's tally of each milestone (due, whether it is past) it has an item of."""
    out: dict[date, dict[str, int]] = {}
    for due, late in terms:
        counts = None
        for fact, n in work.items():
            if fact.opened > due:
                continue
            if counts is None:
                counts = out[due] = dict.fromkeys(STATES, 0)
            counts[_fact_state(fact, due, late)] += n
    return out


def _fact_state(fact: WorkFact, due: date, late: bool) -> str:
    """The state of an item opened by ``due`` for that milestone; ``late``: whether its deadline has passed."""
    if fact.done is not None:
        return "done_on_time" if fact.done <= due else "done_late"
    return "overdue" if late else "in_progress"


def kept_items(items: Iterable[Item], ward_code: str, due: date, now: datetime) -> list[WorkItem]:
    """The work items ingest keeps (store/device_work.py), of a milestone due on ``due`` that each had failed
    before, in their states as of ``now``: what ``milestone_work`` gives these devices."""
    deadline, now = due_moment(due), now.astimezone(timezone.utc)
    return [WorkItem(i.device_id, ward_code, i.hostname, i.opened_at, i.done_at, i.done_by,
                     _state(i.done_at, deadline, now)) for i in items]


def work_items(lives: Mapping[str, DeviceLife], due: date, now: datetime) -> list[WorkItem]:
    """The work items of one milestone due on ``due``, as of ``now``."""
    return milestone_work(lives, [due], now)[due]


def tally(items: Iterable[WorkItem]) -> dict[str, dict[str, int]]:
    """Items per unit and state; every state present, zeros included."""
    return _per_ward((item.ward_code, item.state) for item in items)


def _per_ward(pairs: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """Counts of (unit, state) pairs by unit, units in order of first appearance, every state present."""
    out: dict[str, dict[str, int]] = {}
    for (ward, state), n in Counter(pairs).items():
        out.setdefault(ward, dict.fromkeys(STATES, 0))[state] = n
    return out


def city_tally(by_ward: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    return {s: sum(c[s] for c in by_ward.values()) for s in STATES}
