"""Per-unit counts of active devices kept at ingest, and an index for each unit's newest receipt.

/metrics and the overview counted verdicts, failed rules, applications and
endpoint outcomes by reading every active device's rows on each read: time
that grew with the fleet (2 s per scrape at 50,000 devices). ``unit_counts``
holds those counts per unit and day of last report, updated by ingest in the
report's transaction (collector/store/counts.py), so a read adds up a few
thousand rows whatever the number of devices. ``devices.counted`` remembers
what each device added. Two covering indexes let the desks and the verdict
history be read from indexes alone (the overview's history read in half the
time); the one on verdict_changes starts with device_id, so it replaces the
index on that column alone. Existing devices are counted by
``counts.backfill`` when the store is next opened (collector/store/engine.py),
with the code that counts new reports.

Revision ID: 0003_unit_counts
Revises: 0002_tokens, 0002_migration, 0002_reachability, 0002_storage, 0002_endpoint_index
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_unit_counts"
down_revision = ("0002_tokens", "0002_migration", "0002_reachability", "0002_storage", "0002_endpoint_index")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unit_counts",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("ward_code", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("devices", sa.Integer, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    op.add_column("devices", sa.Column("counted", sa.JSON, nullable=True))
    op.create_index("ix_devices_ward_received", "devices", ["ward_code", "last_received_at"])
    op.create_index("ix_devices_desk", "devices", ["ward_code", "hostname", "last_collected_at", "device_id"])
    op.create_index("ix_verdict_changes_device_time", "verdict_changes", ["device_id", "changed_at", "id", "to_status"])
    op.drop_index("ix_verdict_changes_device_id", "verdict_changes")


def downgrade() -> None:
    op.create_index("ix_verdict_changes_device_id", "verdict_changes", ["device_id"])
    op.drop_index("ix_verdict_changes_device_time", "verdict_changes")
    op.drop_index("ix_devices_desk", "devices")
    op.drop_index("ix_devices_ward_received", "devices")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("counted")
    op.drop_table("unit_counts")
