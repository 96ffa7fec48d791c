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

A silent device whose hostname an active newer device took over stops
counting (and is resolved by it) from when the new one first reported, for
as long as that one stays active: which device took over depends on the
moment of reading. ``desk_days`` keeps, for each desk of two or more devices,
the difference this makes to the rows above in each span of the stale-age
cut-off between two of its devices' latest reports; a read adds the spans
around its cut-off, and works out afresh only the desks with a device whose
latest report is on the cut-off's own day (a few). Today's figure is as of
now: changes stamped later today, and drops due later today, are not in it
yet.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from itertools import accumulate
from typing import Any, Iterable, NamedTuple, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from collector.i18n import HANOI
from collector.store import kept
from collector.store.tables import desk_days, devices, unit_days, utc_iso, verdict_changes, verdicts

CHANGE, LAST, FIRST, WORK = "change", "last", "first", "work"
SHIFT, FIX = "shift", "fix"  # desk_days: a drop taken back (the stale age after ``day``) and one put on ``day``
OPEN = "open"  # the work key of a device failing now
VERDICTS = ("ready", "ready_with_conditions", "not_ready", "unknown")
PASSING = ("ready", "ready_with_conditions")
_TICK = timedelta(microseconds=1)


Row = tuple[str, str, date, str]  # kind, unit, day, key
DeskRow = tuple[str, str, date, str, date, date]  # the same, and the span of cut-off days it holds in
Change = tuple[datetime, str]  # when, verdict entered
Desk = tuple[str, str]  # unit, hostname


class Member(NamedTuple):
    """A device at a desk, as takeovers need it."""

    device_id: str
    ward: str
    last: datetime
    changes: list[Change]


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
    # The same work items by unit: a unit's mapping is the same object from one read to the next while its rows
    # and the reading's terms are (``kept.Reuse``), so what is made of it can be kept as long (workitems.py).
    unit_work: dict[str, dict[WorkFact, int]] = {}


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
    add_stretches(out, ward, changes, last)
    fact = work_fact(changes, None, changes)
    if fact is not None:
        out[_work_row(ward, fact)] += 1
    return out


def add_stretches(out: dict[Any, int], ward: str, states: Iterable[tuple[datetime, Any]], last: datetime) -> None:
    """Add one device's stretches in its states (time order) to a table kept by day: one in on the day it entered
    a state, one out of the state it left that day, and its state on the day of its latest report. Verdicts
    (``unit_days``) and reach (``reach_days``) are counted alike, so the burn-down and reach trend agree."""
    previous = None
    for at, state in states:
        day = end_day(at)
        out[(CHANGE, ward, day, state)] += 1
        if previous is not None:
            out[(CHANGE, ward, day, previous)] -= 1
        previous = state
    if previous is not None:
        out[(LAST, ward, end_day(last), previous)] += 1


def _work_row(ward: str, fact: WorkFact) -> Row:
    return (WORK, ward, fact.opened, fact.done.isoformat() if fact.done else OPEN)


_CHANGES_OF = (sa.select(verdict_changes.c.changed_at, verdict_changes.c.to_status)
               .where(verdict_changes.c.device_id == sa.bindparam("did"))
               .order_by(verdict_changes.c.changed_at, verdict_changes.c.id))


def record(conn: Connection, device_id: str, before: Optional[tuple[str, Optional[str], datetime]],
           ward: str, status: str, collected: datetime, changed: bool, first: Optional[list[Change]] = None
           ) -> Optional[list[Change]]:
    """Move a device's contribution for a report just stored: ``before`` is its (unit, verdict, latest report)
    before it (None for a new device), ``changed`` whether the report recorded a verdict change; ``first``, for a
    new device, its changes as the report wrote them (then not read back).

    A report of the same unit and verdict moves the ``last`` row when its day differs, and touches nothing else.
    Returns the device's verdict changes when it read them (always when ``changed``), so that the other tables
    kept from them in the same transaction do not read them again.
    """
    if before is not None and before[1] == status and before[0] == ward and not changed:
        old_day, new_day = end_day(before[2]), end_day(collected)
        if old_day != new_day:
            _apply(conn, {(LAST, ward, old_day, status): -1, (LAST, ward, new_day, status): 1})
        return None
    changes = first if first is not None else [(at, s) for at, s in conn.execute(_CHANGES_OF, {"did": device_id})]
    delta = contribution(ward, changes, collected)
    if before is not None:
        for row, n in contribution(before[0], changes[:-1] if changed else changes, before[2]).items():
            delta[row] = delta.get(row, 0) - n
    _apply(conn, delta)
    return changes


