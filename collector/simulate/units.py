"""How each simulated unit carries out the programme: its diligence and what its machines share.

Every unit draws from random streams of its own (``unit_rng``), so one
unit's plan does not depend on how many devices another has.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from collector.simulate.software import APP_VARIANTS, PRINTERS
from inventory.catalog import Catalog
from inventory.registry import Unit

DEADLINE = date(2025, 11, 30)


def unit_rng(seed: int, ward: Unit, *more: object) -> random.Random:
    """The random stream of ``ward`` for ``seed``; ``more`` names a separate stream (a device, a register)."""
    return random.Random(":".join(map(str, (seed, ward.code) + more)))


@dataclass(frozen=True)
class Diligence:
    """How a unit's IT staff carry out the programme.

    ``fix_rate`` is the share of its machines that fall short (hardware,
    Windows 10, a Windows 11 feature update left pending, a server short of
    RAM or on an OS nearing its end) the unit fixes; ``timing`` is when, in
    days from the deadline (mean, spread, earliest, latest); ``tpm_unreadable``
    the share of its PCs whose agent runs without the rights to read the TPM.
    """

    tier: str
    fix_rate: float
    timing: tuple[float, float, int, int]
    tpm_unreadable: float


# tier: (weight, fix rate range, timing, P(some agents not elevated)). Early units finish before the
# deadline, prompt ones within weeks after it; partial ones leave a few machines, laggards most of them.
# Every date falls before November 2026, so "fixed" means fixed by a year after the deadline.
DILIGENCE_TIERS = {
    "early": (0.15, (1.0, 1.0), (-28.0, 18.0, -75, -1), 0.06),
    "prompt": (0.27, (1.0, 1.0), (-8.0, 26.0, -75, 75), 0.06),
    "partial": (0.45, (0.72, 0.95), (5.0, 50.0, -75, 300), 0.35),
    "laggard": (0.13, (0.05, 0.25), (60.0, 90.0, -60, 330), 0.35),
}


def unit_diligence(seed: int, ward: Unit) -> Diligence:
    """A unit's diligence, from its own stream (the rest of its plan does not change with it)."""
    rng = unit_rng(seed, ward, "diligence")
    names = list(DILIGENCE_TIERS)
    tier = rng.choices(names, [DILIGENCE_TIERS[n][0] for n in names])[0]
    _, (low, high), timing, unelevated = DILIGENCE_TIERS[tier]
    unreadable = rng.uniform(0.08, 0.2) if rng.random() < unelevated else 0.0
    return Diligence(tier, rng.uniform(low, high), timing, unreadable)


@dataclass(frozen=True)
class UnitPlan:
    """What a whole unit shares: vendors per application, migration progress, network quality, diligence."""

    variants: dict[str, int]
    removed: frozenset[str]
    network: str
    printers: tuple[int, ...]
    diligence: Diligence


def unit_plan(rng: random.Random, catalog: Catalog, diligence: Diligence) -> UnitPlan:
    """The unit's shared choices, drawn first from its main stream (``unit_rng(seed, unit)``)."""
    variants = {app: rng.randrange(len(v)) for app, v in APP_VARIANTS.items()}
    progress = rng.uniform(0.0, 0.8)
    removed = frozenset(a.id for a in catalog.apps if a.target != "stays_local" and rng.random() < progress)
    network = rng.choices(("good", "degraded", "cloud_blocked"), (0.8, 0.12, 0.08))[0]
    printers = tuple(rng.sample(range(len(PRINTERS)), 2))
    return UnitPlan(variants, removed, network, printers, diligence)



def fix_day(rng: random.Random, diligence: Diligence) -> date:
    """The day a unit with this diligence fixes one of its shortfalls (a machine, a switch, a UPS battery)."""
    mean, spread, first, last = diligence.timing
    return DEADLINE + timedelta(days=max(first, min(last, round(rng.gauss(mean, spread)))))
