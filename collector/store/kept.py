"""What the tables kept at ingest share: checked against a rebuild from the stored changes, filled once on upgrade."""
from __future__ import annotations

import logging
from typing import Callable, Hashable, Optional, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

log = logging.getLogger("hdc.collector")

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
