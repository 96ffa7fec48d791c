"""Contradiction spans: when each contradiction between a unit's declarations and its reports opened and closed.

Contradictions were computed as they stand now, so a settled one left no
trace and the 1/1/2026 milestone ("no open contradiction") could count only
open ones. The migration observer now keeps one row per contradiction while
it lasts (closed_at NULL) and dates its end when it is settled. An existing
store starts with no span: the contradictions open now are recorded at the
observer's next round.

Revision ID: 0008_contradiction_spans
Revises: 0007_body_zlib
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_contradiction_spans"
down_revision = "0007_body_zlib"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contradiction_spans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ward_code", sa.String(16), sa.ForeignKey("wards.code"), nullable=False),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_contradiction_spans_ward_code", "contradiction_spans", ["ward_code"])


def downgrade() -> None:
    op.drop_table("contradiction_spans")
