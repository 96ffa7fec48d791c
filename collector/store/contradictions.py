"""When each contradiction between a unit's declarations and its reports opened and closed: kept, then read back.

The migration observer (``cloud.queries.observe``) passes the contradictions
open now; a new one opens a span, one no longer open has its span closed at
that moment. Readers (``readiness.criteria``) count settled spans as items
done on time or late.
"""
from __future__ import annotations

from datetime import datetime
from typing import Mapping, NamedTuple, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from collector.store.tables import contradiction_spans

Key = tuple[str, str, str]  # unit code, catalog application id, contradiction code


class Span(NamedTuple):
    ward_code: str
    app_id: str
    code: str
    opened_at: datetime
    closed_at: Optional[datetime]

    @property
    def key(self) -> Key:
        return self.ward_code, self.app_id, self.code


def keep(conn: Connection, open_now: Mapping[Key, datetime], now: datetime) -> None:
    """Open a span for each contradiction of ``open_now`` (key -> when it began) without one, close the open
    spans of those no longer there at ``now``; call inside the observer's write transaction."""
    t = contradiction_spans
    kept = {(r.ward_code, r.app_id, r.code): r.id
            for r in conn.execute(sa.select(t.c.id, t.c.ward_code, t.c.app_id, t.c.code)
                                  .where(t.c.closed_at.is_(None))).all()}
    settled = [span_id for key, span_id in kept.items() if key not in open_now]
    if settled:
        conn.execute(t.update().where(t.c.id.in_(settled)).values(closed_at=now))
    opened = [dict(ward_code=w, app_id=a, code=c, opened_at=at) for (w, a, c), at in sorted(open_now.items())
              if (w, a, c) not in kept]
    if opened:
        conn.execute(t.insert(), opened)


def read(conn: Connection, ward_code: Optional[str] = None) -> list[Span]:
    """Every span (of one unit when ``ward_code`` is given), oldest first."""
    t = contradiction_spans
    q = sa.select(t.c.ward_code, t.c.app_id, t.c.code, t.c.opened_at, t.c.closed_at).order_by(t.c.opened_at, t.c.id)
    if ward_code is not None:
        q = q.where(t.c.ward_code == ward_code)
    return [Span(*r) for r in conn.execute(q).all()]
