"""A unit's readiness, derived from its devices' verdicts.

One definition, used by the page, the JSON API and /metrics alike, so a ward
is never "ready" in one place and "late" in another.
"""
from __future__ import annotations

from datetime import date
from typing import Mapping, Optional

VERDICTS = ("ready", "ready_with_conditions", "not_ready", "unknown")
UNIT_STATUSES = ("ready", "not_ready", "unknown", "incomplete", "no_register", "no_data")


def unit_status(counts: Mapping[str, int]) -> str:
    """``ready`` when every device passes the hard rules; ``not_ready`` when any fails one;
    ``unknown`` when none fails but some could not be judged; ``no_data`` with no devices."""
    total = sum(counts.get(v, 0) for v in VERDICTS)
    if total == 0:
        return "no_data"
    if counts.get("not_ready", 0):
        return "not_ready"
    if counts.get("unknown", 0):
        return "unknown"
    return "ready"


# A unit's status once its register is known (inventory/equipment.py): before its verdicts are looked at, a unit
# without a register, or with too few of its devices reporting, cannot be ready, whatever the few that report say.
REGISTER_STATUSES = ("no_register", "incomplete")
COVERAGE_THRESHOLD = 1.0  # every registered device reports: a readiness that counts missing machines as ready lies
DEADLINE = date(2025, 11, 30)  # the programme's date for every unit to be ready


def unit_status_covered(counts: Mapping[str, int], coverage_ratio: Optional[float],
                        threshold: float = COVERAGE_THRESHOLD) -> str:
    """``no_data`` with neither a register nor a report (nothing is known of the unit); ``no_register`` without a
    register; ``incomplete`` when coverage is below ``threshold``; else :func:`unit_status`. So ``ready`` needs a
    register, enough of it reporting, and every device passing."""
    if coverage_ratio is None:
        return "no_register" if any(counts.get(v, 0) for v in VERDICTS) else "no_data"
    if coverage_ratio < threshold:
        return "incomplete"
    return unit_status(counts)


def days_overdue(status: str, today: date, deadline: date = DEADLINE) -> int:
    """Days past the programme's deadline of a unit not yet ready (0 for a ready unit or before the deadline)."""
    return 0 if status == "ready" else max(0, (today - deadline).days)


def readiness_ratio(counts: Mapping[str, int]) -> float:
    """Share of devices passing every hard rule (0 with no devices, never a division by zero)."""
    total = sum(counts.get(v, 0) for v in VERDICTS)
    passing = counts.get("ready", 0) + counts.get("ready_with_conditions", 0)
    return passing / total if total else 0.0
