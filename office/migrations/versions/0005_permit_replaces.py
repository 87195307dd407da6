"""A replacement card names the lost or revoked permit it replaces (permits.replaces).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

FROZEN once released: written out here, not imported from office/schema.py.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("permits") as batch:
        batch.add_column(sa.Column("replaces", sa.String(32), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("permits") as batch:
        batch.drop_column("replaces")
