"""A panel mounted turned: the kiosk draws upright on a canvas and turns it on the way to the screen.

``display.rotate`` says how far (clockwise, in degrees) the picture must be turned for a
guard to read it on the panel as mounted. Software rotation works the same under KMS/DRM,
X11 and the dummy driver (the firmware's ``display_lcd_rotate`` does only 180 on the
official panel, and nothing for touch). Touches arrive in the panel's own coordinates,
so they are turned back the other way before hit-testing against what the frame drew.
"""
from __future__ import annotations

from dataclasses import dataclass

import pygame

from domain.errors import ConfigError

#: The turns a panel can be mounted at, clockwise.
ROTATIONS = (0, 90, 180, 270)


@dataclass(frozen=True)
class Rotation:
    """The screen as the panel has it (``physical``) and as the kiosk draws it (``logical``)."""

    degrees: int
    physical: tuple[int, int]

    def __post_init__(self) -> None:
        if self.degrees not in ROTATIONS:
            raise ConfigError(f"display.rotate = {self.degrees!r}: expected one of {', '.join(map(str, ROTATIONS))}")

    @property
    def turned(self) -> bool:
        return self.degrees != 0

    @property
    def logical(self) -> tuple[int, int]:
        """The size the scenes are laid out at: width and height swap for a quarter turn."""
        w, h = self.physical
        return (h, w) if self.degrees in (90, 270) else (w, h)

    def canvas(self, screen: pygame.Surface) -> pygame.Surface:
        """Where a frame is drawn: the screen itself when upright, else an upright surface."""
        return screen if not self.turned else pygame.Surface(self.logical)

    def present(self, canvas: pygame.Surface, screen: pygame.Surface) -> None:
        """Put the upright canvas on the panel, turned ``degrees`` clockwise."""
        if canvas is screen:
            return
        # pygame turns counter-clockwise for a positive angle; quarter turns are exact (no resampling).
        screen.blit(pygame.transform.rotate(canvas, -self.degrees), (0, 0))

    def to_logical(self, pos: tuple[float, float]) -> tuple[int, int]:
        """A point on the panel (a tap) as a point on the upright canvas."""
        px, py = int(pos[0]), int(pos[1])
        w, h = self.logical
        if self.degrees == 90:          # canvas (x, y) shows at panel (h-1-y, x)
            return py, h - 1 - px
        if self.degrees == 180:         # canvas (x, y) shows at panel (w-1-x, h-1-y)
            return w - 1 - px, h - 1 - py
        if self.degrees == 270:         # canvas (x, y) shows at panel (y, w-1-x)
            return w - 1 - py, px
        return px, py

    def finger(self, x: float, y: float) -> tuple[int, int]:
        """SDL's finger position (0..1 across the panel) as a point on the upright canvas."""
        pw, ph = self.physical
        return self.to_logical((min(pw - 1, int(x * pw)), min(ph - 1, int(y * ph))))