def _apply(conn: Connection, delta: dict[Row, int]) -> None:
    """Add ``delta`` to ``unit_days``."""
    _add(conn, "unit_days", [dict(kind=k[0], ward_code=k[1], day=k[2], key=k[3], devices=n)
                             for k, n in sorted(delta.items()) if n])


def _add(conn: Connection, table: str, changes: list[dict[str, Any]]) -> None:
    """Add these rows' devices to a table's, rows in key order (two PostgreSQL collectors cannot deadlock);
    rows that fall to zero are deleted (a row may go below zero and back, so any may: the upsert returns each
    row's new count, and only those at zero are deleted)."""
    if changes:
        kept.delete_emptied(conn, _DELETE_EMPTY[table], conn.execute(_UPSERTS[(table, conn.dialect.name)], changes))
        kept.stamp(conn, "unit_days", (c["ward_code"] for c in changes))


def _delete_empty(table: sa.Table) -> sa.Delete:
    keys = [c for c in table.primary_key.columns]
    return table.delete().where(*(c == sa.bindparam(c.name) for c in keys), table.c.devices == 0)


def _build_upsert(insert, table: sa.Table):
    stmt = insert(table)
    keys = list(table.primary_key.columns)
    return stmt.on_conflict_do_update(index_elements=[c.name for c in keys],
                                      set_={"devices": table.c.devices + stmt.excluded.devices}
                                      ).returning(*keys, table.c.devices)


_UPSERTS = {(t.name, name): _build_upsert(insert, t) for t in (unit_days, desk_days)
            for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))}
_DELETE_EMPTY = {t.name: _delete_empty(t) for t in (unit_days, desk_days)}


def desk_kept(before: Optional[tuple[str, Optional[str], datetime, Optional[datetime]]], desk: Desk,
              old_desk: Optional[Desk], status: str, collected: datetime) -> bool:
    """Whether a report leaves its desk's takeover rows as they were: its device stays at the desk with its
    verdict, its latest report stays on the same day, and its last change was not at that report (whether a
    failure counts before the device's end may then hinge on the moment). Most reports; they read no desk."""
    return (before is not None and old_desk == desk and before[1] == status and before[3] != before[2]
            and end_day(before[2]) == end_day(collected))


def desks_before(conn: Connection, desks: Iterable[Optional[Desk]]) -> dict[Desk, Optional[dict[DeskRow, int]]]:
    """What these desks add to ``desk_days`` before a report changes them (``keep_desks`` takes the result); None
    for a desk of fewer than two devices, which takes nothing over."""
    out: dict[Desk, Optional[dict[DeskRow, int]]] = {}
    for desk in {d for d in desks if d is not None}:
        at_desk = _at_desk(conn, desk)
        out[desk] = desk_contribution(_members(conn, desk, at_desk)) if len(at_desk) >= 2 else None
    return out


def keep_desks(conn: Connection, before: dict[Desk, Optional[dict[DeskRow, int]]], stayed: bool) -> None:
    """Once the report is stored: move these desks' rows from ``before`` to what they add now. ``stayed``: the
    report's device was at its desk before (no device joined or left it), so a desk of fewer than two devices
    still has fewer and is not read again."""
    delta: dict[DeskRow, int] = defaultdict(int)
    for desk, rows in before.items():
        if rows is None and stayed:
            continue
        for row, n in desk_contribution(_members(conn, desk)).items():
            delta[row] += n
        for row, n in (rows or {}).items():
            delta[row] -= n
    _add(conn, "desk_days", [dict(kind=k[0], ward_code=k[1], day=k[2], key=k[3], from_day=k[4], until_day=k[5],
                                  devices=n) for k, n in sorted(delta.items()) if n])


_AT_DESK = (sa.select(devices.c.device_id, utc_iso(devices.c.last_collected_at))
            .where(devices.c.ward_code == sa.bindparam("ward"), devices.c.hostname == sa.bindparam("host")))


