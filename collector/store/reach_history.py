"""Each device's reach of the HDC over time: a row when it changes, written at ingest, read by milestone criteria.

A device reaches the HDC when every endpoint it checked answered at its last
check. The reachability table keeps only that last check; this history lets
a unit's link repaired on a known day close its work item on that day.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, NamedTuple, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from collector.store import counts
from collector.store.tables import devices, reachability_changes

_INSERT = reachability_changes.insert()


class ReachChange(NamedTuple):
    device_id: str
    ward_code: str
    reached: bool
    changed_at: datetime


def reached(oks: Iterable[bool]) -> Optional[bool]:
    """Whether a device reached the HDC: every check answered; None when it checked nothing."""
    values = list(oks)
    return all(values) if values else None


def counted_reach(counted: Optional[dict]) -> Optional[bool]:
    """The reach a device's stored contribution (its last report's checks) says, without reading its rows."""
    if not counted:
        return None
    return reached(counts.split(key, 3)[1] == "1" for kind, key, _ in counted["keys"] if kind == counts.REACH)


def record(conn: Connection, device_id: str, ward_code: str, before: Optional[bool], now: Optional[bool],
           at: datetime, moved: bool) -> None:
    """Append the device's new reach when it changed (or the device changed unit); a report without checks
    changes nothing."""
    if now is not None and (now != before or moved):
        conn.execute(_INSERT, dict(device_id=device_id, ward_code=ward_code, reached=now, changed_at=at))


def changes(conn: Connection, active_since: datetime, ward_code: Optional[str] = None) -> list[ReachChange]:
    """The reach changes of devices still active (reported since ``active_since``) in their current unit, in
    time order."""
    c, d = reachability_changes.c, devices.c
    q = (sa.select(c.device_id, c.ward_code, c.reached, c.changed_at)
         .join_from(reachability_changes, devices, sa.and_(d.device_id == c.device_id, d.ward_code == c.ward_code))
         .where(d.last_collected_at >= active_since).order_by(c.changed_at, c.id))
    if ward_code is not None:
        q = q.where(c.ward_code == ward_code)
    return [ReachChange(*row) for row in conn.execute(q)]
