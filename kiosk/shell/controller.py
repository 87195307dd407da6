"""The owner of the gate's state: drains driver events, steps the core, carries out commands.

Runs on the one frame-loop thread (DESIGN.md principle 2). Driver threads only call
`emit`, which puts a raw event on a queue. Here each raw event is resolved against the
replica, stepped through the pure core, and the commands are carried out in order.
A failing command drops the rest of its step and steps a `Fault`, so the gate never
opens for an event that was not recorded; an exception anywhere becomes out-of-service
and the loop lives on (principle 7).

Record first, then open. In the live loop (`use_writer_thread`) an exit-log row is
committed on one writer thread, because a slow or worn SD card can take a second or two
to fsync and the screen must keep drawing meanwhile. While that commit is in flight the
step's new state is held back: the screen shows the scene it was on with "正在记录…
Recording" and no buttons, driver events wait in their queue, taps are dropped, and the
commands after the Record (open the gate, beep) wait too. Only when the row is durable
does the new state (e.g. "released") become current and the gate open; if the commit
fails, the gate goes out of service instead. UI state still has one owner: the writer
thread only runs `ExitLog.append` and the frame thread picks up its result. Direct
callers (scripts, tests, tools) commit inline on their own thread, as before.
"""
from __future__ import annotations

import errno
import logging
import queue
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from domain.boottime import BootStamp
from drivers.events import CardRead, DeviceHealth, SlipScanned
from kiosk.core.events import (
    Command,
    DeviceChanged,
    Event,
    Fault,
    FaultKind,
    FaultSource,
    OpenGate,
    Press,
    Record,
    Recovered,
    SafeState,
    Shutdown,
    Signal,
    SlipPresented,
    Tick,
)
from kiosk.core.flow import Scene, State, needs_restart, step
from kiosk.exitlog import ExitLog
from kiosk.resolve import Resolver

log = logging.getLogger("gatepass.kiosk")
STORE_PROBE_INTERVAL = timedelta(seconds=5)
#: A commit still in flight after this long is a store that hangs, not a slow card: the
#: loop stops feeding systemd's watchdog (the screen keeps saying "recording", the gate
#: stays closed) and systemd restarts the kiosk.
COMMIT_STALL_S = 30.0


class _Committed:
    """Put on the event queue when a commit ends, to wake the frame loop's wait."""


COMMITTED = _Committed()


class GateIO(Protocol):
    """The gate's outputs, as the drivers package provides them (or a stand-in)."""

    def open_gate(self) -> None: ...
    def signal(self, pattern: str) -> None: ...
    def safe_state(self) -> None: ...
    def close(self) -> None: ...


@dataclass
class Outcome:
    """What one dispatched event did, for the loop, scripts and benchmarks."""

    commands: list[Command] = field(default_factory=list)
    failed: str = ""


@dataclass
class _Pending:
    """A step whose exit-log row is being committed on the writer thread."""

    event: Event                 # the event that was stepped
    state: State                 # what becomes current once the row is durable
    record: Record
    rest: list[Command]          # carried out after the row is durable (open the gate, beep)
    out: Outcome
    future: Future[dict[str, Any]]
    since: float                 # time.monotonic() when the commit began