def _at_desk(conn: Connection, desk: Desk) -> Sequence[Any]:
    return conn.execute(_AT_DESK, {"ward": desk[0], "host": desk[1]}).all()


def _members(conn: Connection, desk: Desk, at_desk: Optional[Sequence[Any]] = None) -> list[Member]:
    """The devices at a desk with a verdict (``at_desk``: its devices, when just read); none unless two or more
    are there (one alone takes nothing over)."""
    if at_desk is None:
        at_desk = _at_desk(conn, desk)
    if len(at_desk) < 2:
        return []
    changes = _changes_of(conn, [did for did, _ in at_desk])
    return [Member(did, desk[0], datetime.fromisoformat(last), changes[did]) for did, last in at_desk
            if did in changes]


def desk_contribution(members: Sequence[Member]) -> dict[DeskRow, int]:
    """What a desk's takeovers change in ``unit_days``, for each span of cut-offs between two of its devices'
    latest reports in which the same devices are active (those reported since). Spans shorter than a whole day
    in between are left out: a read whose cut-off falls on one of their days works that desk out afresh."""
    out: dict[DeskRow, int] = defaultdict(int)
    bounds = sorted({m.last for m in members})
    for low, high in zip(bounds, bounds[1:]):
        span = (end_day(low), end_day(high))
        if (span[1] - span[0]).days < 2:
            continue
        for row, n in _takeovers(members, [m for m in members if m.last >= high]).items():
            out[row + span] += n
    return out


def _takeovers(members: Sequence[Member], active: Sequence[Member]) -> dict[Row, int]:
    """How the desk's silent devices (not ``active``) differ from alone: one whose hostname an active newer
    device took over stops counting when that one first reported (``FIX``; later than now: now), not the stale
    age after its last report (``SHIFT`` takes that drop back), and that one's passing closes its work item."""
    out: dict[Row, int] = defaultdict(int)
    newer = sorted((a.changes[0][0], a.device_id, a) for a in active)
    for m in members:
        if m in active:
            continue
        first = m.changes[0][0]
        successor = next((a for at, _id, a in newer if at > first), None)
        if successor is None:
            continue
        end = max(m.last, successor.changes[0][0])
        final = m.changes[-1][1]
        ward = m.ward
        out[(SHIFT, ward, end_day(m.last), final)] += 1
        out[(FIX, ward, end_day(end), final)] -= 1
        for fact, sign in ((work_fact(m.changes, None, m.changes), -1),
                           (work_fact(m.changes, end, successor.changes), 1)):
            if fact is not None:
                out[_work_row(ward, fact)] += sign
    return out


def read(conn: Connection, now: datetime, stale_days: int, ward_code: Optional[str] = None) -> Kept:
    """Every unit's history as of ``now`` for a stale age of ``stale_days``, as the rebuild from every device's
    changes gives it (module docstring); of one unit when ``ward_code`` is given (its page), whose days then
    start at its own first day.

    The city's units are worked out from their rows only where the rows changed since the last read of this
    store in this process (``kept.Reuse``: their stamps, the day and the stale age are the same), then the few
    events of today after ``now`` and the desks on the cut-off's day are put in afresh. Days are read as ISO
    text and placed by a lookup of that text: for the thousands of rows of a city the store's per-value date
    conversion cost more than adding them up.
    """
    today = hanoi_day(now)
    reuse_firsts = kept.Reuse(conn, "unit_days", (), "firsts") if ward_code is None else None
    firsts = _firsts(conn, ward_code, reuse_firsts)
    start = min(firsts.values(), default=today)
    place = _place(start, today, stale_days, max((today - start).days + 1, 0))
    days = list(place.days)
    stale = timedelta(days=stale_days)
    cut = end_day(now - stale)
    reuse = None if reuse_firsts is None else kept.Reuse(conn, "unit_days", (start, today, stale_days, cut),
                                                         known=reuse_firsts.stamps)
    worked = {ward: found for ward in firsts if reuse is not None and (found := reuse.get(ward)) is not None}
    todo = [ward for ward in firsts if ward not in worked]
    if todo:
        rows = _rows(conn, cut, ward_code if ward_code is not None or len(todo) == len(firsts) else todo)
        for ward, unit in _work_out(rows, todo, place).items():
            worked[ward] = reuse.put(ward, unit) if reuse is not None else unit
    series = {ward: worked[ward][0] for ward in firsts}
    unit_work = {ward: worked[ward][1] for ward in firsts}
    _afresh(conn, now, today, stale, cut, ward_code, place, series, unit_work)
    work = {(ward, fact): n for ward, facts in unit_work.items() for fact, n in facts.items()}
    return Kept(start, days, firsts, series, work, unit_work)


