"""Active-device counts per unit, kept at ingest so that reading them costs the same for any fleet size.

Every figure of /metrics and the overview is a count of active devices (those
that reported since the stale age) by unit and something else: verdict,
class and verdict, failed rule, catalog application, endpoint outcome. Each
device adds one to a set of such keys, its *contribution*; ``unit_counts``
holds the sums per unit and per UTC day of the device's latest report. A
report that changes a device's contribution (or moves it to a new day) takes
the old one out and puts the new one in, in the report's transaction; the
device row keeps its contribution (``devices.counted``) for that.

Reading "active since T" adds the days after T's day and, for T's day itself,
the contributions of the few devices whose latest report falls between T and
that day's end: exact, and bounded by units x days x keys, not by devices.

Desks (a hostname of a unit) are counted the same way, dated by their
newest report: a PC replaced by a new one under the same name is "replaced",
not "silent", and the devices of desks with an active device, less the active
devices, are exactly those.
"""
from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Collection, Iterable, NamedTuple, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from collector.store import kept
from collector.store.tables import device_apps, devices, reachability, rule_results, unit_counts, verdicts

VERDICT, CLASS, RULE, APP, REACH, CONNECT = "verdict", "class", "rule", "app", "reach", "connect"
DEVICE, ALL = "device", "all"  # every device of a unit: by day like the others, and over all time
DESK = "desk"  # one per hostname of a unit, on the day of its newest report; total: the devices at it
KINDS = (DEVICE, VERDICT, CLASS, RULE, APP, REACH, CONNECT)
_ALL_TIME = date(1, 1, 1)  # the one day ALL is kept on: a device's newer report never moves it
KEPT = "unit_counts"  # the units' stamps of this table (store/kept.py): drawn anew whenever a unit's rows change
SEP = "\t"  # between the parts of a composite key; only its first part (a target name) may contain one

log = logging.getLogger("hdc.collector")

Counts = dict[str, dict[tuple[str, str], tuple[int, int]]]  # kind -> (ward, key) -> (devices, total)


class Endpoint(NamedTuple):
    """A device's last check of one target, as the counts need it."""

    target: str
    ok: bool
    failed_step: Optional[str]
    connect_ms: Optional[float]


def contribution(ward_code: str, collected_at: datetime, status: Optional[str], device_class: str,
                 failed_rules: Iterable[str], app_ids: Iterable[str], endpoints: Iterable[Endpoint]) -> dict:
    """What one device adds to the counts: its unit, the day of its latest report and its keys.

    Plain JSON (stored in ``devices.counted``); keys sorted so that an unchanged device compares equal.
    Connect times are whole microseconds, so that taking a device out leaves exactly what was there.
    A device without a verdict (stored by hand, never by ingest) counts in no verdict.
    """
    keys = [[ALL, "", 0], [DEVICE, "", 0]]
    if status is not None:
        keys += [[VERDICT, status, 0], [CLASS, f"{device_class}{SEP}{status}", 0]]
    keys += [[RULE, rule, 0] for rule in set(failed_rules)]
    keys += [[APP, app, 0] for app in set(app_ids)]
    for e in endpoints:
        keys.append([REACH, f"{e.target}{SEP}{int(bool(e.ok))}{SEP}{e.failed_step or ''}", 0])
        if e.connect_ms is not None:
            keys.append([CONNECT, e.target, round(e.connect_ms * 1000)])
    keys.sort()
    return {"ward": ward_code, "day": _day(collected_at).isoformat(), "keys": keys}


def targets(counted: Optional[dict]) -> Optional[set[str]]:
    """The targets whose last check a contribution counts (its device's reachability rows); None when the
    device was never counted."""
    if not counted:
        return None
    return {split(key, 3)[0] for kind, key, _total in counted["keys"] if kind == REACH}


def _day(moment: datetime) -> date:
    return moment.astimezone(timezone.utc).date()


def _rows(counted: Optional[dict], sign: int) -> Iterable[tuple[tuple[str, str, str, str], int, int]]:
    if not counted:
        return ()
    day, ward = counted["day"], counted["ward"]
    return (((kind, _ALL_TIME.isoformat() if kind == ALL else day, ward, key), sign, sign * total)
            for kind, key, total in counted["keys"])


Delta = tuple[tuple[str, str, str, str], int, int]  # a row's key, and devices and total to add to it


