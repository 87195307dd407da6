"""The gate's sync daemon: pull the replica, push the exit log, report health.

One thread, one loop, three duties on their own schedules: push whenever the exit
log grows (checked every ``push_delay_s``), pull at start and every
``pull_interval_s``, heartbeat every ``heartbeat_interval_s``. Each duty that fails
backs off exponentially with jitter and retries by itself. Progress is two cursors in
the replica's ``replica_meta``: a kill -9 at any instant loses nothing and repeats
nothing the office has not already recognised as a duplicate.
"""
from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from domain.boottime import BootStamp
from domain.clock import Clock, SystemClock, system_boot
from domain.contracts import SYNC_STATUS_REFRESH_S, HeartbeatBody, SyncState, SyncStatus, age_devices, parse_instant
from domain.errors import GatepassError
from domain.statusfiles import read_kiosk_health, write_status
from kiosk.config import SyncConfig
from kiosk.shell.sdnotify import Notifier
from kiosk.shell.status import clock_synchronised
from kiosk.store import Replica
from sync.client import OfficeClient
from sync.errors import OfficeRefused, OfficeUnreachable, SyncError
from sync.outbox import Outbox
from sync.replica_writer import LAST_PULL_AT, OFFICE_EPOCH, PULL_CURSOR, PUSH_CURSOR, ReplicaWriter

#: How often the status file is rewritten even when nothing changed (the kiosk's liveness check).
STATUS_REFRESH_S = SYNC_STATUS_REFRESH_S


class Backoff:
    """Exponential backoff with jitter: the n-th retry waits a random time in [d/2, d], d = min(max, min·2ⁿ)."""

    def __init__(self, minimum_s: float, maximum_s: float, rng: random.Random | None = None) -> None:
        self.minimum, self.maximum, self.failures = minimum_s, maximum_s, 0
        self.rng = rng or random.Random()

    def failed(self) -> float:
        d = min(self.maximum, self.minimum * (2 ** min(self.failures, 30)))
        self.failures += 1
        return self.rng.uniform(d / 2, d)

    def succeeded(self) -> None:
        self.failures = 0


