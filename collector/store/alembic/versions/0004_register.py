"""The equipment register: each unit's device counts and named assets, and the append-only log of their changes.

Readiness counted only the devices that reported, so a unit where one machine
of thirty had the agent looked as ready as one where all thirty passed. The
register says what each unit owns (and needs), so coverage, reporting devices
over expected ones, can hold the status back (inventory/equipment.py).

Revision ID: 0004_register
Revises: 0003_unit_counts
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op


revision = "0004_register"
down_revision = "0003_unit_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_counts",
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), primary_key=True),
        sa.Column("device_class", sa.String(32), primary_key=True),
        sa.Column("expected", sa.Integer, nullable=False),
        sa.Column("needed", sa.Integer, nullable=False),
    )
    op.create_table(
        "register_assets",
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), primary_key=True),
        sa.Column("asset_key", sa.String(300), primary_key=True),
        sa.Column("device_class", sa.String(32), nullable=False),
        sa.Column("asset_tag", sa.String(128), nullable=True),
        sa.Column("serial", sa.String(128), nullable=True),
        sa.Column("hostname", sa.String(255), nullable=True),
        sa.Column("location", sa.String(256), nullable=True),
        sa.Column("responsible", sa.String(256), nullable=True),
    )
    op.create_table(
        "register_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False),
        sa.Column("item", sa.String(320), nullable=False),
        sa.Column("before", sa.JSON, nullable=True),
        sa.Column("after", sa.JSON, nullable=True),
    )
    op.create_index("ix_register_changes_at", "register_changes", ["at"])
    op.create_index("ix_register_changes_ward_code", "register_changes", ["ward_code"])


def downgrade() -> None:
    op.drop_table("register_changes")
    op.drop_table("register_assets")
    op.drop_table("register_counts")
