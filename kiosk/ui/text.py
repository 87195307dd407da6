"""Drawing text that always fits its box, and saying so when it cannot.

A guard reads the screen at arm's length in a hurry; a name cut in half or a reason
running off the edge is a real defect. Every string goes through `Typesetter.draw`,
which wraps (Chinese breaks between any two characters, English between words),
shrinks down to a floor size, and only then ellipsizes. Whenever it had to ellipsize
or clip, it records an `Overflow`, which the tests require to be empty for every scene.
Rendered strings are cached: re-rasterising CJK glyphs each frame costs a Pi its frame rate.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

import pygame
import pygame.freetype

from kiosk.fonts import FontError, FontFace

_TOKEN = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+\s*|\s+")
ELLIPSIS = "…"
Color = tuple[int, int, int]


@dataclass(frozen=True)
class Overflow:
    text: str
    box: tuple[int, int, int, int]
    size: int
    why: str


@dataclass
class Typesetter:
    """Fonts at any pixel size, with fit-to-box drawing and a record of what was drawn."""

    regular: FontFace
    bold: FontFace
    cache_size: int = 800
    cache_bytes: int = 16 * 1024 * 1024
    overflows: list[Overflow] = field(default_factory=list)
    drawn: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not pygame.freetype.get_init():
            pygame.freetype.init()
        self._fonts: dict[bool, pygame.freetype.Font] = {}
        for is_bold, face in ((False, self.regular), (True, self.bold)):
            try:
                f = pygame.freetype.Font(face.path, 16, font_index=face.index)
            except (OSError, pygame.error) as exc:
                raise FontError(f"{face.path}: cannot open font: {exc}") from None
            f.pad = True            # every line as tall as the font, so rows line up
            f.antialiased = True
            self._fonts[is_bold] = f
        self._surfaces: OrderedDict[tuple[str, int, Color, bool], pygame.Surface] = OrderedDict()
        self._widths: dict[tuple[str, int, bool], int] = {}
        self._bytes = 0

    def begin_frame(self) -> None:
        self.overflows.clear()
        self.drawn.clear()

    # ----------------------------------------------------------- measuring

    def width(self, text: str, size: int, bold: bool = False) -> int:
        key = (text, size, bold)
        w = self._widths.get(key)
        if w is None:
            w = self._fonts[bold].get_rect(text, size=size).width if text else 0
            if len(self._widths) > 4000:
                self._widths.clear()
            self._widths[key] = w
        return w

    def line_height(self, size: int, bold: bool = False) -> int:
        return int(self._fonts[bold].get_sized_height(size))

    def size_for(self, height: int, bold: bool = False, cap: int = 400) -> int:
        """Largest pixel size whose line fits ``height`` (CJK fonts are about 1.45 em tall)."""
        size = max(8, min(cap, int(height / 1.4)))
        while size > 8 and self.line_height(size, bold) > height:
            size -= 1
        return size

    def wrap(self, text: str, size: int, width: int, bold: bool = False) -> list[str]:
        """Greedy wrap: CJK characters break anywhere, Latin words stay whole when they can."""
        lines: list[str] = []
        for para in text.split("\n"):
            line = ""
            for tok in _TOKEN.findall(para):
                trial = line + tok
                if self.width(trial.rstrip(), size, bold) <= width or not line.strip():
                    line = trial
                else:
                    lines.append(line.rstrip())
                    line = tok.lstrip()
            lines.append(line.rstrip())
        return lines

    def _ellipsize(self, text: str, size: int, width: int, bold: bool) -> str:
        if self.width(text, size, bold) <= width:
            return text
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.width(text[:mid].rstrip() + ELLIPSIS, size, bold) <= width:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo].rstrip() + ELLIPSIS

    def fit(
        self, text: str, rect: pygame.Rect, size: int, *, min_size: int | None = None,
        bold: bool = False, max_lines: int = 1,
    ) -> tuple[int, list[str], str]:
        """Largest size ≤ ``size`` (≥ ``min_size``) at which ``text`` fits; else ellipsized lines.

        Returns (size, lines, why) with ``why`` empty when it fit without loss.
        """
        floor = max(8, min_size if min_size is not None else int(size * 0.7))
        s = max(size, floor)
        while True:
            lh = self.line_height(s, bold)
            lines_fit = max(1, min(max_lines, rect.height // lh if lh else 1))
            lines = self.wrap(text, s, rect.width, bold) if max_lines > 1 else [text]
            widest = max((self.width(ln, s, bold) for ln in lines), default=0)
            if len(lines) <= lines_fit and widest <= rect.width and lh * len(lines) <= rect.height:
                return s, lines, ""
            if s <= floor:
                break
            s = max(floor, s - max(1, s // 12))
        lh = self.line_height(s, bold)
        why = "clipped" if lh > rect.height else "ellipsized"
        kept = lines[:lines_fit]
        if len(lines) > lines_fit:
            kept[-1] = kept[-1] + "".join(lines[lines_fit:])
        lines = [self._ellipsize(ln, s, rect.width, bold) for ln in kept]
        return s, lines, why

    # ----------------------------------------------------------- drawing

    def _render(self, text: str, size: int, color: Color, bold: bool) -> pygame.Surface:
        key = (text, size, color, bold)
        surf = self._surfaces.get(key)
        if surf is None:
            surf, _ = self._fonts[bold].render(text, color, size=size)
            self._surfaces[key] = surf
            self._bytes += surf.get_width() * surf.get_height() * surf.get_bytesize()
            # Bounded by count and by pixels: at 1080p one headline is a few hundred KB.
            while len(self._surfaces) > self.cache_size or self._bytes > self.cache_bytes:
                _, old = self._surfaces.popitem(last=False)
                self._bytes -= old.get_width() * old.get_height() * old.get_bytesize()
        else:
            self._surfaces.move_to_end(key)
        return surf

    def draw(
        self, surface: pygame.Surface, text: str, rect: pygame.Rect, size: int, color: Color, *,
        bold: bool = False, align: str = "left", valign: str = "top", min_size: int | None = None,
        max_lines: int = 1,
    ) -> pygame.Rect:
        """Draw ``text`` inside ``rect``; returns the rectangle actually covered."""
        if not text or rect.width <= 0 or rect.height <= 0:
            return pygame.Rect(rect.x, rect.y, 0, 0)
        s, lines, why = self.fit(text, rect, size, min_size=min_size, bold=bold, max_lines=max_lines)
        self.drawn.append(text)
        if why:
            self.overflows.append(Overflow(text, tuple(rect), s, why))  # type: ignore[arg-type]
        lh = self.line_height(s, bold)
        total = lh * len(lines)
        y = rect.y
        if valign == "middle":
            y = rect.y + (rect.height - total) // 2
        elif valign == "bottom":
            y = rect.bottom - total
        covered = pygame.Rect(rect.x, y, 0, total)
        clip = surface.get_clip()
        surface.set_clip(rect.clip(clip) if clip else rect)
        for ln in lines:
            surf = self._render(ln, s, color, bold)
            if align == "center":
                x = rect.x + (rect.width - surf.get_width()) // 2
            elif align == "right":
                x = rect.right - surf.get_width()
            else:
                x = rect.x
            surface.blit(surf, (x, y))
            covered.width = max(covered.width, surf.get_width())
            y += lh
        surface.set_clip(clip)
        return covered
