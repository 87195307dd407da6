"""Drop the pre-Alembic ``schema_version`` table: alembic_version records the revision now.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Only a database adopted from the old create_all code has it; a fresh one never did.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("schema_version"):
        op.drop_table("schema_version")


def downgrade() -> None:
    pass
