"""Work items of a milestone beyond devices: applications to move or retire, links to the HDC, contradictions.

A milestone's criteria are data (``inventory.milestones``). With
``applications``, every application a unit uses that the programme moves is
an item until it reaches the goal: ``migrating`` (or further) or ``moved``
(on the HDC or retired). With ``retired``, each listed application still in
use at a unit is an item until it is retired. The item is done at the start
of its trailing run of states that meet the goal: the effective day of the
declarations that say so, else when the observer first recorded it; a goal
met with no recorded moment (an inferred state the observer has not yet
recorded) counts as done when it is read. States as for device items
(``workitems``): done on time or late against the end of the due day, else
in progress or overdue.

With ``reachability`` (a share), each unit whose devices ever checked the HDC
has one item, its link: done at the start of the trailing stretch during
which at least that share of its active devices reached the HDC (replayed
from the reach history kept at ingest, ``store.reach_history``), so a link
repaired on a known day is done on that day. With ``contradictions``, each
open contradiction of a unit (``inventory.migration``) is an item not done:
the store keeps contradictions as they stand now, so a resolved one leaves
no item behind.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, time, timezone
from typing import Callable, Iterable, Mapping, Optional, Sequence

from collector.i18n import HANOI
from collector.readiness.workitems import STATES, due_moment
from collector.store.reach_history import ReachChange
from inventory.migration import DONE, MIGRATING, RETIRED, AppMigration, UnitMigration
from inventory.milestones import Milestone

Goal = Callable[[str], bool]
_GOALS: dict[str, Goal] = {"migrating": lambda s: s == MIGRATING or s in DONE, "moved": lambda s: s in DONE}


def _reached_at(a: AppMigration, goal: Goal) -> Optional[datetime]:
    """When the application's trailing run of states meeting ``goal`` began; None when unrecorded."""
    start: Optional[datetime] = None
    if a.source == "declared":
        for d in reversed(a.declarations):
            if not goal(d.state):
                break
            start = datetime.combine(d.effective_on, time(0), HANOI).astimezone(timezone.utc)
        return start
    for o in reversed(a.observations):
        if not goal(o.state):
            break
        start = o.observed_at
    return start


def _state(a: AppMigration, goal: Goal, deadline: datetime, now: datetime) -> str:
    return _item_state(goal(a.state), _reached_at(a, goal) or now, deadline, now)


def _item_state(done: bool, done_at: datetime, deadline: datetime, now: datetime) -> str:
    if done:
        return "done_on_time" if done_at < deadline else "done_late"
    return "overdue" if now >= deadline else "in_progress"


def _items(m: Milestone, unit: UnitMigration) -> Iterable[tuple[AppMigration, Goal]]:
    """The unit's applications the milestone judges, each with the goal it must reach."""
    for a in unit.apps:
        if m.applications is not None and a.in_use:
            yield a, _GOALS[m.applications]
        elif a.app.id in m.retired and a.state != "not_used":
            yield a, lambda s: s == RETIRED


def application_tally(m: Milestone, units: Mapping[str, UnitMigration], now: datetime
                      ) -> dict[str, dict[str, int]]:
    """The milestone's application items per unit and state (units with none left out), as of ``now``."""
    if m.applications is None and not m.retired:
        return {}
    deadline, now = due_moment(m.date), now.astimezone(timezone.utc)
    counts = Counter((code, _state(a, goal, deadline, now)) for code, unit in units.items()
                     for a, goal in _items(m, unit))
    out: dict[str, dict[str, int]] = {}
    for (code, state), n in counts.items():
        out.setdefault(code, dict.fromkeys(STATES, 0))[state] = n
    return out


def _met_since(changes: Sequence[ReachChange], threshold: float) -> Optional[datetime]:
    """When the unit's trailing stretch with at least ``threshold`` of its checking devices reaching the HDC
    began; None if it falls short now. Changes at one moment are applied together."""
    reach: dict[str, bool] = {}
    since: Optional[datetime] = None
    for i, ch in enumerate(changes):
        reach[ch.device_id] = ch.reached
        if i + 1 < len(changes) and changes[i + 1].changed_at == ch.changed_at:
            continue
        if sum(reach.values()) < threshold * len(reach):
            since = None
        elif since is None:
            since = ch.changed_at
    return since


def reachability_tally(m: Milestone, changes: Iterable[ReachChange], now: datetime) -> dict[str, dict[str, int]]:
    """The milestone's link items (one per unit that checked the HDC) by unit and state, as of ``now``."""
    if m.reachability is None:
        return {}
    deadline, now = due_moment(m.date), now.astimezone(timezone.utc)
    by_unit: dict[str, list[ReachChange]] = defaultdict(list)
    for ch in changes:
        if ch.changed_at <= now:
            by_unit[ch.ward_code].append(ch)
    out: dict[str, dict[str, int]] = {}
    for code, unit_changes in by_unit.items():
        since = _met_since(unit_changes, m.reachability)
        out.setdefault(code, dict.fromkeys(STATES, 0))[_item_state(since is not None, since or now, deadline,
                                                                   now)] += 1
    return out


def contradiction_tally(m: Milestone, units: Mapping[str, UnitMigration], now: datetime
                        ) -> dict[str, dict[str, int]]:
    """The milestone's contradiction items (each open one, not done) by unit and state, as of ``now``."""
    if not m.contradictions:
        return {}
    state = "overdue" if now.astimezone(timezone.utc) >= due_moment(m.date) else "in_progress"
    out: dict[str, dict[str, int]] = {}
    for code, unit in units.items():
        if unit.contradictions:
            out.setdefault(code, dict.fromkeys(STATES, 0))[state] = unit.contradictions
    return out


def combine(*tallies: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """Per-unit tallies added together, every state present."""
    out: dict[str, dict[str, int]] = {}
    for tally in tallies:
        for code, counts in tally.items():
            row = out.setdefault(code, dict.fromkeys(STATES, 0))
            for state, n in counts.items():
                row[state] += n
    return out
