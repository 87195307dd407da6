"""Read the kiosk's exit log without ever writing it.

The kiosk is the exit log's only writer. The daemon opens the file with
``PRAGMA query_only`` (SQLite then refuses any write on this connection), never runs
its migrations, and only polls ``max(seq)``, which is cheap enough to do five times a
second. A configured log that does not exist is an error, not "nothing to send": either
the kiosk has never started, or it writes another file (a relative path resolved from
another working directory), and then nothing would ever reach the office.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from kiosk.exitlog import decode_row
from sync.errors import ExitLogMissing, SyncError


class Outbox:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path.exists():
                raise ExitLogMissing(
                    f"出口日志不存在：{self.path}（信息亭未启动，或它写的是另一个文件：检查 [store] exit_log）\n"
                    f"exit log not found: {self.path} (the kiosk has not started, or it writes another file: "
                    "check [store] exit_log)")
            conn = sqlite3.connect(str(self.path), timeout=1.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            conn.row_factory = sqlite3.Row
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def last_seq(self) -> int:
        conn = self._open()
        try:
            return int(conn.execute("select coalesce(max(seq), 0) from exit_log").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return 0
            raise SyncError(f"{self.path}: cannot read the exit log: {exc}") from None

    def rows(self, after_seq: int, limit: int) -> list[dict[str, Any]]:
        """Rows after ``after_seq`` decoded exactly as kiosk/exitlog.py hashed them."""
        conn = self._open()
        try:
            found = conn.execute("select * from exit_log where seq > ? order by seq limit ?", (after_seq, limit)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise SyncError(f"{self.path}: cannot read the exit log: {exc}") from None
        return [decode_row(dict(r)) for r in found]
