"""The owner loop on real demo data: cards and slips in, records and gate pulses out, faults contained."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pygame
import pytest

from domain.boottime import BootStamp
from domain.errors import StoreError
from drivers.events import CardRead, DeviceHealth, SlipScanned
from kiosk.app import SimClock, assemble, demo_config
from kiosk.config import KioskConfig
from kiosk.core.events import Action, FaultKind, FaultSource, OpenGate, Press, Record
from kiosk.core.flow import Scene
from kiosk.ui.input import SETTLE_S, InputTranslator
from kiosk.ui.loop import make_session

BOOT_A = "0b6a1f4c-6f2e-4d0e-9c55-2f0c4a9b1e01"
BOOT_B = "7d2c9e11-0a3b-4f6c-8e1d-5b4a3c2d1e02"


@pytest.fixture()
def kiosk(demo, tmp_path: Path):
    d = tmp_path / "estate"
    shutil.copytree(demo.data_dir, d)
    for suffix in ("", "-wal", "-shm"):
        (d / f"exitlog.db{suffix}").unlink(missing_ok=True)
    demo.data_dir_copy = d
    k = assemble(demo_config(KioskConfig(), d), demo=demo, monitor_thread=False)
    yield k
    k.close()


def _sign_in(k, demo, clock) -> None:
    badge, pin, _, _ = demo.guards[0]
    c = k.controller
    c.handle_raw(CardRead(badge), clock.now())
    for d in pin:
        c.press(Press(Action.DIGIT, d), clock.now())
    c.press(Press(Action.PIN_SUBMIT), clock.now())
    _settle(c, clock)
    assert c.state.guard is not None


def test_a_valid_card_is_recorded_and_opens_the_gate(kiosk, demo):
    clock = SimClock(demo.now)
    _sign_in(kiosk, demo, clock)
    kiosk.controller.emit(CardRead(demo.cards["valid"]))
    kiosk.controller.pump(clock.now())
    assert kiosk.controller.state.scene is Scene.CARD_RESULT
    assert [r["kind"] for r in kiosk.exit_log.recent(1)] == ["card_pass"]
    assert any(w == "open_gate" for _, w in kiosk.devices.gate_io.calls)


def _settle(controller, clock) -> None:
    """The live loop's frames until the row in flight on the writer thread is durable."""
    deadline = time.monotonic() + 10
    while controller.recording:
        assert time.monotonic() < deadline, "the writer thread never committed"
        controller.wait(0.05)
        controller.pump(clock.now())


@pytest.mark.parametrize("writer", [True, False], ids=["writer thread (the live loop)", "inline"])
def test_each_record_carries_the_boot_it_was_made_in_across_a_reboot(kiosk, demo, writer):
    # The live loop commits on its writer thread (kiosk/ui/loop.py): its rows once lost the stamp (issue 18).
    clock = SimClock(demo.now)
    if writer:
        kiosk.controller.use_writer_thread()
    boots = iter([BootStamp(BOOT_A, 31_000), BootStamp(BOOT_A, 32_500), BootStamp(BOOT_B, 9_000)])
    kiosk.controller.boot = lambda: next(boots)
    _sign_in(kiosk, demo, clock)                               # shift start: boot A
    kiosk.controller.handle_raw(CardRead(demo.cards["valid"]), clock.now())
    _settle(kiosk.controller, clock)
    kiosk.controller.boot = lambda: next(boots)                # the Pi restarts
    kiosk.controller.handle_raw(CardRead(demo.cards["valid"]), clock.now())
    _settle(kiosk.controller, clock)
    rows = list(reversed(kiosk.exit_log.recent(3)))
    assert [(r["kind"], r["boot_id"], r["boottime_ms"]) for r in rows] == [
        ("shift_start", BOOT_A, 31_000), ("card_pass", BOOT_A, 32_500), ("card_pass", BOOT_B, 9_000)]
    kiosk.exit_log.verify()


def test_a_record_that_cannot_be_written_never_opens_the_gate(kiosk, demo, monkeypatch):
    clock = SimClock(demo.now)
    _sign_in(kiosk, demo, clock)
    opened_before = sum(w == "open_gate" for _, w in kiosk.devices.gate_io.calls)

    def broken(entry, clock_synced, boot=None):
        raise StoreError("exitlog.db: disk I/O error")

    monkeypatch.setattr(kiosk.exit_log, "append", broken)
    kiosk.controller.handle_raw(CardRead(demo.cards["valid"]), clock.now())
    state = kiosk.controller.state
    assert state.scene is Scene.OUT_OF_SERVICE
    assert state.fault.source is FaultSource.STORE and state.fault.kind is FaultKind.LOG_WRITE   # not "full"
    assert "disk I/O error" in state.fault.message
    assert sum(w == "open_gate" for _, w in kiosk.devices.gate_io.calls) == opened_before
    assert any(w == "safe_state" for _, w in kiosk.devices.gate_io.calls)
    kiosk.controller.tick(clock.now())          # the loop lives on
    assert kiosk.controller.state.scene is Scene.OUT_OF_SERVICE


