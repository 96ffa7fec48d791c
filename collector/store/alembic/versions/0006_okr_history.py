"""OKR history: each device's reach of the HDC over time and each key result's value per ISO week; the one head
again (merges 0004_register and 0005_retention).

The reachability table keeps only each device's last check, so a unit's link
to the HDC repaired on a known day could not close its work item on that day.
Ingest now appends a row when a device's reach changes; an existing store
starts the history from each device's last checks. Key results kept no past
values; one row per key result and week now gives their weekly history.
Each unit gets its person responsible and their contact (a units sheet).

Revision ID: 0006_okr_history
Revises: 0004_register, 0005_retention
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_okr_history"
down_revision = ("0004_register", "0005_retention")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reachability_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False),
        sa.Column("reached", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "key_result_weeks",
        sa.Column("key_result", sa.String(200), primary_key=True),
        sa.Column("week", sa.String(8), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "unit_contacts",
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), primary_key=True),
        sa.Column("responsible", sa.String(256), nullable=False),
        sa.Column("contact", sa.String(256), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_reachability_changes_device_id", "reachability_changes", ["device_id"])
    op.create_index("ix_reachability_changes_unit_time", "reachability_changes", ["ward_code", "changed_at"])
    # A device reached the HDC at its last check when every endpoint it checked answered.
    op.execute("INSERT INTO reachability_changes (device_id, ward_code, reached, changed_at) "
               "SELECT device_id, ward_code, MIN(CASE WHEN ok THEN 1 ELSE 0 END) = 1, MAX(checked_at) "
               "FROM reachability GROUP BY device_id, ward_code")


def downgrade() -> None:
    op.drop_table("unit_contacts")
    op.drop_table("key_result_weeks")
    op.drop_table("reachability_changes")
