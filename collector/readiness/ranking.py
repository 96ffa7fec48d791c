"""Filtering and sorting the ranking of units, server-side, the same way for the page, API and exports.

Leaders type names the way phones let them, often without diacritics:
``hoan kiem`` must find ``Hoàn Kiếm``, so search compares folded text
(``inventory.registry.fold``). Sorting happens on the server so the page
needs no script and a link reproduces exactly what someone looked at.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Callable, Mapping, Optional

from collector.readiness.overview import UnitRow
from inventory.readiness import UNIT_STATUSES
from inventory.registry import KINDS, fold

# Worst first: the order a leader wants to read a ranking in.
_STATUS_RANK = {"not_ready": 0, "incomplete": 1, "unknown": 2, "no_register": 3, "no_data": 4, "ready": 5}
STATUS_ORDER = tuple(sorted(UNIT_STATUSES, key=_STATUS_RANK.__getitem__))  # the page's filter and legend


def _last_report(r: UnitRow) -> float:
    return r.summary.last_report_at.timestamp() if r.summary.last_report_at else 0.0


def _forecast(r: UnitRow) -> tuple[bool, date]:
    """Soonest forecast first; units with no forecast after every dated one."""
    day = r.forecast.ready_on if r.forecast else None
    return day is None, day or date.max


SORT_KEYS: Mapping[str, Callable[[UnitRow], Any]] = {
    # The official list's order (rows arrive in it and sorting is stable): the API's default.
    "registry": lambda r: 0,
    "status": lambda r: (_STATUS_RANK[r.summary.status], r.summary.readiness_ratio, -r.summary.counts["not_ready"]),
    "code": lambda r: r.summary.code,
    "name": lambda r: (fold(r.summary.name), r.summary.name),
    "devices": lambda r: r.summary.devices,
    "ready": lambda r: r.summary.counts["ready"],
    "ready_with_conditions": lambda r: r.summary.counts["ready_with_conditions"],
    "not_ready": lambda r: r.summary.counts["not_ready"],
    "unknown": lambda r: r.summary.counts["unknown"],
    "silent": lambda r: r.summary.silent,
    "ratio": lambda r: r.summary.readiness_ratio,
    # Units without a register first (they have no coverage at all), then the lowest coverage.
    "coverage": lambda r: (r.summary.coverage.ratio is not None, r.summary.coverage.ratio or 0.0),
    "days_overdue": lambda r: r.days_overdue,
    # Ready units by the day they became so, earliest first; units not ready after them.
    "ready_since": lambda r: (r.ready_since is None, r.ready_since or date.min),
    "apps": lambda r: r.migration.migrated,
    "overdue": lambda r: r.work["overdue"],
    "last_report": _last_report,
    "forecast": _forecast,
}


class BadQuery(ValueError):
    """A filter or sort the API cannot honour; ``field`` names the parameter."""

    def __init__(self, field: str, message: str):
        super().__init__(f"parameter '{field}': {message}")
        self.field = field


@dataclass(frozen=True)
class RankingQuery:
    kind: Optional[str] = None
    status: Optional[str] = None
    q: str = ""
    sort: str = "status"
    desc: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, str], strict: bool, default_sort: str = "status") -> "RankingQuery":
        """From URL parameters; ``strict`` (the API) refuses bad values, the page falls back to defaults."""
        query = cls(sort=default_sort)
        checks = (("kind", tuple(KINDS)), ("status", UNIT_STATUSES), ("sort", tuple(SORT_KEYS)),
                  ("order", ("asc", "desc")))
        values = {}
        for name, allowed in checks:
            value = args.get(name) or None
            if value is not None and value not in allowed:
                if strict:
                    raise BadQuery(name, f"{value!r} is not one of {', '.join(allowed)}")
                value = None
            values[name] = value
        return replace(query, kind=values["kind"], status=values["status"], q=(args.get("q") or "").strip()[:100],
                       sort=values["sort"] or query.sort, desc=values["order"] == "desc")

    def matches(self, row: UnitRow) -> bool:
        s = row.summary
        if self.kind and s.kind != self.kind or self.status and s.status != self.status:
            return False
        if not self.q:
            return True
        key = fold(self.q)
        return key in fold(f"{KINDS[s.kind][0]} {s.name}") or key in s.code

    def apply(self, rows: list[UnitRow]) -> list[UnitRow]:
        """Matching rows, sorted; ties keep the official list's order in either direction."""
        chosen = [r for r in rows if self.matches(r)]
        return sorted(chosen, key=SORT_KEYS[self.sort], reverse=self.desc)

    def args(self) -> dict[str, str]:
        """The URL parameters that reproduce this query (defaults left out)."""
        out = {"kind": self.kind or "", "status": self.status or "", "q": self.q,
               "sort": self.sort if self.sort != type(self).sort else "", "order": "desc" if self.desc else ""}
        return {k: v for k, v in out.items() if v}

