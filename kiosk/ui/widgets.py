"""Small drawing pieces shared by every scene: bars, buttons, photos, bilingual lines.

Each function only reads its inputs and paints; a tappable piece appends a `Hit` to
the frame's hit list, which is the only link between what was drawn and what a tap
means. Nothing here touches the core's state.
"""
from __future__ import annotations

import io
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import pygame

from domain.images import HEADER_BYTES, ImageRefused, check_image
from kiosk.core.events import Press
from kiosk.core.view import Button, Fact, Text, Tone
from kiosk.ui import theme
from kiosk.ui.text import Color, Typesetter

log = logging.getLogger("gatepass.kiosk")


@dataclass(frozen=True)
class Page:
    """A tap that only moves the screen (the slip checklist's pages); the core never sees it."""

    delta: int


@dataclass(frozen=True)
class Hit:
    rect: pygame.Rect
    press: Press | Page


@dataclass
class Canvas:
    """One frame being drawn: the surface, the typesetter, sizes and the hits produced."""

    surface: pygame.Surface
    ts: Typesetter
    m: theme.Metrics
    photos: PhotoCache
    hits: list[Hit] = field(default_factory=list)
    page: int = 0                 # which page of a long checklist to show (screen-local)

    def text(self, text: str, rect: pygame.Rect, size: int, color: Color = theme.TEXT, **kw: object) -> pygame.Rect:
        return self.ts.draw(self.surface, text, rect, size, color, **kw)  # type: ignore[arg-type]

    def bilingual(
        self, t: Text, rect: pygame.Rect, size: int, color: Color = theme.TEXT, *,
        en_color: Color | None = None, bold: bool = False, align: str = "left", zh_lines: int = 1,
        en_lines: int = 1,
    ) -> int:
        """Chinese at ``size``, English beneath at about 60 %; returns the y below both."""
        lh = self.ts.line_height(size, bold)
        en_size = max(self.m.small, int(size * 0.6))
        en_lh = self.ts.line_height(en_size)
        zh_h = min(rect.height - (en_lh * en_lines if t.en else 0), lh * zh_lines)
        zh_h = max(zh_h, min(rect.height, lh))
        top = pygame.Rect(rect.x, rect.y, rect.width, zh_h)
        used = self.ts.draw(self.surface, t.zh, top, size, color, bold=bold, align=align, max_lines=zh_lines)
        y = used.bottom if used.height else rect.y
        if t.en:
            en_rect = pygame.Rect(rect.x, y, rect.width, max(0, min(en_lh * en_lines, rect.bottom - y)))
            got = self.ts.draw(self.surface, t.en, en_rect, en_size, en_color or theme.MUTED, align=align,
                               max_lines=en_lines)
            y = got.bottom if got.height else y
        return y


def button(c: Canvas, b: Button, rect: pygame.Rect) -> None:
    style = b.style if b.enabled else "disabled"
    pygame.draw.rect(c.surface, theme.BUTTON_BG[style], rect, border_radius=c.m.px(0.35))
    pygame.draw.rect(c.surface, theme.BORDER, rect, width=1, border_radius=c.m.px(0.35))
    fg = theme.TEXT if b.enabled else theme.DIM
    inner = rect.inflate(-c.m.px(0.4), -c.m.px(0.2))
    zh_size = min(c.m.body + 2, int(inner.height * 0.5))
    en_size = max(c.m.small, int(zh_size * 0.62))
    zh_h = c.ts.line_height(zh_size, True)
    en_h = c.ts.line_height(en_size)
    if zh_h + en_h > inner.height:
        scale = inner.height / (zh_h + en_h)
        zh_size, en_size = max(10, int(zh_size * scale)), max(9, int(en_size * scale))
        zh_h, en_h = c.ts.line_height(zh_size, True), c.ts.line_height(en_size)
    y = inner.y + (inner.height - zh_h - en_h) // 2
    c.text(b.zh, pygame.Rect(inner.x, y, inner.width, zh_h), zh_size, fg, bold=True, align="center")
    c.text(b.en, pygame.Rect(inner.x, y + zh_h, inner.width, en_h), en_size,
           theme.MUTED if b.enabled else theme.DIM, align="center")
    if b.enabled:
        c.hits.append(Hit(rect.copy(), Press(b.action, b.value)))


def button_row(c: Canvas, buttons: tuple[Button, ...], rect: pygame.Rect) -> None:
    if not buttons:
        return
    gap = c.m.px(0.4)
    n = len(buttons)
    w = (rect.width - gap * (n - 1)) // n
    for i, b in enumerate(buttons):
        button(c, b, pygame.Rect(rect.x + i * (w + gap), rect.y, w, rect.height))