def test_a_relay_that_fails_puts_the_gate_out_of_service(kiosk, demo):
    clock = SimClock(demo.now)
    _sign_in(kiosk, demo, clock)
    kiosk.devices.gate_io.fail_next = "relay driver error"
    kiosk.controller.handle_raw(CardRead(demo.cards["valid"]), clock.now())
    assert kiosk.controller.state.scene is Scene.OUT_OF_SERVICE
    fault = kiosk.controller.state.fault
    assert (fault.source, fault.kind, fault.message) == (FaultSource.GPIO, FaultKind.DEVICE_FAILED, "relay driver error")
    assert kiosk.exit_log.recent(1)[0]["kind"] == "card_pass"     # recorded before the gate was tried


def test_gate_io_offline_closes_the_gate_and_online_reopens_service(kiosk, demo):
    clock = SimClock(demo.now)
    c = kiosk.controller
    c.handle_raw(DeviceHealth("gpio", False, "lgpio: cannot open chip"), clock.now())
    assert c.state.scene is Scene.OUT_OF_SERVICE
    c.handle_raw(DeviceHealth("gpio", True), clock.now())
    assert c.state.scene is Scene.IDLE


def test_the_status_bar_shows_reader_offline_when_the_driver_says_so(kiosk, demo):
    clock = SimClock(demo.now)
    pygame.init()
    session = make_session(kiosk, (800, 480))
    kiosk.controller.emit(DeviceHealth("reader", False, "unplugged"))
    session.update(clock.now())
    frame = session.draw(pygame.Surface((800, 480)), clock.now())
    assert any("reader offline" in t for t in frame.drawn)


def test_a_slip_shows_its_items_and_the_mover_from_the_replica(kiosk, demo):
    clock = SimClock(demo.now)
    _sign_in(kiosk, demo, clock)
    pygame.init()
    session = make_session(kiosk, (800, 480))
    kiosk.controller.emit(SlipScanned(demo.slips["owner"]))
    session.update(clock.now())
    frame = session.draw(pygame.Surface((800, 480)), clock.now())
    assert session.scene is Scene.SLIP_ITEMS
    slip = kiosk.controller.state.case.decision.slip
    for item in slip.items:
        assert item.name in frame.drawn
    assert slip.mover.name in frame.drawn
    assert frame.overflows == ()


def test_taps_hit_the_button_under_the_finger_once(kiosk, demo):
    clock = SimClock(demo.now)
    _sign_in(kiosk, demo, clock)
    pygame.init()
    session = make_session(kiosk, (800, 480))
    session.draw(pygame.Surface((800, 480)), clock.now())
    recent = next(h for h in session.frame.hits if isinstance(h.press, Press) and h.press.action is Action.RECENT)
    t = InputTranslator((800, 480))
    x, y = recent.rect.center
    finger = pygame.event.Event(pygame.FINGERDOWN, x=x / 800, y=y / 480, finger_id=0, touch_id=0)
    synthetic = pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1, touch=True)
    assert t.translate(finger, session.frame.hits, 10.0) == Press(Action.RECENT)
    assert t.translate(synthetic, session.frame.hits, 10.0) is None        # SDL's mouse echo of the finger
    mouse = pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1, touch=False)
    assert t.translate(mouse, session.frame.hits, 10.0) == Press(Action.RECENT)


def test_a_double_tap_does_not_fall_through_to_the_next_scene(kiosk, demo):
    t = InputTranslator((800, 480))
    from kiosk.ui.widgets import Hit

    hits = [Hit(pygame.Rect(0, 0, 100, 100), Press(Action.CONFIRM_IDENTITY))]
    t.scene_changed(100.0)
    tap = pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(50, 50), button=1, touch=False)
    assert t.translate(tap, hits, 100.0 + SETTLE_S / 2) is None
    assert t.translate(tap, hits, 100.0 + SETTLE_S + 0.01) == Press(Action.CONFIRM_IDENTITY)


