"""Each unit's verdict history and work items kept at ingest: ``unit_days`` and ``shared_desks``.

The overview rebuilt its burn-down, forecasts and work-item tallies from every
device's verdict changes on each composition: seconds at 150,000 devices.
Ingest now keeps, per unit and Hanoi day, the devices entering and leaving
each verdict, the days of their latest reports, first verdicts and work
items (collector/store/unit_days.py), and the desks that ever held two
devices. The rows of a store judged before are filled from its stored
changes by ``unit_days.backfill`` when the store is next opened
(collector/store/engine.py), with the code that keeps new reports.

Revision ID: 0008_unit_days
Revises: 0007_body_zlib
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_unit_days"
down_revision = "0007_body_zlib"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unit_days",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("ward_code", sa.String(16), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("devices", sa.Integer, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "shared_desks",
        sa.Column("ward_code", sa.String(16), primary_key=True),
        sa.Column("hostname", sa.String(255), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("shared_desks")
    op.drop_table("unit_days")
