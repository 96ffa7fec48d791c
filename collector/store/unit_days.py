"""Each unit's verdict history and work items kept at ingest, so the overview's history costs the same at any size.

The overview's burn-down, its units' forecasts and its work-item tallies were
rebuilt from every device's verdict changes on each composition
(readiness/history.py states the counting rule). This module keeps what they
need in ``unit_days``, per unit (the device's current one) and Hanoi day, in
the report's transaction, as ``counts`` keeps the current figures:

- ``change``: +1 for the verdict a device enters, -1 for the one it leaves, on
  the first day whose end reaches the change (the rebuild's day ends);
- ``last``: each device on the day of its latest report, by verdict: it stops
  counting the stale age later, so that drop is a pending -1 which every new
  report of the device moves (a whole number of days: shifted when read);
- ``first``: each device on the Hanoi day of its first verdict (where a unit's
  series starts);
- ``work``: each device that failed a hard rule (a work item), on the day it
  first did, keyed by the day its current passing stretch began ("open" while
  it fails).

Most reports change none of these: a device that keeps its verdict moves its
``last`` row once a day. A change of verdict or unit reads the device's own
changes and moves its whole contribution, as it was and as it is.

Two things depend on the moment of reading, not on any report, and are
worked out by ``read``: a silent device whose hostname an active newer
device took over stops counting (and is resolved by it) from the day the new
one first reported, while that one stays active; only desks that ever held two
devices (``shared_desks``, a few) are read for it. And today's figure is as of
now: changes stamped later today, and drops due later today, are not in it
yet.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from itertools import accumulate
from typing import Any, Iterable, NamedTuple, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from collector.i18n import HANOI
from collector.store.tables import devices, shared_desks, unit_days, utc_iso, verdict_changes, verdicts

CHANGE, LAST, FIRST, WORK = "change", "last", "first", "work"
OPEN = "open"  # the work key of a device failing now
VERDICTS = ("ready", "ready_with_conditions", "not_ready", "unknown")
PASSING = ("ready", "ready_with_conditions")
_TICK = timedelta(microseconds=1)

log = logging.getLogger("hdc.collector")

Row = tuple[str, str, date, str]  # kind, unit, day, key
Change = tuple[datetime, str]  # when, verdict entered


class WorkFact(NamedTuple):
    """A work item's days: when its device first failed, and since when it (or its successor) passes."""

    opened: date
    done: Optional[date]


class Kept(NamedTuple):
    """What ``read`` gives: every unit's series over the city's days, where each starts, and the work items."""

    start: date  # the city's first Hanoi day (today before any verdict)
    days: list[date]  # ``start`` to today (empty while the first verdict is stamped after today)
    firsts: dict[str, date]  # per unit, the Hanoi day of its devices' first verdict
    series: dict[str, dict[str, list[int]]]  # unit -> verdict -> devices at each of ``days``' ends (today: now)
    work: dict[tuple[str, WorkFact], int]  # (unit, fact) -> devices


def hanoi_day(moment: datetime) -> date:
    return moment.astimezone(HANOI).date()


def end_day(moment: datetime) -> date:
    """The first Hanoi day whose end (midnight after it) is at or after ``moment``: where a change first counts."""
    return (moment - _TICK).astimezone(HANOI).date()


def passing_since(changes: Sequence[Change]) -> Optional[datetime]:
    """When the current passing stretch of these changes began; None if the last verdict fails."""
    since = None
    for at, status in reversed(changes):
        if status not in PASSING:
            break
        since = at
    return since


def work_fact(changes: Sequence[Change], end: Optional[datetime], resolver: Optional[Sequence[Change]]
              ) -> Optional[WorkFact]:
    """The work item of a device counted until ``end`` (None: still counted) whose fix is ``resolver``'s passing
    (its own changes, or its successor's); None if it never failed while counted."""
    opened = next((at for at, status in changes if status == "not_ready" and (end is None or at < end)), None)
    if opened is None:
        return None
    done = passing_since(resolver) if resolver is not None else None
    return WorkFact(hanoi_day(opened), hanoi_day(done) if done else None)


