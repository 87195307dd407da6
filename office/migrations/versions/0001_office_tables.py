"""The office tables as the pre-Alembic code created them (its schema_version 1), minus schema_version.

Revision ID: 0001
Revises:
Create Date: 2026-12-01

FROZEN: the columns are written out here, not imported from office/schema.py. A database
made by the old ``metadata.create_all`` code is stamped at this revision (office/db.py).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "estates",
        sa.Column("estate_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("change_seq", sa.BigInteger, nullable=False),
        sa.Column("epoch", sa.String(32), nullable=False),
    )
    op.create_table(
        "changes",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("estate", sa.String(32), nullable=False),
        sa.Column("tbl", sa.String(32), nullable=False),
        sa.Column("pk", sa.Text, nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("body", sa.Text),
        sa.UniqueConstraint("estate", "tbl", "pk", name="changes_one_per_row"),
    )
    op.create_index("changes_by_estate_seq", "changes", ["estate", "seq"])
    op.create_table(
        "units",
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("unit_id", sa.String(10), primary_key=True),
        sa.Column("building", sa.Text, nullable=False),
        sa.Column("room", sa.Text, nullable=False),
        sa.Column("unpaid_fees", sa.Integer, nullable=False),
    )
    op.create_table(
        "permits",
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("permit_id", sa.String(32), primary_key=True),
        sa.Column("card_uid", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("holder_name", sa.Text, nullable=False),
        sa.Column("id_masked", sa.Text, nullable=False),
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("photo", sa.String(64), nullable=False),
        sa.Column("phone", sa.Text, nullable=False),
        sa.Column("unit_id", sa.String(10), nullable=False),
        sa.Column("valid_from", sa.String(40), nullable=False),
        sa.Column("valid_until", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("permits_by_card", "permits", ["estate", "card_uid"])
    op.create_table(
        "slips",
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("slip_id", sa.String(10), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("unit_id", sa.String(10), nullable=False),
        sa.Column("applicant_name", sa.Text, nullable=False),
        sa.Column("applicant_phone", sa.Text, nullable=False),
        sa.Column("mover_name", sa.Text, nullable=False),
        sa.Column("mover_id_masked", sa.Text, nullable=False),
        sa.Column("mover_id_hash", sa.String(64), nullable=False),
        sa.Column("mover_photo", sa.String(64), nullable=False),
        sa.Column("mover_permit_id", sa.String(32), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("valid_from", sa.String(40), nullable=False),
        sa.Column("valid_until", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exit_gate_id", sa.String(6), nullable=False),
        sa.Column("approvals", sa.Text, nullable=False),
        sa.Column("items_digest", sa.String(16), nullable=False),
    )
    op.create_table(
        "slip_items",
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("slip_id", sa.String(10), primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
    )
    op.create_table(
        "guards",
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("guard_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("badge_uid", sa.String(64), nullable=False),
        sa.Column("pin_hash", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Integer, nullable=False),
    )
    op.create_table(
        "signing_keys",
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("key_id", sa.String(8), primary_key=True),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("revoked", sa.Integer, nullable=False),
    )
    op.create_table(
        "rules",
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "consumed_slips",
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("slip_id", sa.String(10), primary_key=True),
        sa.Column("gate_id", sa.String(6), primary_key=True),
        sa.Column("at", sa.String(40), nullable=False),
    )
    op.create_table(
        "photos",
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("photo_id", sa.String(64), primary_key=True),
        sa.Column("mime", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "gates",
        sa.Column("gate_id", sa.String(6), primary_key=True),
        sa.Column("estate", sa.String(32), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("head_seq", sa.BigInteger, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("last_seen", sa.String(40)),
        sa.Column("heartbeat", sa.Text),
    )
    op.create_table(
        "events",
        sa.Column("gate_id", sa.String(6), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("estate", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("clock_synced", sa.Integer, nullable=False),
        sa.Column("guard_id", sa.Text, nullable=False),
        sa.Column("card_uid", sa.Text, nullable=False),
        sa.Column("permit_id", sa.Text, nullable=False),
        sa.Column("slip_id", sa.Text, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
    )
    op.create_index("events_by_estate_at", "events", ["estate", "at"])
    op.create_table(
        "held_events",
        sa.Column("gate_id", sa.String(6), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "flags",
        sa.Column("flag_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("estate", sa.String(32), nullable=False),
        sa.Column("gate_id", sa.String(6), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("seq", sa.BigInteger),
        sa.Column("slip_id", sa.String(10), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
        sa.Column("raised_at", sa.String(40), nullable=False),
        sa.Column("resolved_at", sa.String(40)),
    )


def downgrade() -> None:
    for table in ("flags", "held_events", "events", "gates", "photos", "consumed_slips", "rules", "signing_keys",
                  "guards", "slip_items", "slips", "permits", "units", "changes", "estates"):
        op.drop_table(table)
