"""Change numbers are per estate: the changes table's key is (estate, seq), not seq alone.

Each estate hands out its own sequence numbers (estates.change_seq), so a second estate's
first change was number 1 again and clashed with the first estate's on the old global key:
`office init --estate west` after `office init` failed. (estate, seq) is also the order a
gate pulls in, so the separate (estate, seq) index goes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

FROZEN once released: written out here, not imported from office/schema.py.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _changes(primary: tuple[str, ...], *extra: sa.SchemaItem) -> sa.Table:
    return sa.Table(
        "changes", sa.MetaData(),
        sa.Column("seq", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("estate", sa.String(32), nullable=False),
        sa.Column("tbl", sa.String(32), nullable=False),
        sa.Column("pk", sa.Text, nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("body", sa.Text),
        sa.PrimaryKeyConstraint(*primary),
        sa.UniqueConstraint("estate", "tbl", "pk", name="changes_one_per_row"),
        *extra,
    )


def _rebuild(new: sa.Table) -> None:
    """Replace the changes table by ``new``, keeping every row (names of constraints stay free on PostgreSQL)."""
    bind = op.get_bind()
    rows = [dict(r) for r in bind.execute(sa.text("SELECT seq, estate, tbl, pk, op, body FROM changes")).mappings()]
    op.drop_table("changes")
    new.create(bind)
    if rows:
        bind.execute(sa.insert(new), rows)


def upgrade() -> None:
    _rebuild(_changes(("estate", "seq")))


def downgrade() -> None:
    _rebuild(_changes(("seq",), sa.Index("changes_by_estate_seq", "estate", "seq")))
