"""Copying a SQLite store while the collector keeps writing to it: SQLite's online backup API.

The copy is one consistent moment of the store (a read snapshot: in WAL
mode the writers go on meanwhile), written beside the target and renamed
into place, so a copy that is there is whole. PostgreSQL has its own tools
(``pg_dump``, ``pg_basebackup``; docs/retention.md); this refuses it.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import Engine

from collector.store.engine import describe


class BackupError(RuntimeError):
    """The copy cannot be made; the message names the store or the file and why."""


POSTGRESQL_RECIPE = ("pg_dump --format=custom --file=FILE DATABASE (one consistent copy while the collector runs), "
                     "or pg_basebackup for the whole server; see docs/retention.md#postgresql")


def copy_store(engine: Engine, target: Path) -> int:
    """Copy the SQLite store of ``engine`` to ``target`` (which must not exist); the copy's size in bytes."""
    if engine.dialect.name != "sqlite":
        raise BackupError(f"{describe(engine)}: 'hdc-collector backup' copies SQLite stores; for PostgreSQL use "
                          f"{POSTGRESQL_RECIPE}")
    source = engine.url.database
    if not source or source == ":memory:" or not Path(source).is_file():
        raise BackupError(f"{describe(engine)}: no SQLite store there to copy")
    if target.exists():
        raise BackupError(f"{target}: already exists; a backup never overwrites a file")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent}: no such directory")
    partial = target.with_name(f".{target.name}.partial")
    raw = engine.raw_connection()
    try:
        copy = sqlite3.connect(partial)
        try:
            # One step (pages=-1): a single read snapshot, so the copy is one moment of the store even while
            # reports are stored; stepwise copying would start over at each write.
            raw.driver_connection.backup(copy, pages=-1)  # type: ignore[union-attr]
        finally:
            copy.close()
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"{target}: the copy failed ({exc})") from None
    finally:
        raw.close()
    return target.stat().st_size
