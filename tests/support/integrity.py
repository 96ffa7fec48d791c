"""Witnesses of a store after faults and bad input: its exact contents, and whether it is consistent.

The contents are read from the tables the database really has (reflected,
not from our table definitions), so a table a migration added is compared
too, on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import sqlalchemy as sa

from collector.store.engine import make_engine


def store_rows(db_url: str) -> dict[str, list[tuple]]:
    """Every row of every table in the database, sorted: equal results mean an unchanged store."""
    engine = make_engine(db_url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {name: sorted((tuple(r) for r in conn.execute(sa.select(table))), key=repr)
                    for name, table in sorted(meta.tables.items())}
    finally:
        engine.dispose()


def sqlite_digest(db_file: Path) -> str:
    """The SQLite file and its write-ahead log, byte for byte."""
    h = hashlib.sha256()
    for path in (db_file, db_file.with_name(db_file.name + "-wal")):
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()


@contextlib.contextmanager
def left_unchanged(collector, db_file: Path):
    """Asserts on leaving that the store holds the same rows, the SQLite file the same bytes, and the
    collector still runs: what every answer to bad input must leave behind."""
    rows, digest = store_rows(collector.db_url), sqlite_digest(db_file)
    yield
    assert store_rows(collector.db_url) == rows
    assert sqlite_digest(db_file) == digest
    assert collector.proc.poll() is None, "the collector died"


def integrity_problems(db_url: str) -> list[str]:
    """Whatever makes the store inconsistent: SQLite's own checks, and references between our tables."""
    engine = make_engine(db_url)
    problems: list[str] = []
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                result = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
                if result != ["ok"]:
                    problems += [f"integrity_check: {r}" for r in result]
                problems += [f"foreign_key_check: {tuple(r)}" for r in conn.exec_driver_sql("PRAGMA foreign_key_check")]
            # Every device points at a stored report, and has exactly one verdict.
            problems += [f"device {r[0]} points at missing report {r[1]}" for r in conn.exec_driver_sql(
                "SELECT d.device_id, d.last_report_id FROM devices d "
                "LEFT JOIN reports r ON r.report_id = d.last_report_id WHERE r.report_id IS NULL")]
            problems += [f"device {r[0]} has {r[1]} verdicts" for r in conn.exec_driver_sql(
                "SELECT d.device_id, COUNT(v.device_id) FROM devices d LEFT JOIN verdicts v "
                "ON v.device_id = d.device_id GROUP BY d.device_id HAVING COUNT(v.device_id) <> 1")]
    finally:
        engine.dispose()
    return problems
