"""Proof attached to a slip at the front desk (receipt, invoice, authorisation letter, other):
office-only, never replicated to a gate.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

FROZEN once released: written out here, not imported from office/schema.py.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slip_attachments",
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("slip_id", sa.String(10), primary_key=True),
        sa.Column("n", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("mime", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.String(32), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slip_attachments")
