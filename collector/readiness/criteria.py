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

With ``reachability`` (a share), each unit with a device counted now that
checked the HDC has one item, its link, judged at the end of each Hanoi day
(and now, for today) as the burn-down is: at least that share of the
devices counted then (each from its first check in the unit until the stale
age after its latest report) reached the HDC at their latest check. It is
done on the first day of the trailing run of days that meet the share
(days when no checking device counted are passed over), from the counts
kept at ingest by unit and day (``store.reach_days``), so a link repaired
on a known day is done on that day. With ``contradictions``, each
contradiction between a unit's declarations and its reports
(``inventory.migration``) is an item: one open now is not done; one settled
is done when its span closed (kept by the migration observer,
``store.contradictions``), if it opened before the deadline.

With ``register``, a unit with an equipment register has one item, its
register to complete (or its missing devices to bring to report), when its
coverage (active devices of each class over the register's expected ones,
``inventory.equipment.coverage``) was below the collector's threshold at
some moment since the register was first imported: opened on that import,
done at the start of the trailing stretch at or above the threshold. The
coverage of past moments is replayed from the devices' lives (each counts
from its first verdict until it stops counting, ``readiness.history``)
against the register as it is now.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Iterable, Mapping, NamedTuple, Optional, Sequence

from collector.i18n import HANOI
from collector.readiness.workitems import STATES, due_moment
from collector.store.contradictions import Span
from collector.store.reach_days import UnitReach
from inventory.equipment import coverage
from inventory.migration import DONE, MIGRATING, RETIRED, AppMigration, UnitMigration
from inventory.milestones import Milestone

Goal = Callable[[str], bool]
_DAY = timedelta(days=1)
_GOALS: dict[str, Goal] = {"migrating": lambda s: s == MIGRATING or s in DONE, "moved": lambda s: s in DONE}
_IS_RETIRED: Goal = lambda s: s == RETIRED  # noqa: E731  (a goal like the others)


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


def _item_state(done: bool, done_at: datetime, deadline: datetime, now: datetime) -> str:
    if done:
        return "done_on_time" if done_at < deadline else "done_late"
    return "overdue" if now >= deadline else "in_progress"


def application_tallies(milestones: Sequence[Milestone], units: Mapping[str, UnitMigration], now: datetime
                        ) -> list[dict[str, dict[str, int]]]:
    """Each milestone's application items per unit and state (units with none left out), as of ``now``, in the
    milestones' order: whether each application meets each goal, and since when, is worked out once for all of
    them (only the deadlines differ)."""
    now = now.astimezone(timezone.utc)
    goals = {m.applications for m in milestones if m.applications is not None}
    retiring = set().union(*(m.retired for m in milestones))
    # goal -> (unit, met, since when: None when unrecorded) -> applications in use; those some milestone retires
    in_use: dict[str, Counter[tuple[str, bool, Optional[datetime]]]] = {goal: Counter() for goal in goals}
    listed: list[tuple[str, str, bool, tuple[bool, Optional[datetime]]]] = []
    plain: Counter[tuple[str, str]] = Counter()  # (unit, state) -> applications in use with no history
    for code, unit in units.items():
        for a in unit.apps if goals or retiring else ():
            use = a.in_use
            if a.app.id in retiring and a.state != "not_used":
                listed.append((code, a.app.id, use, _met(a, _IS_RETIRED)))
            if not use or not goals:
                continue
            if a.declarations or a.observations:
                for goal in goals:
                    in_use[goal][(code, *_met(a, _GOALS[goal]))] += 1
            else:  # most applications: met or not, since no recorded moment, whatever the goal
                plain[(code, a.state)] += 1
    for (code, state), n in plain.items():
        for goal in goals:
            in_use[goal][(code, _GOALS[goal](state), None)] += n
    out: list[dict[str, dict[str, int]]] = []
    for m in milestones:
        deadline = due_moment(m.date)
        counts: Counter[tuple[str, str]] = Counter()
        if m.applications is not None:
            for (code, done, at), n in in_use[m.applications].items():
                counts[(code, _item_state(done, at or now, deadline, now))] += n
        for code, app_id, use, (done, at) in listed:
            if app_id in m.retired and not (use and m.applications is not None):
                counts[(code, _item_state(done, at or now, deadline, now))] += 1
        tally: dict[str, dict[str, int]] = {}
        for (code, state), n in counts.items():
            tally.setdefault(code, dict.fromkeys(STATES, 0))[state] = n
        out.append(tally)
    return out


def _met(a: AppMigration, goal: Goal) -> tuple[bool, Optional[datetime]]:
    """Whether the application meets the goal, and since when (None when unrecorded: counted as done now)."""
    return goal(a.state), _reached_at(a, goal)


