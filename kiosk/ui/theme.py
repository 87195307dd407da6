"""Colours and sizes, scaled from one unit derived from the screen height.

The official 7" panel is 800x480; gates also use 10" 1280x800 and 1080p monitors.
Everything is measured in `u = height / 24`, so a layout drawn for 480 lines keeps
its proportions at 1080, while touch targets never go below 48 px.
"""
from __future__ import annotations

from dataclasses import dataclass

from kiosk.core.view import Tone

MIN_TOUCH = 48

BG = (18, 22, 28)
PANEL = (32, 38, 46)
PANEL_HI = (44, 52, 62)
TEXT = (240, 242, 245)
MUTED = (170, 178, 188)
DIM = (110, 118, 128)
BORDER = (70, 80, 92)

TONE_BG: dict[Tone, tuple[int, int, int]] = {
    Tone.OK: (22, 128, 60),
    Tone.BAD: (190, 36, 36),
    Tone.WARN: (232, 160, 0),
    Tone.NEUTRAL: (44, 62, 80),
}
TONE_FG: dict[Tone, tuple[int, int, int]] = {
    Tone.OK: (255, 255, 255),
    Tone.BAD: (255, 255, 255),
    Tone.WARN: (20, 20, 20),
    Tone.NEUTRAL: (255, 255, 255),
}
# Text colour for a tone used on the dark background (facts, status items).
TONE_TEXT: dict[Tone, tuple[int, int, int]] = {
    Tone.OK: (96, 210, 120),
    Tone.BAD: (255, 110, 100),
    Tone.WARN: (255, 200, 60),
    Tone.NEUTRAL: TEXT,
}
BUTTON_BG: dict[str, tuple[int, int, int]] = {
    "normal": (58, 70, 84),
    "primary": (22, 128, 60),
    "danger": (150, 40, 40),
    "disabled": (40, 45, 52),
}


@dataclass(frozen=True)
class Metrics:
    """Pixel sizes for one screen; all derived from its height."""

    width: int
    height: int

    @property
    def u(self) -> float:
        return self.height / 24.0

    def px(self, units: float) -> int:
        return max(1, int(round(self.u * units)))

    @property
    def pad(self) -> int:
        return self.px(0.5)

    @property
    def top_bar(self) -> int:
        return self.px(1.5)

    @property
    def band(self) -> int:
        return self.px(2.6)

    @property
    def status_bar(self) -> int:
        return self.px(1.4)

    @property
    def button_bar(self) -> int:
        return max(MIN_TOUCH + 2 * self.px(0.3), self.px(3.2))

    @property
    def touch(self) -> int:
        return max(MIN_TOUCH, self.px(2.6))

    # type sizes
    @property
    def small(self) -> int:
        return max(12, self.px(0.7))

    @property
    def body(self) -> int:
        return max(16, self.px(1.05))

    @property
    def body_en(self) -> int:
        return max(12, self.px(0.75))

    @property
    def large(self) -> int:
        return self.px(1.6)

    @property
    def huge(self) -> int:
        return self.px(2.2)