def contribution(ward: str, changes: Sequence[Change], last: datetime) -> dict[Row, int]:
    """What one device adds to ``unit_days`` while no other device took over its desk."""
    out: dict[Row, int] = defaultdict(int)
    if not changes:
        return out
    out[(FIRST, ward, hanoi_day(changes[0][0]), "")] += 1
    previous = None
    for at, status in changes:
        day = end_day(at)
        out[(CHANGE, ward, day, status)] += 1
        if previous is not None:
            out[(CHANGE, ward, day, previous)] -= 1
        previous = status
    assert previous is not None
    out[(LAST, ward, end_day(last), previous)] += 1
    fact = work_fact(changes, None, changes)
    if fact is not None:
        out[_work_row(ward, fact)] += 1
    return out


def _work_row(ward: str, fact: WorkFact) -> Row:
    return (WORK, ward, fact.opened, fact.done.isoformat() if fact.done else OPEN)


_CHANGES_OF = (sa.select(verdict_changes.c.changed_at, verdict_changes.c.to_status)
               .where(verdict_changes.c.device_id == sa.bindparam("did"))
               .order_by(verdict_changes.c.changed_at, verdict_changes.c.id))


def record(conn: Connection, device_id: str, before: Optional[tuple[str, Optional[str], datetime]],
           ward: str, status: str, collected: datetime, changed: bool) -> None:
    """Move a device's contribution for a report just stored: ``before`` is its (unit, verdict, latest report)
    before it (None for a new device), ``changed`` whether the report recorded a verdict change.

    A report of the same unit and verdict moves the ``last`` row when its day differs, and touches nothing else.
    """
    if before is not None and before[1] == status and before[0] == ward and not changed:
        old_day, new_day = end_day(before[2]), end_day(collected)
        if old_day != new_day:
            _apply(conn, {(LAST, ward, old_day, status): -1, (LAST, ward, new_day, status): 1})
        return
    changes = [(at, s) for at, s in conn.execute(_CHANGES_OF, {"did": device_id})]
    delta = contribution(ward, changes, collected)
    if before is not None:
        for row, n in contribution(before[0], changes[:-1] if changed else changes, before[2]).items():
            delta[row] = delta.get(row, 0) - n
    _apply(conn, delta)


def note_desk(conn: Connection, ward: str, hostname: str) -> None:
    """Remember a desk that now holds more than one device (kept for good: a takeover there may come later)."""
    stmt = _DESK_INSERTS.get(conn.dialect.name)
    if stmt is not None:
        conn.execute(stmt, {"ward_code": ward, "hostname": hostname})


def _apply(conn: Connection, delta: dict[Row, int]) -> None:
    """Add ``delta`` to the table, rows in key order (two PostgreSQL collectors cannot deadlock); rows that fall to
    zero are deleted."""
    changes: list[dict[str, Any]] = [dict(kind=k[0], ward_code=k[1], day=k[2], key=k[3], devices=n)
                                     for k, n in sorted(delta.items()) if n]
    if not changes:
        return
    conn.execute(_UPSERTS[conn.dialect.name], changes)
    # A change row may go below zero and back (more devices left a verdict that day than entered it): any may empty.
    conn.execute(_DELETE_EMPTY, [{k: c[k] for k in ("kind", "ward_code", "day", "key")} for c in changes])


_DELETE_EMPTY = unit_days.delete().where(
    unit_days.c.kind == sa.bindparam("kind"), unit_days.c.ward_code == sa.bindparam("ward_code"),
    unit_days.c.day == sa.bindparam("day"), unit_days.c.key == sa.bindparam("key"), unit_days.c.devices == 0)


def _build_upsert(insert):
    stmt = insert(unit_days)
    return stmt.on_conflict_do_update(index_elements=["kind", "ward_code", "day", "key"],
                                      set_={"devices": unit_days.c.devices + stmt.excluded.devices})