def update(conn: Connection, old: Optional[dict], new: Optional[dict], desks: Sequence[Delta] = ()) -> None:
    """Move a device's contribution from ``old`` to ``new`` (either may be None) in ``unit_counts``, with its
    report's move of the desks' counts (``desk_moves``) in the same statement.

    Rows are written in key order, so two collectors updating one
    PostgreSQL take the rows' locks in the same order and cannot deadlock;
    a row that falls to zero devices is deleted, so days long past leave
    nothing behind.
    """
    if old != new or desks:
        _apply(conn, (_rows(old, -1), _rows(new, 1), desks))


def _apply(conn: Connection, row_sets: Iterable[Iterable[Delta]]) -> None:
    deltas: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for rows in row_sets:
        for key, n, total in rows:
            d = deltas[key]
            d[0] += n
            d[1] += total
    changes: list[dict[str, Any]] = [
        dict(kind=k[0], day=date.fromisoformat(k[1]), ward_code=k[2], key=k[3], devices=n, total=t)
        for k, (n, t) in sorted(deltas.items()) if n or t]
    if not changes:
        return
    conn.execute(_UPSERTS[conn.dialect.name], changes)
    kept.stamp(conn, KEPT, {c["ward_code"] for c in changes})
    emptied = [c for c in changes if c["devices"] < 0]
    if emptied:
        conn.execute(_DELETE_EMPTY, [{k: c[k] for k in ("kind", "day", "ward_code", "key")} for c in emptied])


_DELETE_EMPTY = unit_counts.delete().where(
    unit_counts.c.kind == sa.bindparam("kind"), unit_counts.c.day == sa.bindparam("day"),
    unit_counts.c.ward_code == sa.bindparam("ward_code"), unit_counts.c.key == sa.bindparam("key"),
    unit_counts.c.devices == 0)
_PK = ["kind", "day", "ward_code", "key"]


def _build_upsert(insert):
    stmt = insert(unit_counts)
    return stmt.on_conflict_do_update(index_elements=_PK, set_={
        "devices": unit_counts.c.devices + stmt.excluded.devices,
        "total": unit_counts.c.total + stmt.excluded.total})


# Built once per dialect: SQLAlchemy then reuses the compiled statement on every report.
_UPSERTS = {"sqlite": _build_upsert(sqlite.insert), "postgresql": _build_upsert(postgresql.insert)}


def read(conn: Connection, active_since: datetime, kinds: Iterable[str], ward_code: Optional[str] = None,
         wards: Optional[Collection[str]] = None) -> Counts:
    """(devices, total) per kind and (ward, key) over the devices active since ``active_since`` (of one unit, or of
    the units ``wards``, when given); zeros left out."""
    kinds = tuple(kinds)
    day = _day(active_since)
    c = unit_counts.c
    # Added up here rather than by GROUP BY: most keys are on one day, and the sort costs more than the sums.
    after = sa.select(c.kind, c.ward_code, c.key, c.devices, c.total).where(c.kind.in_(kinds), c.day > day)
    q: sa.Executable = after
    if ward_code is not None or wards is not None:
        q = _of_units(after, day, [ward_code] if ward_code is not None else sorted(wards or ()))
    out: dict[str, dict[tuple[str, str], tuple[int, int]]] = {kind: {} for kind in kinds}
    edited = False  # a row of no device: update deletes those, so only a table edited by hand has one
    for kind, ward, key, n, total in conn.execute(q).all():
        edited = edited or n <= 0
        of_kind = out[kind]
        acc = of_kind.get((ward, key))
        of_kind[(ward, key)] = (n, total) if acc is None else (acc[0] + n, acc[1] + total)
    day_end = datetime.combine(day + timedelta(days=1), time(0), timezone.utc)
    # The edge day's few devices of every unit, by the index of their latest report, and those of the units asked
    # for kept here: filtered by unit there, the store walked every device of the unit instead.
    edge = sa.select(devices.c.ward_code, devices.c.counted).where(devices.c.last_collected_at >= active_since,
                                                                   devices.c.last_collected_at < day_end)
    units = None if ward_code is None and wards is None else {ward_code} if ward_code is not None else set(wards or ())
    for ward, counted in conn.execute(edge).all():
        if units is not None and ward not in units:
            continue
        for kind, key, total in counted["keys"]:
            if kind in out:
                acc = out[kind].get((counted["ward"], key), (0, 0))
                out[kind][(counted["ward"], key)] = (acc[0] + 1, acc[1] + total)
    if edited:  # otherwise every sum counts at least one device: no zero to leave out
        out = {kind: {k: (n, t) for k, (n, t) in of_kind.items() if n} for kind, of_kind in out.items()}
    return out


