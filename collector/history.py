"""Progress over time, from the stored verdict changes: daily counts per verdict and device lifetimes.

The store keeps every change of a device's verdict (``verdict_changes``) and
each device's latest report time; together they say what each device's
verdict was on any past day. A device counts on a day from its first verdict
until it stops counting, by the same rule the current figures use
(``queries``): it is dropped once it has not reported for the stale age, or,
when a new machine took over its hostname, from the day the new one first
reported (the desk was re-equipped then, whenever the old PC last spoke). So
the last point of every series is today's figure on the overview, the API
and /metrics.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterable, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from inventory.readiness import VERDICTS

from .i18n import HANOI
from .store.tables import devices, verdict_changes

PASSING = ("ready", "ready_with_conditions")


@dataclass(frozen=True)
class DeviceLife:
    """One device's verdicts over time: ``changes`` in time order, counted until ``end`` (None: still counted)."""

    device_id: str
    ward_code: str
    hostname: str
    changes: tuple[tuple[datetime, str], ...]
    end: Optional[datetime]
    successor: Optional[str]


def load_lives(conn: Connection, now: datetime, active_since: datetime,
               ward_code: Optional[str] = None) -> dict[str, DeviceLife]:
    """Every device with at least one verdict (of one unit when ``ward_code`` is given), by device id."""
    changes_q = (sa.select(verdict_changes.c.device_id, verdict_changes.c.changed_at, verdict_changes.c.to_status)
                 .order_by(verdict_changes.c.changed_at, verdict_changes.c.id))
    devices_q = sa.select(devices.c.device_id, devices.c.ward_code, devices.c.hostname, devices.c.last_collected_at)
    if ward_code is not None:
        changes_q = changes_q.where(verdict_changes.c.ward_code == ward_code)
        devices_q = devices_q.where(devices.c.ward_code == ward_code)
    changes: dict[str, list[tuple[datetime, str]]] = {}
    for device_id, changed_at, status in conn.execute(changes_q):
        changes.setdefault(device_id, []).append((changed_at, status))
    rows = [r for r in conn.execute(devices_q) if r.device_id in changes]
    active = {(r.ward_code, r.hostname): [] for r in rows}
    for r in rows:
        if r.last_collected_at >= active_since:
            active[(r.ward_code, r.hostname)].append(r.device_id)
    stale = now - active_since
    lives = {}
    for r in rows:
        mine = changes[r.device_id]
        end, successor = None, None
        if r.last_collected_at < active_since:
            later = sorted((changes[d][0][0], d) for d in active[(r.ward_code, r.hostname)]
                           if changes[d][0][0] > mine[0][0])
            if later:
                successor = later[0][1]
                end = min(now, max(r.last_collected_at, later[0][0]))
            else:
                end = r.last_collected_at + stale
        lives[r.device_id] = DeviceLife(r.device_id, r.ward_code, r.hostname, tuple(mine), end, successor)
    return lives


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def day_ends(days: list[date], now: datetime) -> list[datetime]:
    """The moment each Hanoi day is judged at: its end, or now for today."""
    return [min(now, datetime.combine(d + timedelta(days=1), time(0), HANOI)) for d in days]


def first_day(lives: Iterable[DeviceLife]) -> Optional[date]:
    starts = [life.changes[0][0] for life in lives]
    return min(starts).astimezone(HANOI).date() if starts else None


def daily_counts(lives: Iterable[DeviceLife], ends: list[datetime]) -> dict[str, list[int]]:
    """Devices per verdict at each moment of ``ends`` (ascending): one sweep over all changes."""
    n = len(ends)
    keys = [e.timestamp() for e in ends]  # floats: bisecting aware datetimes is several times slower
    diff = {v: [0] * (n + 1) for v in VERDICTS}
    for life in lives:
        end = life.end.timestamp() if life.end is not None else None
        times = [t.timestamp() for t, _ in life.changes]
        for i, (_, status) in enumerate(life.changes):
            stop = times[i + 1] if i + 1 < len(times) else None
            if end is not None:
                stop = end if stop is None else min(stop, end)
            a = bisect_left(keys, times[i])
            b = n if stop is None else bisect_left(keys, stop)
            if a < b and status in diff:
                diff[status][a] += 1
                diff[status][b] -= 1
    out = {}
    for v, d in diff.items():
        running, series = 0, []
        for delta in d[:n]:
            running += delta
            series.append(running)
        out[v] = series
    return out


def device_changes(conn: Connection, device_id: str) -> list[dict]:
    """One device's verdict changes, oldest first, as the JSON API gives them."""
    q = (sa.select(verdict_changes.c.from_status, verdict_changes.c.to_status, verdict_changes.c.changed_at,
                   verdict_changes.c.failed_rules)
         .where(verdict_changes.c.device_id == device_id)
         .order_by(verdict_changes.c.changed_at, verdict_changes.c.id))
    return [{"from": r.from_status, "to": r.to_status, "changed_at": r.changed_at.isoformat(),
             "failed_rules": list(r.failed_rules)} for r in conn.execute(q)]