_UPSERTS = {"sqlite": _build_upsert(sqlite.insert), "postgresql": _build_upsert(postgresql.insert)}
_DESK_INSERTS = {name: insert(shared_desks).on_conflict_do_nothing(index_elements=["ward_code", "hostname"])
                 for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))}


def read(conn: Connection, now: datetime, stale_days: int) -> Kept:
    """Every unit's history as of ``now`` for a stale age of ``stale_days``, as the rebuild from every device's
    changes gives it (module docstring)."""
    today = hanoi_day(now)
    u = unit_days.c
    rows = conn.execute(sa.select(u.kind, u.ward_code, u.day, u.key, u.devices)).all()
    firsts: dict[str, date] = {}
    for kind, ward, day, _key, _n in rows:
        if kind == FIRST and (ward not in firsts or day < firsts[ward]):
            firsts[ward] = day
    start = min(firsts.values(), default=today)
    days = [start + timedelta(days=i) for i in range((today - start).days + 1)]
    n = len(days)
    diffs: dict[str, dict[str, list[int]]] = {w: {v: [0] * n for v in VERDICTS} for w in firsts}
    work: dict[tuple[str, WorkFact], int] = defaultdict(int)

    def add(ward: str, day: date, status: str, devices_: int) -> None:
        i = (day - start).days
        if 0 < n > i and status in VERDICTS and ward in diffs:
            diffs[ward][status][max(i, 0)] += devices_

    stale = timedelta(days=stale_days)
    for kind, ward, day, key, devices_ in rows:
        if kind == CHANGE:
            add(ward, day, key, devices_)
        elif kind == LAST:
            add(ward, day + stale, key, -devices_)
        elif kind == WORK:
            work[(ward, WorkFact(day, None if key == OPEN else date.fromisoformat(key)))] += devices_
    if n:
        for ward, status, devices_ in _not_yet(conn, now, today, stale):
            add(ward, today, status, devices_)
    for row, devices_ in _takeovers(conn, now, stale).items():
        if row[0] == WORK:
            work[(row[1], WorkFact(row[2], None if row[3] == OPEN else date.fromisoformat(row[3])))] += devices_
        else:
            add(row[1], row[2], row[3], devices_)
    series = {w: {v: list(accumulate(d)) for v, d in by_status.items()} for w, by_status in diffs.items()}
    return Kept(start, days, firsts, series, {k: v for k, v in work.items() if v})


def _not_yet(conn: Connection, now: datetime, today: date, stale: timedelta) -> Iterable[tuple[str, str, int]]:
    """Today's events the rows date today but that come after ``now``, undone: changes stamped later today (a
    device clock a little ahead), and the drops of devices that go silent later today."""
    vc, d = verdict_changes.c, devices.c
    later = conn.execute(sa.select(d.ward_code, vc.from_status, vc.to_status, vc.changed_at)
                         .join(devices, d.device_id == vc.device_id).where(vc.changed_at > now)).all()
    for ward, old, new, at in later:
        if end_day(at) == today:
            yield ward, new, -1
            if old is not None:
                yield ward, old, 1
    since = now - stale
    edge_end = datetime.combine(today - stale + timedelta(days=1), time(0), HANOI).astimezone(timezone.utc)
    pending = conn.execute(sa.select(d.ward_code, verdicts.c.status, d.last_collected_at)
                           .join(verdicts, verdicts.c.device_id == d.device_id)
                           .where(d.last_collected_at >= since, d.last_collected_at <= edge_end)).all()
    for ward, status, last in pending:
        if end_day(last) + stale == today:
            yield ward, status, 1


