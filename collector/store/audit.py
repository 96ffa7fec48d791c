"""The audit log: who changed what, when, written in the same transaction as the change.

An entry names its actor (``cli:<os user>`` for the command line,
``token:<id>`` for an admin token over HTTP), an action such as
``token.rotate``, the token and unit concerned, and details that never
include a secret: a change that is rolled back leaves no entry, and no entry
exists without its change.
"""
from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from collector.store.tables import audit_log


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    token_id: Optional[str]
    ward_code: Optional[str]
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor, "action": self.action,
                "token_id": self.token_id, "ward_code": self.ward_code, "detail": self.detail}


def cli_actor() -> str:
    """``cli:<os user>``: the person at the collector's command line."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no $USER, e.g. in a bare container
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}"


def token_actor(token_id: str) -> str:
    """``token:<id>``: whoever holds that admin token."""
    return f"token:{token_id}"


def record(conn: Connection, actor: str, action: str, token_id: Optional[str] = None,
           ward_code: Optional[str] = None, detail: Optional[dict[str, Any]] = None,
           at: Optional[datetime] = None) -> None:
    """Append one entry on ``conn``, inside the caller's transaction."""
    conn.execute(audit_log.insert().values(at=at or datetime.now(timezone.utc), actor=actor[:128],
                                           action=action, token_id=token_id, ward_code=ward_code,
                                           detail=detail or {}))


def entries(conn: Connection, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
    """The newest entries first."""
    rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit).offset(offset))
    return [AuditEntry(r.id, r.at, r.actor, r.action, r.token_id, r.ward_code, r.detail or {}) for r in rows]
