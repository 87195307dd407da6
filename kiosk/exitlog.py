"""The exit log: append-only, hash-chained, durable before it is acknowledged.

Only the kiosk writes this file. Each row gets a UUID, this gate's next sequence
number and a hash over the previous row's hash and its own fields (domain/chain.py).
`synchronous=FULL` makes a committed release survive a power cut; triggers refuse
UPDATE and DELETE so that no code path can rewrite history. The sync daemon reads
rows after its own push cursor and never writes here.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database, Migrations

from domain.boottime import BootStamp
from domain.chain import GENESIS, first_break, seal
from domain.errors import LogChainError, StoreError
from domain.exitrow import CONSUMING_KINDS, ROW_NAMES, BadTime, EntryKind, ExitRow, LogEntry, parse_at
from kiosk.store import migrate, open_database

log_migrations = Migrations("gatepass.exitlog")


@log_migrations()
def m001_exit_log(db: Database) -> None:
    db.executescript(
        """
        create table exit_log (
            seq integer primary key,
            event_id text not null unique,
            gate_id text not null,
            kind text not null,
            at text not null,
            clock_synced integer not null,
            guard_id text not null default '',
            card_uid text not null default '',
            permit_id text not null default '',
            slip_id text not null default '',
            reasons text not null default '[]',
            detail text not null default '{}',
            prev_hash text not null,
            hash text not null
        );
        create index exit_log_slip on exit_log(slip_id) where slip_id != '';
        create trigger exit_log_no_update before update on exit_log
            begin select raise(abort, 'exit log is append-only'); end;
        create trigger exit_log_no_delete before delete on exit_log
            begin select raise(abort, 'exit log is append-only'); end;
        create table log_head (id integer primary key check (id = 1), seq integer not null, hash text not null);
        """
    )


@log_migrations()
def m002_probe(db: Database) -> None:
    """A scratch table: the kiosk tries a write here (and rolls it back) to learn whether
    the log can take rows again after a full disk, without adding a row to the log."""
    db.execute("create table probe (data blob)")


@log_migrations()
def m003_boot(db: Database) -> None:
    """Which boot recorded each row and when in that boot (domain/boottime.py): rows from before
    read as ""/0, which the chain leaves out of their hash, so they verify as they always did."""
    db.executescript(
        """
        alter table exit_log add column boot_id text not null default '';
        alter table exit_log add column boottime_ms integer not null default 0;
        """
    )


@log_migrations()
def m004_base(db: Database) -> None:
    """Where a replacement gate's log continues the chain the office holds for its gate (a re-imaged
    or replaced gate: docs/install.md, "Replacing a gate"): the first row is base seq + 1 over base hash.
    A log without this row starts at 1 over GENESIS, as every log did before."""
    db.execute("create table log_base (id integer primary key check (id = 1), seq integer not null, hash text not null, "
               "source text not null default '')")


def decode_row(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as it was hashed and as the office takes it (domain/exitrow.py)."""
    return ExitRow.decode(row).to_dict()


_INSERT = f"insert into exit_log ({', '.join(ROW_NAMES)}) values ({', '.join('?' for _ in ROW_NAMES)})"
#: Kinds of row that use up their slip (domain.exitrow.CONSUMING_KINDS), bound as parameters.
_CONSUMING = tuple(sorted(k.value for k in CONSUMING_KINDS))
#: Each badge's latest lock-out (rows in seq order: the last one per guard wins).
_PIN_LOCKOUTS = ("select json_extract(detail, '$.badge_guard_id') as guard, json_extract(detail, '$.locked_until') as until "
                 "from exit_log where kind = ? and json_extract(detail, '$.locked_until') is not null order by seq")
_RELEASES_OF = (f"select * from exit_log where slip_id = ? and kind in ({', '.join('?' for _ in _CONSUMING)}) "
                "order by seq")


#: Writer locks this process holds, by exit-log path: taken once, kept for the process
#: lifetime (the kernel drops them when the process ends, however it ends).
_HELD: dict[str, int] = {}


def lock_path(path: str | Path) -> Path:
    """The lock file beside an exit log: ``exitlog.db`` -> ``exitlog.db.lock``."""
    return Path(str(path) + ".lock")


