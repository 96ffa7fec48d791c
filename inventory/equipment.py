"""The equipment register of each unit (what it has and needs, by class and by name) and its coverage by reports."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

from inventory.baseline import DEVICE_CLASSES

# The agent's classes, and the network and peripheral classes that SNMP polling reports; a register may list
# them before anything reports for them, so that coverage counts what a unit owns, not what it can report yet.
REGISTER_CLASSES = DEVICE_CLASSES + ("printer", "scanner", "switch", "router", "firewall", "access_point",
                                     "ups", "nas")


@dataclass(frozen=True)
class UnitAsset:
    """A named machine of a unit: found among the reporting devices by serial, then hostname, then asset tag."""

    unit_code: str
    device_class: str
    asset_tag: Optional[str] = None
    serial: Optional[str] = None
    hostname: Optional[str] = None
    location: Optional[str] = None
    responsible: Optional[str] = None

    @property
    def key(self) -> str:
        """How the register names this asset: its tag, else its serial, else its hostname."""
        if self.asset_tag:
            return self.asset_tag
        return f"serial:{self.serial}" if self.serial else f"host:{self.hostname}"


@dataclass(frozen=True)
class UnitCount:
    """How many devices of a class a unit owns (``expected``) and needs (``needed``, at least what it owns)."""

    unit_code: str
    device_class: str
    expected: int
    needed: int

    @property
    def shortfall(self) -> int:
        """Devices to buy: needed minus owned, never negative (kept for the upgrade plan)."""
        return max(0, self.needed - self.expected)


@dataclass(frozen=True)
class RegisterRow:
    """One row of a register sheet, as read: a count when ``expected`` is given, a named asset otherwise."""

    row: int
    unit_code: str
    device_class: str
    expected: Optional[int] = None
    needed: Optional[int] = None
    asset: Optional[UnitAsset] = None


@dataclass(frozen=True)
class Register:
    """Counts and named assets of the units a sheet lists; each listed unit's register is replaced whole."""

    counts: tuple[UnitCount, ...]
    assets: tuple[UnitAsset, ...]

    @property
    def units(self) -> list[str]:
        return sorted({c.unit_code for c in self.counts} | {a.unit_code for a in self.assets})


def _ident(value: Optional[str]) -> Optional[str]:
    """Identifiers compared without case or spacing (a serial typed ``abc 123`` is ``ABC123`` on the label)."""
    return "".join(value.split()).casefold() if value else None


def _row_problems(r: RegisterRow, unit_codes: set[str]) -> list[str]:
    problems = []
    if r.unit_code not in unit_codes:
        problems.append(f"unknown unit code {r.unit_code!r}")
    if r.device_class not in REGISTER_CLASSES:
        problems.append(f"unknown device class {r.device_class!r} (one of: {', '.join(REGISTER_CLASSES)})")
    for name, value in (("expected", r.expected), ("needed", r.needed)):
        if value is not None and value < 0:
            problems.append(f"{name} is negative ({value})")
    if r.asset is None and r.expected is None:
        problems.append("neither a count (expected) nor a named asset (asset_tag, serial or hostname)")
    return problems


def _duplicates(rows: Iterable[RegisterRow]) -> dict[int, list[str]]:
    """Rows that repeat a count (unit, class) or an asset's tag or serial seen on an earlier row."""
    seen: dict[tuple, int] = {}
    found: dict[int, list[str]] = {}
    for r in rows:
        keys: list[tuple[tuple, str]] = []
        if r.asset is None:
            keys.append((("count", r.unit_code, r.device_class), f"count of {r.device_class} for {r.unit_code}"))
        else:
            for field in ("asset_tag", "serial"):
                value = _ident(getattr(r.asset, field))
                if value:
                    keys.append(((field, value), f"{field} {getattr(r.asset, field)!r}"))
        for key, label in keys:
            if key in seen:
                found.setdefault(r.row, []).append(f"duplicate {label} (first on row {seen[key]})")
            else:
                seen[key] = r.row
    return found


