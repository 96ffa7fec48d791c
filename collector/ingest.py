"""Storing one validated report: raw body, device row, verdict and its history, in one transaction.

Idempotent by report id: an agent that retries after a lost acknowledgement
gets the same answer and the store does not change. A report older than the
device's latest one is kept raw but does not roll the device back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from inventory.baseline import Baseline
from inventory.catalog import Catalog
from inventory.evaluate import evaluate
from inventory.lifecycle import Lifecycle
from inventory.report import parse_rfc3339

from .store.engine import write_transaction
from .store.tables import device_apps, devices, reachability, reports, rule_results, verdict_changes, verdicts

ACCEPTED, DUPLICATE = "accepted", "duplicate"

# Built once: SQLAlchemy then reuses their compiled form on every report.
_KNOWN_REPORT = sa.select(reports.c.report_id).where(reports.c.report_id == sa.bindparam("rid"))
_VERDICT_OF = sa.select(verdicts.c.status, verdicts.c.since).where(verdicts.c.device_id == sa.bindparam("did"))
# FOR UPDATE (PostgreSQL; SQLite already holds the write lock) serialises two
# reports of one device arriving at two collectors at once.
_DEVICE_OF = (sa.select(devices.c.last_collected_at)
              .where(devices.c.device_id == sa.bindparam("did")).with_for_update())
_ATTEMPTS = 3
_UPDATE_DEVICE = devices.update().where(devices.c.device_id == sa.bindparam("did"))
_UPDATE_VERDICT = verdicts.update().where(verdicts.c.device_id == sa.bindparam("did"))
_CHILDREN = (rule_results, device_apps, reachability)
_DELETE_CHILDREN = [t.delete().where(t.c.device_id == sa.bindparam("did")) for t in _CHILDREN]


@dataclass(frozen=True)
class IngestResult:
    status: str
    report_id: str
    device_id: str
    verdict: Optional[str]
    stale: bool = False


@dataclass
class Ingestor:
    """Everything needed to judge and store a report; built once per collector process."""

    engine: Engine
    baseline: Baseline
    catalog: Catalog
    lifecycle: Lifecycle
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)

    def ingest(self, doc: dict[str, Any], raw: str) -> IngestResult:
        """Store ``doc`` (already schema-valid and authorised) with ``raw`` as received."""
        report_id, device_id = doc["report_id"], doc["device"]["id"]
        attempts_left = _ATTEMPTS
        while True:
            try:
                with write_transaction(self.engine) as conn:
                    if conn.execute(_KNOWN_REPORT, {"rid": report_id}).first():
                        return self._duplicate(conn, report_id, device_id)
                    return self._store(conn, doc, raw)
            except sa.exc.IntegrityError:
                # Another collector stored this report, or created this device, in the
                # meantime: look again with its work committed.
                with self.engine.connect() as conn:
                    if conn.execute(_KNOWN_REPORT, {"rid": report_id}).first():
                        return self._duplicate(conn, report_id, device_id)
                attempts_left -= 1
                if not attempts_left:
                    raise

    def _duplicate(self, conn: Connection, report_id: str, device_id: str) -> IngestResult:
        return IngestResult(DUPLICATE, report_id, device_id, _status(conn, device_id))

    def _store(self, conn: Connection, doc: dict[str, Any], raw: str) -> IngestResult:
        now = self.clock()
        collected = parse_rfc3339(doc["collected_at"]).astimezone(timezone.utc)
        device_id, ward = doc["device"]["id"], doc["ward_code"]
        conn.execute(reports.insert(), dict(
            report_id=doc["report_id"], device_id=device_id, ward_code=ward,
            schema_version=doc["schema_version"], source=doc["agent"]["source"],
            collected_at=collected, received_at=now, body=raw))

        last_collected = conn.execute(_DEVICE_OF, {"did": device_id}).scalar()
        if last_collected is not None and collected < last_collected:
            return IngestResult(ACCEPTED, doc["report_id"], device_id, _status(conn, device_id), stale=True)

        row = _device_row(doc, collected, now)
        if last_collected is None:
            conn.execute(devices.insert(), dict(device_id=device_id, first_seen_at=now, **row))
        else:
            conn.execute(_UPDATE_DEVICE, dict(did=device_id, **row))

        verdict = evaluate(doc, self.baseline, collected.date(), self.lifecycle)
        self._record_verdict(conn, doc, verdict, collected, now)
        self._replace_children(conn, doc, verdict, collected)
        return IngestResult(ACCEPTED, doc["report_id"], device_id, verdict.status)

    def _record_verdict(self, conn: Connection, doc: dict[str, Any], verdict, collected: datetime,
                        now: datetime) -> None:
        device_id, ward = doc["device"]["id"], doc["ward_code"]
        previous = conn.execute(_VERDICT_OF, {"did": device_id}).first()
        changed = previous is None or previous.status != verdict.status
        values = dict(ward_code=ward, status=verdict.status, evaluated_at=now,
                      baseline=self.baseline.fingerprint[:16], results=verdict.to_dict()["results"],
                      since=collected if changed else previous.since)
        if previous is None:
            conn.execute(verdicts.insert(), dict(device_id=device_id, **values))
        else:
            conn.execute(_UPDATE_VERDICT, dict(did=device_id, **values))
        if changed:
            conn.execute(verdict_changes.insert(), dict(
                device_id=device_id, ward_code=ward, from_status=previous.status if previous else None,
                to_status=verdict.status, changed_at=collected, report_id=doc["report_id"],
                failed_rules=sorted(r.rule_id for r in verdict.results if r.outcome == "fail")))

    def _replace_children(self, conn: Connection, doc: dict[str, Any], verdict, collected: datetime) -> None:
        """Per-device facts the aggregates read; replaced wholesale so a fixed problem disappears."""
        device_id, ward = doc["device"]["id"], doc["ward_code"]
        for statement in _DELETE_CHILDREN:
            conn.execute(statement, {"did": device_id})
        failing = [{"device_id": device_id, "rule_id": r.rule_id, "ward_code": ward,
                    "severity": r.severity, "outcome": r.outcome}
                   for r in verdict.results if r.outcome in ("fail", "unknown")]
        if failing:
            conn.execute(rule_results.insert(), failing)
        apps = [{"device_id": device_id, "app_id": m.app_id, "ward_code": ward,
                 "software_name": m.software_name[:512], "version": m.version}
                for m in self.catalog.match(doc.get("software", []))]
        if apps:
            conn.execute(device_apps.insert(), apps)
        targets = {t["target"]: t for t in doc.get("network", {}).get("reachability", [])}
        if targets:
            conn.execute(reachability.insert(), [
                {"device_id": device_id, "target": name, "ward_code": ward, "ok": t["ok"],
                 "latency_ms": t.get("latency_ms"), "checked_at": collected}
                for name, t in targets.items()])


def _device_row(doc: dict[str, Any], collected: datetime, now: datetime) -> dict[str, Any]:
    hw, os_ = doc["hardware"], doc["os"]
    return dict(
        ward_code=doc["ward_code"], hostname=doc["device"]["hostname"], device_class=doc["device"]["class"],
        os_family=os_["family"], os_name=os_["name"], cpu_model=hw["cpu"]["model"],
        memory_bytes=hw["memory_bytes"], system_disk_bytes=hw["system_disk"]["size_bytes"],
        system_disk_media=hw["system_disk"]["media"], software_count=len(doc["software"]),
        agent_source=doc["agent"]["source"], agent_version=doc["agent"]["version"],
        last_collected_at=collected, last_received_at=now, last_report_id=doc["report_id"])


def _status(conn: Connection, device_id: str) -> Optional[str]:
    row = conn.execute(_VERDICT_OF, {"did": device_id}).first()
    return row.status if row else None
