"""Commercial tenants' release memos (租户室内物品放行备忘表, R-WK-033) with their specimen seal and
signature images, the units marked commercial, and each commercial slip's seal check. All office-only.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

FROZEN once released: written out here, not imported from office/schema.py.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_memos",
        sa.Column("memo_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("estate", sa.String(32), nullable=False),
        sa.Column("unit_id", sa.String(10), nullable=False),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("people", sa.Text, nullable=False),
        sa.Column("signed_on", sa.String(10), nullable=False),
        sa.Column("valid_until", sa.String(10), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("withdrawn_at", sa.String(40), nullable=True),
        sa.Column("withdrawn_by", sa.String(32), nullable=True),
    )
    op.create_index("tenant_memos_by_unit", "tenant_memos", ["estate", "unit_id"])
    op.create_table(
        "memo_images",
        sa.Column("image_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("estate", sa.String(32), nullable=False),
        sa.Column("memo_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("mime", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_index("memo_images_by_memo", "memo_images", ["estate", "memo_id"])
    op.create_table(
        "commercial_units",
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("unit_id", sa.String(10), primary_key=True),
        sa.Column("marked_at", sa.String(40), nullable=False),
        sa.Column("marked_by", sa.String(32), nullable=False),
    )
    op.create_table(
        "slip_memo_checks",
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("slip_id", sa.String(10), primary_key=True),
        sa.Column("memo_id", sa.Integer, nullable=False),
        sa.Column("checked_by", sa.Text, nullable=False),
        sa.Column("checked_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slip_memo_checks")
    op.drop_table("commercial_units")
    op.drop_index("memo_images_by_memo", table_name="memo_images")
    op.drop_table("memo_images")
    op.drop_index("tenant_memos_by_unit", table_name="tenant_memos")
    op.drop_table("tenant_memos")
