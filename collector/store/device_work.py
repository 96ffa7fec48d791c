"""Each device's work item kept at ingest, so a unit's page lists a page of its work items without its devices' lives.

A device that ever failed a hard rule (verdict ``not_ready``) is a work item
(readiness/workitems.py states the rule). ``device_work`` keeps one row per
such device, in the report's transaction: its unit and hostname as its
device row has them, its first verdict, its first failure, the start of
its own current passing stretch (empty while it does not pass), and
whether a device now at its desk first reported after it first did and by
its first failure (``overlapped``). Only a change of verdict (which reads
the device's own changes, as ``unit_days`` does) or of unit or hostname
writes here; most reports touch nothing.

What depends on the moment of reading is worked out for the shown rows only:
a silent device whose hostname an active newer device took over is done
when that one passes (``page`` reads the successors of its page's silent
rows), and one whose only failure was its latest report before the newer
device first reported is no work item (a rare case the page's query leaves
out in the store, looking only where ``overlapped`` is set).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, NamedTuple, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from collector.store import kept
from collector.store.queries import Paged, pages_of
from collector.store.tables import device_work, devices, utc_iso, verdict_changes
from collector.store.unit_days import Change, passing_since

NOT_READY = "not_ready"
Desk = tuple[str, str]  # unit, hostname
# device, unit, hostname, first verdict, first failure, passing since, overlapped
Row = tuple[str, str, str, datetime, datetime, Optional[datetime], bool]


class Item(NamedTuple):
    """A work item as a unit's page shows it: done by ``done_by`` (a successor) or by the device itself."""

    device_id: str
    hostname: str
    opened_at: datetime
    done_at: Optional[datetime]
    done_by: Optional[str]


def facts(changes: Sequence[Change]) -> Optional[tuple[datetime, datetime, Optional[datetime]]]:
    """A device's first verdict, first failure and current passing stretch's start; None if it never failed."""
    failed = next((at for at, status in changes if status == NOT_READY), None)
    return None if failed is None else (changes[0][0], failed, passing_since(changes))


_MOVE = (device_work.update().where(device_work.c.device_id == sa.bindparam("did"))
         .values(ward_code=sa.bindparam("ward"), hostname=sa.bindparam("host")))
_SET = (device_work.update().where(device_work.c.device_id == sa.bindparam("did"))
        .values(ward_code=sa.bindparam("ward"), hostname=sa.bindparam("host"), first_at=sa.bindparam("first"),
                failed_at=sa.bindparam("failed"), passing_at=sa.bindparam("passing")))


def _mate_first() -> tuple[Any, Any]:
    """Another device (``mate``) and the moment of its first verdict, for conditions on a kept row's desk."""
    mate = devices.alias("mate")
    vc = verdict_changes.c
    return mate, sa.select(sa.func.min(vc.changed_at)).where(vc.device_id == mate.c.device_id).scalar_subquery()


def _overlap_flags() -> sa.Update:
    """Set ``overlapped`` of the kept rows of a desk from the devices now at it (module docstring)."""
    w = device_work.c
    mate, first = _mate_first()
    overlap = sa.exists().where(mate.c.ward_code == w.ward_code, mate.c.hostname == w.hostname, first > w.first_at,
                                first <= w.failed_at)
    return (device_work.update().where(w.ward_code == sa.bindparam("ward"), w.hostname == sa.bindparam("host"))
            .values(overlapped=overlap))


_REFLAG = _overlap_flags()


