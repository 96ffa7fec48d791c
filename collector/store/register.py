"""Storing a unit's equipment register: replace the listed units' rows and log every change, in one transaction."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from collector.store.tables import register_assets, register_changes, register_counts
from inventory.equipment import Register, UnitAsset, UnitCount


@dataclass(frozen=True)
class Change:
    """One count or asset of one unit, before and after (None: absent); what the log keeps."""

    unit_code: str
    item: str
    before: Optional[dict[str, Any]]
    after: Optional[dict[str, Any]]

    def describe(self) -> str:
        if self.before is None:
            return f"{self.unit_code} {self.item}: added {_fields(self.after)}"
        if self.after is None:
            return f"{self.unit_code} {self.item}: removed"
        moved = {k: f"{self.before.get(k)} -> {v}" for k, v in self.after.items() if self.before.get(k) != v}
        return f"{self.unit_code} {self.item}: " + ", ".join(f"{k} {v}" for k, v in moved.items())


def _fields(values: Optional[dict[str, Any]]) -> str:
    return ", ".join(f"{k}={v}" for k, v in (values or {}).items() if v is not None)


def _count_values(c: UnitCount) -> dict[str, Any]:
    return {"expected": c.expected, "needed": c.needed}


def _asset_values(a: UnitAsset) -> dict[str, Any]:
    values = asdict(a)
    del values["unit_code"]
    return values


def _stored(conn: Connection, units: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """The listed units' current rows keyed like the register's items."""
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for r in conn.execute(sa.select(register_counts).where(register_counts.c.ward_code.in_(units))):
        items[(r.ward_code, f"count:{r.device_class}")] = {"expected": r.expected, "needed": r.needed}
    for r in conn.execute(sa.select(register_assets).where(register_assets.c.ward_code.in_(units))):
        items[(r.ward_code, f"asset:{r.asset_key}")] = _asset_values(UnitAsset(
            r.ward_code, r.device_class, r.asset_tag, r.serial, r.hostname, r.location, r.responsible))
    return items


def _wanted(register: Register) -> dict[tuple[str, str], dict[str, Any]]:
    items = {(c.unit_code, f"count:{c.device_class}"): _count_values(c) for c in register.counts}
    items.update({(a.unit_code, f"asset:{a.key}"): _asset_values(a) for a in register.assets})
    return items


def changes(conn: Connection, register: Register) -> list[Change]:
    """What storing ``register`` would change, unit by unit: each listed unit's register is replaced whole."""
    before, after = _stored(conn, register.units), _wanted(register)
    return [Change(unit, item, before.get((unit, item)), after.get((unit, item)))
            for unit, item in sorted(set(before) | set(after)) if before.get((unit, item)) != after.get((unit, item))]


def store(conn: Connection, register: Register, actor: str, reason: str, now: datetime) -> list[Change]:
    """Replace the listed units' registers and append one log row per change; call inside a write transaction."""
    found = changes(conn, register)
    if not found:
        return found
    units = register.units
    conn.execute(register_counts.delete().where(register_counts.c.ward_code.in_(units)))
    conn.execute(register_assets.delete().where(register_assets.c.ward_code.in_(units)))
    if register.counts:
        conn.execute(register_counts.insert(), [{"ward_code": c.unit_code, "device_class": c.device_class,
                                                 **_count_values(c)} for c in register.counts])
    if register.assets:
        conn.execute(register_assets.insert(), [{"ward_code": a.unit_code, "asset_key": a.key, **_asset_values(a)}
                                                for a in register.assets])
    conn.execute(register_changes.insert(), [{"at": now, "actor": actor, "reason": reason, "ward_code": c.unit_code,
                                              "item": c.item, "before": c.before, "after": c.after} for c in found])
    return found


def first_imported(conn: Connection, ward_code: Optional[str] = None) -> dict[str, datetime]:
    """When each unit's register was first stored (its oldest logged change): the register item of a milestone
    opens then (``readiness.criteria``)."""
    q = sa.select(register_changes.c.ward_code, sa.func.min(register_changes.c.at)).group_by(
        register_changes.c.ward_code)
    if ward_code is not None:
        q = q.where(register_changes.c.ward_code == ward_code)
    return {code: at for code, at in conn.execute(q).all()}
