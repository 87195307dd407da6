"""A slow SD card under the exit log: the live frame loop keeps drawing while a row commits,
shows "正在记录… Recording", and shows "released" and opens the gate only once the row is
durable; a commit that fails never opens the gate.

The commit is held inside SQLite itself: the exit log's real connection gets a trace
callback that, on the writer thread, waits on a threading.Event when the statement is
the transaction's COMMIT. So the row is written into the open transaction but is not
durable (another connection cannot see it) until the test lets the COMMIT run.
"""
from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from drivers.events import CardRead, SlipScanned
from kiosk.app import OffsetClock, assemble, demo_config
from kiosk.config import KioskConfig
from kiosk.core.events import Action, FaultKind, Press
from kiosk.core.flow import Scene
from kiosk.ui.loop import FrameLoop


class CommitGate:
    """Holds the exit log's COMMIT, on whichever thread runs it, while closed.

    If the frame thread itself ran the COMMIT (the loop waiting on the card), the test
    could not open the gate: the wait ends after ``limit`` seconds and says so.
    """

    def __init__(self, conn: sqlite3.Connection, limit: float = 20.0) -> None:
        self.open = threading.Event()
        self.open.set()
        self.held = threading.Event()           # a COMMIT is waiting right now
        self.limit = limit
        self.stalled_thread = ""                # the thread a COMMIT held until the limit
        conn.set_trace_callback(self._trace)

    def _trace(self, sql: str) -> None:
        if sql.strip().lower() == "commit" and not self.open.is_set():
            self.held.set()
            if not self.open.wait(self.limit):
                self.stalled_thread = threading.current_thread().name
            self.held.clear()


