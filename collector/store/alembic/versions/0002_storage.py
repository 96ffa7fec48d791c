"""Software lists stored once per content, referenced from reports (see collector/store/bodies.py);
an index on devices.last_collected_at for the aggregates over active devices.

Reports stored before this revision keep their whole body and no reference;
readers join the parts only where a report has them, so both kinds read the same.

Revision ID: 0002_storage
Revises: 0001
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_storage"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "software_lists",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
    )
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("software_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("software_at", sa.Integer, nullable=True))
        batch.create_foreign_key("fk_reports_software_sha256", "software_lists", ["software_sha256"], ["sha256"])
    # Every aggregate reads the active devices (collector/queries.py: _active).
    op.create_index("ix_devices_last_collected_at", "devices", ["last_collected_at"])


def downgrade() -> None:
    op.drop_index("ix_devices_last_collected_at", "devices")
    # Put each list back into its reports' bodies before the lists go.
    conn = op.get_bind()
    import zlib

    rows = conn.execute(sa.text(
        "SELECT r.report_id, r.body, r.software_at, s.body FROM reports r "
        "JOIN software_lists s ON s.sha256 = r.software_sha256")).all()
    for report_id, body, at, packed in rows:
        text = body[:at] + zlib.decompress(packed).decode("utf-8") + body[at + len("null"):]
        conn.execute(sa.text("UPDATE reports SET body = :b WHERE report_id = :r"), {"b": text, "r": report_id})
    with op.batch_alter_table("reports") as batch:
        batch.drop_constraint("fk_reports_software_sha256", type_="foreignkey")
        batch.drop_column("software_at")
        batch.drop_column("software_sha256")
    op.drop_table("software_lists")
