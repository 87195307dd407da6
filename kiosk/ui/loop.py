"""The live frame loop: the one owner thread of the kiosk.

Per frame: translate raw input into presses, drain driver events, let time pass,
draw the view, flip, feed systemd's watchdog. Anything that raises inside a frame is
stepped as a fault (out of service, gate closed) and the loop goes on.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import pygame

from kiosk.core.events import Fault, FaultKind, FaultSource
from kiosk.core.flow import Scene
from kiosk.fonts import find_cjk_font
from kiosk.shell.sdnotify import Notifier
from kiosk.ui.input import InputTranslator, Quit
from kiosk.ui.render import Renderer
from kiosk.ui.rotate import Rotation
from kiosk.ui.sdl import DisplayError
from kiosk.ui.session import Session, StatusBoard
from kiosk.ui.text import Typesetter
from kiosk.ui.widgets import PhotoCache

log = logging.getLogger("gatepass.kiosk")


def make_session(kiosk: Any, size: tuple[int, int], legend: tuple[tuple[str, str], ...] = ()) -> Session:
    cfg = kiosk.cfg
    ts = Typesetter(find_cjk_font(cfg.display.font), find_cjk_font(cfg.display.font, bold=True))
    renderer = Renderer(ts, size, PhotoCache(kiosk.replica.photo), demo=kiosk.demo is not None)
    board = StatusBoard(kiosk.controller, kiosk.monitor, kiosk.replica, kiosk.exit_log)
    return Session(kiosk.controller, renderer, board, kiosk.devices.scanner, legend)


def open_display(width: int, height: int, fullscreen: bool) -> pygame.Surface:
    """Full screen at the panel's native size (kmsdrm on a Pi without a desktop), or a window."""
    os.environ.setdefault("SDL_VIDEO_MINIMIZE_ON_FOCUS_LOSS", "0")
    try:
        pygame.display.init()
        if fullscreen:
            screen = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
            pygame.mouse.set_visible(False)
        else:
            screen = pygame.display.set_mode((width, height))
        pygame.display.set_caption("gatepass 门岗")
        driver = pygame.display.get_driver()
        if driver in ("dummy", "offscreen") and os.environ.get("SDL_VIDEODRIVER") != driver:
            pygame.display.quit()
            raise DisplayError(f"SDL found no screen and fell back to its {driver!r} driver")
    except pygame.error as exc:
        driver = os.environ.get("SDL_VIDEODRIVER", "(auto)")
        raise DisplayError(f"cannot open the screen with SDL_VIDEODRIVER={driver}: {exc}; "
                           "on a Pi without a desktop use kmsdrm and membership of the video group, "
                           "or run with --window on a desktop") from None
    return screen


