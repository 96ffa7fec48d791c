"""Each device's manufacturer and model, kept from its latest report.

Network and power equipment read over SNMP (report schema 3) is told apart
by vendor and model, not by CPU and memory, and the unit's device list shows
them. Existing rows stay empty until their device reports again.

Revision ID: 0004_device_vendor
Revises: 0003_unit_counts
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_device_vendor"
down_revision = "0003_unit_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("manufacturer", sa.String(128), nullable=True))
    op.add_column("devices", sa.Column("model", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("model")
        batch.drop_column("manufacturer")
