"""The live loop on SDL's dummy screen: it says READY, feeds the watchdog, answers keys, and quits."""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pygame
import pytest

from kiosk.cli import main


def test_the_demo_window_runs_feeds_the_watchdog_and_takes_demo_keys(tmp_path: Path, monkeypatch):
    sock_path = tmp_path / "notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(sock_path))
    server.settimeout(20)
    monkeypatch.setenv("NOTIFY_SOCKET", str(sock_path))
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")      # WatchdogSec=1: a ping every half second
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    messages: list[bytes] = []

    def until(wanted: bytes, count: int = 1) -> None:
        """Read the notify socket until ``wanted`` has come ``count`` times (the loop's own reports)."""
        deadline = time.monotonic() + 60
        while sum(wanted in m for m in messages) < count:
            server.settimeout(max(0.01, deadline - time.monotonic()))
            messages.append(server.recv(256))

    def keys(*pressed: int) -> None:
        for key in pressed:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=pygame.key.name(key)[-1:]
                                                 if pygame.K_0 <= key <= pygame.K_9 else "", mod=0))

    def drive() -> None:
        try:
            until(b"READY=1")                          # the screen is up
            until(b"STATUS=screen: idle")
            keys(pygame.K_F1)                          # the demo guard's badge
            until(b"STATUS=screen: sign_in_pin")       # the badge was read: now the PIN
            keys(pygame.K_1, pygame.K_2, pygame.K_3, pygame.K_4, pygame.K_RETURN)
            until(b"STATUS=screen: idle", 2)           # signed in, back to the waiting screen
            keys(pygame.K_a)
            until(b"WATCHDOG=1", 2)
        finally:
            pygame.event.post(pygame.event.Event(pygame.QUIT))

    t = threading.Thread(target=drive, daemon=True)
    t.start()
    rc = main(["kiosk", "--demo", "--window", "--data-dir", str(tmp_path / "data")])
    t.join(timeout=5)
    server.close()
    assert rc == 0
    assert messages[0] == b"READY=1"
    assert b"STATUS=screen: sign_in_pin" in messages
    assert messages.count(b"WATCHDOG=1") >= 2

    from kiosk.exitlog import ExitLog

    log = ExitLog.open(tmp_path / "data" / "exitlog.db", "north")
    kinds = [r["kind"] for r in log.rows()]
    assert kinds[:1] == ["shift_start"], kinds     # F1 badge + PIN 1234 + Enter signed the guard in
    # Quit (what SDL makes of systemd's SIGTERM) with the guard still on shift: the shift ends, recorded,
    # on the writer thread the live loop commits with, boot stamp and all (issue 18).
    last = list(log.rows())[-1]
    assert (last["kind"], last["guard_id"], last["detail"]) == ("shift_end", "G001", {"ended_by": "kiosk_stopped"}), last
    log.verify()


@pytest.mark.parametrize("driver", ["dummy"])
def test_no_display_and_no_demo_is_a_clear_error(driver, monkeypatch, capsys):
    monkeypatch.setenv("SDL_VIDEODRIVER", driver)
    rc = main(["kiosk", "--headless"])
    assert rc == 2
    assert "--demo" in capsys.readouterr().err


def test_when_drawing_itself_fails_the_screen_still_says_out_of_service(typesetter):
    from types import SimpleNamespace

    from kiosk.ui.loop import fallback

    screen = pygame.Surface((800, 480))
    fallback(screen, SimpleNamespace(renderer=SimpleNamespace(ts=typesetter)), "RuntimeError: boom")  # type: ignore[arg-type]
    assert screen.get_at((5, 5))[:3] == (150, 20, 20)
    assert "暂停服务 · 闸门已关闭" in typesetter.drawn


def test_a_gate_whose_gpio_chip_cannot_be_opened_says_so_and_does_not_start(tmp_path: Path, monkeypatch, capsys):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[store]\nreplica = "{tmp_path}/replica.db"\nexit_log = "{tmp_path}/exitlog.db"\n'
                   f'keys = "{tmp_path}/keys"\n[sync]\nstatus_file = "{tmp_path}/sync.json"\n'
                   '[reader]\nport = "loop://"\n[camera]\nsource = ""\n[gpio]\npin_factory = "lgpio"\n')
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    rc = main(["kiosk", "--config", str(cfg), "--window"])
    assert rc == 2
    assert "lgpio" in capsys.readouterr().err
