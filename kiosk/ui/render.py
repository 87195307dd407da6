"""Paint one `View` onto a surface and return where its buttons landed.

The screen, top to bottom: a thin bar with the gate, the guard on duty and the clock;
a band in the decision's colour (green pass, red refused, amber attention) with the
title and the countdown; the body of the scene; the buttons; the status bar with the
health of reader, camera, sync, data age, unsent events and the clock. The frame's
hit list is returned to the loop, which is the only place taps are interpreted.
"""
from __future__ import annotations

from dataclasses import dataclass

import pygame

from kiosk.core.view import Tone, View
from kiosk.ui import theme
from kiosk.ui.scenes import draw_body
from kiosk.ui.text import Overflow, Typesetter
from kiosk.ui.widgets import Canvas, Hit, PhotoCache, button_row, notice


@dataclass(frozen=True)
class Frame:
    """What drawing one view produced: tappable rectangles, and text that did not fit."""

    hits: tuple[Hit, ...]
    overflows: tuple[Overflow, ...]
    drawn: tuple[str, ...]


class Renderer:
    def __init__(self, ts: Typesetter, size: tuple[int, int], photos: PhotoCache | None = None, demo: bool = False) -> None:
        self.ts = ts
        self.m = theme.Metrics(*size)
        self.photos = photos or PhotoCache()
        self.demo = demo

    def resize(self, size: tuple[int, int]) -> None:
        self.m = theme.Metrics(*size)

    def draw(self, surface: pygame.Surface, view: View, preview: pygame.Surface | None = None, page: int = 0) -> Frame:
        self.ts.begin_frame()
        if surface.get_size() != (self.m.width, self.m.height):
            self.resize(surface.get_size())
        c = Canvas(surface, self.ts, self.m, self.photos, page=page)
        m = self.m
        surface.fill(theme.BG)
        y = self._top_bar(c, view)
        y = self._band(c, view, y)
        status_top = m.height - m.status_bar
        buttons_top = status_top - m.button_bar if view.buttons else status_top
        body = pygame.Rect(m.pad * 2, y + m.pad, m.width - m.pad * 4, buttons_top - y - m.pad * 2)
        if view.notice is not None:
            nh = max(m.px(1.8), theme.MIN_TOUCH - 8)
            notice(c, view.notice, pygame.Rect(body.x, body.y, body.width, nh))
            body = pygame.Rect(body.x, body.y + nh + m.pad, body.width, body.height - nh - m.pad)
        draw_body(c, view, body, preview)
        if view.buttons:
            inset = m.px(0.3)
            bar = pygame.Rect(m.pad * 2, buttons_top + inset, m.width - m.pad * 4, m.button_bar - 2 * inset)
            button_row(c, view.buttons, bar)
        self._status_bar(c, view, status_top)
        return Frame(tuple(c.hits), tuple(self.ts.overflows), tuple(self.ts.drawn))

    def _top_bar(self, c: Canvas, v: View) -> int:
        m = self.m
        bar = pygame.Rect(0, 0, m.width, m.top_bar)
        pygame.draw.rect(c.surface, theme.PANEL, bar)
        inner = bar.inflate(-m.pad * 4, 0)
        size = c.ts.size_for(inner.height - 2)
        clock_w = c.ts.width("00:00:00", size, True) + m.pad
        c.text(v.clock, pygame.Rect(inner.right - clock_w, inner.y, clock_w, inner.height), size, bold=True,
               align="right", valign="middle")
        guard = f"值班:{v.guard_name}" if v.guard_name else "值班:无 no guard"
        left = f"{v.gate_name}  ·  {guard}"
        if self.demo:
            left = "演示 DEMO  ·  " + left
        c.text(left, pygame.Rect(inner.x, inner.y, inner.width - clock_w - m.pad, inner.height), size,
               theme.MUTED if v.guard_name else theme.TONE_TEXT[Tone.WARN], valign="middle", min_size=12)
        return bar.bottom

    def _band(self, c: Canvas, v: View, y: int) -> int:
        m = self.m
        band = pygame.Rect(0, y, m.width, m.band)
        pygame.draw.rect(c.surface, theme.TONE_BG[v.tone], band)
        fg = theme.TONE_FG[v.tone]
        inner = band.inflate(-m.pad * 4, -m.px(0.2))
        cd_w = m.px(4.0) if v.countdown is not None else 0
        title = pygame.Rect(inner.x, inner.y, inner.width - cd_w, inner.height)
        zh_h = inner.height * 62 // 100
        zh_size = c.ts.size_for(zh_h, True)
        en_size = c.ts.size_for(inner.height - zh_h)
        c.text(v.title.zh, pygame.Rect(title.x, title.y, title.width, zh_h), zh_size, fg, bold=True, valign="bottom")
        c.text(v.title.en, pygame.Rect(title.x, title.y + zh_h, title.width, inner.height - zh_h), en_size, fg)
        if v.countdown is not None:
            cd = f"{v.countdown}s" if v.countdown < 1000 else "…"
            c.text(cd, pygame.Rect(inner.right - cd_w, inner.y, cd_w, inner.height),
                   c.ts.size_for(inner.height * 80 // 100), fg, align="right", valign="middle")
        return band.bottom

    def _status_bar(self, c: Canvas, v: View, y: int) -> None:
        m = self.m
        bar = pygame.Rect(0, y, m.width, m.status_bar)
        pygame.draw.rect(c.surface, theme.PANEL, bar)
        items = v.status_items
        if not items:
            return
        labels = [t.zh if tone is Tone.OK else f"{t.zh} {t.en}" for t, tone in items]
        dot = max(4, m.px(0.22))
        gap = m.px(0.5)
        avail = bar.width - m.pad * 2 - gap * (len(items) - 1) - dot * 3 * len(items)
        # One size for the whole bar, the largest at which every item fits: even and calm.
        size = min(c.ts.size_for(bar.height - 2), max(12, m.px(0.68)))
        while size > 10 and sum(c.ts.width(lab, size) for lab in labels) > avail:
            size -= 1
        widths = [c.ts.width(lab, size) + dot * 3 for lab in labels]
        room = bar.width - m.pad * 2 - gap * (len(items) - 1)
        if sum(widths) > room:        # still too long at the floor: squeeze, and let the fit check say so
            widths = [w * room // sum(widths) for w in widths]
        x = bar.x + m.pad
        for lab, (_t, tone), w in zip(labels, items, widths):
            pygame.draw.circle(c.surface, theme.TONE_TEXT[tone], (x + dot, bar.centery), dot)
            c.text(lab, pygame.Rect(x + dot * 3, bar.y, max(0, w - dot * 3), bar.height), size,
                   theme.TONE_TEXT[tone] if tone is not Tone.OK else theme.MUTED, valign="middle", min_size=10)
            x += w + gap
