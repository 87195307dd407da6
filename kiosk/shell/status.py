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
import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from domain.clock import Clock, SystemClock
from domain.contracts import KIOSK_HEALTH_REFRESH_S, DeviceHealth, KioskHealth, SyncState
from domain.statusfiles import read_sync_status as read_status_file
from domain.statusfiles import write_status


@dataclass(frozen=True)
class SyncSnapshot:
    """What the status bar says about sync, derived from the daemon's `SyncStatus`."""

    ok: bool | None = None          # None: no status file (no daemon yet)
    pushed_seq: int | None = None
    last_pull_at: datetime | None = None
    detail: str = ""
    state: str = ""                 # ok | offline | error | not_running; "" unknown


def read_sync_status(path: Path, now: datetime) -> SyncSnapshot:
    """The sync daemon's status file (`domain.contracts.SyncStatus`) as the status bar's snapshot.

    A file the daemon has not rewritten for `SYNC_STATUS_STALE_AFTER_S`, or one saying it
    stopped, means the daemon is not running.
    """
    status = read_status_file(path)
    if status is None:
        return SyncSnapshot()
    ok = status.ok if status.ok is not None else status.state is SyncState.OK
    detail = status.error or status.last_error or ""
    if not status.running(now):
        state, ok = "not_running", False
    elif status.state in (SyncState.OK, SyncState.OFFLINE, SyncState.ERROR):
        state = status.state.value
    else:                                          # starting: say how the last attempt went
        state = "ok" if ok else "error"
    return SyncSnapshot(ok, status.push_cursor, status.last_pull_at, detail, state)


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
    """Background poller: sync status once a second, clock sync every 30 s, the health file.

    The frame loop hands over what the drivers last said about each device
    (`set_devices`); the poller writes it as `KioskHealth` to ``[sync] kiosk_health_file``
    for the sync daemon's heartbeats, whenever it changes and at least every
    `KIOSK_HEALTH_REFRESH_S`, so that a kiosk that stops writing is seen as dead.
    """

    def __init__(self, status_file: Path, clock_check: Callable[[], bool | None] = clock_synchronised,
                 interval_s: float = 1.0, clock_every_s: float = 30.0, health_file: Path | None = None,
                 clock: Clock | None = None) -> None:
        self.status_file = status_file
        self.health_file = health_file
        self.clock = clock or SystemClock()
        # (online, detail) per device, published by the frame loop as whole dicts only
        self._devices: dict[str, tuple[bool | None, str]] = {}
        self._written: tuple[dict[str, tuple[bool | None, str]], datetime] | None = None
        self.health: KioskHealth | None = None       # the last health written
        self.clock_check = clock_check
        self.interval_s = interval_s
        self.clock_every_s = clock_every_s
        self.sync = SyncSnapshot()
        self.clock_synced: bool | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def set_devices(self, devices: Mapping[str, tuple[bool | None, str]]) -> None:
        """What each driver last reported: ``{"reader": (online, detail), ...}`` (online None: never said)."""
        self._devices = dict(devices)

    def poll_once(self, with_clock: bool = True) -> None:
        self.sync = read_sync_status(self.status_file, self.clock.now())
        if with_clock:
            self.clock_synced = self.clock_check()
        self._write_health()

    def _write_health(self) -> None:
        """Reader and camera health for the sync daemon's heartbeats ([sync] kiosk_health_file)."""
        devices = self._devices
        if self.health_file is None or not devices:
            return
        now = self.clock.now()
        if self._written is not None and self._written[0] == devices \
                and (now - self._written[1]).total_seconds() < KIOSK_HEALTH_REFRESH_S:
            return
        health = KioskHealth(now, {name: DeviceHealth.of(online, detail, now)
                                   for name, (online, detail) in devices.items()})
        try:
            write_status(self.health_file, health)
            self._written = (devices, now)
            self.health = health
        except OSError:
            pass

    def start(self) -> StatusMonitor:
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
