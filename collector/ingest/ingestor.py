"""Storing one validated report: raw body, device row, verdict and its history, in one transaction.

Idempotent by report id: an agent that retries after a lost acknowledgement
gets the same answer and the store does not change. A report older than the
device's latest one is kept raw but does not roll the device back.

Everything that needs no store (judging the device, matching its software
against the catalog, splitting and compressing the body) is done before the
write transaction, which therefore holds SQLite's single write lock only for the
statements themselves; per-device rows that did not change (failed rules,
catalog applications, the software list) are compared, not rewritten.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional, Union

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from collector.store import (
    audit,
    bodies,
    counts,
    device_work,
    kept,
    list_facts,
    reach_days,
    reach_history,
    unit_days,
)
from collector.store.engine import ONE_READ, STORE_UNAVAILABLE, write_transaction
from collector.store.tables import (
    device_apps,
    devices,
    reachability,
    reports,
    rule_results,
    software_lists,
    verdict_changes,
    verdicts,
)
from inventory.baseline import Baseline
from inventory.catalog import Catalog
from inventory.evaluate import RuleResult, Verdict, evaluate
from inventory.lifecycle import Lifecycle
from inventory.report import parse_rfc3339
from inventory.schema import SUPPORTED_VERSIONS, schema_fingerprint

ACCEPTED, DUPLICATE = "accepted", "duplicate"
# A device clock this far ahead of the collector's is believed; further ahead, the report counts as collected
# when it was received, so a wrong (or forged) future date cannot outrank the device's later reports.
CLOCK_TOLERANCE = timedelta(minutes=5)


class DeviceOfAnotherUnit(Exception):
    """A report for a device that the store holds under another unit: refused, never moved silently."""

    def __init__(self, device_id: str, unit_code: str):
        super().__init__(f"field 'device.id': device {device_id[:80]!r} belongs to unit {unit_code}; a report with "
                         "another unit's token cannot take it over. If the machine really moved, the collector's "
                         f"operator moves it: hdc-collector device move {device_id[:80]} --to <unit code>")
        self.device_id, self.unit_code = device_id, unit_code

# Built once: SQLAlchemy then reuses their compiled form on every report.
_KNOWN_REPORT = sa.select(reports.c.report_id).where(reports.c.report_id == sa.bindparam("rid"))
_VERDICT_OF = sa.select(verdicts.c.status, verdicts.c.since).where(verdicts.c.device_id == sa.bindparam("did"))
# What the store holds about a device, in one statement: its latest report's time,
# unit, desk, counted contribution and software list, and its verdict. FOR UPDATE (PostgreSQL; SQLite already
# holds the write lock) serialises two reports of one device arriving at two
# collectors at once.
_STATE_OF = (sa.select(devices.c.last_collected_at, devices.c.ward_code, devices.c.hostname, devices.c.counted,
                       devices.c.device_class,
                       verdicts.c.status, verdicts.c.since, verdicts.c.results, reports.c.software_sha256)
             .select_from(devices.outerjoin(verdicts, verdicts.c.device_id == devices.c.device_id)
                          .outerjoin(reports, reports.c.report_id == devices.c.last_report_id))
             .where(devices.c.device_id == sa.bindparam("did")).with_for_update(of=devices))
_APPS_OF = (sa.select(device_apps.c.app_id, device_apps.c.software_name, device_apps.c.version)
            .where(device_apps.c.device_id == sa.bindparam("did")))
_ATTEMPTS = 3
# The least stale age a collector takes (``serve --stale-after-days`` is at least 1), less an hour for clocks.
_LEAST_STALE_AGE = timedelta(hours=23)
_UPDATE_DEVICE = devices.update().where(devices.c.device_id == sa.bindparam("did"))
_UPDATE_VERDICT = verdicts.update().where(verdicts.c.device_id == sa.bindparam("did"))
_DELETE = {t.name: t.delete().where(t.c.device_id == sa.bindparam("did"))
           for t in (rule_results, device_apps, reachability)}
_INSERT = {t.name: t.insert() for t in (reports, devices, software_lists, verdicts, verdict_changes, rule_results,
                                        device_apps, reachability)}
_RESULT_FIELDS = tuple(f.name for f in fields(RuleResult))
# Lists remembered by their digest (their applications and length, a few hundred bytes each): as many as the
# validator remembers, about 5 MB at most; past it the memory is started afresh, and a list met again is looked up
# in the store's ``list_facts``.
_LISTS_CACHE_SIZE = 16384
_NEEDS_WORK = ("fail", "unknown")
_INSERT_OR_IGNORE: dict[str, Callable[[sa.Table], Union[sqlite.Insert, postgresql.Insert]]] = {
    "sqlite": sqlite.insert, "postgresql": postgresql.insert}


@dataclass(frozen=True)
class _Prepared:
    """A report with everything worked out that needs no store."""

    doc: dict[str, Any]
    received: datetime
    collected: datetime
    verdict: Verdict
    results: list[dict[str, Any]]
    failing: frozenset[tuple[str, str, str]]
    apps: tuple[tuple[str, str, Optional[str]], ...]
    software_count: int
    # Whether the list's facts are new to this process under the report's schema version: then stored.
    new_facts: bool
    body: bodies.SplitBody
    # The body's ``reports`` columns, compressed here: zlib took 8% of the write lock's CPU time per repeat.
    report_columns: dict[str, Any]
    software_sha256: Optional[str]
    targets: dict[str, dict[str, Any]]
    counted: dict[str, Any]
    unit_scope: Optional[str]


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

    def __post_init__(self) -> None:
        insert = _INSERT_OR_IGNORE.get(self.engine.dialect.name)
        self._add_list = insert(software_lists).on_conflict_do_nothing(index_elements=["sha256"]) if insert else None
        self._put_checks = _upsert(insert(reachability), ["device_id", "target"]) if insert else None
        # Per software list digest: its catalog applications, length and the schema versions it passed, worked
        # out once per process or read from the store's list_facts.
        self._lists: dict[str, list_facts.ListFacts] = {}
        self._catalog_key = list_facts.catalog_key(self.catalog.fingerprint)
        self._schemas = {schema_fingerprint(v): v for v in SUPPORTED_VERSIONS}

    def knows_list(self, sha256: str) -> bool:
        """Whether the list with this digest is known (matched by this process, or its facts kept in the store
        under this catalog and a schema in force), so a report may leave it out (``bodies.elide``)."""
        if sha256 in self._lists:
            return True
        try:
            with self.engine.connect().execution_options(**ONE_READ) as conn:
                facts = list_facts.read(conn, sha256, self._catalog_key, self._schemas)
        except STORE_UNAVAILABLE:
            return False  # the list's way answers for the store
        if facts is None:
            return False
        self._remember(sha256, facts)
        return True

    def valid_list(self, schema_version: int, sha256: str) -> bool:
        """Whether the list with this digest is known valid under this schema version (``knows_list`` said so):
        the validator then checks only the rest of a report that left it out."""
        facts = self._lists.get(sha256)
        return facts is not None and schema_version in facts.versions

    def _remember(self, sha256: str, facts: list_facts.ListFacts) -> None:
        if len(self._lists) >= _LISTS_CACHE_SIZE:
            self._lists.clear()
        self._lists[sha256] = facts

    def ingest(self, doc: dict[str, Any], raw: str, body: Optional[bodies.SplitBody] = None,
               unit_scope: Optional[str] = None, also: Optional[Callable[[Connection], None]] = None
               ) -> IngestResult:
        """Store ``doc`` (already schema-valid and authorised) with ``raw`` as received.

        ``body`` is ``raw`` split by ``bodies.parse`` when the caller parsed it that way (or ``bodies.elide``
        made of it: ``bodies.ListNeeded`` when the list is needed after all). With ``unit_scope``
        (the unit of the token the report came with) a device the store holds under another unit is refused
        with ``DeviceOfAnotherUnit``, checked inside the write transaction; without it (an operator moving a
        device) the device moves. ``also`` runs in the same transaction once the report is stored (the audit
        entry of a move).
        """
        report_id, device_id = doc["report_id"], doc["device"]["id"]
        prepared = self._prepare(doc, body or bodies.split(raw), unit_scope)
        attempts_left = _ATTEMPTS
        while True:
            try:
                with write_transaction(self.engine) as conn:
                    result = self._store(conn, prepared)
                    if also is not None:
                        also(conn)
                    kept.flush(conn)
                    return result
            except sa.exc.IntegrityError:
                # The report id is known (a retry, or another collector stored it in the
                # meantime), or another collector created this device: look again with
                # its work committed.
                with self.engine.connect() as conn:
                    if conn.execute(_KNOWN_REPORT, {"rid": report_id}).first():
                        return self._duplicate(conn, report_id, device_id)
                attempts_left -= 1
                if not attempts_left:
                    raise

    def move(self, device_id: str, unit_code: str, actor: str) -> IngestResult:
        """Move a device to another unit on an operator's word: its last report stored again under ``unit_code``
        (with a new report id), with an audit entry, in one transaction."""
        with self.engine.connect() as conn:
            last = conn.execute(sa.select(devices.c.last_report_id, devices.c.ward_code)
                                .where(devices.c.device_id == device_id)).first()
            raw = bodies.read_body(conn, last.last_report_id) if last else None
        if last is None or raw is None:
            raise LookupError(f"no device with id {device_id!r} in the store")
        doc = json.loads(raw)
        doc.update(ward_code=unit_code, report_id=str(uuid.uuid4()))
        text = json.dumps(doc, ensure_ascii=False)
        detail = {"device_id": device_id, "from": last.ward_code, "to": unit_code}
        return self.ingest(doc, text, also=lambda conn: audit.record(conn, actor, "device_move", ward_code=unit_code,
                                                                     detail=detail))

    def _prepare(self, doc: dict[str, Any], body: bodies.SplitBody, unit_scope: Optional[str]) -> _Prepared:
        received = self.clock()
        claimed = parse_rfc3339(doc["collected_at"]).astimezone(timezone.utc)
        collected = received if claimed > received + CLOCK_TOLERANCE else claimed
        verdict = evaluate(doc, self.baseline, collected.date(), self.lifecycle)
        apps, software_count, new_facts = self._list_facts(doc, body)
        # One check per target: a report naming a target twice keeps the last, as rows are keyed by target.
        targets = {t["target"]: t for t in doc.get("network", {}).get("reachability", [])}
        counted = counts.contribution(
            doc["ward_code"], collected, verdict.status, doc["device"]["class"],
            (r.rule_id for r in verdict.results if r.outcome == "fail"), (app_id for app_id, _, _ in apps),
            (counts.Endpoint(name, t["ok"], t.get("failed_step"), t.get("connect_ms")) for name, t in targets.items()))
        return _Prepared(
            doc=doc, received=received, collected=collected, verdict=verdict, unit_scope=unit_scope,
            results=[{name: getattr(r, name) for name in _RESULT_FIELDS} for r in verdict.results],
            failing=frozenset((r.rule_id, r.severity, r.outcome) for r in verdict.results
                              if r.outcome in _NEEDS_WORK),
            apps=apps, software_count=software_count, new_facts=new_facts, body=body,
            report_columns=body.report_columns(), software_sha256=body.sha256,
            targets=targets, counted=counted)

    def _list_facts(self, doc: dict[str, Any], body: bodies.SplitBody) -> tuple[tuple, int, bool]:
        """The software list's catalog applications and length, worked out once per process and digest; and
        whether they are new to the process under the report's schema version (then kept in the store)."""
        sha, version = body.sha256, doc["schema_version"]
        known = self._lists.get(sha) if sha else None
        if sha is not None and known is not None and (version in known.versions or body.elided_sha256 is None):
            if version not in known.versions:
                self._lists[sha] = list_facts.ListFacts(known.apps, known.count, known.versions | {version})
            return known.apps, known.count, version not in known.versions
        if body.elided_sha256 is not None:
            raise bodies.ListNeeded(f"software list {sha} is no longer remembered by this process")
        software = doc.get("software", [])
        apps = tuple((m.app_id, m.software_name[:512], m.version) for m in self.catalog.match(software))
        if sha:
            _ = body.packed_software  # a list new to this process: compressed before the store's lock
            self._remember(sha, list_facts.ListFacts(apps, len(software), frozenset((version,))))
        return apps, len(software), sha is not None

    def _duplicate(self, conn: Connection, report_id: str, device_id: str) -> IngestResult:
        return IngestResult(DUPLICATE, report_id, device_id, _status(conn, device_id))

    def _store(self, conn: Connection, p: _Prepared) -> IngestResult:
        doc, now, collected = p.doc, p.received, p.collected
        device_id, ward = doc["device"]["id"], doc["ward_code"]
        state = conn.execute(_STATE_OF, {"did": device_id}).first()
        if p.unit_scope is not None and state is not None and state.ward_code != p.unit_scope:
            raise DeviceOfAnotherUnit(device_id, state.ward_code)
        if p.software_sha256 is not None and (state is None or state.software_sha256 != p.software_sha256):
            self._keep_list(conn, p, now)
        if p.new_facts and p.software_sha256 is not None:
            list_facts.keep(conn, p.software_sha256, self._catalog_key, schema_fingerprint(doc["schema_version"]),
                            p.apps, p.software_count)
        # A known report id fails here (primary key): ``ingest`` answers it as a duplicate.
        conn.execute(_INSERT["reports"], dict(
            report_id=doc["report_id"], device_id=device_id, ward_code=ward,
            schema_version=doc["schema_version"], source=doc["agent"]["source"],
            collected_at=collected, received_at=now, **p.report_columns))

        last_collected = state.last_collected_at if state else None
        if state is not None and last_collected is not None and collected < last_collected:
            return IngestResult(ACCEPTED, doc["report_id"], device_id, state.status, stale=True)

        row = _device_row(doc, collected, now, p.software_count)
        row["counted"] = p.counted
        desk = (ward, row["hostname"])
        old_desk = (state.ward_code, state.hostname) if state is not None else None
        desks = None if counts.desk_kept(desk, old_desk, last_collected, collected) else \
            counts.desks_before(conn, desk, old_desk)
        before = (state.ward_code, state.status, state.last_collected_at, state.since) if state is not None else None
        # A new device at a desk without devices is alone there: no takeover to keep, no flags of others to set.
        alone = state is None and desks is not None and desks[desk] is None
        taken_over = None if alone or unit_days.desk_kept(before, desk, old_desk, p.verdict.status, collected) \
            else unit_days.desks_before(conn, (desk, old_desk))
        if state is None:
            conn.execute(_INSERT["devices"], dict(device_id=device_id, first_seen_at=now, **row))
        else:
            conn.execute(_UPDATE_DEVICE, dict(did=device_id, **row))
        desk_moves = counts.desk_moves(conn, desks, desk, old_desk, collected) if desks is not None else []
        changed = self._record_verdict(conn, p, state)
        self._replace_children(conn, p, state)
        reach = reach_history.reached(t["ok"] for t in p.targets.values())
        wrote = reach_history.record(conn, device_id, ward,
                                     reach_history.counted_reach(state.counted if state else None), reach, collected,
                                     moved=state is not None and state.ward_code != ward)
        # Devices are never deleted, so a new device's only changes are those this transaction just wrote: its
        # first verdict and (when it checked endpoints) its first reach, both at ``collected``. Given, not read.
        reach_days.record(conn, device_id, (state.ward_code, state.last_collected_at) if state else None, ward,
                          collected, wrote,
                          first=[(ward, reach, collected)] if state is None and reach is not None else None)
        counts.update(conn, state.counted if state else None, p.counted, desk_moves)
        if _life_may_move(state, row, changed, now):
            kept.stamp(conn, kept.LIVES, {ward, state.ward_code} if state is not None else {ward})
        changes = unit_days.record(conn, device_id, before[:3] if before else None, ward, p.verdict.status,
                                   collected, changed, first=[(collected, p.verdict.status)] if state is None else None)
        if taken_over is not None:
            unit_days.keep_desks(conn, taken_over, stayed=old_desk == desk)
        device_work.record(conn, device_id, old_desk, desk, changes if changed else None, alone=alone)
        return IngestResult(ACCEPTED, doc["report_id"], device_id, p.verdict.status)

    def _keep_list(self, conn: Connection, p: _Prepared, now: datetime) -> None:
        """Store the report's software list unless the store already has that content (a list left out of the
        report must be there already: ``ListNeeded`` otherwise, as a prune may have removed it)."""
        if p.body.elided_sha256 is not None:
            if not bodies.list_held(conn, p.body.elided_sha256):
                raise bodies.ListNeeded(f"software list {p.body.elided_sha256} is no longer in the store")
            return
        row = bodies.software_row(p.body, now)
        if self._add_list is not None:
            conn.execute(self._add_list, row)
        elif conn.execute(sa.select(software_lists.c.sha256).where(software_lists.c.sha256 == row["sha256"])
                          ).first() is None:
            conn.execute(_INSERT["software_lists"], row)

    def _record_verdict(self, conn: Connection, p: _Prepared, state) -> bool:
        """Store the device's verdict, and the change when it is one (returned: whether it was)."""
        doc, verdict, collected = p.doc, p.verdict, p.collected
        device_id, ward = doc["device"]["id"], doc["ward_code"]
        previous = state if state is not None and state.status is not None else None
        changed = previous is None or previous.status != verdict.status
        values = dict(ward_code=ward, status=verdict.status, evaluated_at=p.received,
                      baseline=self.baseline.fingerprint[:16], results=p.results,
                      since=collected if changed or previous is None else previous.since)
        if previous is None:
            conn.execute(_INSERT["verdicts"], dict(device_id=device_id, **values))
        else:
            conn.execute(_UPDATE_VERDICT, dict(did=device_id, **values))
        if changed:
            conn.execute(_INSERT["verdict_changes"], dict(
                device_id=device_id, ward_code=ward, from_status=previous.status if previous else None,
                to_status=verdict.status, changed_at=collected, report_id=doc["report_id"],
                failed_rules=sorted(r.rule_id for r in verdict.results if r.outcome == "fail")))
        return changed

    def _replace_children(self, conn: Connection, p: _Prepared, state) -> None:
        """Per-device facts the aggregates read; replaced wholesale when they changed, so a fixed problem
        disappears, and left alone when they did not (most reports change neither). A new device has none
        yet (they reference its row), so its first report only inserts."""
        doc = p.doc
        device_id, ward = doc["device"]["id"], doc["ward_code"]
        new_device = state is None
        same_unit = not new_device and state.ward_code == ward
        if not (same_unit and state.results is not None and _failing(state.results) == p.failing):
            if not new_device:
                conn.execute(_DELETE["rule_results"], {"did": device_id})
            if p.failing:
                conn.execute(_INSERT["rule_results"], [
                    {"device_id": device_id, "rule_id": rule_id, "ward_code": ward, "severity": severity,
                     "outcome": outcome} for rule_id, severity, outcome in sorted(p.failing)])
        same_list = same_unit and p.software_sha256 is not None and state.software_sha256 == p.software_sha256
        if not (same_list and {tuple(r) for r in conn.execute(_APPS_OF, {"did": device_id})} == set(p.apps)):
            if not new_device:
                conn.execute(_DELETE["device_apps"], {"did": device_id})
            if p.apps:
                conn.execute(_INSERT["device_apps"], [
                    {"device_id": device_id, "app_id": app_id, "ward_code": ward, "software_name": name,
                     "version": version} for app_id, name, version in p.apps])
        self._replace_checks(conn, p, state)

    def _replace_checks(self, conn: Connection, p: _Prepared, state) -> None:
        """The device's reachability rows, one per target: overwritten in one statement when the targets are
        the ones its counted contribution names (most reports), left alone when there were and are none."""
        device_id, ward, collected = p.doc["device"]["id"], p.doc["ward_code"], p.collected
        rows = [{"device_id": device_id, "target": name, "ward_code": ward, "ok": t["ok"],
                 "latency_ms": t.get("latency_ms"), "checked_at": collected,
                 # Schema v2's steps; a v1 report has none of them and leaves the columns empty.
                 "connect_ms": t.get("connect_ms"), "tls_ok": t.get("tls_ok"),
                 "http_status": t.get("http_status"), "failed_step": t.get("failed_step")}
                for name, t in p.targets.items()]
        before = counts.targets(state.counted) if state is not None else set()
        if before == set(p.targets):
            if not rows:
                return
            if self._put_checks is not None:
                conn.execute(self._put_checks, rows)
                return
        if state is not None:
            conn.execute(_DELETE["reachability"], {"did": device_id})
        if rows:
            conn.execute(_INSERT["reachability"], rows)