def check_register(rows: list[RegisterRow], unit_codes: Iterable[str]) -> tuple[Register, dict[int, list[str]]]:
    """The register the rows describe, and what is wrong with each bad row (the caller stores nothing if any).

    A class listed only by named assets expects as many as are named; a count smaller than the assets named
    for the same unit and class is refused, because the register would contradict itself.
    """
    codes = set(unit_codes)
    problems = {r.row: p for r in rows if (p := _row_problems(r, codes))}
    for number, more in _duplicates(rows).items():
        problems.setdefault(number, []).extend(more)
    named = Counter((r.unit_code, r.device_class) for r in rows if r.asset is not None)
    counts = {}
    for r in rows:
        if r.asset is None and r.expected is not None:
            if r.expected < named[(r.unit_code, r.device_class)]:
                problems.setdefault(r.row, []).append(
                    f"expected {r.expected} but {named[(r.unit_code, r.device_class)]} {r.device_class} "
                    f"asset(s) of {r.unit_code} are named")
            counts[(r.unit_code, r.device_class)] = UnitCount(
                r.unit_code, r.device_class, r.expected, max(r.expected, r.needed or 0))
    for (unit, cls), n in named.items():
        counts.setdefault((unit, cls), UnitCount(unit, cls, n, n))
    register = Register(tuple(sorted(counts.values(), key=lambda c: (c.unit_code, c.device_class))),
                        tuple(r.asset for r in rows if r.asset is not None))
    return register, problems


@dataclass(frozen=True)
class ReportingDevice:
    """What matching needs of an active device: its id (which carries its serial), hostname and class."""

    device_id: str
    hostname: str
    device_class: str


def device_serial(device_id: str) -> Optional[str]:
    """The system serial inside a device id (``<uuid>/<serial>`` or ``serial:<serial>``; see identity.py)."""
    if device_id.startswith("serial:"):
        return device_id[len("serial:"):]
    if "/" in device_id:
        return device_id.split("/", 1)[1]
    return None


@dataclass(frozen=True)
class Matching:
    """Named assets found among the reporting devices, those never seen, and devices the register lacks."""

    matched: dict[str, str]
    missing: tuple[UnitAsset, ...]
    unregistered: tuple[ReportingDevice, ...]


def match_assets(assets: Iterable[UnitAsset], devices: Iterable[ReportingDevice]) -> Matching:
    """Each asset to at most one device, by serial, then hostname, then asset tag (the identity rule's order).

    A device is "unregistered" only when its unit names assets and none of them is this device: a unit that
    registers counts only cannot say which machines are its own.
    """
    devices = list(devices)
    by: dict[str, dict[str, ReportingDevice]] = {"serial": {}, "hostname": {}, "asset_tag": {}}
    for d in devices:
        # Machines are often named after their asset tag, so the tag is looked for among hostnames too.
        for field, value in (("serial", device_serial(d.device_id)), ("hostname", d.hostname),
                             ("asset_tag", d.hostname)):
            if (key := _ident(value)):
                by[field].setdefault(key, d)
    matched: dict[str, str] = {}
    missing: list[UnitAsset] = []
    taken: set[str] = set()
    assets = list(assets)
    for a in assets:
        candidates = (by[field].get(_ident(getattr(a, field)) or "") for field in ("serial", "hostname", "asset_tag"))
        found = next((d for d in candidates if d is not None and d.device_id not in taken), None)
        if found is None:
            missing.append(a)
        else:
            matched[a.key] = found.device_id
            taken.add(found.device_id)
    unregistered = tuple(d for d in devices if assets and d.device_id not in taken)
    return Matching(matched, tuple(missing), unregistered)


@dataclass(frozen=True)
class Coverage:
    """Active reporting devices over expected ones; ``ratio`` is None for a unit without a register."""

    expected: int
    reporting: int
    ratio: Optional[float]
    by_class: dict[str, dict]

    def to_dict(self) -> dict:
        return {"expected": self.expected, "reporting": self.reporting, "ratio": self.ratio,
                "by_class": self.by_class}


def coverage(expected: Mapping[str, int], reporting: Mapping[str, int]) -> Coverage:
    """Coverage per class and in all, each class capped at what it expects.

    Ten extra virtual machines do not make up for ten workstations without the agent, so a class counts at
    most its expected devices toward the unit's total; never a division by zero.
    """
    by_class = {}
    for cls in sorted(set(expected) | set(reporting)):
        exp, rep = expected.get(cls, 0), reporting.get(cls, 0)
        by_class[cls] = {"expected": exp, "reporting": rep, "ratio": min(1.0, rep / exp) if exp else None}
    total = sum(expected.values())
    counted = sum(min(reporting.get(cls, 0), n) for cls, n in expected.items())
    return Coverage(total, counted, counted / total if total else None, by_class)
