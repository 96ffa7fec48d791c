"""The simulated units' equipment registers, as the sheet an IT officer fills in (docs/register.md).

The register of a unit lists the machines it has now, so its coverage is what the reports make of it. Like the
city's real units, they differ: some never sent a register, some keep counts only, some name every machine by
host name; some own machines whose agent was never installed (registered, never reporting: the unit stays
``incomplete``), and some run machines their register forgot (reporting, unregistered). Each unit draws from a
stream of its own (``unit_rng``), so the same seed gives the same registers.
"""
from __future__ import annotations

from collections import Counter
from datetime import date
from itertools import groupby
from typing import Any, Iterable

from collector.readiness.export import Table, register_sheet
from collector.simulate.fleet import Slot, hostname_stem
from collector.simulate.units import unit_rng
from inventory.registry import Unit

# Shares of the units, drawn per unit: no register at all; a register naming its machines (the rest keep counts).
NO_REGISTER = 0.08
NAMED = 0.5
# Shares of the units with a register: machines whose agent was never installed; machines the register forgot.
NEVER_INSTALLED = 0.3
FORGOTTEN = 0.15
_PLACES = ("Bộ phận một cửa", "Văn phòng", "Phòng kế toán", "Phòng địa chính", "Phòng họp")
_PEOPLE = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em")


def generate_register(slots: Iterable[Slot], seed: int, today: date) -> Table:
    """The registers of the units ``slots`` belong to (``simulate.fleet_slots``, unit by unit), as one sheet."""
    rows: list[list[Any]] = []
    for ward, of_unit in groupby(slots, key=lambda slot: slot.ward):
        machines = [(slot.hostname, machine.device_class) for slot in of_unit
                    if (machine := slot.machine_at(today)) is not None]
        rows += _unit_rows(ward, seed, machines)
    return register_sheet(rows)


def _unit_rows(ward: Unit, seed: int, machines: list[tuple[str, str]]) -> list[list[Any]]:
    """The sheet's rows for one unit's machines (host name, class) as they stand today."""
    rng = unit_rng(seed, ward, "register")
    if rng.random() < NO_REGISTER:
        return []
    named = rng.random() < NAMED
    machines = list(machines)
    if rng.random() < FORGOTTEN and len(machines) > 3:
        for _ in range(rng.randint(1, 2)):
            machines.pop(rng.randrange(len(machines)))  # it reports, the register does not know it
    if rng.random() < NEVER_INSTALLED:
        stem = hostname_stem(ward)
        machines += [(f"UB-{stem}-PC{90 + i:02d}", "workstation") for i in range(rng.randint(1, 3))]
    if not named:
        counts = Counter(cls for _, cls in machines)
        return [[ward.code, cls, n, None, None, None, None, None, None] for cls, n in sorted(counts.items())]
    return [[ward.code, cls, None, None, f"{ward.code}-TS-{i:03d}", None, host, rng.choice(_PLACES),
             rng.choice(_PEOPLE)] for i, (host, cls) in enumerate(sorted(machines), start=1)]

