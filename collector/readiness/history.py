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
from datetime import date, datetime, time, timedelta, timezone
from typing import Collection, Iterable, Mapping, NamedTuple, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from collector.i18n import HANOI
from collector.store.tables import devices, utc_iso, verdict_changes
from inventory.equipment import coverage
from inventory.readiness import VERDICTS, unit_status_covered

PASSING = ("ready", "ready_with_conditions")


class DeviceLife(NamedTuple):
    """One device's verdicts over time: ``changes`` in time order, counted until ``end`` (None: still counted).

    A NamedTuple rather than a frozen dataclass: the overview makes one per
    device of the city, and a frozen dataclass costs several times as much
    to create.
    """

    device_id: str
    ward_code: str
    hostname: str
    changes: tuple[tuple[datetime, str], ...]
    end: Optional[datetime]
    successor: Optional[str]


def load_lives(conn: Connection, now: datetime, active_since: datetime,
               ward_code: Optional[str] = None, units: Optional[Collection[str]] = None) -> dict[str, DeviceLife]:
    """Every device with at least one verdict, by device id: of one unit when ``ward_code`` is given (its changes
    made there), of the ``units`` given (the devices now in them, all their changes), else of the city.

    Moments are read as ISO text (``utc_iso``) and parsed here: for thousands of devices the store's per-value
    conversion would cost more than the queries.
    """
    changes = _changes(conn, ward_code, units)
    devices_q = sa.select(devices.c.device_id, devices.c.ward_code, devices.c.hostname,
                          utc_iso(devices.c.last_collected_at))
    if ward_code is not None:
        devices_q = devices_q.where(devices.c.ward_code == ward_code)
    if units is not None:
        devices_q = devices_q.where(devices.c.ward_code.in_(sorted(units)))
    parse = datetime.fromisoformat
    rows = [(device_id, ward, hostname, parse(last))
            for device_id, ward, hostname, last in conn.execute(devices_q).all() if device_id in changes]
    active: dict[tuple[str, str], list[str]] = {}
    for device_id, ward, hostname, last in rows:
        if last >= active_since:
            active.setdefault((ward, hostname), []).append(device_id)
    lives = {}
    for device_id, ward, hostname, last in rows:
        end, successor = None, None
        if last < active_since:
            end, successor = _end(changes, device_id, active.get((ward, hostname), ()), last, now, active_since)
        lives[device_id] = DeviceLife(device_id, ward, hostname, tuple(changes[device_id]), end, successor)
    return lives


def _end(changes: dict[str, list[tuple[datetime, str]]], device_id: str, same_desk: Iterable[str],
         last: datetime, now: datetime, active_since: datetime) -> tuple[datetime, Optional[str]]:
    """When a silent device stops counting, and the active one that took over its hostname (if any)."""
    first = changes[device_id][0][0]
    later = sorted((changes[d][0][0], d) for d in same_desk if changes[d][0][0] > first)
    if later:
        return min(now, max(last, later[0][0])), later[0][1]
    return last + (now - active_since), None


def _changes(conn: Connection, ward_code: Optional[str], units: Optional[Collection[str]]
             ) -> dict[str, list[tuple[datetime, str]]]:
    """Each device's verdict changes, in time order."""
    # Device by device, in ix_verdict_changes_device_time's order: read from that index alone, no sort.
    q = (sa.select(verdict_changes.c.device_id, utc_iso(verdict_changes.c.changed_at), verdict_changes.c.to_status)
         .order_by(verdict_changes.c.device_id, verdict_changes.c.changed_at, verdict_changes.c.id))
    if ward_code is not None:
        q = q.where(verdict_changes.c.ward_code == ward_code)
    if units is not None:
        q = q.join(devices, devices.c.device_id == verdict_changes.c.device_id).where(
            devices.c.ward_code.in_(sorted(units)))
    changes: dict[str, list[tuple[datetime, str]]] = {}
    parse = datetime.fromisoformat
    for device_id, changed_at, status in conn.execute(q).all():
        changes.setdefault(device_id, []).append((parse(changed_at), status))
    return changes


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def day_ends(days: list[date], now: datetime) -> list[datetime]:
    """The moment each Hanoi day is judged at: its end, or now for today."""
    return [min(now, datetime.combine(d + timedelta(days=1), time(0), HANOI)) for d in days]


