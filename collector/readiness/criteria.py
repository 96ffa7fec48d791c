"""Work items of a milestone beyond devices: applications to move and applications to retire, in the four states.

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
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timezone
from typing import Callable, Iterable, Mapping, Optional

from collector.i18n import HANOI
from collector.readiness.workitems import STATES, due_moment
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
    if goal(a.state):
        done_at = _reached_at(a, goal) or now
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


def combine(*tallies: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """Per-unit tallies added together, every state present."""
    out: dict[str, dict[str, int]] = {}
    for tally in tallies:
        for code, counts in tally.items():
            row = out.setdefault(code, dict.fromkeys(STATES, 0))
            for state, n in counts.items():
                row[state] += n
    return out