def record(conn: Connection, device_id: str, old_desk: Optional[Desk], desk: Desk,
           changes: Optional[Sequence[Change]], alone: bool = False) -> None:
    """Keep a device's row for a report just stored: ``old_desk`` is its (unit, hostname) before (None for a new
    device), ``changes`` all its verdict changes when the report recorded one (as ``unit_days.record`` read them
    in the same transaction), else None. A report that changes neither its verdict nor its desk (most) writes
    nothing; one that changes its desk (a new device, a move) sets the flags of the rows at the desks it left and
    joined. ``alone``: a new device at a desk without other devices, which has no row yet and whose desk has no
    flags to set (the only device there overlaps none)."""
    if old_desk == desk and changes is None:
        return
    wrote = False
    if changes is not None:
        found = facts(changes)
        if found is not None:
            values = {"did": device_id, "ward": desk[0], "host": desk[1], "first": found[0], "failed": found[1],
                      "passing": found[2]}
            if alone or not conn.execute(_SET, values).rowcount:
                conn.execute(device_work.insert(), dict(
                    device_id=device_id, ward_code=desk[0], hostname=desk[1], first_at=found[0], failed_at=found[1],
                    passing_at=found[2], overlapped=False))
            wrote = True
    elif old_desk is not None:
        conn.execute(_MOVE, {"did": device_id, "ward": desk[0], "host": desk[1]})
    if not alone and (wrote or old_desk != desk):
        for ward, host in sorted({desk, old_desk or desk}):
            conn.execute(_REFLAG, {"ward": ward, "host": host})


def page(conn: Connection, ward_code: str, active_since: datetime, before: datetime, number: int, size: int
         ) -> Paged[Item]:
    """Page ``number`` (clamped) of a unit's work items of a milestone met or missed at ``before`` (the devices
    that first failed before it), by hostname and first failure as the full list orders them: only the shown
    rows are read, and the successors of their silent devices."""
    w, d = device_work.c, devices.c
    which = sa.and_(w.ward_code == ward_code, w.failed_at < before, sa.not_(_failed_after_takeover(active_since)))
    joined = device_work.join(devices, d.device_id == w.device_id)
    total = conn.execute(sa.select(sa.func.count()).select_from(joined).where(which)).scalar_one()
    number = min(max(number, 1), pages_of(total, size))
    hostname = w.hostname.collate("C") if conn.dialect.name == "postgresql" else w.hostname  # Python's order
    parse = datetime.fromisoformat
    rows = [(did, host, parse(first), parse(failed), parse(passing) if passing else None, parse(last))
            for did, host, first, failed, passing, last in conn.execute(
                sa.select(w.device_id, w.hostname, utc_iso(w.first_at), utc_iso(w.failed_at), utc_iso(w.passing_at),
                          utc_iso(d.last_collected_at)).select_from(joined).where(which)
                .order_by(hostname, w.failed_at, w.device_id).limit(size).offset((number - 1) * size))]
    successors = _successors(conn, ward_code, active_since, [r for r in rows if r[5] < active_since])
    items = []
    for did, host, _first, failed, passing, _last in rows:
        successor = successors.get(did)
        if successor is None:
            items.append(Item(did, host, failed, passing, None))
        else:  # done when the successor passes, and by it
            items.append(Item(did, host, failed, successor[1], successor[0] if successor[1] else None))
    return Paged(items, number, size, total)


def _failed_after_takeover(active_since: datetime) -> Any:
    """A silent device whose only failure was at its latest report, at a desk an active newer device had
    already reported from: it stopped counting then, before it failed (readiness/history.py). Looked for only
    where ``overlapped`` says such a device is at the desk (a few rows)."""
    w, d = device_work.c, devices.c
    mate, mate_first = _mate_first()
    return sa.and_(w.overlapped, d.last_collected_at < active_since, w.failed_at >= d.last_collected_at,
                   sa.exists().where(mate.c.ward_code == w.ward_code, mate.c.hostname == w.hostname,
                                     mate.c.last_collected_at >= active_since, mate_first > w.first_at,
                                     mate_first <= d.last_collected_at))


def _successors(conn: Connection, ward_code: str, active_since: datetime, silent: list[tuple]
                ) -> dict[str, tuple[str, Optional[datetime]]]:
    """For these silent rows, the active device that took over each one's hostname (the first to report after
    it first did) and when that one's passing stretch began, by silent device id."""
    if not silent:
        return {}
    d, vc = devices.c, verdict_changes.c
    parse = datetime.fromisoformat
    mates: dict[str, list[tuple[datetime, str]]] = {}
    for did, host, first in conn.execute(
            sa.select(d.device_id, d.hostname, utc_iso(sa.func.min(vc.changed_at)))
            .join(verdict_changes, vc.device_id == d.device_id)
            .where(d.ward_code == ward_code, d.hostname.in_(sorted({r[1] for r in silent})),
                   d.last_collected_at >= active_since)
            .group_by(d.device_id, d.hostname)):
        mates.setdefault(host, []).append((parse(first), did))
    taken = {did: later[1] for did, host, first, *_ in silent
             if (later := min((m for m in mates.get(host, ()) if m[0] > first), default=None)) is not None}
    changes = _changes_of(conn, sorted(set(taken.values())))
    return {did: (by, passing_since(changes[by])) for did, by in taken.items()}


