"""A unit's readiness, derived from its devices' verdicts.

One definition, used by the page, the JSON API and /metrics alike, so a ward
is never "ready" in one place and "late" in another.
"""
from __future__ import annotations

from typing import Mapping

VERDICTS = ("ready", "ready_with_conditions", "not_ready", "unknown")
UNIT_STATUSES = ("ready", "not_ready", "unknown", "no_data")


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


def readiness_ratio(counts: Mapping[str, int]) -> float:
    """Share of devices passing every hard rule (0 with no devices, never a division by zero)."""
    total = sum(counts.get(v, 0) for v in VERDICTS)
    passing = counts.get("ready", 0) + counts.get("ready_with_conditions", 0)
    return passing / total if total else 0.0
