"""Each device's reach of the HDC over time: a row when it changes, written at ingest, kept by unit and day.

A device reaches the HDC when every endpoint it checked answered at its last
check. The reachability table keeps only that last check; this history lets
a unit's link repaired on a known day close its work item on that day
(``reach_days`` keeps it by unit and day for the milestone criteria).
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Optional

from sqlalchemy.engine import Connection

from collector.store import counts
from collector.store.tables import reachability_changes

_INSERT = reachability_changes.insert()


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
           at: datetime, moved: bool) -> bool:
    """Append the device's new reach when it changed (or the device changed unit); a report without checks
    changes nothing. Whether a row was added (``reach_days`` moves the device's contribution then)."""
    if now is not None and (now != before or moved):
        conn.execute(_INSERT, dict(device_id=device_id, ward_code=ward_code, reached=now, changed_at=at))
        return True
    return False