def edge_devices(conn: Connection, active_since: datetime) -> dict[str, int]:
    """Per unit, the active devices whose latest report falls on the day of ``active_since``: those ``read`` adds
    one by one. While a unit's stamp and that day stay the same, only the moving stale age changes what ``read``
    gives for the unit, by taking some of these out: so this number and the stamp say whether it is the same."""
    day_end = datetime.combine(_day(active_since) + timedelta(days=1), time(0), timezone.utc)
    d = devices.c
    q = (sa.select(d.ward_code, sa.func.count())
         .where(d.last_collected_at >= active_since, d.last_collected_at < day_end).group_by(d.ward_code))
    return {ward: n for ward, n in conn.execute(q).all()}


def _of_units(q: sa.Select, day: date, wards: list[str]) -> sa.CompoundSelect:
    """``q`` (rows after ``day``) of ``wards`` only, as seeks in the primary key (kind, day, unit): each day from the
    next to tomorrow named, and the days after in a range of their own. A range of days first would walk every
    unit's rows of those days (a scrape after a report reads the rows of one unit)."""
    c = unit_counts.c
    last = max(day, _day(datetime.now(timezone.utc)) + timedelta(days=1))
    days = [day + timedelta(days=n) for n in range(1, (last - day).days + 1)]
    return sa.union_all(q.where(c.day.in_(days), c.ward_code.in_(wards)), q.where(c.day > last, c.ward_code.in_(wards)))


Desk = tuple[str, str]  # (ward, hostname)
DeskState = Optional[tuple[int, datetime]]  # devices at the desk and its newest report; None: no device


def lock_desks(conn: Connection, desks: Iterable[Desk]) -> None:
    """Serialise reports of one desk across collectors (PostgreSQL; SQLite has a single writer anyway).

    A desk's devices may be reported to two collectors at once; each moves the desk's count from the state it
    read, so the second must read after the first commits. Locks are taken in order: no deadlock.
    """
    if conn.dialect.name != "postgresql":
        return
    for ward, host in sorted(set(desks)):
        digest = hashlib.blake2b(f"desk\0{ward}\0{host}".encode(), digest_size=8).digest()
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": int.from_bytes(digest, "big", signed=True)})


_DESK_STATE = (sa.select(sa.func.count(), sa.func.max(devices.c.last_collected_at))
               .where(devices.c.ward_code == sa.bindparam("ward"), devices.c.hostname == sa.bindparam("host")))


def desk_state(conn: Connection, desk: Desk) -> DeskState:
    n, newest = conn.execute(_DESK_STATE, {"ward": desk[0], "host": desk[1]}).one()
    if not n:
        return None
    return n, _aware(newest)