def fresh(conn: Connection) -> dict[Row, int]:
    """What the table holds for the stored devices and changes, as ``totals`` gives it."""
    vc, d = verdict_changes.c, devices.c
    parse = datetime.fromisoformat
    firsts = {did: parse(at) for did, at in conn.execute(
        sa.select(vc.device_id, utc_iso(sa.func.min(vc.changed_at))).group_by(vc.device_id))}
    desk_of, at_desk = {}, defaultdict(list)
    for did, ward, host in conn.execute(sa.select(d.device_id, d.ward_code, d.hostname)):
        desk_of[did] = (ward, host)
        if did in firsts:
            at_desk[(ward, host)].append(firsts[did])
    failed = [did for did, in conn.execute(sa.select(vc.device_id).where(vc.to_status == NOT_READY).distinct())]
    out: dict[Row, int] = {}
    for did, changes in _changes_of(conn, sorted(failed)).items():
        found = facts(changes)
        if found is not None:
            first, failed_at, _ = found
            overlapped = any(first < t <= failed_at for t in at_desk[desk_of[did]])
            out[(did, *desk_of[did], *found, overlapped)] = 1
    return out


def _changes_of(conn: Connection, device_ids: list[str]) -> dict[str, list[Change]]:
    """These devices' verdict changes in time order, 500 devices a query (IN lists within every backend's
    limits)."""
    vc = verdict_changes.c
    out: dict[str, list[Change]] = {}
    parse = datetime.fromisoformat
    for start in range(0, len(device_ids), 500):
        q = (sa.select(vc.device_id, utc_iso(vc.changed_at), vc.to_status)
             .where(vc.device_id.in_(device_ids[start:start + 500])).order_by(vc.device_id, vc.changed_at, vc.id))
        for did, at, status in conn.execute(q):
            out.setdefault(did, []).append((parse(at), status))
    return out


def totals(conn: Connection) -> dict[Row, int]:
    """The whole table, for checks that ingest kept what a rebuild gives."""
    w = device_work.c
    parse = datetime.fromisoformat
    return {(did, ward, host, parse(first), parse(failed), parse(passing) if passing else None, overlapped): 1
            for did, ward, host, first, failed, passing, overlapped in conn.execute(
                sa.select(w.device_id, w.ward_code, w.hostname, utc_iso(w.first_at), utc_iso(w.failed_at),
                          utc_iso(w.passing_at), w.overlapped))}


def _replace(conn: Connection, rows: dict[Row, int]) -> None:
    conn.execute(device_work.delete())
    if rows:
        conn.execute(device_work.insert(), [dict(device_id=r[0], ward_code=r[1], hostname=r[2], first_at=r[3],
                                                 failed_at=r[4], passing_at=r[5], overlapped=r[6])
                                            for r in sorted(rows)])


def rebuild(conn: Connection) -> None:
    """Fill ``device_work`` from every device's stored changes (an upgraded store, a bulk copy)."""
    _replace(conn, fresh(conn))


def recount(conn: Connection, apply: bool) -> int:
    """How many rows differ from what the stored changes give; with ``apply``, put right (``kept.recount``)."""
    return kept.recount(conn, "device_work", fresh, totals, _replace, apply)


def backfill(conn: Connection) -> bool:
    """Fill the table of a store whose failures were stored before it was kept (``kept.backfill``)."""
    return kept.backfill(conn, device_work.c.device_id, verdict_changes.c.id, rebuild, "the devices' work items",
                         verdict_changes.c.to_status == NOT_READY)
