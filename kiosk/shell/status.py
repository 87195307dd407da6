"""Health for the status bar, gathered off the frame loop.

Reading the sync daemon's status file and asking whether the clock is NTP-synchronised
can block (a slow SD card, a hung D-Bus); a background thread does both about once a
second and publishes an immutable snapshot the frame loop reads without waiting.
The replica's age and the exit log's last sequence number are read by the owner
thread (SQLite connections stay on their thread), at most every few seconds.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class SyncSnapshot:
    ok: bool | None = None          # None: no status file (no daemon yet)
    pushed_seq: int | None = None
    last_pull_at: datetime | None = None
    detail: str = ""
    state: str = ""                 # ok | offline | error | not_running; "" unknown


STALE_AFTER_S = 30.0                # the daemon rewrites its file at least every 5 s (docs/sync.md)


def read_sync_status(path: Path, now: datetime | None = None) -> SyncSnapshot:
    """The sync daemon's JSON status file (domain/statusfiles.py), tolerant of missing keys.

    Keys read: ``ok``, ``error``, ``state``, ``updated_at`` (an old file means the daemon
    is not running), ``push_cursor`` (or ``pushed_seq``), ``last_pull_at``.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return SyncSnapshot()
    except (OSError, ValueError) as exc:
        return SyncSnapshot(ok=False, detail=f"status file unreadable: {exc}", state="error")
    if not isinstance(data, dict):
        return SyncSnapshot(ok=False, detail="status file is not an object", state="error")
    pushed = data.get("push_cursor", data.get("pushed_seq"))
    ok = bool(data.get("ok", not data.get("error")))
    state = str(data.get("state") or ("ok" if ok else "error"))
    updated = _when(data.get("updated_at"))
    now = now or datetime.now(timezone.utc)
    if state == "stopped" or (updated is not None and (now - updated).total_seconds() > STALE_AFTER_S):
        state, ok = "not_running", False
    elif state not in ("ok", "offline", "error"):
        state = "ok" if ok else "error"
    return SyncSnapshot(ok, int(pushed) if isinstance(pushed, int) else None, _when(data.get("last_pull_at")),
                        str(data.get("error") or data.get("last_error") or ""), state)


def _when(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


_TIME_ERROR = 5


def clock_synchronised() -> bool | None:
    """True/False from systemd's timedated, else from the kernel (adjtimex); None if unknown."""
    try:
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        out = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                             capture_output=True, text=True, timeout=2, check=False, env=env)
        value = out.stdout.strip()
        if out.returncode == 0 and value in ("yes", "no"):
            return value == "yes"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        buf = ctypes.create_string_buffer(512)      # struct timex, modes = 0: read only
        state = libc.adjtimex(buf)
        if state < 0:
            return None
        return bool(state != _TIME_ERROR)
    except (OSError, AttributeError):
        return None


class StatusMonitor:
    """Background poller: sync status once a second, clock sync every 30 s."""

    def __init__(self, status_file: Path, clock_check: Callable[[], bool | None] = clock_synchronised,
                 interval_s: float = 1.0, clock_every_s: float = 30.0, health_file: Path | None = None) -> None:
        self.status_file = status_file
        self.health_file = health_file
        self.health: dict[str, str] = {}      # published by the owner thread, whole dicts only
        self._health_written: dict[str, str] | None = None
        self.clock_check = clock_check
        self.interval_s = interval_s
        self.clock_every_s = clock_every_s
        self.sync = SyncSnapshot()
        self.clock_synced: bool | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self, with_clock: bool = True) -> None:
        self.sync = read_sync_status(self.status_file)
        if with_clock:
            self.clock_synced = self.clock_check()
        self._write_health()

    def _write_health(self) -> None:
        """Reader and camera health for the sync daemon's heartbeats ([sync] kiosk_health_file)."""
        health = self.health
        if self.health_file is None or not health or health == self._health_written:
            return
        from domain.statusfiles import write_status

        try:
            write_status(self.health_file, health)
            self._health_written = health
        except OSError:
            pass

    def start(self) -> "StatusMonitor":
        self._thread = threading.Thread(target=self._run, name="gatepass-status", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        last_clock = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            due = now - last_clock >= self.clock_every_s or last_clock == 0.0
            try:
                self.poll_once(with_clock=due)
            except Exception:   # never let the status bar take the kiosk down
                pass
            if due:
                last_clock = now
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
