"""Read-side queries shared by /metrics, the JSON API, the page and exports.

Everything that shows a number gets it from here, so the same number is the
same everywhere. Counts cover active devices: those that reported since
``active_since``. A device that fell silent (replaced, stolen, switched off
for good) is counted apart as silent instead of holding its unit back forever.

Results are fetched whole (``.all()``): iterating one fetches row by row,
which costs more than the query for the thousands of rows the page reads.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from inventory.readiness import VERDICTS, readiness_ratio, unit_status
from inventory.registry import Registry

from .store.tables import device_apps, devices, reachability, reports, rule_results, verdicts


@dataclass(frozen=True)
class WardSummary:
    code: str
    name: str
    kind: str
    counts: dict[str, int]
    silent: int
    replaced: int
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
                "devices": self.devices, "verdicts": dict(self.counts), "silent_devices": self.silent,
                "replaced_devices": self.replaced,
                "readiness_ratio": round(self.readiness_ratio, 4),
                "last_report_at": self.last_report_at.isoformat() if self.last_report_at else None}


def _active(table: sa.Table, active_since: datetime):
    """Rows of ``table`` whose device reported since ``active_since``.

    An IN over the active devices (found through ``ix_devices_last_collected_at``)
    rather than a correlated EXISTS: both backends then read the active ids once
    and the table's rows by device, instead of probing devices once per row.
    """
    return table.c.device_id.in_(sa.select(devices.c.device_id).where(devices.c.last_collected_at >= active_since))


def ward_summaries(conn: Connection, registry: Registry, active_since: datetime) -> list[WardSummary]:
    """Every unit of the registry, in registry order, with zero counts where nothing reported."""
    counts: dict[str, dict[str, int]] = {w.code: dict.fromkeys(VERDICTS, 0) for w in registry}
    for code, status, n in conn.execute(
            sa.select(verdicts.c.ward_code, verdicts.c.status, sa.func.count())
            .where(_active(verdicts, active_since))
            .group_by(verdicts.c.ward_code, verdicts.c.status)):
        if code in counts and status in counts[code]:
            counts[code][status] = n
    silent, replaced = {}, {}
    for code, was_replaced, n in conn.execute(_inactive_counts(active_since)):
        (replaced if was_replaced else silent)[code] = n
    last = dict(conn.execute(sa.select(devices.c.ward_code, sa.func.max(devices.c.last_received_at))
                             .group_by(devices.c.ward_code)).all())
    return [WardSummary(w.code, w.name, w.kind, counts[w.code], silent.get(w.code, 0), replaced.get(w.code, 0),
                        last.get(w.code)) for w in registry]


def _inactive_counts(active_since: datetime) -> sa.Select:
    """Inactive devices per ward, split by whether an active device took over their hostname.

    A PC replaced by a new one keeps its name at the desk but gets a new
    identity; the old record is then "replaced", not "silent", so silent means
    a machine that needs someone to look at it.
    """
    successor = devices.alias("successor")
    has_successor = sa.exists().where(successor.c.ward_code == devices.c.ward_code,
                                      successor.c.hostname == devices.c.hostname,
                                      successor.c.device_id != devices.c.device_id,
                                      successor.c.last_collected_at >= active_since).label("replaced")
    inactive = sa.select(devices.c.ward_code, has_successor).where(devices.c.last_collected_at < active_since)
    sub = inactive.subquery()
    return sa.select(sub.c.ward_code, sub.c.replaced, sa.func.count()).group_by(sub.c.ward_code, sub.c.replaced)


def rule_failure_counts(conn: Connection, active_since: datetime) -> dict[tuple[str, str], int]:
    """Active devices failing each rule, by (ward, rule)."""
    q = (sa.select(rule_results.c.ward_code, rule_results.c.rule_id, sa.func.count())
         .where(rule_results.c.outcome == "fail", _active(rule_results, active_since))
         .group_by(rule_results.c.ward_code, rule_results.c.rule_id))
    return {(w, r): n for w, r, n in conn.execute(q).all()}


def top_failures(conn: Connection, active_since: datetime, limit: int = 10) -> list[tuple[str, int]]:
    """The rules that fail on most active devices across the city."""
    q = (sa.select(rule_results.c.rule_id, sa.func.count().label("n"))
         .where(rule_results.c.outcome == "fail", _active(rule_results, active_since))
         .group_by(rule_results.c.rule_id).order_by(sa.desc("n"), rule_results.c.rule_id).limit(limit))
    return [(r, n) for r, n in conn.execute(q)]


def ward_devices(conn: Connection, ward_code: str, active_since: datetime) -> list[dict[str, Any]]:
    """A unit's devices (silent ones flagged) with their verdicts and failed rules, for the drill-down."""
    q = (sa.select(devices, verdicts.c.status, verdicts.c.since, verdicts.c.results)
         .join(verdicts, verdicts.c.device_id == devices.c.device_id)
         .where(devices.c.ward_code == ward_code).order_by(devices.c.hostname))
    out = []
    for row in conn.execute(q).all():
        results = [r for r in row.results if r.get("outcome") in ("fail", "unknown")]
        out.append({
            "device_id": row.device_id, "hostname": row.hostname, "class": row.device_class,
            "os": row.os_name, "cpu": row.cpu_model, "memory_bytes": row.memory_bytes,
            "system_disk_bytes": row.system_disk_bytes, "system_disk_media": row.system_disk_media,
            "verdict": row.status, "verdict_since": row.since.isoformat(),
            "silent": row.last_collected_at < active_since,
            "last_collected_at": row.last_collected_at.isoformat(),
            "last_received_at": row.last_received_at.isoformat(),
            "agent": {"source": row.agent_source, "version": row.agent_version},
            "failures": results,
        })
    return out


