"""Whether the store moved on since a scrape: one cheap read that every stored report, declaration or register changes.

/metrics keeps its families between scrapes (``metrics.exposition.KeptFamilies``) while this key is the same.
Its parts, each an index lookup or a count the scrape reads anyway:

- the rows of reports (``hdc_store_rows``, read anyway): pruning takes some away and changes nothing else;
- each unit's newest receipt (``ix_devices_ward_received``, one lookup per unit): every stored report sets
  its device's to now, including one that changes no count (a new device, too: devices are never deleted);
- the newest declaration, observation and register change (their ids only grow);
- for the active devices (those that reported since ``active_since``): the day of ``active_since`` and the
  devices whose latest report falls between it and that day's end, the only ones the moving stale age takes out
  of the counts (``counts.read``) between two reports; their number only falls while no report comes.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from collector.store.tables import (
    UTCDateTime,
    devices,
    migration_declarations,
    migration_observations,
    register_changes,
    reports,
    wards,
)


def _statement() -> sa.Select:
    d = devices.c
    newest = sa.select(sa.func.max(d.last_received_at)).where(d.ward_code == wards.c.code).scalar_subquery()
    return sa.select(
        sa.select(sa.func.count()).select_from(reports).scalar_subquery(),
        sa.select(sa.type_coerce(sa.func.max(newest), UTCDateTime())).select_from(wards).scalar_subquery(),
        sa.select(sa.func.max(migration_declarations.c.id)).scalar_subquery(),
        sa.select(sa.func.max(migration_observations.c.id)).scalar_subquery(),
        sa.select(sa.func.max(register_changes.c.id)).scalar_subquery(),
        sa.select(sa.func.count()).select_from(devices)
        .where(d.last_collected_at >= sa.bindparam("since", type_=UTCDateTime()),
               d.last_collected_at < sa.bindparam("day_end", type_=UTCDateTime())).scalar_subquery())


# Built once: making the statement's expressions cost more than running it, on every scrape.
_KEY = _statement()


def store_key(conn: Connection, active_since: datetime) -> tuple[Any, ...]:
    """(reports, newest receipt, newest declaration, observation and register change, devices active on the
    edge day, the day of ``active_since``): the same only while the store is."""
    day = active_since.astimezone(timezone.utc).date()
    day_end = datetime.combine(day + timedelta(days=1), time(0), timezone.utc)
    return tuple(conn.execute(_KEY, {"since": active_since, "day_end": day_end}).one()) + (day,)
