"""The staff console's tables (the pre-Alembic code's schema_version 2).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

FROZEN: written out here, not imported from office/console/schema.py.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("username", sa.String(32), primary_key=True),
        sa.Column("estate", sa.String(32), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("active", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("sessions_after", sa.String(40)),
    )
    op.create_table(
        "console_secrets",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "console_audit",
        sa.Column("audit_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("estate", sa.String(32), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("username", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
    )
    op.create_index("console_audit_by_estate_at", "console_audit", ["estate", "at"])


def downgrade() -> None:
    op.drop_index("console_audit_by_estate_at", table_name="console_audit")
    for table in ("console_audit", "console_secrets", "staff"):
        op.drop_table(table)