def first_day(lives: Iterable[DeviceLife]) -> Optional[date]:
    starts = [life.changes[0][0] for life in lives]
    return min(starts).astimezone(HANOI).date() if starts else None


def daily_counts(lives: Iterable[DeviceLife], ends: list[datetime]) -> dict[str, list[int]]:
    """Devices per verdict at each moment of ``ends`` (ascending): one sweep over all changes.

    ``ends`` are bisected in UTC, the zone of the stored moments: comparing datetimes of one zone is as fast
    as comparing numbers, across zones it is many times slower.
    """
    n = len(ends)
    keys = [e.astimezone(timezone.utc) for e in ends]
    diff = {v: [0] * (n + 1) for v in VERDICTS}
    for life in lives:
        changes, end = life.changes, life.end
        for i, (start, status) in enumerate(changes):
            stop = changes[i + 1][0] if i + 1 < len(changes) else None
            if end is not None:
                stop = end if stop is None else min(stop, end)
            a = bisect_left(keys, start)
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


def first_ready(lives: Iterable[DeviceLife], classes: Mapping[str, str], expected: Mapping[str, int],
                threshold: float) -> Optional[datetime]:
    """The first moment a unit's devices made it ``ready`` (``unit_status_covered``), or None if they never did.

    The devices' past verdicts are judged against the unit's register as it is now: the register says what the
    unit owns, and the day its machines first all reported and passed is when the unit met the programme's bar.
    One sweep over the changes and ends in time order, the counts moved device by device: a unit's devices are
    judged at each moment something changed, in time that grows with its changes, not with their square.
    """
    lives = list(lives)
    # At one moment, a device's last change there is its verdict, and an end there outranks it (after: True).
    events = sorted([(at, False, i, to) for i, life in enumerate(lives) for at, to in life.changes]
                    + [(life.end, True, i, None) for i, life in enumerate(lives) if life.end is not None],
                    key=lambda e: (e[0], e[1]))
    status: list[Optional[str]] = [None] * len(lives)
    ended = [False] * len(lives)
    counts: dict[str, int] = dict.fromkeys(VERDICTS, 0)
    reporting: dict[str, int] = {}
    for k, (moment, is_end, i, to) in enumerate(events):
        if not ended[i]:
            ended[i] = is_end
            _move(counts, reporting, classes.get(lives[i].device_id, "other"), status[i], to)
            status[i] = to
        if k + 1 < len(events) and events[k + 1][0] == moment:
            continue
        if unit_status_covered(counts, coverage(expected, reporting).ratio, threshold) == "ready":
            return moment
    return None


def _move(counts: dict[str, int], reporting: dict[str, int], cls: str, old: Optional[str], new: Optional[str]
          ) -> None:
    """A device's verdict going from ``old`` to ``new`` (None: not counted) in a unit's counts and classes."""
    if old is not None:
        counts[old] -= 1
        reporting[cls] -= 1
    if new is not None:
        counts[new] = counts.get(new, 0) + 1
        reporting[cls] = reporting.get(cls, 0) + 1


def device_changes(conn: Connection, device_id: str) -> list[dict]:
    """One device's verdict changes, oldest first, as the JSON API gives them."""
    q = (sa.select(verdict_changes.c.from_status, verdict_changes.c.to_status, verdict_changes.c.changed_at,
                   verdict_changes.c.failed_rules)
         .where(verdict_changes.c.device_id == device_id)
         .order_by(verdict_changes.c.changed_at, verdict_changes.c.id))
    return [{"from": r.from_status, "to": r.to_status, "changed_at": r.changed_at.isoformat(),
             "failed_rules": list(r.failed_rules)} for r in conn.execute(q)]
