"""Each unit's reach of the HDC by day kept at ingest: ``reach_days``.

The overview's link criterion replayed every device's reach changes on each
composition, in time that grew with the devices. Ingest now keeps, per unit
and Hanoi day, the devices entering and leaving each reach and the days of
their latest reports (collector/store/reach_days.py). The rows of a store
whose changes were stored before are filled by ``reach_days.backfill`` when
the store is next opened (collector/store/engine.py), with the code that
keeps new reports. An index on the changes' moments lets a read find the
few stamped after the moment it reads without scanning them all.

Revision ID: 0010_reach_days
Revises: 0009_unit_days
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_reach_days"
down_revision = "0009_unit_days"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reach_days",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("ward_code", sa.String(16), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("reached", sa.Boolean, primary_key=True),
        sa.Column("devices", sa.Integer, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_reachability_changes_time", "reachability_changes", ["changed_at"])


def downgrade() -> None:
    op.drop_index("ix_reachability_changes_time", table_name="reachability_changes")
    op.drop_table("reach_days")
