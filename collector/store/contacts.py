"""Each unit's person responsible and contact: stored from a units sheet, read by the unit page and the exports."""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from collector.store import audit
from collector.store.tables import unit_contacts


class UnitContact(NamedTuple):
    ward_code: str
    responsible: str
    contact: Optional[str]


def read(conn: Connection, ward_code: Optional[str] = None) -> dict[str, UnitContact]:
    c = unit_contacts.c
    q = sa.select(c.ward_code, c.responsible, c.contact)
    if ward_code is not None:
        q = q.where(c.ward_code == ward_code)
    return {row.ward_code: UnitContact(*row) for row in conn.execute(q)}


def changes(conn: Connection, wanted: Sequence[UnitContact]) -> list[tuple[Optional[UnitContact], UnitContact]]:
    """(before, after) for each unit whose contact the sheet changes; units it repeats unchanged left out."""
    stored = read(conn)
    return [(stored.get(u.ward_code), u) for u in wanted if stored.get(u.ward_code) != u]


def store(conn: Connection, wanted: Sequence[UnitContact], actor: str, now: datetime
          ) -> list[tuple[Optional[UnitContact], UnitContact]]:
    """Replace the contacts of the units in ``wanted``, each change in the audit log with its values before and
    after; other units are untouched."""
    done = changes(conn, wanted)
    c = unit_contacts.c
    for before, after in done:
        conn.execute(unit_contacts.delete().where(c.ward_code == after.ward_code))
        conn.execute(unit_contacts.insert(), dict(after._asdict(), updated_at=now, updated_by=actor[:128]))
        audit.record(conn, actor, "unit_contact", ward_code=after.ward_code, at=now,
                     detail={"before": before._asdict() if before else None, "after": after._asdict()})
    return done
