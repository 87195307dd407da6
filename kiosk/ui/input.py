"""The one boundary where raw pygame events become gate events.

Taps (mouse or finger) are hit-tested against the rectangles the last frame drew;
keys map to PIN entry and, in demo mode, to presenting demo cards and slips. Nothing
else in the kiosk looks at pygame events.

Two touch hazards are handled here: SDL reports a finger tap twice (as a finger and as
a synthetic mouse event), and a hurried double tap would land its second half on
whatever button the *next* scene put in the same place ("All match" then "Identity
checked"), so taps in the first moments after a scene change are ignored.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pygame

from kiosk.core.events import Action, Press
from kiosk.ui.rotate import Rotation
from kiosk.ui.widgets import Hit, Page

SETTLE_S = 0.35          # ignore taps this long after the scene changed

_KEYS: dict[int, Press] = {
    pygame.K_BACKSPACE: Press(Action.BACKSPACE),
    pygame.K_RETURN: Press(Action.PIN_SUBMIT),
    pygame.K_KP_ENTER: Press(Action.PIN_SUBMIT),
    pygame.K_ESCAPE: Press(Action.CANCEL),
}


@dataclass(frozen=True)
class Quit:
    """The window was closed (desktop only; the kiosk unit has no window manager)."""


DemoKeys = dict[int, tuple[str, Callable[[], None]]]


def hit_test(hits: Sequence[Hit], pos: tuple[int, int]) -> Press | Page | None:
    for h in reversed(hits):        # drawn last is on top
        if h.rect.collidepoint(pos):
            return h.press
    return None


class InputTranslator:
    """``size`` is the panel's; with a ``rotation`` (display.rotate), taps are turned back onto
    the upright canvas the frame's hits were drawn on."""

    def __init__(self, size: tuple[int, int], demo_keys: DemoKeys | None = None, rotation: Rotation | None = None) -> None:
        self.size = size
        self.rotation = rotation or Rotation(0, size)
        self.demo_keys = demo_keys or {}
        self.settled_at = 0.0

    def scene_changed(self, now_s: float) -> None:
        self.settled_at = now_s + SETTLE_S

    def translate(self, ev: pygame.event.Event, hits: Sequence[Hit], now_s: float) -> Press | Page | Quit | None:
        if ev.type == pygame.QUIT:
            return Quit()
        if ev.type == pygame.MOUSEBUTTONDOWN and ev.button == 1 and not getattr(ev, "touch", False):
            return self._tap(self.rotation.to_logical(ev.pos), hits, now_s)
        if ev.type == pygame.FINGERDOWN:
            return self._tap(self.rotation.finger(ev.x, ev.y), hits, now_s)
        if ev.type == pygame.KEYDOWN:
            if ev.key in self.demo_keys:
                self.demo_keys[ev.key][1]()
                return None
            if ev.unicode and ev.unicode.isdigit() and len(ev.unicode) == 1:
                return Press(Action.DIGIT, ev.unicode)
            return _KEYS.get(ev.key)
        return None

    def _tap(self, pos: tuple[int, int], hits: Sequence[Hit], now_s: float) -> Press | Page | None:
        if now_s < self.settled_at:
            return None
        return hit_test(hits, pos)