def test_keyboard_digits_and_enter_type_a_pin():
    t = InputTranslator((800, 480))
    key = pygame.event.Event(pygame.KEYDOWN, key=pygame.K_7, unicode="7", mod=0)
    enter = pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, unicode="\r", mod=0)
    assert t.translate(key, [], 0) == Press(Action.DIGIT, "7")
    assert t.translate(enter, [], 0) == Press(Action.PIN_SUBMIT)


def test_records_carry_whether_the_clock_was_synchronised(kiosk, demo):
    clock = SimClock(demo.now)
    kiosk.monitor.clock_synced = True
    _sign_in(kiosk, demo, clock)
    assert kiosk.exit_log.recent(1)[0]["clock_synced"] is True
    assert isinstance(kiosk.controller.carried[0], Record)
    assert not any(isinstance(c, OpenGate) for c in kiosk.controller.carried)


def test_an_idle_gate_repaints_only_when_something_on_screen_changes(kiosk, demo):
    from kiosk.app import SimClock

    clock = SimClock(demo.now)
    pygame.init()
    session = make_session(kiosk, (800, 480))
    session.scanner = None                      # no moving camera preview
    surface = pygame.Surface((800, 480))
    state_before = kiosk.controller.state
    session.draw(surface, clock.now())
    assert session.painted
    session.draw(surface, clock.now())
    assert not session.painted                  # same second, same screen
    assert kiosk.controller.state is state_before   # drawing never changes state
    clock.advance(1)
    session.draw(surface, clock.now())
    assert session.painted                      # the clock moved


def test_a_full_log_closes_the_gate_says_so_and_recovers_when_space_returns(kiosk, demo):
    """SQLite's own page limit stands in for a full disk: the same SQLITE_FULL error."""
    clock = SimClock(demo.now)
    _sign_in(kiosk, demo, clock)
    db = kiosk.exit_log.db
    db.execute("pragma wal_checkpoint(truncate)")
    pages = db.execute("pragma page_count").fetchone()[0]
    db.execute(f"pragma max_page_count = {pages}")
    seq_before = kiosk.exit_log.last_seq
    opened = sum(w == "open_gate" for _, w in kiosk.devices.gate_io.calls)
    for _ in range(40):       # fill the last free pages
        kiosk.controller.handle_raw(CardRead(demo.cards["valid"]), clock.now())
        if kiosk.controller.state.scene is Scene.OUT_OF_SERVICE:
            break
        clock.advance(9)
        kiosk.controller.tick(clock.now())
    state = kiosk.controller.state
    assert state.scene is Scene.OUT_OF_SERVICE and state.fault.kind is FaultKind.DISK_FULL
    recorded = kiosk.exit_log.last_seq - seq_before
    opened_now = sum(w == "open_gate" for _, w in kiosk.devices.gate_io.calls) - opened
    assert opened_now == recorded            # every opening has its row; the refused one did not open
    # still full: probes keep it closed, and a card changes nothing
    for _ in range(3):
        clock.advance(6)
        kiosk.controller.tick(clock.now())
    assert kiosk.exit_log.probe() is not None
    kiosk.controller.handle_raw(CardRead(demo.cards["valid"]), clock.now())
    assert kiosk.controller.state.scene is Scene.OUT_OF_SERVICE
    session = make_session(kiosk, (800, 480))
    session.update(clock.now())
    surface = pygame.Surface((800, 480))
    session.draw(surface, clock.now())
    assert "暂停服务" in session.view.title.zh
    assert [r.zh for r in session.view.reasons] == ["存储空间已满,无法记录放行;清理空间后自动恢复"]
    # space returns: within one probe interval the gate is back and records again
    db.execute(f"pragma max_page_count = {pages * 100}")
    clock.advance(6)
    kiosk.controller.tick(clock.now())
    assert kiosk.controller.state.scene is Scene.IDLE and kiosk.controller.state.guard is not None
    kiosk.controller.handle_raw(CardRead(demo.cards["valid"]), clock.now())
    assert kiosk.exit_log.recent(1)[0]["kind"] == "card_pass"
    kiosk.exit_log.verify()


def test_the_exit_button_opens_the_gate_and_is_recorded(kiosk, demo):
    clock = SimClock(demo.now)
    kiosk.devices.gate_io.inner.on_exit_request()
    kiosk.controller.pump(clock.now())
    assert kiosk.exit_log.recent(1)[0]["kind"] == "exit_request"
    assert any(w == "open_gate" for _, w in kiosk.devices.gate_io.calls)
