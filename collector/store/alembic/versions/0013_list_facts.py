"""What ingest derives from each stored software list, kept beside it: ``list_facts``.

A report sent with only its list's digest needs the list's catalog
applications and length, and to know the list valid; a process that had not
seen the list read, inflated and parsed it from ``software_lists`` (a
10 ms repeat instead of 3). The facts are now stored once per list, keyed by
the catalog's and the schema's fingerprints (collector/store/list_facts.py),
so any process of any collector takes such a repeat without the list. The
table starts empty: a store's existing lists get their facts the next time a
report carries them (the first digest-only repeat of each is taken whole).

Revision ID: 0013_list_facts
Revises: 0012_device_work
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_list_facts"
down_revision = "0012_device_work"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "list_facts",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("catalog_fingerprint", sa.String(64), primary_key=True),
        sa.Column("schema_fingerprint", sa.String(64), primary_key=True),
        sa.Column("apps", sa.JSON, nullable=False),
        sa.Column("software_count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("list_facts")