class SyncDaemon:
    def __init__(self, cfg: SyncConfig, *, gate_id: str, replica_path: str | Path, exit_log_path: str | Path,
                 credential: str, client: OfficeClient | None = None, clock: Callable[[], float] = time.monotonic,
                 wall: Clock | None = None, notifier: Notifier | None = None,
                 boot: Callable[[], BootStamp | None] = system_boot,
                 clock_synced: Callable[[], bool | None] = clock_synchronised) -> None:
        # clock: monotonic seconds for the schedules; wall: the instants written to the status file and heartbeats;
        # boot and clock_synced: what each heartbeat says about the gate's clock (an anchor for re-dating rows)
        self.cfg, self.gate_id, self.clock = cfg, gate_id, clock
        self.wall = wall or SystemClock()
        self.boot, self.clock_synced = boot, clock_synced
        self.notifier = notifier if notifier is not None else Notifier.from_environment()
        self.replica = Replica.open(replica_path)
        self.writer = ReplicaWriter(self.replica)
        self.outbox = Outbox(exit_log_path)
        self.client = client or OfficeClient(cfg.office_url, credential, timeout_s=cfg.timeout_s)
        self.stop_event = threading.Event()
        self.pull_backoff = Backoff(cfg.backoff_min_s, cfg.backoff_max_s)
        self.push_backoff = Backoff(cfg.backoff_min_s, cfg.backoff_max_s)
        self.beat_backoff = Backoff(cfg.backoff_min_s, cfg.backoff_max_s)
        self.status = SyncStatus(
            gate_id=gate_id, pid=os.getpid(), office_url=cfg.office_url,
            last_pull_at=parse_instant(self.writer.meta(LAST_PULL_AT)), pull_cursor=self.writer.int_meta(PULL_CURSOR),
            push_cursor=self.writer.int_meta(PUSH_CURSOR), office_epoch=self.writer.meta(OFFICE_EPOCH))
        self._status_written = 0.0
        #: Why the exit log cannot be read (missing, damaged), while that lasts: it keeps the
        #: status at ERROR even when pulls and heartbeats succeed, so it is never silent.
        self.exit_log_problem: str | None = None
        #: Why the office refuses the next row, until a push gets past it: the state stays "error" while
        #: rows wait unsent, whatever pulls and heartbeats succeed meanwhile.
        self.push_refused: str | None = None

    def _set(self, **changes: Any) -> None:
        self.status = replace(self.status, **changes)

    # ------------------------------------------------------------------ duties

    def pull(self) -> int:
        """Pull pages until the office has no more; return how many changes were applied."""
        self._set(last_pull_attempt_at=self.wall.now())
        applied = 0
        while not self.stop_event.is_set():
            since = self.writer.int_meta(PULL_CURSOR)
            page = self.client.pull(since, self.cfg.page_size)
            epoch = str(page.get("epoch", ""))
            known = self.writer.meta(OFFICE_EPOCH)
            if known and epoch and known != epoch and since > 0:
                # Another office database, or the office restored a backup: it may hold fewer rows and
                # fewer changes than this gate was given. Send it the exit log again from the start first
                # (what it kept comes back as duplicates, what it lost is stored again, each row once:
                # its releases are back before this replica is swept), then pull everything again.
                self.writer.restart_from_zero(epoch)
                self._error(f"office database changed (epoch {known} -> {epoch}); sending the exit log again "
                            "and pulling the replica again")
                self._between_pages()
                continue
            changes = page.get("changes") or []
            self.writer.apply_page(changes, int(page.get("last_seq", since)), epoch, utc_iso(self.wall),
                                   self.cfg.rows_per_commit, estate=str(page.get("estate") or ""))
            applied += len(changes)
            if not page.get("more"):
                self.writer.finish_resync()
                break
            self._between_pages()
        self._set(last_pull_at=parse_instant(self.writer.meta(LAST_PULL_AT)),
                  pull_cursor=self.writer.int_meta(PULL_CURSOR), office_epoch=self.writer.meta(OFFICE_EPOCH))
        return applied

    def _between_pages(self) -> None:
        """A first pull can take minutes on a Pi: keep pushing new events and pinging the watchdog."""
        try:
            if self.pending() > 0:
                self.push()
        except (GatepassError, sqlite3.Error) as exc:
            self._error(str(exc))
        self._ping_watchdog()
        self.write_status()

    def _ping_watchdog(self) -> None:
        self.notifier.ping(f"sync {self.status.state.value}, outbox {self.status.outbox_depth}")

    def pending(self) -> int:
        depth = max(0, self.outbox.last_seq() - self.writer.int_meta(PUSH_CURSOR))
        self._set(outbox_depth=depth)
        return depth

    def push(self, budget_s: float | None = None) -> int:
        """Push every row after the push cursor; return how many the office newly accepted.

        With ``budget_s``, stop after the batch that exceeds it (the run loop passes the pull
        interval, so a long backlog on a slow link cannot hold back the pulls that bring
        revocations); the rest goes in the next round.
        """
        accepted = 0
        started = self.clock()
        while not self.stop_event.is_set():
            cursor = self.writer.int_meta(PUSH_CURSOR)
            rows = self.outbox.rows(cursor, self.cfg.push_batch)
            if not rows:
                break
            self._set(last_push_attempt_at=self.wall.now())
            reply = self.client.push(rows)
            # What the office stored, no further: its ack may count another gate's rows of this name (a
            # re-imaged gate, its log begun again), and a row it refused is never sent (issue 18).
            refused = [int(r["seq"]) for r in reply.get("rejected", []) if cursor < int(r["seq"]) <= rows[-1]["seq"]]
            acked = min(int(reply["acked_seq"]), rows[-1]["seq"], *(seq - 1 for seq in refused))
            accepted += int(reply.get("accepted", 0))
            if acked != cursor:
                self.writer.set_meta({PUSH_CURSOR: str(acked)})
            self._set(push_cursor=acked)
            if acked > cursor:
                # A long backlog on a slow link can keep this loop going for minutes: keep the
                # watchdog fed and the status fresh (the kiosk calls a status older than 5 s dead).
                self._set(last_push_at=self.wall.now())
                self.pending()
                self._ping_watchdog()
                self.write_status()
                if budget_s is not None and self.clock() - started >= budget_s:
                    break
            if acked < cursor and not refused:  # the office holds less than it once acknowledged (restored backup): resend
                self._error(f"office acknowledges only up to row {acked}, not {cursor}; sending again from there")
                continue
            if acked <= cursor:
                reasons = "; ".join(f"row {r['seq']}: {r['reason']}" for r in reply.get("rejected", [])[:3])
                fork = any(r.get("reason") == "fork" for r in reply.get("rejected", []))
                message = (f"office did not accept row {cursor + 1}"
                           + (f" ({reasons})" if reasons else f" (it holds {reply.get('held', 0)} rows ahead of a gap)")
                           + ("; the office holds another exit log under this gate's name (a re-imaged or replaced "
                              "gate?): the rows stay here, unsent, until the office takes them" if fork else ""))
                if refused:
                    self.push_refused = message
                raise OfficeRefused(message, 200)
        self.push_refused = None
        self.pending()
        self._set(last_push_at=self.wall.now())
        return accepted

    def heartbeat_body(self) -> HeartbeatBody:
        """What this gate tells the office: the kiosk's device reports (stale after three missed
        heartbeats: the kiosk stopped writing them), the outbox depth, the clock offset, versions."""
        synced = self.clock_synced()            # may take a moment (timedatectl): asked before the instant is read
        now, boot = self.wall.now(), self.boot()
        interval = self.cfg.heartbeat_interval_s
        devices = age_devices(read_kiosk_health(self.cfg.kiosk_health_file).devices, now, interval)
        return HeartbeatBody(
            reader=devices["reader"], camera=devices["camera"],
            versions={"gatepass": _version(), "replica_cursor": str(self.writer.int_meta(PULL_CURSOR))},
            outbox_depth=self.status.outbox_depth, clock_offset_s=self.status.clock_offset_s, sent_at=now,
            heartbeat_interval_s=interval, boot_id=boot.boot_id if boot else "",
            boottime_ms=boot.boottime_ms if boot else 0, clock_synced=synced)

    def heartbeat(self) -> None:
        body = self.heartbeat_body()
        sent = self.wall.now()
        reply = self.client.heartbeat(body.to_json())
        received = self.wall.now()
        server = parse_instant(reply.get("server_time")) if isinstance(reply, dict) else None
        if server is not None:
            self._set(clock_offset_s=round((server - (sent + (received - sent) / 2)).total_seconds(), 3))

    # ------------------------------------------------------------------ loop

    def _error(self, message: str) -> None:
        self._set(last_error=message, last_error_at=self.wall.now())

    def _attempt(self, duty: Callable[[], Any], backoff: Backoff) -> float | None:
        """Run a duty; None on success, else the delay before the next try."""
        try:
            duty()
        except (GatepassError, sqlite3.Error, KeyError, TypeError, ValueError) as exc:
            # Anything the office or the disk does wrong is retried later, never fatal.
            self._error(str(exc) if isinstance(exc, GatepassError) else f"{type(exc).__name__}: {exc}")
            self._set(state=SyncState.OFFLINE if isinstance(exc, OfficeUnreachable) else SyncState.ERROR, ok=False,
                      error=self.status.last_error)
            return backoff.failed()
        backoff.succeeded()
        self._settle()
        return None

    def _settle(self) -> None:
        """After a success: OK, unless the exit log still cannot be read."""
        problem = self.exit_log_problem or self.push_refused
        if problem is not None:
            self._set(state=SyncState.ERROR, ok=False, error=problem)
        else:
            self._set(state=SyncState.OK, ok=True, error=None)

    def write_status(self, force: bool = False) -> None:
        now = self.clock()
        if force or now - self._status_written >= STATUS_REFRESH_S:
            self._set(updated_at=self.wall.now())
            try:
                write_status(self.cfg.status_file, self.status)
            except OSError as exc:
                self._error(f"{self.cfg.status_file}: cannot write status: {exc.strerror}")
            self._status_written = now

    def run_once(self) -> bool:
        """Pull, push, heartbeat once (`gatepass sync --once`); return whether all succeeded."""
        ok = self._attempt(self.pull, self.pull_backoff) is None
        ok = self._attempt(self.push, self.push_backoff) is None and ok
        self._safe_pending()
        ok = self._attempt(self.heartbeat, self.beat_backoff) is None and ok
        self.write_status(force=True)
        return ok

    def run(self) -> None:
        now = self.clock()
        next_pull = next_push = next_beat = now
        ready = False
        while not self.stop_event.is_set():
            now = self.clock()
            changed = False
            if now >= next_pull:
                delay = self._attempt(self.pull, self.pull_backoff)
                next_pull = now + (self.cfg.pull_interval_s if delay is None else delay)
                changed = True
            if now >= next_push and self._safe_pending() > 0:
                delay = self._attempt(lambda: self.push(budget_s=self.cfg.pull_interval_s), self.push_backoff)
                next_push = self.clock() + (0 if delay is None else delay)
                changed = True
            if now >= next_beat:
                delay = self._attempt(self.heartbeat, self.beat_backoff)
                next_beat = now + (self.cfg.heartbeat_interval_s if delay is None else delay)
            if not ready:
                self.notifier.ready(f"sync {self.status.state.value}")
                ready = True
            self.write_status(force=changed)
            self._ping_watchdog()
            self.stop_event.wait(self.cfg.push_delay_s)
        self.notifier.stopping()
        self._set(state=SyncState.STOPPED, ok=None)
        self.write_status(force=True)

    def _safe_pending(self) -> int:
        """The outbox depth; an exit log that cannot be read is an error in the status until it can."""
        try:
            depth = self.pending()
        except SyncError as exc:
            self.exit_log_problem = str(exc)
            self._error(self.exit_log_problem)
            self._set(state=SyncState.ERROR, ok=False, error=self.exit_log_problem)
            return 0
        if self.exit_log_problem is not None:
            cleared, self.exit_log_problem = self.exit_log_problem, None
            if self.status.error == cleared:
                self._settle()
        return depth

    def close(self) -> None:
        self.outbox.close()
        self.client.close()
        self.replica.db.conn.close()


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("gatepass")
    except Exception:  # noqa: BLE001 - not installed as a distribution (source checkout)
        return "dev"


def utc_iso(clock: Clock) -> str:
    return clock.now().isoformat(timespec="milliseconds")
