"""The console's sign-in lock-out, kept in the database: a count of wrong passwords per username.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

FROZEN once released: written out here, not imported from office/console/schema.py.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sign_in_failures")