class FrameLoop:
    """The live loop's frames, one `frame()` at a time (run_live runs them until Quit;
    the benchmark and the tests drive the very same frames).

    Exit-log rows are committed on the controller's writer thread, so a slow SD card
    never stalls a frame: the screen says "正在记录… Recording" until the row is durable.
    """

    def __init__(self, kiosk: Any, clock: Any, fullscreen: bool, legend_keys: dict[int, tuple[str, Any]],
                 legend: tuple[tuple[str, str], ...]) -> None:
        cfg = kiosk.cfg
        self.kiosk = kiosk
        self.clock = clock
        self.screen = open_display(cfg.display.width, cfg.display.height, fullscreen)
        self.rotation = Rotation(cfg.display.rotate, self.screen.get_size())
        self.canvas = self.rotation.canvas(self.screen)     # the screen itself unless the panel is mounted turned
        self.session = make_session(kiosk, self.rotation.logical, legend)
        self.translator = InputTranslator(self.screen.get_size(), legend_keys, self.rotation)
        self.notifier = Notifier.from_environment()
        self.period = 1.0 / max(1, cfg.display.fps)
        self.last_scene = self.session.scene
        self.starving = False
        self.frames = 0
        self.work_s = 0.0            # how long the last frame took, input to flip (its wait not counted)
        kiosk.controller.use_writer_thread()

    def start(self) -> None:
        self.notifier.ready()
        self.notifier.status(f"screen: {self.last_scene.value}")     # `systemctl status` shows what the guard sees

    def frame(self) -> bool:
        """Input, events, time, draw, flip, watchdog, then wait out the frame period
        (waking early for a card or slip). False when the window was closed."""
        kiosk, session = self.kiosk, self.session
        started = time.monotonic()
        now = self.clock.now()
        frame_ok = False
        try:
            for ev in pygame.event.get():
                got = self.translator.translate(ev, session.frame.hits, time.monotonic())
                if isinstance(got, Quit):
                    return False
                if got is not None:
                    session.press(got, now)
            session.update(now)
            if session.scene is not self.last_scene:
                self.last_scene = session.scene
                self.translator.scene_changed(time.monotonic())
                self.notifier.status(f"screen: {self.last_scene.value}")
            session.draw(self.canvas, now)
            frame_ok = True
        except Exception as exc:          # keep the loop alive, gate closed
            log.exception("frame failed")
            if kiosk.controller.state.scene is not Scene.OUT_OF_SERVICE:
                kiosk.controller.dispatch(Fault(FaultSource.KIOSK, FaultKind.EXCEPTION, f"{type(exc).__name__}: {exc}"), now)
            fallback(self.canvas, session, f"{type(exc).__name__}: {exc}")
            session.painted = True
        if session.painted:
            self.rotation.present(self.canvas, self.screen)
            pygame.display.flip()
        self.frames += 1
        self.work_s = time.monotonic() - started
        # Feed the watchdog only for a frame that worked in a state with a way back:
        # a frame that keeps failing, or a fault only a restart clears, starves it and
        # systemd restarts the kiosk (the gate stays closed meanwhile).
        if frame_ok and kiosk.controller.watchdog_ok():
            self.notifier.ping()
            self.starving = False
        elif not self.starving:
            self.starving = True
            log.error("not feeding the watchdog: %s",
                      kiosk.controller.state.fault or ("an exit-log commit hangs" if kiosk.controller.recording
                                                       else "the frame failed"))
            self.notifier.status("out of service; waiting for systemd to restart the kiosk")
        # Wait out the frame, but wake as soon as a card or slip arrives (or a commit ends).
        kiosk.controller.wait(self.period - (time.monotonic() - started))
        return True

    def close(self) -> None:
        self.notifier.stopping()
        pygame.display.quit()


def run_live(kiosk: Any, clock: Any, fullscreen: bool, legend_keys: dict[int, tuple[str, Any]],
             legend: tuple[tuple[str, str], ...]) -> int:
    loop = FrameLoop(kiosk, clock, fullscreen, legend_keys, legend)
    try:
        loop.start()
        while loop.frame():
            pass
        return 0
    finally:
        loop.close()


def fallback(screen: pygame.Surface, session: Session, detail: str) -> None:
    """If even drawing fails, the screen must still say the gate is closed."""
    screen.fill((150, 20, 20))
    try:
        ts = session.renderer.ts
        w, h = screen.get_size()
        ts.draw(screen, "暂停服务 · 闸门已关闭", pygame.Rect(20, h // 3, w - 40, h // 6), h // 10, (255, 255, 255),
                bold=True, align="center")
        ts.draw(screen, "Out of service · gate closed · " + detail, pygame.Rect(20, h // 2, w - 40, h // 10),
                h // 24, (255, 255, 255), align="center")
    except Exception:
        pass


def keymap(bindings: list[Any], reader: Any, scanner: Any) -> dict[int, tuple[str, Any]]:
    keys: dict[int, tuple[str, Any]] = {}
    for b in bindings:
        code = pygame.key.key_code(b.key.lower()) if not b.key.startswith("F") else getattr(pygame, f"K_{b.key}")
        act = (lambda v=b.value: (reader.present(v), reader.remove())) if b.kind == "card" \
            else (lambda v=b.value: scanner.show(v))
        keys[code] = (b.label, act)
    return keys


__all__ = ["DisplayError", "FrameLoop", "Path", "keymap", "make_session", "open_display", "run_live"]
