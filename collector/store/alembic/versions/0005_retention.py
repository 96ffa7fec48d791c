"""An index of reports by software list, so pruning finds the lists no kept report refers to.

Pruning (store/retention.py) removes a software list with the last report
that refers to it; without this index each such check, and SQLite's own
foreign-key check on the delete, reads every report.

Revision ID: 0005_retention
Revises: 0004_device_vendor
Create Date: 2026-12-06
"""
from alembic import op

revision = "0005_retention"
down_revision = "0004_device_vendor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reports_software_sha256", "reports", ["software_sha256"])


def downgrade() -> None:
    op.drop_index("ix_reports_software_sha256", table_name="reports")
