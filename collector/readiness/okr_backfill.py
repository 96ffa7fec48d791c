"""Past weeks' key-result values recomputed from the stored verdict history, for the weeks no collector kept.

``serve`` keeps each key result's value of the week while it runs
(``okr.WeekKeeper``); a week in which no collector ran has no row. When it
starts, the keeper fills those weeks once, from the programme's start (the
earliest ``start`` of the OKR file) to last week, where the stored history
tells the value the week would have ended on: the verdict changes and
device lifetimes (``history.load_lives``) give, at the end of each week's
Sunday (Hanoi), each unit's devices per verdict and class, hence the units
reporting, the devices passing and, against the units' registers as they are
now, the units ready. Other measures are not recomputed (their weeks stay
gaps, never zeros): a rule's failures are stored only when a device's
verdict changes, the reach history keeps a device's reach of all endpoints
together and only for active devices, the migration states and work items
depend on evidence of the moment that is not kept week by week.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Mapping, NamedTuple, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from collector.i18n import HANOI
from collector.readiness.history import PASSING, DeviceLife, load_lives
from collector.readiness.okr import OkrSources
from collector.store import okr_weeks, queries
from collector.store.tables import verdict_changes
from inventory.equipment import coverage
from inventory.readiness import unit_status_covered

BACKFILLED = ("units_reporting", "units_ready", "devices_passing_ratio")


class _Week(NamedTuple):
    """What the devices showed at the end of one week: per unit, devices per verdict and per class."""

    verdicts: dict[str, Counter[str]]
    classes: dict[str, Counter[str]]


def week_ends(first: date, today: date) -> list[tuple[str, datetime]]:
    """Each ISO week from the one holding ``first`` to the one before ``today``'s, with its end (the end of its
    Sunday in Hanoi, in UTC)."""
    sunday, this_monday = first + timedelta(days=6 - first.weekday()), today - timedelta(days=today.weekday())
    out = []
    while sunday < this_monday:
        end = datetime.combine(sunday + timedelta(days=1), time(0), HANOI).astimezone(timezone.utc)
        out.append((okr_weeks.iso_week(sunday), end))
        sunday += timedelta(days=7)
    return out


def _status_at(life: DeviceLife, times: list[datetime], moment: datetime) -> Optional[str]:
    """The device's verdict at ``moment``; None before its first or once it stopped counting."""
    if life.end is not None and life.end <= moment:
        return None
    i = bisect_right(times, moment)
    return life.changes[i - 1][1] if i else None


def _weeks(lives: Iterable[DeviceLife], classes: Mapping[str, str], ends: list[datetime]) -> list[_Week]:
    weeks = [_Week({}, {}) for _ in ends]
    for life in lives:
        times = [at for at, _ in life.changes]
        cls = classes.get(life.device_id, "other")
        for week, end in zip(weeks, ends):
            status = _status_at(life, times, end)
            if status is not None:
                week.verdicts.setdefault(life.ward_code, Counter())[status] += 1
                week.classes.setdefault(life.ward_code, Counter())[cls] += 1
    return weeks


def _value(measure: str, week: _Week, expected: Mapping[str, Mapping[str, int]], threshold: float) -> float:
    if measure == "units_reporting":
        return sum(1 for code in expected if week.verdicts.get(code))
    if measure == "units_ready":
        return sum(1 for code, exp in expected.items()
                   if unit_status_covered(week.verdicts.get(code, Counter()),
                                          coverage(exp, week.classes.get(code, Counter())).ratio,
                                          threshold) == "ready")
    counts = [c for code, c in week.verdicts.items() if code in expected]
    total = sum(sum(c.values()) for c in counts)
    return sum(c[v] for c in counts for v in PASSING) / total if total else 0.0


def _first_verdict(conn: Connection) -> Optional[datetime]:
    return conn.execute(sa.select(sa.func.min(verdict_changes.c.changed_at))).scalar()


def _wanted(c: OkrSources) -> list[tuple[str, str]]:
    """(key, measure) of the key results whose measure is recomputable."""
    return [(f"{o.id}.{k.id}", k.measure) for o, k in c.okr.key_results() if k.measure in BACKFILLED]


def _past_weeks(c: OkrSources, now: datetime, first: datetime) -> list[tuple[str, datetime]]:
    """The weeks from the programme's start to last week that end after ``first`` (the first stored verdict)."""
    start = min(k.start for _, k in c.okr.key_results())
    return [(w, end) for w, end in week_ends(start, now.astimezone(HANOI).date()) if end > first]


def past_values(c: OkrSources, now: datetime) -> okr_weeks.History:
    """The key results whose measure is recomputable (``BACKFILLED``), each with its value at the end of every
    past week from the programme's start that ends after the first stored verdict, oldest first."""
    wanted = _wanted(c)
    if not wanted:
        return {}
    since = c.settings.active_since(now)
    with c.engine.connect() as conn:
        first = _first_verdict(conn)
        if first is None:
            return {}
        lives = load_lives(conn, now, since)
        summaries = queries.unit_summaries(conn, c.registry, since, threshold=c.settings.coverage_threshold)
        classes = queries.device_classes(conn, [s.code for s in summaries])
    weeks = _past_weeks(c, now, first)
    expected = {s.code: {cls: n["expected"] for cls, n in s.coverage.by_class.items()} for s in summaries}
    shown = _weeks(lives.values(), classes, [end for _, end in weeks])
    threshold = c.settings.coverage_threshold
    return {key: [(w, round(_value(measure, week, expected, threshold), 4)) for (w, _), week in zip(weeks, shown)]
            for key, measure in wanted}


def _all_kept(c: OkrSources, now: datetime) -> bool:
    """Whether every past week that could be filled already has its row (a restart reads no history then)."""
    with c.engine.connect() as conn:
        first = _first_verdict(conn)
    if first is None:
        return True
    weeks = {w for w, _ in _past_weeks(c, now, first)}
    kept = okr_weeks.read(c.engine)
    return all(weeks <= {w for w, _ in kept.get(key, ())} for key, _ in _wanted(c))


def backfill(c: OkrSources, now: datetime) -> int:
    """Keep the recomputed value of every past week that has none; rows added (none where a collector kept the
    week: what was measured then stands)."""
    if _all_kept(c, now):
        return 0
    return okr_weeks.fill(c.engine, past_values(c, now), now)
