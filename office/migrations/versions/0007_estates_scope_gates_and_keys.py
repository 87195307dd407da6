"""Estates as a real scope: gates are named within their estate, other estates' slip keys
go to the gates, staff work for one or more estates.

- gates: keyed (estate, gate_id), not gate_id alone, so estates west and default may each have
  a gate "north" (`office add-gate north --estate west` failed once default had one).
- events and held_events: a row is its gate's (estate, gate_id, seq); held_events gains the
  estate (filled from the gate that sent it).
- flags: a dedupe key begins with its estate, so that a gate "north" of one estate cannot
  silence the same flag of another estate's "north".
- other_estate_keys (replicated): other estates' public slip keys, so a gate refuses a genuine
  slip of another estate with its own reason (slip.other_estate).
- staff_estates: the estates each staff member works for (filled from staff.estate).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

FROZEN once released: written out here, not imported from office/schema.py.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _gates(key: tuple[str, ...]) -> sa.Table:
    return sa.Table(
        "gates", sa.MetaData(),
        sa.Column("gate_id", sa.String(6), nullable=False),
        sa.Column("estate", sa.String(32), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("head_seq", sa.BigInteger, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("last_seen", sa.String(40)),
        sa.Column("heartbeat", sa.Text),
        sa.PrimaryKeyConstraint(*key, name="gates_pkey"),
    )


def _events(key: tuple[str, ...]) -> sa.Table:
    return sa.Table(
        "events", sa.MetaData(),
        sa.Column("gate_id", sa.String(6), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False, autoincrement=False),
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
        sa.PrimaryKeyConstraint(*key, name="events_pkey"),
        sa.Index("events_by_estate_at", "estate", "at"),
    )


def _held_events(key: tuple[str, ...]) -> sa.Table:
    return sa.Table(
        "held_events", sa.MetaData(),
        sa.Column("gate_id", sa.String(6), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("estate", sa.String(32), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint(*key, name="held_events_pkey"),
    )


def _primary_key(old: sa.Table, new_key: list[str]) -> None:
    """Re-key a table in place: SQLite copies it (from its definition written out above),
    PostgreSQL swaps the constraint."""
    name = old.name
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(name, recreate="always", copy_from=old) as batch:
            batch.drop_constraint(f"{name}_pkey", type_="primary")
            batch.create_primary_key(f"{name}_pkey", new_key)
    else:
        op.drop_constraint(f"{name}_pkey", name, type_="primary")
        op.create_primary_key(f"{name}_pkey", name, new_key)


def upgrade() -> None:
    _primary_key(_gates(("gate_id",)), ["estate", "gate_id"])
    _primary_key(_events(("gate_id", "seq")), ["estate", "gate_id", "seq"])
    with op.batch_alter_table("held_events") as batch:
        batch.add_column(sa.Column("estate", sa.String(32), nullable=False, server_default=""))
    op.execute("UPDATE held_events SET estate = COALESCE((SELECT gates.estate FROM gates "
               "WHERE gates.gate_id = held_events.gate_id), '')")
    _primary_key(_held_events(("gate_id", "seq")), ["estate", "gate_id", "seq"])
    op.execute("UPDATE flags SET dedupe_key = estate || ':' || dedupe_key")
    op.create_table(
        "other_estate_keys",
        sa.Column("estate", sa.String(32), primary_key=True),
        sa.Column("key_id", sa.String(8), primary_key=True),
        sa.Column("key_estate", sa.String(32), nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
    )
    op.create_table(
        "staff_estates",
        sa.Column("username", sa.String(32), primary_key=True),
        sa.Column("estate", sa.String(32), primary_key=True),
    )
    op.execute("INSERT INTO staff_estates (username, estate) SELECT username, estate FROM staff")


def downgrade() -> None:
    op.drop_table("staff_estates")
    op.drop_table("other_estate_keys")
    op.execute("UPDATE flags SET dedupe_key = SUBSTR(dedupe_key, LENGTH(estate) + 2) "
               "WHERE SUBSTR(dedupe_key, 1, LENGTH(estate) + 1) = estate || ':'")
    _primary_key(_held_events(("estate", "gate_id", "seq")), ["gate_id", "seq"])
    with op.batch_alter_table("held_events") as batch:
        batch.drop_column("estate")
    _primary_key(_events(("estate", "gate_id", "seq")), ["gate_id", "seq"])
    _primary_key(_gates(("estate", "gate_id")), ["gate_id"])
