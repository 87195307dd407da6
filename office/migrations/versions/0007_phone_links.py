"""Links that show a slip's QR code on the resident's phone (phone_links).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

FROZEN once released: written out here, not imported from office/console/schema.py.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_links",
        sa.Column("link_hash", sa.String(64), primary_key=True),
        sa.Column("estate", sa.String(32), nullable=False),
        sa.Column("slip_id", sa.String(10), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("device_hash", sa.String(64)),
        sa.Column("opened_at", sa.String(40)),
        sa.Column("revoked", sa.Integer, nullable=False),
    )
    op.create_index("phone_links_by_slip", "phone_links", ["estate", "slip_id"])


def downgrade() -> None:
    op.drop_index("phone_links_by_slip", "phone_links")
    op.drop_table("phone_links")