def _takeovers(conn: Connection, now: datetime, stale: timedelta) -> dict[Row, int]:
    """Corrections for silent devices whose hostname an active newer device took over: they stop counting when
    it first reported (not the stale age after their last report), and its passing fixes their work item."""
    d = devices.c
    members = conn.execute(sa.select(d.device_id, d.ward_code, d.hostname, d.last_collected_at)
                           .join(shared_desks, sa.and_(shared_desks.c.ward_code == d.ward_code,
                                                       shared_desks.c.hostname == d.hostname))).all()
    if not members:
        return {}
    changes = _changes_of(conn, [m.device_id for m in members])
    since = now - stale
    desks: dict[tuple[str, str], list] = defaultdict(list)
    for m in members:
        if m.device_id in changes:
            desks[(m.ward_code, m.hostname)].append(m)
    out: dict[Row, int] = defaultdict(int)
    for (ward, _host), at_desk in desks.items():
        active = [m for m in at_desk if m.last_collected_at >= since]
        for m in at_desk:
            if m.last_collected_at >= since:
                continue
            own = changes[m.device_id]
            later = sorted((changes[a.device_id][0][0], a.device_id) for a in active
                           if changes[a.device_id][0][0] > own[0][0])
            if not later:
                continue
            first_new, successor = later[0]
            end = min(now, max(m.last_collected_at, first_new))
            final = own[-1][1]
            out[(CHANGE, ward, end_day(m.last_collected_at + stale), final)] += 1
            out[(CHANGE, ward, end_day(end), final)] -= 1
            for fact, sign in ((work_fact(own, None, own), -1), (work_fact(own, end, changes[successor]), 1)):
                if fact is not None:
                    out[_work_row(ward, fact)] += sign
    return out


def _changes_of(conn: Connection, device_ids: list[str]) -> dict[str, list[Change]]:
    """These devices' verdict changes in time order (500 at a time: IN lists within every backend's limits)."""
    vc = verdict_changes.c
    out: dict[str, list[Change]] = defaultdict(list)
    parse = datetime.fromisoformat
    for start in range(0, len(device_ids), 500):
        chunk = device_ids[start:start + 500]
        q = (sa.select(vc.device_id, utc_iso(vc.changed_at), vc.to_status).where(vc.device_id.in_(chunk))
             .order_by(vc.device_id, vc.changed_at, vc.id))
        for did, at, status in conn.execute(q):
            out[did].append((parse(at), status))
    return out


def rebuild(conn: Connection) -> None:
    """Fill ``unit_days`` and ``shared_desks`` from every device's stored changes (an upgraded store, a bulk copy)."""
    rows = conn.execute(sa.select(devices.c.device_id, devices.c.ward_code, devices.c.last_collected_at)).all()
    changes = _changes_of(conn, [r.device_id for r in rows])
    total: dict[Row, int] = defaultdict(int)
    for device_id, ward, last in rows:
        for row, n in contribution(ward, changes.get(device_id, ()), last).items():
            total[row] += n
    conn.execute(unit_days.delete())
    kept = [dict(kind=k[0], ward_code=k[1], day=k[2], key=k[3], devices=n) for k, n in sorted(total.items()) if n]
    if kept:
        conn.execute(unit_days.insert(), kept)
    conn.execute(shared_desks.delete())
    shared = conn.execute(sa.select(devices.c.ward_code, devices.c.hostname)
                          .group_by(devices.c.ward_code, devices.c.hostname).having(sa.func.count() > 1)).all()
    if shared:
        conn.execute(shared_desks.insert(), [{"ward_code": w, "hostname": h} for w, h in shared])


def backfill(conn: Connection) -> bool:
    """Fill the history of a store whose devices were judged before it was kept (once, when it is opened)."""
    if conn.execute(sa.select(unit_days.c.kind).limit(1)).first() is not None:
        return False
    if conn.execute(sa.select(verdict_changes.c.id).limit(1)).first() is None:
        return False
    log.info("keeping the units' verdict history from the stored changes (once)")
    rebuild(conn)
    return True


def totals(conn: Connection) -> dict[Row, int]:
    """The whole table, for checks that ingest kept what a rebuild gives."""
    u = unit_days.c
    return {(k, w, d, key): n for k, w, d, key, n in conn.execute(
        sa.select(u.kind, u.ward_code, u.day, u.key, u.devices))}