def _firsts(conn: Connection, ward_code: Optional[str], reuse: Optional[kept.Reuse]) -> dict[str, date]:
    """Each unit's first day (its devices' first verdict), in unit order: of one unit when ``ward_code`` is given,
    else of the stamped units, read again only for those whose stamp moved."""
    u = unit_days.c
    q = sa.select(u.ward_code, sa.cast(sa.func.min(u.day), sa.String)).where(u.kind == FIRST).group_by(u.ward_code)
    if reuse is None:
        return {ward: date.fromisoformat(day) for ward, day in conn.execute(_of_unit(q, u, ward_code))}
    found = {ward: first for ward in reuse.stamps if (first := reuse.get(ward)) is not None}
    todo = [ward for ward in reuse.stamps if ward not in found]
    chunks = [q] if len(todo) == len(reuse.stamps) else [  # IN lists within every backend's limits
        q.where(u.ward_code.in_(todo[i:i + 500])) for i in range(0, len(todo), 500)]
    read: dict[str, str] = {ward: day for chunk in chunks for ward, day in conn.execute(chunk).all()}
    for ward in todo:  # a unit whose rows all fell to zero keeps its stamp: it has no first day
        found[ward] = reuse.put(ward, (date.fromisoformat(read[ward]) if ward in read else None,))
    return {ward: found[ward][0] for ward in sorted(found) if found[ward][0] is not None}


@lru_cache(maxsize=8)
def _place(start: date, today: date, stale_days: int, n: int) -> _Place:
    """The placing of a reading's days, made once per day and stale age."""
    return _Place(start, today, stale_days, n)


class _Place:
    """Where a row's devices count among the days ``start`` to ``today`` (``n`` of them), by the text of its day:
    a change on its day (a takeover's end later than now, now), a drop the stale age after it; days before
    ``start`` on the first, drops after today nowhere (-1)."""

    def __init__(self, start: date, today: date, stale_days: int, n: int) -> None:
        self.n, self.last = n, n - 1
        self.days = [start + timedelta(days=i) for i in range(n)]
        self.on_day = {(start + timedelta(days=i)).isoformat(): max(i, 0) for i in range(-stale_days - 1, n)}
        self.dropped = {(start + timedelta(days=i)).isoformat(): max(i + stale_days, 0)
                        for i in range(-stale_days - 1, n - stale_days)}
        self.early, self.today = (start - timedelta(days=stale_days + 1)).isoformat(), today.isoformat()

    def index(self, kind: str, day: str) -> int:
        if kind == CHANGE or kind == FIX:
            return self.on_day.get(day, 0) if day <= self.today else self.last if kind == FIX else -1
        return self.dropped.get(day, 0 if day < self.early else -1)  # LAST and SHIFT


Worked = tuple[dict[str, list[int]], dict[WorkFact, int]]  # a unit's series by verdict, and its work items


def _work_out(rows: Iterable[tuple[str, str, str, str, int]], wards: list[str], place: _Place
              ) -> dict[str, Worked]:
    """These units' series and work items from their rows (rows of other units are passed over)."""
    n = place.n
    diffs: dict[str, dict[str, list[int]]] = {w: {v: [0] * n for v in VERDICTS} for w in wards}
    work: dict[str, dict[WorkFact, int]] = {w: defaultdict(int) for w in wards}
    index = place.index
    for kind, ward, day, key, devices_ in rows:
        by_status = diffs.get(ward)
        if by_status is None:
            continue
        if kind == WORK:
            work[ward][WorkFact(date.fromisoformat(day), None if key == OPEN else date.fromisoformat(key))] += devices_
            continue
        if key not in by_status or not n:
            continue
        i = index(kind, day)
        if i >= 0:
            by_status[key][i] += -devices_ if kind == LAST else devices_
    return {w: ({v: list(accumulate(d)) for v, d in diffs[w].items()}, {f: c for f, c in work[w].items() if c})
            for w in wards}