def _aware(moment) -> datetime:
    """A max() of a UTC column: SQLite hands it back as naive text, PostgreSQL as a naive datetime."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def desk_kept(desk: Desk, old_desk: Optional[Desk], previous: Optional[datetime], collected: datetime) -> bool:
    """Whether a report leaves every desk count as it was: its device stays at its desk and reports on the day
    of its previous report (the desk's newest day is that day or a later one), as most hourly reports do. Such a
    report neither reads nor locks the desk."""
    return previous is not None and old_desk == desk and _day(previous) == _day(collected)


def desks_before(conn: Connection, desk: Desk, old_desk: Optional[Desk]) -> dict[Desk, DeskState]:
    """Lock and read the desks a report touches (its device's desk, and the one it left), before the device row
    changes; ``desk_moves`` takes the result."""
    desks = {d for d in (desk, old_desk) if d is not None}
    lock_desks(conn, desks)
    return {d: desk_state(conn, d) for d in desks}


def desk_moves(conn: Connection, before: dict[Desk, DeskState], desk: Desk, old_desk: Optional[Desk],
               collected_at: datetime) -> list[Delta]:
    """Once the device row holds the report: what moves the desks' counts from ``before`` to their new state
    (``update`` writes it)."""
    state = before[desk]
    after: dict[Desk, DeskState]
    if state is not None and old_desk in (desk, None):
        # The common cases, worked out: a newer report only raises the desk's newest; a new device adds one.
        n, newest = state
        after = {desk: (n if old_desk else n + 1, max(newest, collected_at))}
    elif old_desk is None:  # a new device at a desk without devices: the only one there
        after = {desk: (1, collected_at)}
    else:
        after = {d: desk_state(conn, d) for d in before}
    if before == after:
        return []
    return [*_desk_rows(before, -1), *_desk_rows(after, 1)]


def _desk_rows(states: dict[Desk, DeskState], sign: int) -> Iterable[Delta]:
    for (ward, _host), state in states.items():
        if state is not None:
            yield (DESK, _day(state[1]).isoformat(), ward, ""), sign, sign * state[0]


def desk_devices(conn: Connection, active_since: datetime, wards: Optional[Collection[str]] = None) -> dict[str, int]:
    """Per unit (of ``wards`` when given), the devices at desks with a device active since ``active_since`` (active
    devices included)."""
    day = _day(active_since)
    c = unit_counts.c
    q = sa.select(c.ward_code, sa.func.sum(c.total)).where(c.kind == DESK, c.day > day).group_by(c.ward_code)
    day_end = datetime.combine(day + timedelta(days=1), time(0), timezone.utc)
    edge = (sa.select(devices.c.ward_code, devices.c.hostname)
            .where(devices.c.last_collected_at >= active_since, devices.c.last_collected_at < day_end))
    if wards is not None:
        q, edge = q.where(c.ward_code.in_(sorted(wards))), edge.where(devices.c.ward_code.in_(sorted(wards)))
    out = {w: int(n) for w, n in conn.execute(q).all()}
    for ward, host in set(conn.execute(edge).all()):
        state = desk_state(conn, (ward, host))
        assert state is not None  # the desk was just read from a device row, so it holds at least that device
        n, newest = state
        if newest < day_end:  # the desk's newest report is on the edge day: not among the days above
            out[ward] = out.get(ward, 0) + n
    return out


def unit_devices(conn: Connection) -> dict[str, int]:
    """Every device of each unit ever counted, active or not."""
    c = unit_counts.c
    return dict(conn.execute(sa.select(c.ward_code, c.devices).where(c.kind == ALL, c.day == _ALL_TIME)).all())


def split(key: str, parts: int) -> list[str]:
    """The ``parts`` parts of a composite key (class and verdict; target, reached and failed step), split from
    the right: a target is named by agents and may hold any character."""
    return key.rsplit(SEP, parts - 1)


def backfill(conn: Connection) -> int:
    """Count the devices stored before counts were kept (``counted`` empty), then rebuild the table; devices done.

    Run when the store is opened; a no-op once every device is counted. Units counted before the table was
    stamped get their stamps (``KEPT``) here too.
    """
    _stamp_unstamped(conn)
    pending = [r[0] for r in conn.execute(sa.select(devices.c.device_id).where(devices.c.counted.is_(None)))]
    if not pending:
        return 0
    log.info("counting %d devices stored before per-unit counts were kept (once)", len(pending))
    _keep_counted(conn, _from_rows(conn, pending))
    rebuild(conn)
    return len(pending)


def _stamp_unstamped(conn: Connection) -> None:
    """Stamp the units with counts and no stamp yet (a store counted before the stamps were drawn)."""
    kept.stamp_missing(conn, KEPT, counted_units(conn))


def counted_units(conn: Connection) -> set[str]:
    """The units with devices counted (one row each of all time: a read of about one row per unit)."""
    c = unit_counts.c
    return {w for (w,) in conn.execute(sa.select(c.ward_code).where(c.kind == ALL, c.day == _ALL_TIME))}


def _keep_counted(conn: Connection, contributions: dict[str, dict]) -> None:
    """Store these contributions on their device rows."""
    if contributions:
        conn.execute(devices.update().where(devices.c.device_id == sa.bindparam("did")),
                     [{"did": did, "counted": counted} for did, counted in contributions.items()])


def _from_rows(conn: Connection, device_ids: list[str]) -> dict[str, dict]:
    """Contributions of stored devices, from their verdict, failed rules, applications and endpoint checks
    (read 500 devices at a time: the IN lists stay within every backend's limits)."""
    out: dict[str, dict] = {}
    for start in range(0, len(device_ids), 500):
        out.update(_from_rows_of(conn, device_ids[start:start + 500]))
    return out


def _from_rows_of(conn: Connection, device_ids: list[str]) -> dict[str, dict]:
    rules: dict[str, list[str]] = defaultdict(list)
    for did, rule in conn.execute(sa.select(rule_results.c.device_id, rule_results.c.rule_id).where(
            rule_results.c.device_id.in_(device_ids), rule_results.c.outcome == "fail")):
        rules[did].append(rule)
    apps: dict[str, list[str]] = defaultdict(list)
    for did, app in conn.execute(sa.select(device_apps.c.device_id, device_apps.c.app_id).where(
            device_apps.c.device_id.in_(device_ids))):
        apps[did].append(app)
    ends: dict[str, list[Endpoint]] = defaultdict(list)
    r = reachability.c
    for did, *endpoint in conn.execute(sa.select(r.device_id, r.target, r.ok, r.failed_step, r.connect_ms).where(
            r.device_id.in_(device_ids))):
        ends[did].append(Endpoint(*endpoint))
    q = (sa.select(devices.c.device_id, devices.c.ward_code, devices.c.last_collected_at, verdicts.c.status,
                   devices.c.device_class)
         .outerjoin(verdicts, verdicts.c.device_id == devices.c.device_id)
         .where(devices.c.device_id.in_(device_ids)))
    return {did: contribution(ward, collected, status, cls, rules[did], apps[did], ends[did])
            for did, ward, collected, status, cls in conn.execute(q)}


def rebuild(conn: Connection) -> None:
    """Recompute ``unit_counts`` from every device's contribution and the desks (after bulk changes to devices)."""
    counted = (c for (c,) in conn.execute(sa.select(devices.c.counted).where(devices.c.counted.is_not(None))))
    _replace_table(conn, _sums(conn, counted))


def _sums(conn: Connection, contributions: Iterable[dict]) -> dict[tuple[str, str, str, str], tuple[int, int]]:
    """What ``unit_counts`` holds for these contributions and the store's desks, as ``totals`` gives it."""
    sums: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for counted in contributions:
        for key, n, total in _rows(counted, 1):
            acc = sums[key]
            acc[0] += n
            acc[1] += total
    desks = (sa.select(devices.c.ward_code, sa.func.count(), sa.func.max(devices.c.last_collected_at))
             .group_by(devices.c.ward_code, devices.c.hostname))
    for ward, n, newest in conn.execute(desks):
        acc = sums[(DESK, _day(_aware(newest)).isoformat(), ward, "")]
        acc[0] += 1
        acc[1] += n
    return {k: (n, t) for k, (n, t) in sums.items()}


def _replace_table(conn: Connection, sums: dict[tuple[str, str, str, str], tuple[int, int]]) -> None:
    conn.execute(unit_counts.delete())
    rows = [dict(kind=k[0], day=date.fromisoformat(k[1]), ward_code=k[2], key=k[3], devices=n, total=t)
            for k, (n, t) in sorted(sums.items())]
    if rows:
        conn.execute(unit_counts.insert(), rows)
    kept.restamp(conn, KEPT, {k[2] for k in sums})


class Recount(NamedTuple):
    """What a recount found: devices whose kept contribution was wrong, and rows of the table that were."""

    devices: int
    rows: int


def recount(conn: Connection, apply: bool) -> Recount:
    """Count every device again from its verdict, rule, application and endpoint rows; with ``apply``, put right
    what differs.

    For a store restored from a backup or edited by hand: ingest keeps the
    counts itself. On PostgreSQL the table is locked against ingest while it
    is rebuilt, so no report's change is lost between the two.
    """
    if apply and conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE unit_counts IN SHARE ROW EXCLUSIVE MODE")
    ids = [did for (did,) in conn.execute(sa.select(devices.c.device_id))]
    fresh = _from_rows(conn, ids)
    stored = dict(conn.execute(sa.select(devices.c.device_id, devices.c.counted)).all())
    wrong = [did for did, counted in fresh.items() if stored.get(did) != counted]
    want, have = _sums(conn, fresh.values()), totals(conn)
    differing = sum(1 for k in want.keys() | have.keys() if want.get(k) != have.get(k))
    if apply:
        _keep_counted(conn, {did: fresh[did] for did in wrong})
    if apply and differing:
        _replace_table(conn, want)
    elif apply:  # the table was right (repaired by hand, maybe): readers keeping units' results read it again
        kept.restamp(conn, KEPT, {k[2] for k in want})
    return Recount(len(wrong), differing)


def totals(conn: Connection) -> dict[tuple[str, str, str, str], tuple[int, int]]:
    """The whole table, for checks that it matches the devices' rows."""
    c = unit_counts.c
    return {(k, d.isoformat(), w, key): (n, t) for k, d, w, key, n, t in conn.execute(
        sa.select(c.kind, c.day, c.ward_code, c.key, c.devices, c.total))}

