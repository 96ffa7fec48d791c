"""Read-side queries shared by /metrics, the JSON API, the page and exports.

Everything that shows a number gets it from here, so the same number is the
same everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from inventory.readiness import VERDICTS, readiness_ratio, unit_status
from inventory.registry import Registry

from .store.tables import device_apps, devices, reachability, rule_results, verdicts


@dataclass(frozen=True)
class WardSummary:
    code: str
    name: str
    kind: str
    counts: dict[str, int]
    last_report_at: Optional[datetime]

    @property
    def devices(self) -> int:
        return sum(self.counts.values())

    @property
    def status(self) -> str:
        return unit_status(self.counts)

    @property
    def readiness_ratio(self) -> float:
        return readiness_ratio(self.counts)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "kind": self.kind, "status": self.status,
                "devices": self.devices, "verdicts": dict(self.counts),
                "readiness_ratio": round(self.readiness_ratio, 4),
                "last_report_at": self.last_report_at.isoformat() if self.last_report_at else None}


def ward_summaries(conn: Connection, registry: Registry) -> list[WardSummary]:
    """Every unit of the registry, in registry order, with zero counts where nothing reported."""
    counts: dict[str, dict[str, int]] = {w.code: dict.fromkeys(VERDICTS, 0) for w in registry}
    for code, status, n in conn.execute(
            sa.select(verdicts.c.ward_code, verdicts.c.status, sa.func.count())
            .group_by(verdicts.c.ward_code, verdicts.c.status)):
        if code in counts and status in counts[code]:
            counts[code][status] = n
    last = dict(conn.execute(sa.select(devices.c.ward_code, sa.func.max(devices.c.last_received_at))
                             .group_by(devices.c.ward_code)).all())
    return [WardSummary(w.code, w.name, w.kind, counts[w.code], last.get(w.code)) for w in registry]


def rule_failure_counts(conn: Connection) -> dict[tuple[str, str], int]:
    """Devices failing each rule, by (ward, rule)."""
    q = (sa.select(rule_results.c.ward_code, rule_results.c.rule_id, sa.func.count())
         .where(rule_results.c.outcome == "fail")
         .group_by(rule_results.c.ward_code, rule_results.c.rule_id))
    return {(w, r): n for w, r, n in conn.execute(q)}


def top_failures(conn: Connection, limit: int = 10) -> list[tuple[str, int]]:
    """The rules that fail on most devices across the city."""
    q = (sa.select(rule_results.c.rule_id, sa.func.count().label("n"))
         .where(rule_results.c.outcome == "fail")
         .group_by(rule_results.c.rule_id).order_by(sa.desc("n"), rule_results.c.rule_id).limit(limit))
    return [(r, n) for r, n in conn.execute(q)]


def ward_devices(conn: Connection, ward_code: str) -> list[dict[str, Any]]:
    """A unit's devices with their verdicts and the rules they fail, for the drill-down."""
    q = (sa.select(devices, verdicts.c.status, verdicts.c.since, verdicts.c.results)
         .join(verdicts, verdicts.c.device_id == devices.c.device_id)
         .where(devices.c.ward_code == ward_code).order_by(devices.c.hostname))
    out = []
    for row in conn.execute(q):
        results = [r for r in row.results if r.get("outcome") in ("fail", "unknown")]
        out.append({
            "device_id": row.device_id, "hostname": row.hostname, "class": row.device_class,
            "os": row.os_name, "cpu": row.cpu_model, "memory_bytes": row.memory_bytes,
            "system_disk_bytes": row.system_disk_bytes, "system_disk_media": row.system_disk_media,
            "verdict": row.status, "verdict_since": row.since.isoformat(),
            "last_collected_at": row.last_collected_at.isoformat(),
            "last_received_at": row.last_received_at.isoformat(),
            "agent": {"source": row.agent_source, "version": row.agent_version},
            "failures": results,
        })
    return out


def ward_apps(conn: Connection, ward_code: str) -> dict[str, int]:
    """Catalog applications seen installed in a unit, with the number of devices."""
    q = (sa.select(device_apps.c.app_id, sa.func.count()).where(device_apps.c.ward_code == ward_code)
         .group_by(device_apps.c.app_id).order_by(device_apps.c.app_id))
    return dict(conn.execute(q).all())


def reachability_counts(conn: Connection) -> dict[tuple[str, str], tuple[int, int]]:
    """Per (ward, target): devices that reached it and devices that checked it."""
    q = (sa.select(reachability.c.ward_code, reachability.c.target,
                   sa.func.sum(sa.case((reachability.c.ok, 1), else_=0)), sa.func.count())
         .group_by(reachability.c.ward_code, reachability.c.target))
    return {(w, t): (int(ok or 0), n) for w, t, ok, n in conn.execute(q)}

