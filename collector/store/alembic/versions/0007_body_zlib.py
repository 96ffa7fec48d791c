"""Report bodies kept compressed: a nullable ``reports.body_zlib`` beside ``body``.

New rows keep the body (without its software list) zlib-compressed there and
an empty ``body``; rows stored before keep their text in ``body`` and are read
as they are (store/bodies.py), so upgrading rewrites nothing.

Revision ID: 0007_body_zlib
Revises: 0006_okr_history
Create Date: 2026-12-06
"""
import zlib

import sqlalchemy as sa
from alembic import op

revision = "0007_body_zlib"
down_revision = "0006_okr_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reports", sa.Column("body_zlib", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT report_id, body_zlib FROM reports WHERE body_zlib IS NOT NULL")).fetchall()
    for report_id, packed in rows:
        conn.execute(sa.text("UPDATE reports SET body = :b WHERE report_id = :r"),
                     {"b": zlib.decompress(packed).decode("utf-8"), "r": report_id})
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("body_zlib")
