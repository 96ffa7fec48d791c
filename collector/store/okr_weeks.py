"""Each key result's weekly history: one row per key result and ISO week, the last value measured that week.

Written by ``serve`` (at start, then hourly: ``readiness.okr.WeekKeeper``),
only when a value differs from the one kept for this week; readers never
write: they see the kept weeks with this week's value as measured now
(``current``).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from collector.store.engine import write_transaction
from collector.store.tables import key_result_weeks

History = dict[str, list[tuple[str, float]]]  # key result -> [(week, value)], oldest first


def iso_week(day: date) -> str:
    """``day``'s ISO week as '2025-W49' (weeks start on Monday; sorting the text sorts the weeks)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def current(history: History, day: date, values: Mapping[str, float]) -> History:
    """``history`` with ``values`` as ``day``'s week's (nothing written)."""
    week = iso_week(day)
    out = dict(history)
    for k, v in values.items():
        out[k] = sorted([*(wv for wv in history.get(k, []) if wv[0] != week), (week, v)])
    return out


def keep(engine: Engine, day: date, values: Mapping[str, float], now: datetime) -> History:
    """Keep ``values`` (key result -> value) as ``day``'s week's and return every key result's weekly history."""
    week = iso_week(day)
    history = read(engine)
    changed = {k: v for k, v in values.items() if dict(history.get(k, ())).get(week) != v}
    if changed:
        c = key_result_weeks.c
        try:
            with write_transaction(engine) as conn:
                conn.execute(key_result_weeks.delete().where(c.week == week, c.key_result.in_(list(changed))))
                conn.execute(key_result_weeks.insert(), [dict(key_result=k, week=week, value=v, recorded_at=now)
                                                         for k, v in changed.items()])
        except sa.exc.IntegrityError:
            pass  # another collector of the same store kept this week's values at the same moment
    return current(history, day, changed)


def read(engine: Engine) -> History:
    c = key_result_weeks.c
    out: History = {}
    with engine.connect() as conn:
        for key_result, week, value in conn.execute(sa.select(c.key_result, c.week, c.value)
                                                    .order_by(c.key_result, c.week)):
            out.setdefault(key_result, []).append((week, value))
    return out


def fill(engine: Engine, past: History, now: datetime) -> int:
    """Add the weeks of ``past`` (key result -> [(week, value)]) that have no row; rows added. A week kept by a
    collector is never overwritten."""
    kept = {k: {w for w, _ in weeks} for k, weeks in read(engine).items()}
    rows = [dict(key_result=k, week=w, value=v, recorded_at=now) for k, weeks in past.items()
            for w, v in weeks if w not in kept.get(k, ())]
    if rows:
        try:
            with write_transaction(engine) as conn:
                conn.execute(key_result_weeks.insert(), rows)
        except sa.exc.IntegrityError:
            return 0  # another collector of the same store filled them at the same moment
    return len(rows)
