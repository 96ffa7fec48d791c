"""Keeping the units table (``wards``, its stored name) in step with the registry the collector was started with."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from collector.store.tables import wards
from inventory.registry import Registry


def sync_units(conn: Connection, registry: Registry) -> None:
    """Insert new units and refresh names; never delete (reports may still point at a unit)."""
    existing = {r.code: (r.name, r.kind) for r in conn.execute(sa.select(wards))}
    new = [{"code": w.code, "name": w.name, "kind": w.kind} for w in registry if w.code not in existing]
    if new:
        conn.execute(wards.insert(), new)
    for w in registry:
        if w.code in existing and existing[w.code] != (w.name, w.kind):
            conn.execute(wards.update().where(wards.c.code == w.code).values(name=w.name, kind=w.kind))