def hold_writer_lock(path: str | Path) -> None:
    """One writer per exit log: take an exclusive flock on the lock file beside it, or
    StoreError naming the file and the process that holds it.

    Two kiosks appending to one log would fork its hash chain and reuse sequence
    numbers; SQLite's own locking only serialises their writes. The lock file records
    who holds it (pid and command line), so the refusal can name the holder.
    """
    key = str(Path(path).resolve())
    if key in _HELD:
        return
    lp = lock_path(path)
    try:
        fd = os.open(lp, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise StoreError(f"{lp}: cannot open the exit log's lock file: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        try:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "unknown process"
        finally:
            os.close(fd)
        raise StoreError(
            f"出门记录 {path} 已由另一个程序写入({holder}),同一记录只能有一个写入者;请先停止它\n"
            f"exit log {path} is already being written by {holder} (lock {lp}); "
            "one writer per exit log: stop that kiosk first"
        ) from None
    who = f"pid {os.getpid()}: {' '.join(sys.argv)[:300]}"
    os.ftruncate(fd, 0)
    os.pwrite(fd, who.encode("utf-8", "replace"), 0)
    _HELD[key] = fd


class ExitLog:
    def __init__(self, db: Database, gate_id: str, path: str = ":memory:", read_only: bool = False) -> None:
        self.db = db
        self.gate_id = gate_id
        self.path = path
        try:
            if read_only:
                db.execute("PRAGMA query_only=ON")
            else:
                db.execute("PRAGMA synchronous=FULL")
                migrate(db, log_migrations)
            last = list(db.query("select seq, hash from exit_log order by seq desc limit 1"))
            base = list(db.query("select seq, hash from log_base")) if db["log_base"].exists() else []
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot open exit log: {exc}") from None
        self.base_seq, self.base_hash = (int(base[0]["seq"]), str(base[0]["hash"])) if base else (0, GENESIS)
        self._seq = int(last[0]["seq"]) if last else self.base_seq
        self._head = str(last[0]["hash"]) if last else self.base_hash

    def continue_chain(self, seq: int, hash_: str, source: str) -> bool:
        """Begin this (empty) log where the office's chain for this gate ends: row ``seq`` with hash
        ``hash_`` (a replacement gate with the replaced one's credential). Only before the first row
        and only once; returns whether the log now continues from there."""
        if self._seq != 0 or seq <= 0:        # rows recorded already, a base set already, or nothing to continue
            return (seq, hash_) == (self.base_seq, self.base_hash)
        with self.db.conn:
            self.db.execute("insert into log_base (id, seq, hash, source) values (1, ?, ?, ?)", [seq, hash_, source[:200]])
        self.base_seq, self.base_hash = seq, hash_
        self._seq, self._head = seq, hash_
        return True

    @classmethod
    def open(cls, path: str | Path, gate_id: str) -> ExitLog:
        """The one writer's handle: refused (StoreError) while another process writes this log."""
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the exit log's folder: {exc.strerror}") from None
        hold_writer_lock(path)
        return cls(open_database(path), gate_id, str(path))

    @classmethod
    def open_readonly(cls, path: str | Path) -> ExitLog:
        """For tools that only read (check, log verify/show): never a second writer,
        not even of a migration, on the kiosk's file."""
        p = Path(path)
        try:
            p.stat()
            conn = sqlite3.connect(str(p), timeout=1.0, isolation_level=None, check_same_thread=False)
            return cls(Database(conn), gate_id="", path=str(p), read_only=True)
        except FileNotFoundError:
            raise StoreError(f"{p}: exit log not found") from None
        except (PermissionError, sqlite3.OperationalError) as exc:
            # An installer's admin account is not the kiosk's user: /var/lib/gatepass is 0750 gatepass.
            raise StoreError(f"{p}: 无权读取出口日志 / cannot read the exit log ({exc}): read it as the kiosk's user, "
                             f"e.g. sudo -u gatepass /opt/gatepass/.venv/bin/gatepass log verify --db {p}") from None

    @classmethod
    def memory(cls, gate_id: str) -> ExitLog:
        return cls(Database(memory=True), gate_id)

    @property
    def last_seq(self) -> int:
        return self._seq

    def append(self, entry: LogEntry, *, clock_synced: bool, boot: BootStamp | None = None,
               chain_start: tuple[int, str] | None = None) -> dict[str, Any]:
        """Commit one event durably and return the row as stored (decoded). ``boot``: where in which
        boot the gate was when it read ``entry.at`` (domain.clock.system_boot), so that the office can
        re-date the row if the clock was not synced; None where the kernel does not say. ``chain_start``:
        where the office's chain for this gate ends (the replica's gate_head), taken by an empty log only."""
        if chain_start is not None and self._seq == 0:
            self.continue_chain(chain_start[0], chain_start[1], "office gate_head")
        row = seal(ExitRow.of_entry(entry, event_id=str(uuid.uuid4()), gate_id=self.gate_id, seq=self._seq + 1,
                                    clock_synced=clock_synced, prev_hash=self._head,
                                    boot_id=boot.boot_id if boot else "", boottime_ms=boot.boottime_ms if boot else 0))
        conn = self.db.conn
        try:
            conn.execute("begin immediate")
            try:
                conn.execute(_INSERT, list(row.encode().values()))
                conn.execute(
                    "insert into log_head (id, seq, hash) values (1, ?, ?) "
                    "on conflict(id) do update set seq = excluded.seq, hash = excluded.hash",
                    [row.seq, row.hash],
                )
                conn.execute("commit")
            except BaseException:
                conn.execute("rollback")
                raise
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot record {entry.kind.value}: {exc}") from None
        self._seq = row.seq
        self._head = row.hash
        return row.to_dict()

    def probe(self, min_free_bytes: int = 1 << 20) -> str | None:
        """Why a new row could not be recorded now, or None when it could."""
        conn = self.db.conn
        try:
            if self.path != ":memory:":
                folder = Path(self.path).resolve().parent
                free = shutil.disk_usage(folder).free
                if free < min_free_bytes:
                    return f"{folder}: only {free} bytes free"
                scratch = folder / ".exitlog-probe"
                with open(scratch, "wb") as f:
                    f.write(b"\0" * 8192)
                    f.flush()
                    os.fsync(f.fileno())
                scratch.unlink()
            conn.execute("begin immediate")
            try:
                conn.execute("insert into probe (data) values (zeroblob(16384))")
            finally:
                conn.execute("rollback")
        except (OSError, sqlite3.DatabaseError) as exc:
            return str(exc)
        return None

    def rows(self, after_seq: int = 0, limit: int | None = None) -> Iterator[dict[str, Any]]:
        sql = "select * from exit_log where seq > ? order by seq"
        params: list[Any] = [after_seq]
        if limit is not None:
            sql += " limit ?"
            params.append(limit)
        for r in self.db.query(sql, params):
            yield decode_row(r)

    def recent(self, n: int = 10) -> list[dict[str, Any]]:
        return [decode_row(r) for r in self.db.query("select * from exit_log order by seq desc limit ?", [n])]

    def pin_lockouts(self) -> dict[str, datetime]:
        """Badges this gate locked out for wrong PINs (guard id -> until when), from the log's
        pin_failure rows: so a restart does not lift a lock-out. Ended ones are included; the
        core compares them with its ``now``."""
        out: dict[str, datetime] = {}
        for r in self.db.query(_PIN_LOCKOUTS, [EntryKind.PIN_FAILURE.value]):
            try:
                out[str(r["guard"])] = parse_at(r["until"])
            except BadTime:
                continue
        return out

    def releases_of(self, slip_id: str) -> list[dict[str, Any]]:
        return [
            decode_row(r)
            for r in self.db.query(
                _RELEASES_OF, [slip_id, *_CONSUMING],
            )
        ]

    def verify(self) -> None:
        """Raise LogChainError naming the first bad row, or return if the chain holds."""
        broken = first_break(self.rows(), self.base_hash, self.base_seq + 1)
        if broken is not None:
            seq, why = broken
            raise LogChainError(f"{self.path}: exit log row {seq}: {why}", seq)
        last = self.db.execute("select max(seq), count(*) from exit_log").fetchone()
        head = self.db.execute("select seq, hash from log_head").fetchone()
        last_seq, count = int(last[0] if last[0] is not None else self.base_seq), int(last[1])
        if count != last_seq - self.base_seq:
            raise LogChainError(f"{self.path}: {count} rows but the last sequence number is {last_seq}"
                                + (f" (continuing from row {self.base_seq})" if self.base_seq else ""))
        if head is not None and int(head[0]) != last_seq:
            raise LogChainError(
                f"{self.path}: exit log row {last_seq + 1}: the log head says {head[0]} rows were recorded "
                f"but only {last_seq} remain (rows removed from the end)", last_seq + 1)
        if head is not None and last_seq and head[1] != self._head_hash_of(last_seq):
            raise LogChainError(f"{self.path}: exit log row {last_seq}: does not match the recorded log head", last_seq)

    def _head_hash_of(self, seq: int) -> str:
        return str(self.db.execute("select hash from exit_log where seq = ?", [seq]).fetchone()[0])
