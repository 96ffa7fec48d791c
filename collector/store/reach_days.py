"""Each unit's reach of the HDC per Hanoi day, kept at ingest, so the link criterion costs the same at any size.

The link criterion (readiness/criteria.py) judges a unit by the share of its
counted devices whose latest check reached the HDC. It replayed every
device's reach changes (``reachability_changes``) on each composition. This
module keeps what that needs in ``reach_days``, per unit (the device's
current one) and Hanoi day, in the report's transaction, as ``unit_days``
keeps the verdicts:

- ``change``: +1 for the reach a device enters (``reached`` true or false),
  -1 for the one it leaves, on the first day whose end reaches the change;
- ``last``: each device on the day of its latest report, by its reach: it
  stops counting the stale age later (a pending -1 that every new report of
  the device moves, once a day).

A device counts in its unit from its first check of the HDC there (its
latest stretch in that unit: a device that moved counts in its new unit
from its first check there) until the stale age after its latest report,
as the burn-down counts it. Most reports change nothing here: a report that
keeps its device's reach and unit moves the ``last`` row once a day.
Today's figure is as of now: changes stamped later today, and drops due
later today, are not in it yet.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from itertools import accumulate
from typing import Any, Iterable, NamedTuple, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from collector.i18n import HANOI
from collector.store import kept
from collector.store.tables import devices, reach_days, reachability_changes, utc_iso
from collector.store.unit_days import LAST, add_stretches, end_day

Row = tuple[str, str, date, bool]  # kind, unit, day, reached
Check = tuple[datetime, bool]  # when, reached


class Stint(NamedTuple):
    """A device as the kept rows see it: its unit, latest report and its reach changes of its latest stretch
    there, in time order."""

    ward: str
    last: datetime
    checks: list[Check]


class UnitReach(NamedTuple):
    """A unit's devices reaching the HDC and not at the end of each Hanoi day (today: now), as runs: from each of
    ``days`` (ascending; the first is the unit's first) until the next, the counts at the same index."""

    days: list[date]
    reached: list[int]
    unreached: list[int]


def stint(rows: Iterable[tuple[str, bool, datetime]], ward: str) -> list[Check]:
    """A device's reach changes (unit, reached, when; in time order) of its latest stretch in ``ward``: those
    after its last change in another unit (a device that moved back counts from its return)."""
    out: list[Check] = []
    for w, reached, at in rows:
        if w != ward:
            out = []
        else:
            out.append((at, reached))
    return out


def contribution(ward: str, checks: Sequence[Check], last: datetime) -> dict[Row, int]:
    """What one device adds to ``reach_days``."""
    out: dict[Row, int] = defaultdict(int)
    add_stretches(out, ward, checks, last)
    return out


_ROWS_OF = (sa.select(reachability_changes.c.ward_code, reachability_changes.c.reached,
                      reachability_changes.c.changed_at)
            .where(reachability_changes.c.device_id == sa.bindparam("did"))
            .order_by(reachability_changes.c.changed_at, reachability_changes.c.id))


def record(conn: Connection, device_id: str, before: Optional[tuple[str, datetime]], ward: str,
           collected: datetime, wrote: bool, first: Optional[list[tuple[str, bool, datetime]]] = None) -> None:
    """Move a device's contribution for a report just stored: ``before`` is its (unit, latest report) before it
    (None for a new device), ``wrote`` whether the report added a reach change; ``first``, for a new device that
    checked endpoints, its reach change as the report wrote it (unit, reached, when: then not read back).

    A report of the same unit that changed no reach and stays on its latest report's day reads nothing.
    """
    if before is not None and before[0] == ward and not wrote and end_day(before[1]) == end_day(collected):
        return
    if before is None and not wrote:
        return  # a new device that checked nothing has no reach change
    rows = first if first is not None else conn.execute(_ROWS_OF, {"did": device_id}).all()
    if not rows:
        return
    delta = contribution(ward, stint(rows, ward), collected)
    if before is not None:
        for row, n in contribution(before[0], stint(rows[:-1] if wrote else rows, before[0]), before[1]).items():
            delta[row] -= n
    _add(conn, delta)


def _add(conn: Connection, delta: dict[Row, int]) -> None:
    """Add ``delta`` to the table, rows in key order (two PostgreSQL collectors cannot deadlock); rows that fall
    to zero (as the upsert returns them) are deleted."""
    changes = [dict(kind=k[0], ward_code=k[1], day=k[2], reached=k[3], devices=n)
               for k, n in sorted(delta.items()) if n]
    if changes:
        kept.delete_emptied(conn, _DELETE_EMPTY, conn.execute(_UPSERTS[conn.dialect.name], changes))
        kept.stamp(conn, "reach_days", {k[1] for k in delta})


def _upsert(insert) -> sa.Insert:
    stmt = insert(reach_days)
    keys = list(reach_days.primary_key.columns)
    return stmt.on_conflict_do_update(index_elements=[c.name for c in keys],
                                      set_={"devices": reach_days.c.devices + stmt.excluded.devices}
                                      ).returning(*keys, reach_days.c.devices)


_UPSERTS = {"sqlite": _upsert(sqlite.insert), "postgresql": _upsert(postgresql.insert)}
_DELETE_EMPTY = reach_days.delete().where(*(c == sa.bindparam(c.name) for c in reach_days.primary_key.columns),
                                          reach_days.c.devices == 0)


def read(conn: Connection, now: datetime, stale_days: int, ward_code: Optional[str] = None
         ) -> dict[str, UnitReach]:
    """Every unit's (or one unit's) reach at each day's end as of ``now``, for a stale age of ``stale_days``:
    a few rows per unit and day, whatever the number of devices (module docstring). The city's units are worked
    out from their rows only where the rows changed since the last read of this store in this process
    (``kept.Reuse``), then today's events after ``now`` are put in afresh. Days are read as text and each
    distinct one parsed once."""
    today = now.astimezone(HANOI).date().toordinal()
    worked: dict[str, tuple[dict[int, list[int]], Optional[UnitReach]]] = {}
    if ward_code is not None:
        worked = {ward: (by_day, _runs(by_day)) for ward, by_day in _moves(conn, today, stale_days, ward_code).items()}
    else:
        reuse = kept.Reuse(conn, "reach_days", (today, stale_days))
        wards = [ward for (ward,) in conn.execute(sa.select(reach_days.c.ward_code).distinct())]
        worked = {ward: found for ward in wards if (found := reuse.get(ward)) is not None}
        todo = [ward for ward in wards if ward not in worked]
        if todo:
            fresh = _moves(conn, today, stale_days, None if len(todo) == len(wards) else todo)
            for ward in todo:
                by_day = fresh.get(ward, {})
                worked[ward] = reuse.put(ward, (by_day, _runs(by_day) if by_day else None))
    out = {ward: runs for ward, (_by_day, runs) in worked.items() if runs is not None}
    later: dict[str, dict[int, list[int]]] = defaultdict(dict)
    for ward, reached, n in _not_yet(conn, now, stale_days, ward_code):
        later[ward].setdefault(today, [0, 0])[0 if reached else 1] += n
    for ward, by_day in later.items():
        merged = {day: list(counts) for day, counts in worked.get(ward, ({}, None))[0].items()}
        for day, (yes, no) in by_day.items():
            counts = merged.setdefault(day, [0, 0])
            counts[0] += yes
            counts[1] += no
        out[ward] = _runs(merged)
    return out


def _moves(conn: Connection, today: int, stale_days: int, wards: Optional[str | list[str]]
           ) -> dict[str, dict[int, list[int]]]:
    """Per unit and day (ordinal), the devices coming into and going out of each reach by the end of that day,
    from the rows: of every unit, of one (``wards`` a code) or of these units (a list)."""
    r = reach_days.c
    # Days as text and reach as a number: no per-value conversion by the store's types.
    q = sa.select(r.kind, r.ward_code, sa.cast(r.day, sa.String), sa.cast(r.reached, sa.Integer), r.devices)
    if isinstance(wards, list):
        rows: list[Any] = [row for i in range(0, len(wards), 500)  # IN lists within every backend's limits
                           for row in conn.execute(q.where(r.ward_code.in_(wards[i:i + 500]))).all()]
    else:
        rows = list(conn.execute(q if wards is None else q.where(r.ward_code == wards)).all())
    ordinals: dict[str, int] = {}
    moves: dict[str, dict[int, list[int]]] = defaultdict(dict)
    for kind, ward, text, reached, n in rows:
        day = ordinals.get(text)
        if day is None:
            day = ordinals[text] = date.fromisoformat(text).toordinal()
        if kind == LAST:
            day, n = day + stale_days, -n
        if day <= today:
            moves[ward].setdefault(day, [0, 0])[0 if reached else 1] += n
    return moves


def _runs(by_day: dict[int, list[int]]) -> UnitReach:
    days = sorted(by_day)
    return UnitReach([date.fromordinal(d) for d in days], list(accumulate(by_day[d][0] for d in days)),
                     list(accumulate(by_day[d][1] for d in days)))


def _not_yet(conn: Connection, now: datetime, stale_days: int, ward_code: Optional[str]
             ) -> Iterable[tuple[str, bool, int]]:
    """Today's events the rows date today but that come after ``now``, undone, as (unit, reach, devices): reach
    changes stamped later today, and the drops of devices that go silent later today (a few devices, read
    afresh)."""
    rc, d = reachability_changes.c, devices.c
    today, stale = now.astimezone(HANOI).date(), timedelta(days=stale_days)
    day_end = datetime.combine(today + timedelta(days=1), time(0), HANOI).astimezone(timezone.utc)
    later = sa.select(rc.device_id).where(rc.changed_at > now, rc.changed_at <= day_end)
    since = now - stale
    edge_end = datetime.combine(today - stale + timedelta(days=1), time(0), HANOI).astimezone(timezone.utc)
    pending = sa.select(d.device_id).where(d.last_collected_at > since, d.last_collected_at <= edge_end)
    if ward_code is not None:
        later, pending = later.where(rc.ward_code == ward_code), pending.where(d.ward_code == ward_code)
    ids = {did for (did,) in conn.execute(later)} | {did for (did,) in conn.execute(pending)}
    for s in stints(conn, sorted(ids)).values():
        if ward_code is not None and s.ward != ward_code:
            continue
        previous: Optional[bool] = None
        for at, reached in s.checks:
            if at > now and end_day(at) == today:
                yield s.ward, reached, -1
                if previous is not None:
                    yield s.ward, previous, 1
            previous = reached
        final = next((reached for at, reached in reversed(s.checks) if at <= now), None)
        if final is not None and s.last > since and end_day(s.last) + stale == today:
            yield s.ward, final, 1


def stints(conn: Connection, device_ids: Optional[list[str]] = None) -> dict[str, Stint]:
    """Devices with a reach change in their current unit, each with its latest stretch there (all devices, or
    these, 500 at a time: IN lists within every backend's limits)."""
    rc, d = reachability_changes.c, devices.c
    parse = datetime.fromisoformat
    rows: dict[str, list[tuple[str, bool, datetime]]] = defaultdict(list)
    chunks = [None] if device_ids is None else [device_ids[i:i + 500] for i in range(0, len(device_ids), 500)]
    for chunk in chunks:
        q = (sa.select(rc.device_id, rc.ward_code, rc.reached, utc_iso(rc.changed_at))
             .order_by(rc.device_id, rc.changed_at, rc.id))
        if chunk is not None:
            q = q.where(rc.device_id.in_(chunk))
        for did, ward, reached, at in conn.execute(q):
            rows[did].append((ward, bool(reached), parse(at)))
    where = sa.select(d.device_id, d.ward_code, utc_iso(d.last_collected_at))
    ids = list(rows)
    found: Sequence[Any] = conn.execute(where).all() if device_ids is None else [
        row for i in range(0, len(ids), 500) for row in conn.execute(where.where(d.device_id.in_(ids[i:i + 500])))]
    out: dict[str, Stint] = {}
    for did, ward, last in found:
        checks = stint(rows.get(did, []), ward)
        if checks:
            out[did] = Stint(ward, parse(last), checks)
    return out


def fresh(conn: Connection) -> dict[Row, int]:
    """What the table holds for the stored devices and reach changes."""
    out: dict[Row, int] = defaultdict(int)
    for s in stints(conn).values():
        for row, n in contribution(s.ward, s.checks, s.last).items():
            out[row] += n
    return {k: n for k, n in out.items() if n}


def totals(conn: Connection) -> dict[Row, int]:
    """The whole table, for checks that ingest kept what a rebuild gives."""
    r = reach_days.c
    return {(kind, ward, day, bool(reached)): n
            for kind, ward, day, reached, n in conn.execute(sa.select(r.kind, r.ward_code, r.day, r.reached,
                                                                        r.devices))}


def rebuild(conn: Connection) -> None:
    """Fill the table from every device's stored reach changes (an upgraded store, a bulk copy)."""
    _replace(conn, fresh(conn))


def _replace(conn: Connection, rows: dict[Row, int]) -> None:
    conn.execute(reach_days.delete())
    if rows:
        conn.execute(reach_days.insert(), [dict(kind=k[0], ward_code=k[1], day=k[2], reached=k[3], devices=n)
                                           for k, n in sorted(rows.items())])
    kept.restamp(conn, "reach_days", {k[1] for k in rows})


def recount(conn: Connection, apply: bool) -> int:
    """How many rows differ from what the stored changes give; with ``apply``, put right (``kept.recount``)."""
    return kept.recount(conn, "reach_days", fresh, totals, _replace, apply)


def backfill(conn: Connection) -> bool:
    """Fill the table of a store whose changes were stored before it was kept (``kept.backfill``)."""
    return kept.backfill(conn, reach_days.c.kind, reachability_changes.c.id, rebuild,
                         "the units' reach of the HDC by day")