def ward_apps(conn: Connection, ward_code: str, active_since: datetime) -> dict[str, int]:
    """Catalog applications seen installed on a unit's active devices, with the number of devices."""
    q = (sa.select(device_apps.c.app_id, sa.func.count())
         .where(device_apps.c.ward_code == ward_code, _active(device_apps, active_since))
         .group_by(device_apps.c.app_id).order_by(device_apps.c.app_id))
    return dict(conn.execute(q).all())


def reachability_counts(conn: Connection, active_since: datetime) -> dict[tuple[str, str], tuple[int, int]]:
    """Per (ward, target): active devices that reached it and active devices that checked it."""
    return {key: (r.reached, r.checked) for key, r in reachability_details(conn, active_since).items()}


@dataclass(frozen=True)
class Reach:
    """How a unit's active devices fared with one HDC endpoint at their last check.

    ``connect_ms`` (mean TCP connect time) and ``failed_steps`` (failed
    checks by the step they stopped at) come from schema-v2 reports only;
    devices still sending v1 count in ``reached`` and ``checked`` alone.
    """

    reached: int
    checked: int
    connect_ms: Optional[float]
    failed_steps: dict[str, int]


def reachability_details(conn: Connection, active_since: datetime,
                         ward_code: Optional[str] = None) -> dict[tuple[str, str], Reach]:
    """Per (ward, target): the counts of :func:`reachability_counts`, the mean connect time and failures by step
    (of one unit when ``ward_code`` is given: a unit's page need not read the city's)."""
    r = reachability
    q = (sa.select(r.c.ward_code, r.c.target, r.c.failed_step, sa.func.sum(sa.case((r.c.ok, 1), else_=0)),
                   sa.func.count(), sa.func.sum(r.c.connect_ms), sa.func.count(r.c.connect_ms))
         .where(_active(r, active_since))
         .group_by(r.c.ward_code, r.c.target, r.c.failed_step))
    if ward_code is not None:
        q = q.where(r.c.ward_code == ward_code)
    sums: dict[tuple[str, str], list] = {}
    for ward, target, step, ok, n, connect_sum, connected in conn.execute(q).all():
        acc = sums.setdefault((ward, target), [0, 0, 0.0, 0, {}])
        acc[0] += int(ok or 0)
        acc[1] += n
        acc[2] += connect_sum or 0.0
        acc[3] += connected
        if step is not None:
            acc[4][step] = n
    return {key: Reach(ok, n, round(total / connected, 1) if connected else None, dict(sorted(steps.items())))
            for key, (ok, n, total, connected, steps) in sums.items()}



def class_verdict_counts(conn: Connection, active_since: datetime) -> dict[tuple[str, str, str], int]:
    """Active devices by (ward, device class, verdict): the same devices ``ward_summaries`` counts, split by class."""
    q = (sa.select(verdicts.c.ward_code, devices.c.device_class, verdicts.c.status, sa.func.count())
         .join(devices, devices.c.device_id == verdicts.c.device_id)
         .where(devices.c.last_collected_at >= active_since)
         .group_by(verdicts.c.ward_code, devices.c.device_class, verdicts.c.status))
    return {(w, c, s): n for w, c, s, n in conn.execute(q).all()}


def app_device_counts(conn: Connection, active_since: datetime,
                      ward_code: Optional[str] = None) -> dict[tuple[str, str], int]:
    """Active devices with a catalog application installed, by (ward, application); of one unit when
    ``ward_code`` is given."""
    q = (sa.select(device_apps.c.ward_code, device_apps.c.app_id, sa.func.count())
         .where(_active(device_apps, active_since))
         .group_by(device_apps.c.ward_code, device_apps.c.app_id))
    if ward_code is not None:
        q = q.where(device_apps.c.ward_code == ward_code)
    return {(w, a): n for w, a, n in conn.execute(q).all()}


def store_row_counts(conn: Connection) -> dict[str, int]:
    """Rows kept in the store's growing tables: what capacity planning and retention look at."""
    return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in (reports, devices)}


@dataclass(frozen=True)
class ActiveDevice:
    device_id: str
    ward_code: str
    hostname: str
    device_class: str
    os_name: str
    verdict: str
    agent_version: str


def active_devices(conn: Connection, active_since: datetime) -> list[ActiveDevice]:
    """Every active device with its latest verdict, in (ward, hostname) order: for per-device series."""
    q = (sa.select(devices.c.device_id, verdicts.c.ward_code, devices.c.hostname, devices.c.device_class,
                   devices.c.os_name, verdicts.c.status, devices.c.agent_version)
         .join(verdicts, verdicts.c.device_id == devices.c.device_id)
         .where(devices.c.last_collected_at >= active_since)
         .order_by(verdicts.c.ward_code, devices.c.hostname, devices.c.device_id))
    return [ActiveDevice(*row) for row in conn.execute(q).all()]
