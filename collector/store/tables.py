"""Table definitions: the current shape of the store.

Migrations in ``collector/migrations`` are frozen snapshots that build this
shape; a change here needs a new migration beside it.
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
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
    sa.Column("body", sa.Text, nullable=False),
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
    sa.Column("memory_bytes", sa.BigInteger, nullable=True),
    sa.Column("system_disk_bytes", sa.BigInteger, nullable=True),
    sa.Column("system_disk_media", sa.String(16), nullable=False),
    sa.Column("software_count", sa.Integer, nullable=False),
    sa.Column("agent_source", sa.String(32), nullable=False),
    sa.Column("agent_version", sa.String(64), nullable=False),
    sa.Column("first_seen_at", UTCDateTime(), nullable=False),
    sa.Column("last_collected_at", UTCDateTime(), nullable=False),
    sa.Column("last_received_at", UTCDateTime(), nullable=False),
    sa.Column("last_report_id", sa.String(36), nullable=False),
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
    sa.Column("device_id", sa.String(128), nullable=False, index=True),
    sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
    sa.Column("from_status", sa.String(32), nullable=True),
    sa.Column("to_status", sa.String(32), nullable=False),
    sa.Column("changed_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("report_id", sa.String(36), nullable=False),
    sa.Column("failed_rules", sa.JSON, nullable=False),
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
)