@pytest.fixture()
def live(demo, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    d = tmp_path / "estate"
    shutil.copytree(demo.data_dir, d)
    for suffix in ("", "-wal", "-shm"):
        (d / f"exitlog.db{suffix}").unlink(missing_ok=True)
    kiosk = assemble(demo_config(KioskConfig(), d), demo=demo, monitor_thread=False)
    loop = FrameLoop(kiosk, OffsetClock(demo.now), False, {}, ())
    loop.start()
    yield kiosk, loop, d / "exitlog.db"
    loop.close()
    kiosk.close()


def frames_until(loop: FrameLoop, done: Callable[[], bool], limit: int = 150) -> int:
    for n in range(limit):
        assert loop.frame()
        if done():
            return n + 1
    raise AssertionError(f"not reached after {limit} frames; the screen is {loop.session.scene.value}")


def durable_rows(path: Path, kind: str) -> int:
    """Rows of ``kind`` another process would see: committed ones only."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("select count(*) from exit_log where kind = ?", [kind]).fetchone()[0])
    finally:
        conn.close()


def to_sign_off(kiosk, loop: FrameLoop, demo) -> None:
    """Sign the demo guard in and bring the owner's slip to the sign-off screen, through the loop."""
    badge, pin, _, _ = demo.guards[0]
    c, s = kiosk.controller, loop.session
    c.emit(CardRead(badge))
    frames_until(loop, lambda: s.scene is Scene.SIGN_IN_PIN)
    for d in pin:
        s.press(Press(Action.DIGIT, d), loop.clock.now())
    s.press(Press(Action.PIN_SUBMIT), loop.clock.now())
    frames_until(loop, lambda: c.state.guard is not None and not c.recording)
    c.emit(SlipScanned(demo.slips["owner"]))
    frames_until(loop, lambda: s.scene is Scene.SLIP_ITEMS)
    s.press(Press(Action.ALL_MATCH), loop.clock.now())
    s.press(Press(Action.CONFIRM_IDENTITY), loop.clock.now())
    assert s.scene is Scene.SIGN_OFF


def opened(kiosk) -> int:
    return sum(w == "open_gate" for _, w in kiosk.devices.gate_io.calls)


def test_the_screen_keeps_drawing_recording_while_a_commit_is_held_and_releases_only_when_durable(live, demo):
    kiosk, loop, path = live
    c, s = kiosk.controller, loop.session
    to_sign_off(kiosk, loop, demo)
    gate = CommitGate(kiosk.exit_log.db.conn)
    gate.open.clear()
    _, pin, _, _ = demo.guards[0]
    for d in pin:
        s.press(Press(Action.DIGIT, d), loop.clock.now())
    s.press(Press(Action.PIN_SUBMIT), loop.clock.now())          # the guard signs off: record, then open
    assert gate.stalled_thread == "", f"the {gate.stalled_thread} thread waited for the COMMIT: the screen froze"
    frames_until(loop, gate.held.is_set)

    # A second and a half of frames with the COMMIT held: the loop goes on drawing.
    clocks = set()
    for _ in range(45):
        assert loop.frame()
        assert "正在记录…" in s.frame.drawn and "Recording…" in s.frame.drawn
        clocks.add(s.view.clock if s.view else "")
        assert s.scene is not Scene.RELEASED
    assert len(clocks) >= 2, "the top bar's clock did not move: the screen was not redrawn"
    assert s.frame.hits == (), "buttons on the recording screen"
    assert opened(kiosk) == 0 and durable_rows(path, "release") == 0
    s.press(Press(Action.CANCEL), loop.clock.now())           # a tap meanwhile does nothing
    assert c.watchdog_ok()

    seen_at_release: list[int] = []

    def released() -> bool:
        if s.scene is Scene.RELEASED:
            seen_at_release.append(durable_rows(path, "release"))
            return True
        return False

    gate.open.set()
    frames_until(loop, released, 60)
    assert seen_at_release == [1], "released shown before its row was durable"
    assert opened(kiosk) == 1
    assert "已放行" in s.frame.drawn and "正在记录…" not in s.frame.drawn


def test_card_reads_during_a_held_commit_wait_their_turn(live, demo):
    kiosk, loop, path = live
    c, s = kiosk.controller, loop.session
    to_sign_off(kiosk, loop, demo)
    gate = CommitGate(kiosk.exit_log.db.conn)
    gate.open.clear()
    c.emit(CardRead(demo.guards[0][0]))                       # sign off by badge
    frames_until(loop, gate.held.is_set)
    assert gate.stalled_thread == ""
    c.emit(CardRead(demo.cards["valid"]))                     # a resident taps a card meanwhile
    for _ in range(10):
        assert loop.frame()
    assert c.recording and durable_rows(path, "card_pass") == 0
    gate.open.set()
    frames_until(loop, lambda: s.scene is Scene.CARD_RESULT)
    assert durable_rows(path, "release") == 1 and durable_rows(path, "card_pass") == 1
    assert opened(kiosk) == 2                                  # the slip's opening, then the card's


def test_a_commit_that_fails_on_the_writer_thread_never_opens_the_gate(live, demo):
    kiosk, loop, path = live
    c, s = kiosk.controller, loop.session
    to_sign_off(kiosk, loop, demo)
    kiosk.exit_log.db.conn.execute("pragma query_only = on")   # SQLite now refuses every write
    c.emit(CardRead(demo.guards[0][0]))
    frames_until(loop, lambda: s.scene is Scene.OUT_OF_SERVICE)
    assert c.state.fault is not None and c.state.fault.kind is FaultKind.LOG_WRITE
    assert opened(kiosk) == 0 and durable_rows(path, "release") == 0
    assert any("暂停服务" in t for t in s.frame.drawn)


def test_a_handover_commits_both_rows_in_order_before_the_new_guard_is_on_screen(live, demo):
    """A sign-in over a signed-in guard is two rows (shift end, shift start): the new guard
    is on screen only once both are durable."""
    kiosk, loop, path = live
    c, s = kiosk.controller, loop.session
    to_sign_off(kiosk, loop, demo)
    s.press(Press(Action.CANCEL), loop.clock.now())
    first, second = demo.guards[0], demo.guards[1]
    gate = CommitGate(kiosk.exit_log.db.conn)
    c.emit(CardRead(second[0]))
    frames_until(loop, lambda: s.scene is Scene.SIGN_IN_PIN)
    gate.open.clear()
    for d in second[1]:
        s.press(Press(Action.DIGIT, d), loop.clock.now())
    s.press(Press(Action.PIN_SUBMIT), loop.clock.now())
    frames_until(loop, gate.held.is_set)
    for _ in range(5):
        assert loop.frame()
    assert "正在记录…" in s.frame.drawn and durable_rows(path, "shift_end") == 0
    assert s.view is not None and s.view.guard_name == first[3]          # still the first guard on screen
    gate.open.set()
    frames_until(loop, lambda: not c.recording and s.scene is Scene.IDLE)
    assert durable_rows(path, "shift_end") == 1 and durable_rows(path, "shift_start") == 2
    assert s.view is not None and s.view.guard_name == second[3]
    rows = [r["kind"] for r in kiosk.exit_log.rows()]
    assert rows[-2:] == ["shift_end", "shift_start"]
