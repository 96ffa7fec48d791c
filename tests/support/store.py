"""Reading a store from tests the same way on every backend."""
from __future__ import annotations

import sqlalchemy as sa

from collector.store.engine import make_engine
from collector.store.tables import metadata


def snapshot(db_url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: equal snapshots mean an unchanged store."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return {t.name: [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
                    for t in metadata.sorted_tables}
    finally:
        engine.dispose()


# What a store keeps apart from reports: its units and who may send.
_SET_UP = frozenset({"wards", "tokens"})


def empty_reports(engine: sa.Engine) -> None:
    """Delete every row reports put in the store and everything kept from them, children first (the units and
    tokens stay): each example of a property test then starts from an empty store, whatever tables ingest fills."""
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name not in _SET_UP:
                conn.execute(table.delete())


def count(db_url: str, table: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(metadata.tables[table])).scalar()
    finally:
        engine.dispose()
