"""When each simulated unit moves its applications to the HDC, and what it declares about it.

Applications leave a unit's PCs in two waves after the equipment deadline,
never before their HDC endpoint answers; units that keep the city's
migration register declare their moves (and a few claim moves they did not
make), so the page has agreements and contradictions to show.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterator, Optional

from collector.simulate.units import DEADLINE, unit_diligence, unit_plan, unit_rng
from inventory.catalog import Catalog, load_catalog
from inventory.registry import Registry, Unit

HDC_CLOUD_START = date(2025, 12, 1)


# When each application's HDC endpoint starts answering: the web systems from October 2025, one every ten
# days; the cloud-hosted ones from the HDC cloud's start, one a fortnight. (app, url, live from, cloud-hosted)
def _app_endpoints(catalog: Catalog) -> tuple[tuple[str, str, date, bool], ...]:
    web = [(a.id, url) for a in catalog.apps if a.target == "hdc_web" and (url := a.hdc_endpoint)]
    cloud = [(a.id, url) for a in catalog.apps if a.target == "hdc_cloud" and (url := a.hdc_endpoint)]
    return (tuple((app_id, url, date(2025, 10, 1) + timedelta(days=10 * i), False)
                  for i, (app_id, url) in enumerate(web))
            + tuple((app_id, url, HDC_CLOUD_START + timedelta(days=14 * i), True)
                    for i, (app_id, url) in enumerate(cloud)))


APP_ENDPOINTS = _app_endpoints(load_catalog())
_LIVE = {app_id: live for app_id, _, live, _ in APP_ENDPOINTS}
# Share of a unit's applications it moves, and the chance it keeps the city's migration register, by diligence.
MIGRATION_TIERS = {"early": ((0.7, 1.0), 0.9, 0), "prompt": ((0.5, 0.9), 0.75, 20),
                   "partial": ((0.2, 0.6), 0.45, 60), "laggard": ((0.0, 0.2), 0.2, 150)}
_LAST_MOVE = date(2026, 10, 31)


@dataclass(frozen=True)
class MigrationPlan:
    """A unit's moves: the day each application leaves its PCs, and what its operators declare about it."""

    moves: tuple[tuple[str, date], ...]
    unused: frozenset[str]
    keeps_register: bool
    early_claim: Optional[tuple[str, date]]

    @property
    def checked(self) -> frozenset[str]:
        """Applications whose HDC endpoint the unit's agents check: those it moves or says it moved."""
        return frozenset([app for app, _ in self.moves] + ([self.early_claim[0]] if self.early_claim else []))

    def moved_by(self, day: date) -> frozenset[str]:
        return frozenset(app for app, moved in self.moves if moved <= day)


def migration_plan(seed: int, ward: Unit, catalog: Catalog) -> MigrationPlan:
    """Moves in two waves after the equipment deadline, never before an application's HDC endpoint answers.

    From its own random stream, so adding it changed no machine of the fleet.
    """
    plan = unit_plan(unit_rng(seed, ward), catalog, unit_diligence(seed, ward))
    (low, high), register, delay = MIGRATION_TIERS[plan.diligence.tier]
    rng = unit_rng(seed, ward, "migration")
    share = rng.uniform(low, high)
    used = [a for a in catalog.apps if a.target != "stays_local" and a.id not in plan.removed]
    moving = [a for a in used if rng.random() < share]
    first = DEADLINE + timedelta(days=delay + rng.randint(-20, 40))
    waves = (first, first + timedelta(days=rng.randint(45, 150)))
    moves = []
    for a in moving:
        day = rng.choice(waves)
        if a.id in _LIVE:
            day = max(day, _LIVE[a.id] + timedelta(days=rng.randint(3, 20)))
        moves.append((a.id, min(day, _LAST_MOVE)))
    staying = [a for a in used if a not in moving and a.target in ("hdc_cloud", "hdc_web")]
    early = (rng.choice(staying).id, waves[0]) if staying and rng.random() < 0.3 else None
    return MigrationPlan(tuple(moves), frozenset(plan.removed), rng.random() < register, early)


_REFERENCES = ("Kế hoạch 245/KH-UBND", "Quyết định 1182/QĐ-UBND", "Công văn 3310/VP-KSTTHC")


def generate_declarations(registry: Registry, seed: int = 2025, today: Optional[date] = None) -> Iterator[dict]:
    """What units that keep the migration register declare, as API bodies, in date order within each unit.

    Moved applications are declared (sometimes ``migrating`` first), some
    moved before monitoring began are declared with an old date, and a few
    units claim an application moved while its client is still installed:
    the contradiction the page must show.
    """
    today = today or datetime.now(timezone.utc).date()
    catalog = load_catalog()
    for ward in registry:
        plan = migration_plan(seed, ward, catalog)
        if not plan.keeps_register:
            continue
        rng = unit_rng(seed, ward, "register")
        who = f"Văn phòng UBND {ward.name}"
        items = []
        for app_id, moved in plan.moves:
            app = catalog.get(app_id)
            assert app is not None  # migration_plan moves catalog applications only
            final = "retired" if app.target == "retired" else "on_hdc"
            if final == "on_hdc" and rng.random() < 0.5:
                items.append((moved - timedelta(days=rng.randint(10, 40)), app_id, "migrating",
                              "Bắt đầu chuyển sang hệ thống trên HDC"))
            items.append((moved + timedelta(days=rng.randint(0, 10)), app_id, final,
                          "Đã gỡ phần mềm cài đặt tại đơn vị"))
        for app_id in sorted(plan.unused):
            if rng.random() < 0.3:
                unused = catalog.get(app_id)
                assert unused is not None  # unit_plan removes catalog applications only
                final = "retired" if unused.target == "retired" else "on_hdc"
                items.append((date(2025, 8, 15), app_id, final, "Đã chuyển trước khi triển khai giám sát"))
        if plan.early_claim:
            app_id, day = plan.early_claim
            items.append((day, app_id, "on_hdc", "Theo báo cáo của đơn vị"))
        for day, app_id, state, note in sorted(items):
            if day <= today:
                yield {"ward_code": ward.code, "app_id": app_id, "state": state, "date": day.isoformat(),
                       "note": note, "reference": rng.choice(_REFERENCES), "declared_by": who}