class Controller:
    def __init__(
        self, state: State, resolver: Resolver, exit_log: ExitLog, gate_io: GateIO,
        clock_synced: Callable[[], bool | None] = lambda: None,
        events: queue.SimpleQueue[object] | None = None,
        boot: Callable[[], BootStamp | None] = lambda: None,
    ) -> None:
        self.state = state
        self.resolver = resolver
        self.exit_log = exit_log
        self.gate_io = gate_io
        self.clock_synced = clock_synced
        #: Where in which boot the gate is (domain.clock.system_boot), stamped on every row.
        self.boot = boot
        self.events: queue.SimpleQueue[object] = events if events is not None else queue.SimpleQueue()
        self._next_store_probe: datetime | None = None
        self._early: list[object] = []
        self.health: dict[str, tuple[bool, str]] = {}
        self.carried: list[Command] = []          # commands carried out since last read (scripts, tests)
        self.on_command: Callable[[Command], None] | None = None
        self._writer: ThreadPoolExecutor | None = None    # set by use_writer_thread (the live loop)
        self._pending: _Pending | None = None
        self._deferred: list[Event] = []

    # ----------------------------------------------------------- the writer thread

    def use_writer_thread(self) -> None:
        """Commit exit-log rows on a writer thread from now on, so a slow fsync never
        stalls the frame loop (see the module docstring for the order kept)."""
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatepass-exitlog")

    @property
    def recording(self) -> bool:
        """True while an exit-log row is being committed and the screen waits for it."""
        return self._pending is not None

    def commit_age(self) -> float | None:
        """Seconds the commit in flight has taken so far (None: no commit in flight)."""
        return None if self._pending is None else time.monotonic() - self._pending.since

    def shut_down(self, now: datetime) -> None:
        """The kiosk is stopping: the core ends a guard's shift (its row is committed before close returns)."""
        deadline = time.monotonic() + COMMIT_STALL_S
        while self._pending is not None and time.monotonic() < deadline:
            try:
                self._pending.future.exception(timeout=max(0.0, deadline - time.monotonic()))   # waits for the commit
            except FuturesTimeout:
                break
            self._resolve_commit(now)            # carries on with the step, and with events that waited for it
        if self._pending is None:
            self.dispatch(Shutdown(), now)

    def close(self) -> None:
        """Let a commit in flight finish (its row is kept; its gate does not open) and stop the writer."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def _resolve_commit(self, now: datetime) -> None:
        """On the frame thread: if the commit in flight has ended, carry on with its step."""
        p = self._pending
        if p is None or not p.future.done():
            return
        self._pending = None
        exc = p.future.exception()
        if exc is not None:
            self.state = p.state
            self._command_failed(p.event, p.record, exc, now, p.out)
        else:
            self._done(p.record)
            self._carry_out_all(p.event, p.state, p.rest, now, p.out)
        while self._pending is None and self._deferred:
            self.dispatch(self._deferred.pop(0), now)

    # ----------------------------------------------------------- inputs

    def emit(self, event: object) -> None:
        """Thread-safe: drivers call this from their own threads."""
        self.events.put(event)

    def wait(self, timeout: float) -> bool:
        """Sleep until a driver event arrives or ``timeout`` passes; True if one arrived.

        The frame loop waits here instead of sleeping out the frame, so a card read is
        decided and drawn at once rather than at the next frame boundary.
        """
        if timeout <= 0:
            return False
        try:
            self._early.append(self.events.get(timeout=timeout))
            return True
        except queue.Empty:
            return False

    def pump(self, now: datetime, limit: int = 64) -> int:
        """Handle queued driver events (at most ``limit`` per frame); returns how many.

        While an exit-log row is being committed, events stay queued in order."""
        self._resolve_commit(now)
        n = 0
        while n < limit and self._pending is None:
            if self._early:
                raw = self._early.pop(0)
            else:
                try:
                    raw = self.events.get_nowait()
                except queue.Empty:
                    break
            n += 1
            self.handle_raw(raw, now)
        return n

    def handle_raw(self, raw: object, now: datetime) -> None:
        try:
            event = self._resolve(raw)
        except Exception as exc:  # a broken replica must not kill the loop
            log.exception("cannot resolve %r", raw)
            event = Fault(FaultSource.STORE, FaultKind.LOOKUP, f"cannot look up {type(raw).__name__}: {exc}")
        if event is not None:
            self.dispatch(event, now)

    def press(self, press: Press, now: datetime) -> Outcome:
        if self._pending is not None:
            # The screen shows no buttons while recording: a tap landing now was aimed at
            # the screen before, and must not act on the one the record leads to.
            log.info("tap %s dropped: an exit-log row is being recorded", press.action.value)
            return Outcome()
        return self.dispatch(press, now)

    def tick(self, now: datetime) -> Outcome:
        self._resolve_commit(now)
        if self._pending is not None:
            return Outcome()            # time-outs and probes wait for the record
        self._probe_store(now)
        return self.dispatch(Tick(), now)

    def watchdog_ok(self) -> bool:
        """False while out of service for a fault only a restart clears, or while a commit
        hangs (COMMIT_STALL_S): the loop then stops pinging systemd's watchdog, and
        systemd restarts the kiosk."""
        age = self.commit_age()
        return not needs_restart(self.state) and (age is None or age < COMMIT_STALL_S)

    def _probe_store(self, now: datetime) -> None:
        """Out of service because the log could not be written or the gate outputs failed:
        look every few seconds whether they work again (space freed, disk back, relay
        answering), and come back by itself."""
        fault = self.state.fault
        probes = {FaultSource.STORE: self._probe_exit_log, FaultSource.GPIO: self._probe_gate_io}
        if self.state.scene is not Scene.OUT_OF_SERVICE or fault is None or fault.source not in probes \
                or fault.kind is FaultKind.DEVICE_OFFLINE:      # offline devices say when they are back
            self._next_store_probe = None
            return
        if self._next_store_probe is None:
            self._next_store_probe = now + STORE_PROBE_INTERVAL   # first look after one interval
            return
        if now < self._next_store_probe:
            return
        self._next_store_probe = now + STORE_PROBE_INTERVAL
        problem = probes[fault.source]()
        if problem is None:
            log.warning("%s works again; back in service", fault.source.value)
            self.dispatch(Recovered(fault.source), now)
        else:
            log.warning("%s still failing: %s", fault.source.value, problem)

    def _probe_exit_log(self) -> str | None:
        return self.exit_log.probe()

    def _probe_gate_io(self) -> str | None:
        """The gate outputs answer again if putting them in their safe state works."""
        try:
            self.gate_io.safe_state()
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def _resolve(self, raw: object) -> Event | None:
        if isinstance(raw, CardRead):
            return self.resolver.card(raw.uid)
        if isinstance(raw, SlipScanned):
            return SlipPresented(self.resolver.slip(raw.text))
        if isinstance(raw, DeviceHealth):
            self.health[raw.device] = (raw.online, raw.detail)
            try:
                device = FaultSource(raw.device)
            except ValueError:
                log.warning("health report from an unknown device %r", raw.device)
                return None
            return DeviceChanged(device, raw.online, raw.detail)    # the core decides what it means
        if raw is COMMITTED:
            return None                 # only woke the loop; pump has already picked up the result
        return raw  # type: ignore[return-value]  # already a core event (Fault, Recovered, Press, ...)

    # ----------------------------------------------------------- stepping

    def dispatch(self, event: Event, now: datetime) -> Outcome:
        """Step ``event`` and carry out its commands. While a commit is in flight the event
        waits its turn (the returned Outcome is then empty)."""
        if self._pending is not None:
            self._deferred.append(event)
            return Outcome()
        try:
            state, commands = step(self.state, event, now)
        except Exception as exc:
            log.exception("core failed on %r", event)
            if isinstance(event, Fault):
                raise
            return self.dispatch(Fault(FaultSource.CORE, FaultKind.EXCEPTION, f"{type(exc).__name__}: {exc}"), now)
        out = Outcome(list(commands))
        self._carry_out_all(event, state, list(commands), now, out)
        return out

    def _carry_out_all(self, event: Event, state: State, commands: list[Command], now: datetime,
                       out: Outcome) -> None:
        """Carry out ``commands`` in order. Inline, ``state`` is current at once. With the
        writer thread, a Record hands its row over and the rest waits for it to be durable;
        ``state`` becomes current only when no Record is left ahead of it."""
        background = self._writer is not None
        if not (background and any(isinstance(c, Record) for c in commands)):
            self.state = state
        for i, cmd in enumerate(commands):
            if background and isinstance(cmd, Record):
                assert self._writer is not None
                future = self._writer.submit(self.exit_log.append, cmd.entry, **self._stamp())
                self._pending = _Pending(event, state, cmd, commands[i + 1:], out, future, time.monotonic())
                future.add_done_callback(lambda _f: self.events.put(COMMITTED))
                return
            try:
                self._do(cmd)
            except Exception as exc:
                self._command_failed(event, cmd, exc, now, out)
                return             # drop the rest: never open for an event not recorded
            self._done(cmd)

    def _command_failed(self, event: Event, cmd: Command, exc: BaseException, now: datetime, out: Outcome) -> None:
        fault = command_fault(cmd, exc)
        out.failed = str(fault)
        log.error("command %s failed: %s", type(cmd).__name__, exc)
        if not isinstance(event, Fault):    # already out of service: do not loop on a failing safe state
            self.dispatch(fault, now)

    def _stamp(self) -> dict[str, Any]:
        """What every exit-log row is stamped with besides its entry, read on the frame thread as the
        event is decided, inline or on the writer thread alike: whether the clock was synced, and where
        in which boot the gate was (the office re-dates an unsynced boot's rows by it)."""
        return {"clock_synced": bool(self.clock_synced()), "boot": self.boot()}

    def _do(self, cmd: Command) -> None:
        if isinstance(cmd, Record):
            self.exit_log.append(cmd.entry, **self._stamp())
        elif isinstance(cmd, OpenGate):
            self.gate_io.open_gate()
        elif isinstance(cmd, Signal):
            self.gate_io.signal(cmd.pattern.value)
        elif isinstance(cmd, SafeState):
            self.gate_io.safe_state()

    def _done(self, cmd: Command) -> None:
        self.carried.append(cmd)
        if len(self.carried) > 1000:
            del self.carried[:500]
        if self.on_command is not None:
            self.on_command(cmd)

    def health_of(self, device: str) -> tuple[bool | None, str]:
        online, detail = self.health.get(device, (None, ""))
        return online, detail


def command_fault(cmd: Command, exc: BaseException) -> Fault:
    """The typed fault for a command that raised: a Record is the exit log, the rest the gate I/O."""
    if isinstance(cmd, Record):
        kind = FaultKind.DISK_FULL if is_disk_full(exc) else FaultKind.LOG_WRITE
        return Fault(FaultSource.STORE, kind, str(exc))
    return Fault(FaultSource.GPIO, FaultKind.DEVICE_FAILED, str(exc))


def is_disk_full(exc: BaseException) -> bool:
    """SQLite's SQLITE_FULL or the OS's ENOSPC anywhere in the exception's chain.

    The exit log re-raises SQLite errors as StoreError ``from None``: the original is
    still on ``__context__``, which is where its error code is read.
    """
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, sqlite3.Error) and getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:
            return True
        e = e.__cause__ or e.__context__
    return False


def describe_row(row: dict[str, Any]) -> str:
    """One exit-log row as a line for the terminal (scripted walks print the log)."""
    parts = [f"#{row['seq']:<3}", row["at"][11:19], f"{row['kind']:<11}"]
    for key in ("guard_id", "card_uid", "permit_id", "slip_id"):
        if row.get(key):
            parts.append(f"{key.split('_')[0]}={row[key]}")
    if row.get("reasons"):
        parts.append("reasons=" + ",".join(row["reasons"]))
    detail = row.get("detail") or {}
    for key in ("signed_by", "identity", "mismatch", "override_reason", "report", "supervisor_id", "flagged", "plate",
                "id_masked", "items"):
        if key in detail:
            parts.append(f"{key}={detail[key]}")
    return " ".join(parts)