def _afresh(conn: Connection, now: datetime, today: date, stale: timedelta, cut: date, ward_code: Optional[str],
            place: _Place, series: dict[str, dict[str, list[int]]], work: dict[str, dict[WorkFact, int]]) -> None:
    """Put into ``series`` and ``work`` what depends on the moment within the day: the takeovers of the desks with
    a device whose latest report is on the cut-off's day, and today's events after ``now``. The few units' series
    and work items it moves are copied first (the others may be those ``kept.Reuse`` keeps)."""
    moves: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    copied: set[str] = set()
    for kind, ward, day, key, devices_ in _cut_day_takeovers(conn, now - stale, cut, ward_code):
        if ward not in series:
            continue
        if kind == WORK:
            fact = WorkFact(date.fromisoformat(day), None if key == OPEN else date.fromisoformat(key))
            if ward not in copied:
                work[ward] = dict(work[ward])
                copied.add(ward)
            n = work[ward][fact] = work[ward].get(fact, 0) + devices_
            if not n:
                del work[ward][fact]
        elif key in VERDICTS and place.n and (i := place.index(kind, day)) >= 0:
            moves[(ward, key)][i] += -devices_ if kind == LAST else devices_
    for ward, status, devices_ in _not_yet(conn, now, today, stale, ward_code):
        if place.n and ward in series and status in VERDICTS:
            moves[(ward, status)][place.last] += devices_
    for (ward, status), by_index in moves.items():
        values = list(series[ward][status])
        for i, delta in by_index.items():
            for j in range(i, place.n):
                values[j] += delta
        series[ward] = dict(series[ward], **{status: values})


def _of_unit(q: sa.Select, columns: Any, ward_code: Optional[str]) -> sa.Select:
    """``q`` of the rows of one unit when ``ward_code`` is given (its current devices'), else of every unit."""
    return q if ward_code is None else q.where(columns.ward_code == ward_code)


def _not_yet(conn: Connection, now: datetime, today: date, stale: timedelta, ward_code: Optional[str]
             ) -> Iterable[tuple[str, str, int]]:
    """Today's events the rows date today but that come after ``now``, undone: changes stamped later today (a
    device clock a little ahead), and the drops of devices that go silent later today."""
    vc, d = verdict_changes.c, devices.c
    later = conn.execute(_of_unit(sa.select(d.ward_code, vc.from_status, vc.to_status, vc.changed_at)
                                  .join(devices, d.device_id == vc.device_id).where(vc.changed_at > now),
                                  d, ward_code)).all()
    for ward, old, new, at in later:
        if end_day(at) == today:
            yield ward, new, -1
            if old is not None:
                yield ward, old, 1
    since = now - stale
    edge_end = datetime.combine(today - stale + timedelta(days=1), time(0), HANOI).astimezone(timezone.utc)
    pending = conn.execute(_of_unit(sa.select(d.ward_code, verdicts.c.status, d.last_collected_at)
                                    .join(verdicts, verdicts.c.device_id == d.device_id)
                                    .where(d.last_collected_at >= since, d.last_collected_at <= edge_end),
                                    d, ward_code)).all()
    for ward, status, last in pending:
        if end_day(last) + stale == today:
            yield ward, status, 1


def _rows(conn: Connection, cut: date, wards: Optional[str | list[str]]) -> list[tuple[str, str, str, str, int]]:
    """The rows of ``unit_days`` (but the first days) and those of ``desk_days`` whose span holds the cut-off,
    days as ISO text: of every unit, of one (``wards`` a code) or of these units (a list)."""
    u, dd = unit_days.c, desk_days.c
    stored = sa.select(u.kind, u.ward_code, sa.cast(u.day, sa.String), u.key, u.devices).where(u.kind != FIRST)
    spans = (sa.select(dd.kind, dd.ward_code, sa.cast(dd.day, sa.String), dd.key, dd.devices)
             .where(dd.from_day < cut, dd.until_day > cut))
    if not isinstance(wards, list):
        return [*conn.execute(_of_unit(stored, u, wards)).all(), *conn.execute(_of_unit(spans, dd, wards)).all()]
    out: list[Any] = []
    for i in range(0, len(wards), 500):  # IN lists within every backend's limits
        chunk = wards[i:i + 500]
        out += conn.execute(stored.where(u.ward_code.in_(chunk))).all()
        out += conn.execute(spans.where(dd.ward_code.in_(chunk))).all()
    return out


