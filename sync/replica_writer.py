"""Apply pulled changes to the gate's replica, a few hundred rows per transaction.

The pull cursor lives in ``replica_meta`` and moves in the same transaction as the
rows it covers, so a crash at any point leaves the replica consistent with its cursor
and the next pull resumes exactly there. Transactions stay short (``rows_per_commit``)
because the kiosk reads this file between frames.
"""
from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from kiosk.store import ESTATE_META, REPLICA_TABLES, Replica
from sync.errors import SyncError

PULL_CURSOR = "pull_cursor"
PUSH_CURSOR = "push_cursor"
OFFICE_EPOCH = "office_epoch"
LAST_PULL_AT = "last_pull_at"
BINARY_COLUMNS: dict[str, tuple[str, ...]] = {"photos": ("data",)}
#: While a gate pulls a new office database (new epoch) from zero: the key of every row it held
#: before, struck off as the office sends that row again. What is left when the pull is complete
#: the office no longer holds (a restored backup lost it): removed, so the replica converges.
RESYNC_TABLE = "resync_stale"
#: Tables swept after such a pull. Not ``consumed_slips``: each of those rows is a release some gate
#: recorded, true whatever the office lost, and that gate sends it again; dropping it meanwhile
#: would let a used slip through here.
SWEPT_TABLES: tuple[str, ...] = tuple(t for t in REPLICA_TABLES if t != "consumed_slips")


def _key_text(values: Iterable[Any]) -> str:
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))


