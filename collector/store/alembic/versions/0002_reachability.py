"""Reachability step by step (report schema v2): connect time, TLS handshake, HTTP status, failed step.

Rows from version-1 reports keep these columns empty: v1 said only whether
an endpoint answered and how fast.

Revision ID: 0002_reachability
Revises: 0001
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_reachability"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = ("connect_ms", "tls_ok", "http_status", "failed_step")


def upgrade() -> None:
    with op.batch_alter_table("reachability") as batch:
        batch.add_column(sa.Column("connect_ms", sa.Float, nullable=True))
        batch.add_column(sa.Column("tls_ok", sa.Boolean, nullable=True))
        batch.add_column(sa.Column("http_status", sa.Integer, nullable=True))
        batch.add_column(sa.Column("failed_step", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reachability") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