def facts(c: Canvas, items: tuple[Fact, ...], rect: pygame.Rect, *, value_size: int | None = None) -> int:
    """Label (zh over en, small) on the left, value on the right; one row per fact."""
    if not items:
        return rect.y
    label_w = max(c.m.px(4.2), rect.width // 4)
    vs = value_size or c.m.body
    row_h = min(max(c.ts.line_height(vs) + c.m.px(0.25), c.m.px(1.9)), rect.height // len(items))
    y = rect.y
    for f in items:
        lab = pygame.Rect(rect.x, y, label_w - c.m.px(0.3), row_h)
        zh_s = max(12, int(c.m.small * 1.05))
        c.text(f.label_zh, pygame.Rect(lab.x, lab.y, lab.width, lab.height // 2 + 2), zh_s, theme.MUTED, min_size=11)
        c.text(f.label_en, pygame.Rect(lab.x, lab.y + lab.height // 2, lab.width, lab.height - lab.height // 2),
               max(11, int(c.m.small * 0.85)), theme.DIM, min_size=10)
        val = pygame.Rect(rect.x + label_w, y, rect.width - label_w, row_h)
        c.text(f.value, val, vs, theme.TONE_TEXT[f.tone], valign="middle", min_size=max(12, int(vs * 0.6)),
               max_lines=2 if row_h >= 2 * c.ts.line_height(max(12, int(vs * 0.6))) else 1)
        y += row_h
    return y


class PhotoCache:
    """Holder photos decoded once and scaled per box; missing photos draw a placeholder."""

    def __init__(self, load: Callable[[str], bytes | None] | None = None, limit: int = 32) -> None:
        self.load = load
        self.limit = limit
        self._raw: OrderedDict[str, pygame.Surface | None] = OrderedDict()
        self._scaled: OrderedDict[tuple[str, int, int], pygame.Surface] = OrderedDict()

    def get(self, photo_id: str, size: tuple[int, int]) -> pygame.Surface | None:
        if not photo_id or self.load is None:
            return None
        key = (photo_id, size[0], size[1])
        if key in self._scaled:
            return self._scaled[key]
        if photo_id not in self._raw:
            surf: pygame.Surface | None = None
            try:
                data = self.load(photo_id)
                if data:
                    check_image(data[:HEADER_BYTES], f"photo {photo_id}", len(data))   # never decode a bomb
                    surf = pygame.image.load(io.BytesIO(data))
            except ImageRefused as exc:
                log.warning("photo not shown: %s", exc)
                surf = None
            except Exception as exc:     # a replica row's bytes: whatever they are, the screen still draws
                log.warning("photo %s not shown: %s: %s", photo_id, type(exc).__name__, exc)
                surf = None
            self._raw[photo_id] = surf
            if len(self._raw) > self.limit:
                self._raw.popitem(last=False)
        raw = self._raw[photo_id]
        if raw is None:
            return None
        rw, rh = raw.get_size()
        scale = min(size[0] / rw, size[1] / rh)
        scaled = pygame.transform.smoothscale(raw, (max(1, int(rw * scale)), max(1, int(rh * scale))))
        self._scaled[key] = scaled
        if len(self._scaled) > self.limit * 2:
            self._scaled.popitem(last=False)
        return scaled


def photo(c: Canvas, photo_id: str, rect: pygame.Rect, caption: str = "") -> None:
    pygame.draw.rect(c.surface, theme.PANEL, rect, border_radius=c.m.px(0.2))
    img = c.photos.get(photo_id, rect.inflate(-4, -4).size)
    if img is not None:
        c.surface.blit(img, img.get_rect(center=rect.center))
    else:
        head_r = max(6, rect.width // 6)
        cx, cy = rect.centerx, rect.y + rect.height * 2 // 5
        pygame.draw.circle(c.surface, theme.BORDER, (cx, cy), head_r)
        body = pygame.Rect(0, 0, head_r * 3, head_r * 2)
        body.midtop = (cx, cy + head_r + 4)
        pygame.draw.ellipse(c.surface, theme.BORDER, body)
        cap = pygame.Rect(rect.x + 4, rect.bottom - c.m.px(1.6), rect.width - 8, c.m.px(1.4))
        c.text("无照片 no photo", cap, c.m.small, theme.MUTED, align="center", min_size=10)
    pygame.draw.rect(c.surface, theme.BORDER, rect, width=2, border_radius=c.m.px(0.2))


def notice(c: Canvas, t: Text, rect: pygame.Rect) -> None:
    pygame.draw.rect(c.surface, theme.TONE_BG[Tone.WARN], rect, border_radius=c.m.px(0.2))
    inner = rect.inflate(-c.m.px(0.6), -c.m.px(0.2))
    half = inner.width * 55 // 100
    c.text(t.zh, pygame.Rect(inner.x, inner.y, half, inner.height), c.m.body, theme.TONE_FG[Tone.WARN],
           bold=True, valign="middle")
    c.text(t.en, pygame.Rect(inner.x + half, inner.y, inner.width - half, inner.height), c.m.body_en,
           theme.TONE_FG[Tone.WARN], valign="middle", align="right")