def _upsert(stmt, key: list[str]):
    """``stmt`` (a dialect's INSERT) that overwrites the row with the same ``key`` instead of failing."""
    return stmt.on_conflict_do_update(index_elements=key, set_={
        c.name: stmt.excluded[c.name] for c in stmt.table.columns if c.name not in key})


def _life_may_move(state: Any, row: dict[str, Any], changed: bool, received: datetime) -> bool:
    """Whether this report can change how a device of its unit(s) counts over time (``readiness/history.py``'s
    lives, which ``readiness/pasts.py`` keeps per unit under ``kept.LIVES``): a new device (it may take a silent
    one's desk), a verdict change, a move to another unit, desk or class, or a device silent for a day or more
    (the least stale age) reporting again, whose end its report takes away or moves. An hourly repeat of an
    active device changes none of that: an active device's life has no end, whatever its latest report."""
    if state is None or changed:
        return True
    if (state.ward_code, state.hostname, state.device_class) != (row["ward_code"], row["hostname"],
                                                                 row["device_class"]):
        return True
    return state.last_collected_at is None or state.last_collected_at < received - _LEAST_STALE_AGE


def _device_row(doc: dict[str, Any], collected: datetime, now: datetime, software_count: int) -> dict[str, Any]:
    hw, os_ = doc["hardware"], doc["os"]
    return dict(
        ward_code=doc["ward_code"], hostname=doc["device"]["hostname"], device_class=doc["device"]["class"],
        manufacturer=doc["device"].get("manufacturer"), model=doc["device"].get("model"),
        os_family=os_["family"], os_name=os_["name"], cpu_model=hw["cpu"]["model"],
        memory_bytes=hw["memory_bytes"], system_disk_bytes=hw["system_disk"]["size_bytes"],
        system_disk_media=hw["system_disk"]["media"], software_count=software_count,
        agent_source=doc["agent"]["source"], agent_version=doc["agent"]["version"],
        last_collected_at=collected, last_received_at=now, last_report_id=doc["report_id"])


def _failing(results: list[dict[str, Any]]) -> frozenset[tuple[str, str, str]]:
    """The (rule, severity, outcome) of a stored verdict's results that ``rule_results`` holds."""
    return frozenset((r["rule_id"], r["severity"], r["outcome"]) for r in results if r["outcome"] in _NEEDS_WORK)


def _status(conn: Connection, device_id: str) -> Optional[str]:
    row = conn.execute(_VERDICT_OF, {"did": device_id}).first()
    return row.status if row else None