def met_since(unit: UnitReach, threshold: float) -> Optional[date]:
    """The first Hanoi day of the unit's trailing run of days with at least ``threshold`` of its counted checking
    devices reaching the HDC; None if it falls short now."""
    since: Optional[date] = None
    for day, yes, no in zip(reversed(unit.days), reversed(unit.reached), reversed(unit.unreached)):
        if not yes + no:
            continue
        if yes < threshold * (yes + no):
            break
        since = day
    return since


def reachability_tally(m: Milestone, reach: Mapping[str, UnitReach], now: datetime) -> dict[str, dict[str, int]]:
    """The milestone's link items (one per unit with a checking device counted now) by unit and state, as of
    ``now``; ``reach`` as ``reach_days.read`` gives it for that moment."""
    if m.reachability is None:
        return {}
    deadline, now = due_moment(m.date), now.astimezone(timezone.utc)
    out: dict[str, dict[str, int]] = {}
    for code, unit in reach.items():
        if not unit.reached or not unit.reached[-1] + unit.unreached[-1]:
            continue
        since = met_since(unit, m.reachability)
        state = _item_state(since is not None, due_moment(since) - _DAY if since else now, deadline, now)
        out.setdefault(code, dict.fromkeys(STATES, 0))[state] += 1
    return out


def contradiction_tally(m: Milestone, units: Mapping[str, UnitMigration], spans: Iterable[Span], now: datetime
                        ) -> dict[str, dict[str, int]]:
    """The milestone's contradiction items by unit and state, as of ``now``: each one open now (not done), and
    each span kept by the observer that opened before the deadline and is settled (done when it closed; one the
    observer has not yet seen settled counts as done when it is read)."""
    if not m.contradictions:
        return {}
    deadline, now = due_moment(m.date), now.astimezone(timezone.utc)
    open_now = {(code, a.app.id, c.code) for code, unit in units.items() for a in unit.apps
                for c in a.contradictions}
    states: list[tuple[str, str]] = [(code, _item_state(False, now, deadline, now)) for code, _, _ in open_now]
    for span in spans:
        if span.key in open_now or span.opened_at >= deadline or span.opened_at > now:
            continue
        closed_at = now if span.closed_at is None or span.closed_at > now else span.closed_at
        states.append((span.ward_code, _item_state(span.closed_at is None or span.closed_at <= now, closed_at,
                                                   deadline, now)))
    out: dict[str, dict[str, int]] = {}
    for (code, state), n in Counter(states).items():
        out.setdefault(code, dict.fromkeys(STATES, 0))[state] = n
    return out


class Registered(NamedTuple):
    """What the register criterion reads of a unit: when its register was first imported, the devices it
    expects per class, and each of its devices' class and counted stretch (first verdict, end or None)."""

    imported_at: datetime
    expected: Mapping[str, int]
    devices: Sequence[tuple[str, datetime, Optional[datetime]]]


class RegisterItem(NamedTuple):
    """A unit's register criterion worked out (``register_item``): when its register was first imported, whether
    its coverage fell short at some moment since (an item), and when its trailing stretch at or above the
    threshold began (None: short now)."""

    imported_at: datetime
    item: bool
    since: Optional[datetime]


def register_item(unit: Registered, threshold: float, now: datetime) -> RegisterItem:
    """The unit's register criterion as of ``now``: devices join and leave at their stretches' ends, those of
    one moment together. Worked out once per unit for every milestone (only their deadlines differ)."""
    events: dict[datetime, Counter[str]] = defaultdict(Counter)
    for cls, start, end in unit.devices:
        if start <= now:
            events[start][cls] += 1
        if end is not None and end <= now:
            events[end][cls] -= 1
    reporting: Counter[str] = Counter()
    met, short, since = False, False, None
    for at in sorted(events):
        short = short or (not met and at > unit.imported_at)  # the state before ``at`` held after the import
        reporting.update(events[at])
        met = (coverage(unit.expected, reporting).ratio or 0.0) >= threshold
        since = (since or at) if met else None
    return RegisterItem(unit.imported_at, short or not met, since)


def register_tally(m: Milestone, units: Mapping[str, RegisterItem], now: datetime) -> dict[str, dict[str, int]]:
    """The milestone's register items (one per unit whose coverage fell short since its register was
    imported) by unit and state, as of ``now``, from each unit's criterion (``register_item``)."""
    if not m.register:
        return {}
    deadline, now = due_moment(m.date), now.astimezone(timezone.utc)
    out: dict[str, dict[str, int]] = {}
    for code, unit in units.items():
        if unit.imported_at > now or not unit.item:
            continue
        out.setdefault(code, dict.fromkeys(STATES, 0))[_item_state(unit.since is not None, unit.since or now,
                                                                   deadline, now)] += 1
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
