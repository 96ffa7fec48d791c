"""Each device's work item kept at ingest: ``device_work``.

A unit's page listed its work items from every one of its devices' verdict
changes, in time that grew with the unit's devices. Ingest now keeps one row
per device that ever failed a hard rule (collector/store/device_work.py),
and the page reads the rows it shows from the unit's index. The rows of a
store whose changes were stored before are filled by ``device_work.backfill``
when the store is next opened (collector/store/engine.py), with the code
that keeps new reports.

Revision ID: 0012_device_work
Revises: 0011_kept_stamps
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_device_work"
down_revision = "0011_kept_stamps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_work",
        sa.Column("device_id", sa.String(128), primary_key=True),
        sa.Column("ward_code", sa.String(16), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.Column("passing_at", sa.DateTime(), nullable=True),
        sa.Column("overlapped", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_device_work_unit", "device_work", ["ward_code", "hostname", "failed_at", "device_id"])


def downgrade() -> None:
    op.drop_index("ix_device_work_unit", table_name="device_work")
    op.drop_table("device_work")
