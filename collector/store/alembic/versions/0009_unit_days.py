"""Each unit's verdict history and work items kept at ingest: ``unit_days`` and ``desk_days``.

The overview rebuilt its burn-down, forecasts and work-item tallies from every
device's verdict changes on each composition: seconds at 150,000 devices.
Ingest now keeps, per unit and Hanoi day, the devices entering and leaving
each verdict, the days of their latest reports, first verdicts and work
items (collector/store/unit_days.py), and what desks where a new machine
took over an old one's hostname change in them. The rows of a store judged before are filled from its stored
changes by ``unit_days.backfill`` when the store is next opened
(collector/store/engine.py), with the code that keeps new reports.

Revision ID: 0009_unit_days
Revises: 0008_contradiction_spans
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_unit_days"
down_revision = "0008_contradiction_spans"
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
        "desk_days",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("ward_code", sa.String(16), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("from_day", sa.Date, primary_key=True),
        sa.Column("until_day", sa.Date, primary_key=True),
        sa.Column("devices", sa.Integer, nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("desk_days")
    op.drop_table("unit_days")