class ReplicaWriter:
    def __init__(self, replica: Replica) -> None:
        self.replica = replica
        self.conn: sqlite3.Connection = replica.db.conn
        # Checkpoint after each page, outside any transaction, rather than inside whichever
        # commit crosses the WAL threshold: keeps every write transaction short.
        self.conn.execute("PRAGMA wal_autocheckpoint=0")
        # The replica is derived data: after a power cut it may lose its last commits, but WAL
        # keeps rows and cursor together, so the next pull simply fetches them again. No fsync
        # per commit, then (the exit log, which is the record, keeps synchronous=FULL).
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.columns = {t: [r[1] for r in self.conn.execute(f"pragma table_info([{t}])")] for t in REPLICA_TABLES}
        #: A column the office did not send (an office older than this gate) takes the replica's default.
        self.defaults = {t: {r[1]: _sql_literal(r[4]) for r in self.conn.execute(f"pragma table_info([{t}])")}
                         for t in REPLICA_TABLES}
        #: Longest write transaction so far (seconds): the kiosk may wait this long at worst (make bench reports it).
        self.longest_commit_s = 0.0
        #: Most pulled changes written in one transaction so far: what bounds that wait, whatever the machine.
        self.largest_commit_changes = 0
        self.resyncing = self.conn.execute(
            "select 1 from sqlite_master where type = 'table' and name = ?", (RESYNC_TABLE,)).fetchone() is not None
        self._upsert_sql: dict[str, str] = {}
        self._delete_sql: dict[str, str] = {}
        for table, pks in REPLICA_TABLES.items():
            cols = self.columns[table]
            updates = ", ".join(f"[{c}] = excluded.[{c}]" for c in cols if c not in pks) or f"[{pks[0]}] = excluded.[{pks[0]}]"
            self._upsert_sql[table] = (
                f"insert into [{table}] ({', '.join(f'[{c}]' for c in cols)}) values ({', '.join('?' for _ in cols)}) "
                f"on conflict({', '.join(f'[{k}]' for k in pks)}) do update set {updates}")
            self._delete_sql[table] = f"delete from [{table}] where " + " and ".join(f"[{k}] = ?" for k in pks)

    def meta(self, name: str) -> str | None:
        row = self.conn.execute("select value from replica_meta where name = ?", (name,)).fetchone()
        return row[0] if row else None

    def int_meta(self, name: str) -> int:
        return int(self.meta(name) or 0)

    def _set_meta(self, name: str, value: str) -> None:
        self.conn.execute("insert into replica_meta (name, value) values (?, ?) "
                          "on conflict(name) do update set value = excluded.value", (name, value))

    def set_meta(self, values: dict[str, str]) -> None:
        """Write cursors or marks in one short transaction."""
        def body() -> None:
            for k, v in values.items():
                self._set_meta(k, v)
        self._transaction(body)

    def _transaction(self, body: Any) -> None:
        try:
            self.conn.execute("begin immediate")
        except sqlite3.OperationalError as exc:
            raise SyncError(f"replica is busy: {exc}") from None
        started = time.perf_counter()
        try:
            body()
            self.conn.execute("commit")
        except BaseException:
            self.conn.execute("rollback")
            raise
        self.longest_commit_s = max(self.longest_commit_s, time.perf_counter() - started)

    def _row_values(self, table: str, row: dict[str, Any]) -> list[Any]:
        for name in BINARY_COLUMNS.get(table, ()):
            if row.get(name) is not None:
                row[name] = base64.b64decode(row[name])
        defaults = self.defaults[table]
        return [row[c] if row.get(c) is not None else defaults[c] for c in self.columns[table]]

    def _apply_chunk(self, changes: list[dict[str, Any]]) -> None:
        upserts: dict[str, list[list[Any]]] = {}
        deletes: dict[str, list[list[Any]]] = {}
        sent_again: list[tuple[str, str]] = []
        for ch in changes:
            table = ch["table"]
            if table not in REPLICA_TABLES:
                continue  # a table this gate's version does not know: skip it, keep the cursor moving
            if self.resyncing:
                sent_again.append((table, _key_text(ch["key"])))
            if ch["op"] == "delete":
                deletes.setdefault(table, []).append(list(ch["key"]))
            else:
                upserts.setdefault(table, []).append(self._row_values(table, dict(ch["row"])))
        if sent_again:
            self.conn.executemany(f"delete from {RESYNC_TABLE} where tbl = ? and pk = ?", sent_again)
        # The office sends at most one change per row in a page, so grouping by table keeps the outcome.
        for table, rows in deletes.items():
            self.conn.executemany(self._delete_sql[table], rows)
        for table, rows in upserts.items():
            self.conn.executemany(self._upsert_sql[table], rows)

    def apply_page(self, changes: list[dict[str, Any]], last_seq: int, epoch: str, pulled_at: str,
                   rows_per_commit: int, estate: str = "") -> None:
        """Apply one pulled page in small transactions, each moving the cursor past its rows.
        ``estate`` is the gate's estate as the office names it (kept with the rows: slips are
        checked against it); an office that does not say leaves it as it was."""
        marks = {OFFICE_EPOCH: epoch, **({ESTATE_META: estate} if estate else {})}
        chunks: Iterable[list[dict[str, Any]]] = (
            changes[i:i + rows_per_commit] for i in range(0, len(changes), max(1, rows_per_commit)))
        for chunk in chunks:
            def body(chunk: list[dict[str, Any]] = chunk) -> None:
                self._apply_chunk(chunk)
                self._set_meta(PULL_CURSOR, str(chunk[-1]["seq"]))
                for name, value in marks.items():
                    self._set_meta(name, value)
            try:
                self._transaction(body)
            except (KeyError, TypeError, ValueError) as exc:
                raise SyncError(f"office sent a change the replica cannot take: {exc!r}") from None
            self.largest_commit_changes = max(self.largest_commit_changes, len(chunk))
        self.set_meta({PULL_CURSOR: str(max(last_seq, self.int_meta(PULL_CURSOR))), **marks,
                       LAST_PULL_AT: pulled_at})
        if changes:
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def restart_from_zero(self, epoch: str) -> None:
        """The office database is a different one (new epoch: another office, or a restored backup): pull
        everything again, and push the exit log from its start (the office answers what it holds as
        duplicates and takes the rest). The rows held now stay readable for the kiosk during the pull;
        those the office does not send again are removed when it is complete (``finish_resync``)."""
        def body() -> None:
            self.conn.execute(f"create table if not exists {RESYNC_TABLE} "
                              "(tbl text not null, pk text not null, primary key (tbl, pk)) without rowid")
            self.conn.execute(f"delete from {RESYNC_TABLE}")
            for table in SWEPT_TABLES:
                keys = ", ".join(f"[{k}]" for k in REPLICA_TABLES[table])
                rows = self.conn.execute(f"select {keys} from [{table}]").fetchall()
                self.conn.executemany(f"insert or ignore into {RESYNC_TABLE} (tbl, pk) values (?, ?)",
                                      [(table, _key_text(r)) for r in rows])
            for name, value in {PULL_CURSOR: "0", PUSH_CURSOR: "0", OFFICE_EPOCH: epoch}.items():
                self._set_meta(name, value)
        self._transaction(body)
        self.resyncing = True

    def finish_resync(self) -> int:
        """After a complete pull from zero: remove the rows the office did not send again; return how many."""
        if not self.resyncing:
            return 0
        removed = 0

        def body() -> None:
            nonlocal removed
            for table, pk in self.conn.execute(f"select tbl, pk from {RESYNC_TABLE}").fetchall():
                if table in SWEPT_TABLES:
                    removed += self.conn.execute(self._delete_sql[table], json.loads(pk)).rowcount
            self.conn.execute(f"drop table {RESYNC_TABLE}")
        self._transaction(body)
        self.resyncing = False
        return removed


def _sql_literal(text: str | None) -> Any:
    """A column default as SQLite reports it (``''``, ``'x'``, ``0``) as a Python value; None for none."""
    if text is None or text.upper() == "NULL":
        return None
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None
