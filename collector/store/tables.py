"""Table definitions: the current shape of the store.

Migrations in ``collector/store/alembic`` are frozen snapshots that build this
shape; a change here needs a new migration beside it.
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend.

    SQLite has no time zones and hands back naive values; storing naive UTC
    and re-attaching UTC on the way out makes both backends return the same.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware values")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # SQLite via raw SQL
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class utc_iso(FunctionElement):
    """A UTCDateTime column as ISO 8601 text with its offset (``+00:00``), for ``datetime.fromisoformat``.

    For reads of thousands of moments that must come back aware: parsing
    this text yields the same ``timezone.utc`` values several times faster
    than the column's own conversion (parse, then attach UTC). Defined for
    the two supported backends.
    """

    type = sa.String()
    inherit_cache = True


@compiles(utc_iso, "sqlite")
def _utc_iso_sqlite(element: utc_iso, compiler, **kw) -> str:
    # SQLite keeps the moment as naive UTC text already ('YYYY-MM-DD HH:MM:SS.ffffff').
    return f"({compiler.process(element.clauses, **kw)} || '+00:00')"


@compiles(utc_iso, "postgresql")
def _utc_iso_postgresql(element: utc_iso, compiler, **kw) -> str:
    return f"(to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD HH24:MI:SS.US') || '+00:00')"


metadata = sa.MetaData()

wards = sa.Table(
    "wards", metadata,
    sa.Column("code", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
)

tokens = sa.Table(
    "tokens", metadata,
    sa.Column("token_id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=True, index=True),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("secret_hash", sa.String(128), nullable=False),
    sa.Column("label", sa.String(256), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    # Token management (0002_tokens): a rotated token stays valid until expires_at;
    # last_used_at is written at most once a minute per token.
    sa.Column("expires_at", UTCDateTime(), nullable=True),
    sa.Column("last_used_at", UTCDateTime(), nullable=True),
    sa.Column("replaces", sa.String(32), nullable=True),
)

# Who changed which token (or other managed object), when; never a secret (0002_tokens).
audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("token_id", sa.String(32), nullable=True, index=True),
    sa.Column("ward_code", sa.String(16), nullable=True),
    sa.Column("detail", sa.JSON, nullable=True),
)

reports = sa.Table(
    "reports", metadata,
    sa.Column("report_id", sa.String(36), primary_key=True),
    sa.Column("device_id", sa.String(128), nullable=False, index=True),
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("collected_at", UTCDateTime(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    # 0007_body_zlib: new rows keep the body compressed in body_zlib and "" here; older rows the text here.
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("body_zlib", sa.LargeBinary, nullable=True),
    # The body's software list is kept once per content in software_lists; see store/bodies.py.
    sa.Column("software_sha256", sa.String(64), sa.ForeignKey("software_lists.sha256"), nullable=True),
    sa.Column("software_at", sa.Integer, nullable=True),
    # 0005_retention: pruning removes a software list with the last report referring to it (store/retention.py).
    sa.Index("ix_reports_software_sha256", "software_sha256"),
)

devices = sa.Table(
    "devices", metadata,
    sa.Column("device_id", sa.String(128), primary_key=True),
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
    sa.Column("hostname", sa.String(255), nullable=False, index=True),
    sa.Column("device_class", sa.String(32), nullable=False),
    sa.Column("os_family", sa.String(32), nullable=False),
    sa.Column("os_name", sa.String(256), nullable=False),
    sa.Column("cpu_model", sa.String(256), nullable=True),
    # 0004_device_vendor: how network and power equipment (report schema 3) is told apart.
    sa.Column("manufacturer", sa.String(128), nullable=True),
    sa.Column("model", sa.String(128), nullable=True),
    sa.Column("memory_bytes", sa.BigInteger, nullable=True),
    sa.Column("system_disk_bytes", sa.BigInteger, nullable=True),
    sa.Column("system_disk_media", sa.String(16), nullable=False),
    sa.Column("software_count", sa.Integer, nullable=False),
    sa.Column("agent_source", sa.String(32), nullable=False),
    sa.Column("agent_version", sa.String(64), nullable=False),
    sa.Column("first_seen_at", UTCDateTime(), nullable=False),
    # Indexed (0002_storage): every aggregate reads the active devices, those that reported lately.
    sa.Column("last_collected_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("last_received_at", UTCDateTime(), nullable=False),
    sa.Column("last_report_id", sa.String(36), nullable=False),
    # What this device adds to unit_counts (0003_unit_counts; store/counts.py), kept so the next
    # report can take it back out without reading the device's other rows.
    sa.Column("counted", sa.JSON(none_as_null=True), nullable=True),
    # 0003_unit_counts: each unit's newest receipt, read per unit through this index; and the desks (a unit's
    # hostname: its devices and newest report) and every device's place and time (the history) read from an
    # index alone, half the time of reading the rows.
    sa.Index("ix_devices_ward_received", "ward_code", "last_received_at"),
    sa.Index("ix_devices_desk", "ward_code", "hostname", "last_collected_at", "device_id"),
)

verdicts = sa.Table(
    "verdicts", metadata,
    sa.Column("device_id", sa.String(128), sa.ForeignKey("devices.device_id"), primary_key=True),
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("since", UTCDateTime(), nullable=False),
    sa.Column("evaluated_at", UTCDateTime(), nullable=False),
    sa.Column("baseline", sa.String(128), nullable=False),
    sa.Column("results", sa.JSON, nullable=False),
)

verdict_changes = sa.Table(
    "verdict_changes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(128), nullable=False),
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
    sa.Column("from_status", sa.String(32), nullable=True),
    sa.Column("to_status", sa.String(32), nullable=False),
    sa.Column("changed_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("report_id", sa.String(36), nullable=False),
    sa.Column("failed_rules", sa.JSON, nullable=False),
    # 0003_unit_counts: each device's changes in time order, read from the index alone (history.py).
    sa.Index("ix_verdict_changes_device_time", "device_id", "changed_at", "id", "to_status"),
)

rule_results = sa.Table(
    "rule_results", metadata,
    sa.Column("device_id", sa.String(128), sa.ForeignKey("devices.device_id"), primary_key=True),
    sa.Column("rule_id", sa.String(64), primary_key=True),
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
    sa.Column("severity", sa.String(8), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
)

device_apps = sa.Table(
    "device_apps", metadata,
    sa.Column("device_id", sa.String(128), sa.ForeignKey("devices.device_id"), primary_key=True),
    sa.Column("app_id", sa.String(64), primary_key=True),
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
    sa.Column("software_name", sa.String(512), nullable=False),
    sa.Column("version", sa.String(256), nullable=True),
)

reachability = sa.Table(
    "reachability", metadata,
    sa.Column("device_id", sa.String(128), sa.ForeignKey("devices.device_id"), primary_key=True),
    sa.Column("target", sa.String(128), primary_key=True),
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=True),
    sa.Column("checked_at", UTCDateTime(), nullable=False),
    # Report schema v2 (migration 0002_reachability); empty for rows from v1 reports.
    sa.Column("connect_ms", sa.Float, nullable=True),
    sa.Column("tls_ok", sa.Boolean, nullable=True),
    sa.Column("http_status", sa.Integer, nullable=True),
    sa.Column("failed_step", sa.String(16), nullable=True),
    # 0002_endpoint_index: the HDC endpoints' counts per unit (cloud.queries._endpoint_counts) read this
    # index alone, in the order they group by, instead of every active device's rows.
    sa.Index("ix_reachability_endpoint", "target", "ward_code", "ok", "device_id"),
)

# Active-device counts per unit, kept up to date by ingest (store/counts.py): how many devices of a unit
# whose latest report was collected on ``day`` (UTC) have a verdict, class, failed rule, application or
# endpoint outcome (``kind``, ``key``); ``total`` sums a measure over them (connect microseconds, or the
# devices at a desk: a hostname of the unit, dated by its newest report). /metrics
# and the page add up the days since the stale age instead of reading every device's rows.
unit_counts = sa.Table(
    "unit_counts", metadata,
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("ward_code", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("devices", sa.Integer, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    # SQLite: the rows are the primary key's index itself, so a read of some kinds after some day is one range.
    sqlite_with_rowid=False,
)

# Cloud migration (inventory/migration.py): operators' declarations and the
# recorded changes of inferred state; both append-only, nothing is updated.
migration_declarations = sa.Table(
    "migration_declarations", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
    sa.Column("app_id", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("effective_on", sa.Date, nullable=False),
    sa.Column("declared_by", sa.String(128), nullable=False),
    sa.Column("declared_at", UTCDateTime(), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("reference", sa.String(512), nullable=True),
    sa.Column("source", sa.String(16), nullable=False),
)

migration_observations = sa.Table(
    "migration_observations", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
    sa.Column("app_id", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("installed_devices", sa.Integer, nullable=False),
    sa.Column("endpoint", sa.String(16), nullable=False),
    sa.Column("observed_at", UTCDateTime(), nullable=False),
)

# Distinct installed-software lists as received (zlib-compressed JSON text), shared by the reports carrying them.
software_lists = sa.Table(
    "software_lists", metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("first_seen_at", UTCDateTime(), nullable=False),
)

# What ingest derives from a stored software list (0013_list_facts; store/list_facts.py): its catalog applications
# and length, under the catalog it was matched with and the schema it was found valid under.
list_facts = sa.Table(
    "list_facts", metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("catalog_fingerprint", sa.String(64), primary_key=True),
    sa.Column("schema_fingerprint", sa.String(64), primary_key=True),
    sa.Column("apps", sa.JSON, nullable=False),
    sa.Column("software_count", sa.Integer, nullable=False),
)

# The equipment register (0004_register; inventory/equipment.py): what each unit owns and needs by class, and its
# named machines. An import replaces the rows of the units it lists; every change is kept in register_changes.
register_counts = sa.Table(
    "register_counts", metadata,
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), primary_key=True),
    sa.Column("device_class", sa.String(32), primary_key=True),
    sa.Column("expected", sa.Integer, nullable=False),
    sa.Column("needed", sa.Integer, nullable=False),
)

register_assets = sa.Table(
    "register_assets", metadata,
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), primary_key=True),
    sa.Column("asset_key", sa.String(300), primary_key=True),
    sa.Column("device_class", sa.String(32), nullable=False),
    sa.Column("asset_tag", sa.String(128), nullable=True),
    sa.Column("serial", sa.String(128), nullable=True),
    sa.Column("hostname", sa.String(255), nullable=True),
    sa.Column("location", sa.String(256), nullable=True),
    sa.Column("responsible", sa.String(256), nullable=True),
)

# Append-only: who changed which count or asset of which unit, when and why, with the values before and after.
register_changes = sa.Table(
    "register_changes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
    sa.Column("item", sa.String(320), nullable=False),
    sa.Column("before", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("after", sa.JSON(none_as_null=True), nullable=True),
)

# 0006_okr_history: when a device's reach of the HDC changed (it reached every endpoint it checked, or not),
# written at ingest only on a change, so that a unit's link repaired on a known day closes its work item on that day
# (readiness/criteria.py); the reachability table keeps only each device's last check.
reachability_changes = sa.Table(
    "reachability_changes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(128), nullable=False, index=True),
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False),
    sa.Column("reached", sa.Boolean, nullable=False),
    sa.Column("changed_at", UTCDateTime(), nullable=False),
    sa.Index("ix_reachability_changes_unit_time", "ward_code", "changed_at"),
    # 0010_reach_days: reach_days.read finds the few changes stamped after the moment read without a scan.
    sa.Index("ix_reachability_changes_time", "changed_at"),
)

# 0008_contradiction_spans: each contradiction between a unit's declarations and its reports (inventory.migration)
# while it lasts (closed_at NULL) and when it was settled, kept by the migration observer (cloud/queries.py), so the
# "no open contradiction" criterion has items done on time or late (readiness/criteria.py).
contradiction_spans = sa.Table(
    "contradiction_spans", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
    sa.Column("app_id", sa.String(64), nullable=False),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("opened_at", UTCDateTime(), nullable=False),
    sa.Column("closed_at", UTCDateTime(), nullable=True),
)

# 0006_okr_history: each key result's value in each ISO week ('2025-W49'), the last one measured that week; keyed
# '<objective>.<key result>' (readiness/okr.py).
key_result_weeks = sa.Table(
    "key_result_weeks", metadata,
    sa.Column("key_result", sa.String(200), primary_key=True),
    sa.Column("week", sa.String(8), primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
)

# 0006_okr_history: each unit's person responsible and how to reach them ("every unit must have a clear address"),
# from a units sheet (collector/register/contacts.py); every change is in the audit log.
unit_contacts = sa.Table(
    "unit_contacts", metadata,
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), primary_key=True),
    sa.Column("responsible", sa.String(256), nullable=False),
    sa.Column("contact", sa.String(256), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
)

# 0009_unit_days: the history of each unit kept at ingest (store/unit_days.py), so the overview's burn-down, forecasts
# and work-item tallies add up a few rows per unit and day instead of reading every device's verdict changes.
# ``kind``: "change" (devices entering, +, or leaving, -, verdict ``key`` on the Hanoi day whose end first reaches
# the change), "last" (devices whose latest report is on ``day``, by their verdict ``key``: each leaves the counts the
# stale age later), "first" (devices whose first verdict is on ``day``) and "work" (devices that failed a hard rule,
# first on ``day``, passing again since the day ``key``, or "open").
unit_days = sa.Table(
    "unit_days", metadata,
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("ward_code", sa.String(16), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("devices", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)

# 0009_unit_days: where a new machine took over a silent one's hostname (a desk of two or more devices), how the
# rows of unit_days differ from what the desk's devices would add alone (store/unit_days.py): the old one stops
# counting when the new one first reported, and the new one's passing closes its work item. Which device took
# over depends on which are still active, so each difference holds while the stale-age cut-off falls after
# ``from_day`` and before ``until_day`` (Hanoi days of the desk's devices' latest reports).
desk_days = sa.Table(
    "desk_days", metadata,
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("ward_code", sa.String(16), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("from_day", sa.Date, primary_key=True),
    sa.Column("until_day", sa.Date, primary_key=True),
    sa.Column("devices", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)

# 0010_reach_days: each unit's reach of the HDC kept at ingest (store/reach_days.py), so the link criterion adds up a
# few rows per unit and day instead of replaying every device's reach changes. ``kind``: "change" (devices entering,
# +, or leaving, -, the reach ``reached`` on the Hanoi day whose end first reaches the change) and "last" (devices
# whose latest report is on ``day``, by their reach: each leaves the counts the stale age later).
reach_days = sa.Table(
    "reach_days", metadata,
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("ward_code", sa.String(16), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("reached", sa.Boolean, primary_key=True),
    sa.Column("devices", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)

# 0011_kept_stamps: a random number per unit and kept table ("unit_days" for unit_days and desk_days, "reach_days",
# "unit_counts"), drawn anew in every transaction that changes that unit's rows (store/kept.py), so a composition works
# out again only the units whose kept rows changed since the last one and reuses the others' (the same stamp: the same
# rows).
kept_stamps = sa.Table(
    "kept_stamps", metadata,
    sa.Column("kept", sa.String(16), primary_key=True),
    sa.Column("ward_code", sa.String(16), primary_key=True),
    sa.Column("stamp", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# 0012_device_work: each device that ever failed a hard rule (a work item) kept at ingest (store/device_work.py), so
# a unit's page lists a page of its work items from its index, in the list's order, instead of reading every device's
# verdict changes: its unit and hostname (as its device row), its first verdict, its first failure, and the start of
# its own current passing stretch (empty while it does not pass); ``overlapped``: whether a device now at its desk first
# reported after it first did and by its first failure (then a read must look whether that one took its desk over
# before it failed).
device_work = sa.Table(
    "device_work", metadata,
    sa.Column("device_id", sa.String(128), primary_key=True),
    sa.Column("ward_code", sa.String(16), nullable=False),
    sa.Column("hostname", sa.String(255), nullable=False),
    sa.Column("first_at", UTCDateTime(), nullable=False),
    sa.Column("failed_at", UTCDateTime(), nullable=False),
    sa.Column("passing_at", UTCDateTime(), nullable=True),
    sa.Column("overlapped", sa.Boolean, nullable=False),
    sa.Index("ix_device_work_unit", "ward_code", "hostname", "failed_at", "device_id"),
)
