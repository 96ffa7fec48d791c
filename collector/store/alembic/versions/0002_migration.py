"""Cloud migration tracking: operators' declarations and recorded changes of inferred state.

Revision ID: 0002_migration
Revises: 0001
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_migration"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "migration_declarations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("declared_by", sa.String(128), nullable=False),
        sa.Column("declared_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("reference", sa.String(512), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
    )
    op.create_table(
        "migration_observations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False, index=True),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("installed_devices", sa.Integer, nullable=False),
        sa.Column("endpoint", sa.String(16), nullable=False),
        sa.Column("observed_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("migration_observations")
    op.drop_table("migration_declarations")
