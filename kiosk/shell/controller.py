"""The owner of the gate's state: drains driver events, steps the core, carries out commands.

Runs on the one frame-loop thread (DESIGN.md principle 2). Driver threads only call
`emit`, which puts a raw event on a queue. Here each raw event is resolved against the
replica, stepped through the pure core, and the commands are carried out in order.
A failing command drops the rest of its step and steps a `Fault`, so the gate never
opens for an event that was not recorded; an exception anywhere becomes out-of-service
and the loop lives on (principle 7).
"""
from __future__ import annotations

import errno
import logging
import queue
import sqlite3
from collections.abc import Callable
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
    Signal,
    SlipPresented,
    Tick,
)
from kiosk.core.flow import Scene, State, needs_restart, step
from kiosk.exitlog import ExitLog
from kiosk.resolve import Resolver

log = logging.getLogger("gatepass.kiosk")
STORE_PROBE_INTERVAL = timedelta(seconds=5)


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
        """Handle queued driver events (at most ``limit`` per frame); returns how many."""
        n = 0
        while n < limit:
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
        return self.dispatch(press, now)

    def tick(self, now: datetime) -> Outcome:
        self._probe_store(now)
        return self.dispatch(Tick(), now)

    def watchdog_ok(self) -> bool:
        """False while out of service for a fault only a restart clears: the loop then
        stops pinging systemd's watchdog, and systemd restarts the kiosk."""
        return not needs_restart(self.state)

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
        return raw  # type: ignore[return-value]  # already a core event (Fault, Recovered, Press, ...)

    # ----------------------------------------------------------- stepping

    def dispatch(self, event: Event, now: datetime) -> Outcome:
        try:
            state, commands = step(self.state, event, now)
        except Exception as exc:
            log.exception("core failed on %r", event)
            if isinstance(event, Fault):
                raise
            return self.dispatch(Fault(FaultSource.CORE, FaultKind.EXCEPTION, f"{type(exc).__name__}: {exc}"), now)
        self.state = state
        out = Outcome(list(commands))
        for cmd in commands:
            try:
                self._carry_out(cmd)
            except Exception as exc:
                fault = command_fault(cmd, exc)
                out.failed = str(fault)
                log.error("command %s failed: %s", type(cmd).__name__, exc)
                if isinstance(event, Fault):
                    break          # already out of service; do not loop on a failing safe state
                self.dispatch(fault, now)
                break              # drop the rest: never open for an event not recorded
        return out

    def _carry_out(self, cmd: Command) -> None:
        if isinstance(cmd, Record):
            self.exit_log.append(cmd.entry, clock_synced=bool(self.clock_synced()), boot=self.boot())
        elif isinstance(cmd, OpenGate):
            self.gate_io.open_gate()
        elif isinstance(cmd, Signal):
            self.gate_io.signal(cmd.pattern.value)
        elif isinstance(cmd, SafeState):
            self.gate_io.safe_state()
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
    for key in ("signed_by", "identity", "mismatch", "override_reason", "report", "supervisor_id", "flagged"):
        if key in detail:
            parts.append(f"{key}={detail[key]}")
    return " ".join(parts)
