"""display.rotate: a panel mounted turned shows the scene upright to the guard, and a tap on a button hits it.

The scene is drawn by the real renderer, turned by pygame on the way to the panel and saved
to PNG; where a button shows on the panel is found in that PNG (the button is painted a
marker colour on the upright canvas first), never computed by the code under test.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pygame
import pytest

from drivers.events import CardRead
from kiosk.app import SimClock, assemble, demo_config
from kiosk.config import KioskConfig
from kiosk.core.events import Action, Press
from kiosk.core.flow import Scene
from kiosk.ui.input import InputTranslator
from kiosk.ui.loop import make_session
from kiosk.ui.rotate import Rotation

PANEL = (800, 480)
MARK = (255, 0, 255)


@pytest.fixture()
def keypad(demo, tmp_path: Path):
    """A kiosk on demo data showing the PIN keypad (a guard's badge was read)."""
    d = tmp_path / "estate"
    shutil.copytree(demo.data_dir, d)
    for suffix in ("", "-wal", "-shm"):
        (d / f"exitlog.db{suffix}").unlink(missing_ok=True)
    k = assemble(demo_config(KioskConfig(), d), demo=demo, monitor_thread=False)
    clock = SimClock(demo.now)
    k.controller.handle_raw(CardRead(demo.guards[0][0]), clock.now())
    assert k.controller.state.scene is Scene.SIGN_IN_PIN
    pygame.init()
    yield k, clock
    k.close()


def _shoot(kiosk, clock, rotation: Rotation, png: Path, mark: Press | None = None):
    """Draw the scene for the panel as ``rotation`` says, save what the panel shows; return the hits."""
    screen = pygame.Surface(rotation.physical)
    canvas = rotation.canvas(screen)
    session = make_session(kiosk, rotation.logical)
    frame = session.draw(canvas, clock.now(), force=True)
    if mark is not None:
        canvas.fill(MARK, next(h.rect for h in frame.hits if h.press == mark))
    rotation.present(canvas, screen)
    pygame.image.save(screen, str(png))
    return frame.hits, canvas


def _marked_box(png: Path) -> pygame.Rect:
    shot = pygame.image.load(str(png))
    w, h = shot.get_size()
    xs, ys = [], []
    for x in range(0, w, 2):
        for y in range(0, h, 2):
            if tuple(shot.get_at((x, y)))[:3] == MARK:
                xs.append(x)
                ys.append(y)
    assert xs, f"{png.name}: the marked button is not on the panel"
    return pygame.Rect(min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1)


@pytest.mark.parametrize("degrees", [0, 90, 180, 270])
def test_a_tap_where_a_button_shows_on_the_turned_panel_presses_that_button(keypad, tmp_path: Path, degrees: int) -> None:
    kiosk, clock = keypad
    rotation = Rotation(degrees, PANEL)
    seven = Press(Action.DIGIT, "7")
    hits, _ = _shoot(kiosk, clock, rotation, tmp_path / f"pin_{degrees}.png", mark=seven)
    box = _marked_box(tmp_path / f"pin_{degrees}.png")
    upright = next(h.rect for h in hits if h.press == seven)
    if degrees in (90, 270):                       # a quarter turn stands the button on its side
        assert abs(box.width - upright.height) <= 2 and abs(box.height - upright.width) <= 2
    t = InputTranslator(PANEL, rotation=rotation)
    x, y = box.center
    finger = pygame.event.Event(pygame.FINGERDOWN, x=x / PANEL[0], y=y / PANEL[1], finger_id=0, touch_id=0)
    mouse = pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1, touch=False)
    assert t.translate(finger, hits, 10.0) == seven
    assert t.translate(mouse, hits, 10.0) == seven
    for corner in ((box.left + 3, box.top + 3), (box.right - 4, box.bottom - 4)):
        tap = pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=corner, button=1, touch=False)
        assert t.translate(tap, hits, 10.0) == seven, corner


#: Which way, on the panel, is down and right for the guard reading it, per rotation (clockwise).
GUARDS_DOWN_RIGHT = {0: ((0, 1), (1, 0)), 90: ((-1, 0), (0, 1)), 180: ((0, -1), (-1, 0)), 270: ((1, 0), (0, -1))}


@pytest.mark.parametrize("degrees", [0, 90, 180, 270])
def test_the_keypad_reads_upright_for_the_guard_on_the_turned_panel(keypad, tmp_path: Path, degrees: int) -> None:
    """1 above 7 and left of 3, as the guard standing at the turned panel sees it."""
    kiosk, clock = keypad
    rotation = Rotation(degrees, PANEL)
    centre = {}
    for digit in "137":
        png = tmp_path / f"pin_{degrees}_{digit}.png"
        _shoot(kiosk, clock, rotation, png, mark=Press(Action.DIGIT, digit))
        assert pygame.image.load(str(png)).get_size() == PANEL
        centre[digit] = _marked_box(png).center
    down, right = GUARDS_DOWN_RIGHT[degrees]

    def along(a: str, b: str, way: tuple[int, int]) -> int:
        return (centre[b][0] - centre[a][0]) * way[0] + (centre[b][1] - centre[a][1]) * way[1]
    assert along("1", "7", down) > 0 and along("1", "7", right) == 0
    assert along("1", "3", right) > 0 and along("1", "3", down) == 0


def test_a_rotation_that_is_not_a_quarter_turn_is_refused() -> None:
    from domain.errors import ConfigError

    with pytest.raises(ConfigError, match="display.rotate"):
        Rotation(45, PANEL)
