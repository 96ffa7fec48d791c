"""Applications of each unit and how far they moved to the HDC.

The catalog says where each of a service point's ~20 applications goes:
the HDC cloud, a browser on HDC, retirement, or staying on the ward PC.
An application that leaves the PCs is migrated for a unit once no active
device of the unit still has it installed; ``stays_local`` ones are out of
scope. A unit with no active device shows nothing migrated: absence of
evidence is not evidence of migration.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from inventory.catalog import App, Catalog

from . import queries
from .store.tables import device_apps

STAYS_LOCAL = "stays_local"


@dataclass(frozen=True)
class AppState:
    """One catalog application at one unit: its installs on active devices and what that means."""

    app: App
    devices: int

    @property
    def state(self) -> str:
        """``stays_local``, ``migrated`` (gone from every PC) or ``to_migrate`` (still installed somewhere)."""
        if self.app.target == STAYS_LOCAL:
            return STAYS_LOCAL
        return "to_migrate" if self.devices else "migrated"


@dataclass(frozen=True)
class Migration:
    migrated: int
    in_scope: int


def in_scope(catalog: Catalog) -> list[App]:
    return [a for a in catalog.apps if a.target != STAYS_LOCAL]


def unit_apps(installed: dict[str, int], catalog: Catalog) -> list[AppState]:
    """Every catalog application for a unit, in catalog order, from ``queries.ward_apps``' counts."""
    return [AppState(a, installed.get(a.id, 0)) for a in catalog.apps]


def migration(installed: dict[str, int], catalog: Catalog, has_devices: bool) -> Migration:
    scope = in_scope(catalog)
    migrated = sum(1 for a in scope if not installed.get(a.id)) if has_devices else 0
    return Migration(migrated, len(scope))


def installed_by_ward(conn: Connection, active_since: datetime) -> dict[str, dict[str, int]]:
    """``queries.ward_apps`` for every unit in one query: ward -> app -> active devices with it."""
    q = (sa.select(device_apps.c.ward_code, device_apps.c.app_id, sa.func.count())
         .where(queries._active(device_apps, active_since))
         .group_by(device_apps.c.ward_code, device_apps.c.app_id))
    out: dict[str, dict[str, int]] = {}
    for ward, app_id, n in conn.execute(q):
        out.setdefault(ward, {})[app_id] = n
    return out
