"""Initial store: wards, tokens, raw reports, devices, verdicts and their history.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wards",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=True, index=True),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        sa.Column("label", sa.String(256), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "reports",
        sa.Column("report_id", sa.String(36), primary_key=True),
        sa.Column("device_id", sa.String(128), nullable=False, index=True),
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("collected_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "devices",
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
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_collected_at", sa.DateTime(), nullable=False),
        sa.Column("last_received_at", sa.DateTime(), nullable=False),
        sa.Column("last_report_id", sa.String(36), nullable=False),
    )
    op.create_table(
        "verdicts",
        sa.Column("device_id", sa.String(128), sa.ForeignKey("devices.device_id"), primary_key=True),
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(), nullable=False),
        sa.Column("baseline", sa.String(128), nullable=False),
        sa.Column("results", sa.JSON, nullable=False),
    )
    op.create_table(
        "verdict_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(128), nullable=False, index=True),
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
        sa.Column("from_status", sa.String(32), nullable=True),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("report_id", sa.String(36), nullable=False),
        sa.Column("failed_rules", sa.JSON, nullable=False),
    )
    op.create_table(
        "rule_results",
        sa.Column("device_id", sa.String(128), sa.ForeignKey("devices.device_id"), primary_key=True),
        sa.Column("rule_id", sa.String(64), primary_key=True),
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
    )
    op.create_table(
        "device_apps",
        sa.Column("device_id", sa.String(128), sa.ForeignKey("devices.device_id"), primary_key=True),
        sa.Column("app_id", sa.String(64), primary_key=True),
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
        sa.Column("software_name", sa.String(512), nullable=False),
        sa.Column("version", sa.String(256), nullable=True),
    )
    op.create_table(
        "reachability",
        sa.Column("device_id", sa.String(128), sa.ForeignKey("devices.device_id"), primary_key=True),
        sa.Column("target", sa.String(128), primary_key=True),
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for name in ("reachability", "device_apps", "rule_results", "verdict_changes", "verdicts",
                 "devices", "reports", "tokens", "wards"):
        op.drop_table(name)
