"""Every write to a replicated table goes through here, with its change row, in one transaction.

The ``changes`` table keeps the latest change of each replicated row under a sequence
number taken from the estate's counter. Taking that number locks the estate row, so
writers in one estate are serialised and a sequence number is never visible before a
smaller one: a gate that pulls ``seq > cursor`` cannot skip a change. Keeping only the
latest change per row bounds a first pull by the number of rows, not of edits ever made.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, delete, insert, select, update

from office import schema
from office.errors import NotFound, OfficeError

#: Binary columns travel as base64 text in the change body.
BINARY_COLUMNS: dict[str, tuple[str, ...]] = {"photos": ("data",)}


def key_columns(table: Table) -> list[str]:
    """The row's key inside an estate (the table's primary key without ``estate``)."""
    return [c.name for c in table.primary_key.columns if c.name != "estate"]


def _scalar_default(column: Any) -> Any:
    default = column.default
    return default.arg if default is not None and getattr(default, "is_scalar", False) else None


def _body(table: Table, row: Mapping[str, Any]) -> str:
    # A column the caller left out has the value the database gave it: its scalar default.
    out = {c.name: row[c.name] if c.name in row else _scalar_default(c) for c in table.columns if c.name != "estate"}
    for name in BINARY_COLUMNS.get(table.name, ()):
        if out.get(name) is not None:
            out[name] = base64.b64encode(bytes(out[name] or b"")).decode("ascii")
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def replica_row(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of ``table`` as a pull sends it to gates (the change body): what a gate's replica must hold."""
    out: dict[str, Any] = json.loads(_body(table, row))
    return out


def _pk(table: Table, row: Mapping[str, Any]) -> str:
    return json.dumps([row[k] for k in key_columns(table)], ensure_ascii=False, separators=(",", ":"))


def lock_estate(conn: Connection, estate: str) -> None:
    """Serialise this transaction with every other writer of ``estate`` from here to commit.

    Call it before reading what a write depends on (the next slip number, an earlier use
    of a slip): on PostgreSQL, statements after the lock see what the previous holder
    committed; on SQLite the write lock does the same.
    """
    e = schema.estates
    done = conn.execute(update(e).where(e.c.estate_id == estate).values(change_seq=e.c.change_seq))
    if done.rowcount != 1:
        raise OfficeError(f"estate {estate!r} does not exist (run `gatepass office init`)")


def allocate(conn: Connection, estate: str, n: int) -> int:
    """Reserve ``n`` sequence numbers in ``estate``; return the first. Locks the estate row."""
    e = schema.estates
    done = conn.execute(update(e).where(e.c.estate_id == estate).values(change_seq=e.c.change_seq + n))
    if done.rowcount != 1:
        raise OfficeError(f"estate {estate!r} does not exist (run `gatepass office init`)")
    last = int(conn.execute(select(e.c.change_seq).where(e.c.estate_id == estate)).scalar_one())
    return last - n + 1


def _where_key(table: Table, estate: str, key: Mapping[str, Any]) -> Any:
    return and_(table.c.estate == estate, *[table.c[k] == key[k] for k in key_columns(table)])


def _record(conn: Connection, estate: str, table: Table, entries: Sequence[tuple[str, str, str | None]]) -> None:
    """Write (pk, op, body) change rows, replacing each row's previous change."""
    if not entries:
        return
    first = allocate(conn, estate, len(entries))
    c = schema.changes
    conn.execute(
        delete(c).where(and_(c.c.estate == estate, c.c.tbl == table.name, c.c.pk == bindparam("pk"))),
        [{"pk": pk} for pk, _, _ in entries],
    )
    conn.execute(insert(c), [
        {"seq": first + i, "estate": estate, "tbl": table.name, "pk": pk, "op": op, "body": body}
        for i, (pk, op, body) in enumerate(entries)
    ])


def put_rows(conn: Connection, estate: str, table: Table, rows: Iterable[Mapping[str, Any]], *, fresh: bool = False) -> int:
    """Insert or replace whole rows of a replicated table and record their changes.

    ``fresh`` says the rows are new (bulk loads): they are inserted without looking
    for an existing row, and a clash is an error rather than an overwrite.
    """
    rows = [dict(r, estate=estate) for r in rows]
    if not rows:
        return 0
    lock_estate(conn, estate)
    if fresh:
        conn.execute(insert(table), rows)
    else:
        for row in rows:
            values = {k: v for k, v in row.items() if k not in key_columns(table) and k != "estate"}
            done = conn.execute(update(table).where(_where_key(table, estate, row)).values(**values))
            if done.rowcount == 0:
                conn.execute(insert(table).values(**row))
    _record(conn, estate, table, [(_pk(table, r), "upsert", _body(table, r)) for r in rows])
    return len(rows)


def patch(conn: Connection, estate: str, table: Table, key: Mapping[str, Any], **values: Any) -> dict[str, Any]:
    """Change some columns of one existing row; return the row as it now is."""
    lock_estate(conn, estate)
    done = conn.execute(update(table).where(_where_key(table, estate, key)).values(**values))
    if done.rowcount == 0:
        shown = "/".join(str(key[k]) for k in key_columns(table))
        raise NotFound(f"no {table.name[:-1].replace('_', ' ')} {shown!r} in estate {estate!r}")
    row = dict(conn.execute(select(table).where(_where_key(table, estate, key))).mappings().one())
    _record(conn, estate, table, [(_pk(table, row), "upsert", _body(table, row))])
    return row


def remove_rows(conn: Connection, estate: str, table: Table, keys: Iterable[Mapping[str, Any]]) -> int:
    """Delete rows and leave a tombstone for each, so gates delete them too."""
    keys = list(keys)
    lock_estate(conn, estate)
    for key in keys:
        conn.execute(delete(table).where(_where_key(table, estate, key)))
    _record(conn, estate, table, [(_pk(table, k), "delete", None) for k in keys])
    return len(keys)


def get_row(conn: Connection, estate: str, table: Table, key: Mapping[str, Any]) -> dict[str, Any] | None:
    row = conn.execute(select(table).where(_where_key(table, estate, key))).mappings().first()
    return dict(row) if row is not None else None


def changes_since(conn: Connection, estate: str, since: int, limit: int) -> list[dict[str, Any]]:
    """One page of changes after ``since``, in sequence order, as the pull API sends them."""
    c = schema.changes
    rows = conn.execute(
        select(c.c.seq, c.c.tbl, c.c.pk, c.c.op, c.c.body)
        .where(and_(c.c.estate == estate, c.c.seq > since))
        .order_by(c.c.seq)
        .limit(limit)
    ).all()
    return [
        {"seq": int(r.seq), "table": r.tbl, "op": r.op, "key": json.loads(r.pk),
         "row": json.loads(r.body) if r.body is not None else None}
        for r in rows
    ]
