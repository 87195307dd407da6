"""The morning archive's ticks: which released slips' paper copies reached the front desk.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

FROZEN once released: written out here, not imported from office/console/schema.py.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive_ticks",
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("gate_id", sa.String(6), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("slip_id", sa.String(10), nullable=False),
        sa.Column("ticked_by", sa.String(32), nullable=False),
        sa.Column("ticked_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("archive_ticks")
