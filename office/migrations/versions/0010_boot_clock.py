"""Exit-log rows carry their gate's boot id and boot time; rows recorded before the clock was
synced are re-dated from the first synced row or heartbeat of the same boot (boot_anchors),
the gate's own time kept in ``at``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

FROZEN once released: written out here, not imported from office/schema.py.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("boot_id", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("boottime_ms", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("at_redated", sa.String(40), nullable=True))
        batch.add_column(sa.Column("redated_by", sa.String(40), nullable=True))
    op.create_index("events_by_estate_redated", "events", ["estate", "at_redated"])
    op.create_index("events_by_boot", "events", ["estate", "gate_id", "boot_id"])
    op.create_table(
        "boot_anchors",                      # gates are named within their estate (0007)
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("gate_id", sa.String(6), primary_key=True),
        sa.Column("boot_id", sa.String(36), primary_key=True),
        sa.Column("boottime_ms", sa.BigInteger, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("boot_anchors")
    op.drop_index("events_by_boot", table_name="events")
    op.drop_index("events_by_estate_redated", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("redated_by")
        batch.drop_column("at_redated")
        batch.drop_column("boottime_ms")
        batch.drop_column("boot_id")
