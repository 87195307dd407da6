"""Issue 11: every out-of-service state has a way back, or systemd is made to restart the kiosk.

STORE and GPIO faults are probed every few seconds and clear by themselves; a fault with
no way back (a bug in the core or the frame loop) stops the watchdog pings, so systemd's
WatchdogSec restarts the kiosk instead of leaving the gate shut behind a loop that looks alive.
"""
from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pygame
import pytest

from drivers.events import CardRead
from kiosk.app import SimClock, assemble, demo_config
from kiosk.config import KioskConfig
from kiosk.core.events import Fault, FaultKind, FaultSource
from kiosk.core.flow import Scene
from kiosk.shell.controller import STORE_PROBE_INTERVAL

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


@pytest.fixture()
def kiosk(demo, tmp_path: Path):
    d = tmp_path / "estate"
    shutil.copytree(demo.data_dir, d)
    for suffix in ("", "-wal", "-shm"):
        (d / f"exitlog.db{suffix}").unlink(missing_ok=True)
    k = assemble(demo_config(KioskConfig(), d), demo=demo, monitor_thread=False)
    yield k
    k.close()


def test_a_relay_that_failed_once_is_probed_and_the_gate_comes_back_by_itself(kiosk, demo):
    clock = SimClock(demo.now)
    c = kiosk.controller
    kiosk.devices.gate_io.fail_next = "relay driver error"
    c.dispatch(Fault(FaultSource.GPIO, FaultKind.DEVICE_FAILED, "relay driver error"), clock.now())
    assert c.state.scene is Scene.OUT_OF_SERVICE
    for _ in range(3):
        clock.advance(STORE_PROBE_INTERVAL.total_seconds())
        c.tick(clock.now())
    assert c.state.scene is Scene.IDLE
    assert c.watchdog_ok()


@pytest.mark.parametrize("source", [FaultSource.CORE, FaultSource.KIOSK])
def test_a_fault_with_no_way_back_says_the_watchdog_must_starve(kiosk, demo, source):
    clock = SimClock(demo.now)
    c = kiosk.controller
    assert c.watchdog_ok()
    c.dispatch(Fault(source, FaultKind.EXCEPTION, "a bug"), clock.now())
    for _ in range(3):
        clock.advance(STORE_PROBE_INTERVAL.total_seconds())
        c.tick(clock.now())
    assert c.state.scene is Scene.OUT_OF_SERVICE
    assert not c.watchdog_ok()


def test_the_store_fault_is_not_a_restart(kiosk, demo):
    c = kiosk.controller
    c.dispatch(Fault(FaultSource.STORE, FaultKind.LOOKUP, "replica unreadable"), SimClock(demo.now).now())
    assert c.watchdog_ok()


def test_the_live_loop_stops_feeding_the_watchdog_once_a_restart_is_needed(kiosk, demo, tmp_path: Path, monkeypatch):
    from kiosk.ui.loop import run_live

    sock_path = tmp_path / "notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(sock_path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(sock_path))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")      # a ping every 0.2 s while healthy
    before: list[bytes] = []
    after: list[bytes] = []

    def recv_until(out: list[bytes], seconds: float, stop=None) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            server.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                out.append(server.recv(256))
            except TimeoutError:
                return
            if stop is not None and stop(out):
                return

    def drive() -> None:
        server.settimeout(20)
        before.append(server.recv(256))                                   # READY=1
        recv_until(before, 10, lambda m: sum(x.startswith(b"WATCHDOG=1") for x in m) >= 2)
        kiosk.controller.emit(CardRead(demo.cards["valid"]))             # something to resolve...
        kiosk.controller.emit(Fault(FaultSource.CORE, FaultKind.EXCEPTION, "injected bug"))
        recv_until(after, 10, lambda m: any(b"restart" in x for x in m))  # the loop says it starves
        recv_until(after, 1.5)                                           # ...and pings no more
        pygame.event.post(pygame.event.Event(pygame.QUIT))

    t = threading.Thread(target=drive, daemon=True)
    t.start()
    rc = run_live(kiosk, SimClock(demo.now), False, {}, ())
    t.join(timeout=5)
    server.close()
    assert rc == 0
    assert before[0] == b"READY=1" and sum(m.startswith(b"WATCHDOG=1") for m in before) >= 2
    starve = next(i for i, m in enumerate(after) if b"restart" in m)
    assert not any(m.startswith(b"WATCHDOG=1") for m in after[starve:]), after
