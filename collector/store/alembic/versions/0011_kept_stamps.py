"""A stamp per unit of the tables kept by day: ``kept_stamps``.

Composing the overview read every row of ``unit_days``, ``desk_days`` and
``reach_days`` each time, although between two compositions only the units
where reports landed have new rows. Each unit now has a random stamp per
kept table, drawn anew whenever its rows change (collector/store/kept.py),
so a composition reads and works out again only the units whose stamp
moved. Units with rows get their first stamps here.

Revision ID: 0011_kept_stamps
Revises: 0010_reach_days
Create Date: 2026-12-06
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0011_kept_stamps"
down_revision = "0010_reach_days"
branch_labels = None
depends_on = None


def upgrade() -> None:
    stamps = op.create_table(
        "kept_stamps",
        sa.Column("kept", sa.String(16), primary_key=True),
        sa.Column("ward_code", sa.String(16), primary_key=True),
        sa.Column("stamp", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    conn = op.get_bind()
    units = {("unit_days", ward) for table in ("unit_days", "desk_days")
             for (ward,) in conn.execute(sa.text(f"SELECT DISTINCT ward_code FROM {table}"))}
    units |= {("reach_days", ward) for (ward,) in conn.execute(sa.text("SELECT DISTINCT ward_code FROM reach_days"))}
    if units:
        op.bulk_insert(stamps, [{"kept": kept, "ward_code": ward, "stamp": secrets.randbits(62)}
                                for kept, ward in sorted(units)])


def downgrade() -> None:
    op.drop_table("kept_stamps")