def _cut_day_takeovers(conn: Connection, since: datetime, cut: date, ward_code: Optional[str]
                       ) -> Iterable[tuple[str, str, str, str, int]]:
    """The takeovers of the desks with a device whose latest report is on the cut-off's day (``since``'s), worked
    out afresh, as rows with their days as ISO text; of one unit when ``ward_code`` is given."""
    day_start = datetime.combine(cut, time(0), HANOI).astimezone(timezone.utc)
    d = devices.c
    on_cut_day: Any = sa.select(d.ward_code, d.hostname).distinct().where(
        d.last_collected_at > day_start, d.last_collected_at <= day_start + timedelta(days=1))
    on_cut_day = _of_unit(on_cut_day, d, ward_code).subquery()
    shared = (sa.select(d.ward_code, d.hostname)
              .join(on_cut_day, sa.and_(on_cut_day.c.ward_code == d.ward_code, on_cut_day.c.hostname == d.hostname))
              .group_by(d.ward_code, d.hostname).having(sa.func.count() > 1))
    for desk in conn.execute(shared).all():
        members = _members(conn, (desk[0], desk[1]))
        for (kind, ward, day, key), n in _takeovers(members, [m for m in members if m.last >= since]).items():
            yield kind, ward, day.isoformat(), key, n


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
    """Fill ``unit_days`` and ``desk_days`` from every device's stored changes (an upgraded store, a bulk copy)."""
    _replace(conn, fresh(conn))


def fresh(conn: Connection) -> dict[tuple, int]:
    """What both tables hold for the stored devices and changes, as ``totals`` gives them."""
    rows = conn.execute(sa.select(devices.c.device_id, devices.c.ward_code, devices.c.hostname,
                                  devices.c.last_collected_at)).all()
    changes = _changes_of(conn, [r.device_id for r in rows])
    out: dict[tuple, int] = defaultdict(int)
    desks: dict[Desk, list[Member]] = defaultdict(list)
    for device_id, ward, hostname, last in rows:
        if device_id in changes:
            for row, n in contribution(ward, changes[device_id], last).items():
                out[("unit_days", *row)] += n
            desks[(ward, hostname)].append(Member(device_id, ward, last, changes[device_id]))
    for members in desks.values():
        if len(members) > 1:
            for desk_row, n in desk_contribution(members).items():
                out[("desk_days", *desk_row)] += n
    return {k: n for k, n in out.items() if n}


def _replace(conn: Connection, rows: dict[tuple, int]) -> None:
    conn.execute(unit_days.delete())
    conn.execute(desk_days.delete())
    for table in (unit_days, desk_days):
        names = [c.name for c in table.primary_key.columns]
        batch = [dict(zip(names, k[1:]), devices=n) for k, n in sorted(rows.items()) if k[0] == table.name]
        if batch:
            conn.execute(table.insert(), batch)
    kept.restamp(conn, "unit_days", {k[2] for k in rows})


def recount(conn: Connection, apply: bool) -> int:
    """How many rows differ from what the stored changes give; with ``apply``, put right (``kept.recount``)."""
    return kept.recount(conn, "unit_days, desk_days", fresh, totals, _replace, apply)


def backfill(conn: Connection) -> bool:
    """Fill the table of a store whose changes were stored before it was kept (``kept.backfill``)."""
    return kept.backfill(conn, unit_days.c.kind, verdict_changes.c.id, rebuild, "the units' verdict history")


def totals(conn: Connection) -> dict[tuple, int]:
    """Both tables whole, for checks that ingest kept what a rebuild gives."""
    out: dict[tuple, int] = {}
    for table in (unit_days, desk_days):
        keys = list(table.primary_key.columns)
        out.update({(table.name, *row[:-1]): row[-1] for row in conn.execute(sa.select(*keys, table.c.devices))})
    return out
