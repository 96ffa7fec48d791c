"""What the tables kept at ingest share: checked against a rebuild from the stored changes, filled once on upgrade,
stamped per unit so that a reader works out again only the units whose rows changed."""
from __future__ import annotations

import logging
import secrets
import weakref
from typing import Any, Callable, Hashable, Iterable, Optional, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from collector.store.tables import kept_stamps

log = logging.getLogger("hdc.collector")

# Not a table: the units' device lives (``readiness/history.py``: verdict changes, desks, classes, ends), stamped by
# every report that can change one (``collector/ingest/ingestor.py``) and read by ``readiness/pasts.py``.
LIVES = "device_lives"
Row = TypeVar("Row", bound=Hashable)  # a kept row's key; its value is a number of devices


def recount(conn: Connection, tables: str, fresh: Callable[[Connection], dict[Row, int]],
            have: Callable[[Connection], dict[Row, int]], replace: Callable[[Connection, dict[Row, int]], None],
            apply: bool) -> int:
    """How many rows of ``tables`` (as ``have`` reads them) differ from ``fresh``'s rebuild; with ``apply``, put
    right by ``replace`` (a store restored from a backup or edited by hand). On PostgreSQL the tables are locked
    against ingest while they are rebuilt, so no report lands between the rebuild's read and its write."""
    if apply and conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
    want, kept = fresh(conn), have(conn)
    differing = sum(1 for k in want.keys() | kept.keys() if want.get(k) != kept.get(k))
    if apply and differing:
        replace(conn, want)
    return differing


def backfill(conn: Connection, kept: sa.Column, source: sa.Column, rebuild: Callable[[Connection], None],
             what: str, where: Optional[sa.ColumnElement[bool]] = None) -> bool:
    """Fill a kept table from the stored changes when it is empty and there are changes (``where``: of those it
    keeps; a store made before it was kept: once, when the store is opened); whether it did."""
    if conn.execute(sa.select(kept).limit(1)).first() is not None:
        return False
    changes = sa.select(source) if where is None else sa.select(source).where(where)
    if conn.execute(changes.limit(1)).first() is None:
        return False
    log.info("keeping %s from the stored changes (once)", what)
    rebuild(conn)
    return True


def stamp(conn: Connection, table: str, wards: Iterable[str]) -> None:
    """Mark these units' rows of ``table`` as changed in this transaction: new stamps are drawn for them by
    ``flush``, once for every table a report changed, in one statement. A transaction that stamps and commits
    without flushing fails (``UnflushedStamps``): a stamp never goes missing silently."""
    _PENDING.setdefault(conn, set()).update((table, ward) for ward in wards)


def flush(conn: Connection) -> None:
    """Write the stamps this transaction marked, rows in (table, unit) order (two PostgreSQL collectors cannot
    deadlock). Random, not counted up: a store restored or made afresh at the same address cannot meet a reader's
    remembered stamp by chance."""
    pending = _PENDING.pop(conn, None)
    if pending:
        conn.execute(_STAMP[conn.dialect.name], [{"kept": table, "ward_code": ward, "stamp": secrets.randbits(62)}
                                                 for table, ward in sorted(pending)])


def stamp_missing(conn: Connection, table: str, wards: Iterable[str]) -> None:
    """Stamp those of ``wards`` that have no stamp of ``table`` yet (a store from before its readers kept it: once,
    when the store is opened); a unit without a stamp would never be reused."""
    missing = set(wards) - stamps(conn, table).keys()
    if missing:
        stamp(conn, table, missing)
        flush(conn)


def restamp(conn: Connection, table: str, wards: Iterable[str]) -> None:
    """After ``table`` was replaced whole: every unit with rows stamped anew, the others' stamps gone."""
    conn.execute(kept_stamps.delete().where(kept_stamps.c.kept == table))
    stamp(conn, table, wards)
    flush(conn)


def delete_emptied(conn: Connection, delete: sa.Delete, counted: sa.CursorResult) -> None:
    """Delete the rows an upsert returning (key columns..., devices) left at zero devices, and only those: days
    long past leave nothing behind, and a report whose rows all stay counted runs no delete."""
    emptied = [{k: v for k, v in row._mapping.items() if k != "devices"} for row in counted if row.devices == 0]
    if emptied:
        conn.execute(delete, emptied)


class UnflushedStamps(RuntimeError):
    """A transaction marked kept rows as changed (``stamp``) and was committed without ``flush``."""


# Per open connection: the (table, unit) stamps marked in its transaction and not yet written.
_PENDING: "weakref.WeakKeyDictionary[Connection, set[tuple[str, str]]]" = weakref.WeakKeyDictionary()


@sa.event.listens_for(Engine, "commit")
def _refuse_unflushed(conn: Connection) -> None:
    pending = _PENDING.pop(conn, None)
    if pending:
        raise UnflushedStamps(f"kept rows of {sorted({t for t, _ in pending})} changed but their stamps were not "
                              "written: the writer must call kept.flush(conn) before committing")


@sa.event.listens_for(Engine, "rollback")
def _forget_pending(conn: Connection) -> None:
    _PENDING.pop(conn, None)


def stamps(conn: Connection, table: str) -> dict[str, int]:
    """Each unit's stamp of ``table``; a unit with rows but no stamp (edited by hand) is never reused."""
    k = kept_stamps.c
    return dict(conn.execute(sa.select(k.ward_code, k.stamp).where(k.kept == table)).all())


def _upsert(insert: Any) -> Any:
    stmt = insert(kept_stamps)
    return stmt.on_conflict_do_update(index_elements=["kept", "ward_code"], set_={"stamp": stmt.excluded.stamp})


_STAMP = {"sqlite": _upsert(sqlite.insert), "postgresql": _upsert(postgresql.insert)}

Worked = TypeVar("Worked")
_WORKED: dict[tuple[str, str, str], dict[str, tuple[int, Hashable, Any]]] = {}


class Reuse:
    """What a reader worked out per unit from one kept table of one store, kept in the process while the unit's
    stamp and the reading's terms (today, the stale age: whatever else the result depends on) stay the same;
    a reader keeping two things per unit names each ``part`` and reads the stamps once (``known``)."""

    def __init__(self, conn: Connection, table: str, terms: Hashable, part: str = "",
                 known: Optional[dict[str, int]] = None) -> None:
        # Read before the rows: rows read later are at least as new.
        self.stamps = stamps(conn, table) if known is None else known
        self.terms = terms
        self._worked = _WORKED.setdefault((str(conn.engine.url), table, part), {})

    def get(self, ward: str) -> Any:
        """The unit's result worked out from the rows of its current stamp and these terms, or None."""
        found = self._worked.get(ward)
        stamp_ = self.stamps.get(ward)
        if found is None or stamp_ is None or found[0] != stamp_ or found[1] != self.terms:
            return None
        return found[2]

    def put(self, ward: str, worked: Worked) -> Worked:
        """Keep the unit's result (one of a unit without a stamp is not kept)."""
        stamp_ = self.stamps.get(ward)
        if stamp_ is not None:
            self._worked[ward] = (stamp_, self.terms, worked)
        return worked
