"""The body of each layout: the part between the coloured title band and the buttons.

One function per `Layout`; each reads the view, paints into ``rect`` and records
hits for tappable rows and keys. Scenes share layouts (refused, released, idle and
out-of-service are all a message), so a guard meets the same arrangement everywhere.
"""
from __future__ import annotations

from collections.abc import Callable

import pygame

from kiosk.core.events import Action, Press
from kiosk.core.view import Button, Fact, ItemLine, Layout, Text, Tone, View
from kiosk.ui import theme
from kiosk.ui.text import Overflow
from kiosk.ui.widgets import Canvas, Hit, Page, button, facts, photo


def _split(rect: pygame.Rect, left: float, gap: int) -> tuple[pygame.Rect, pygame.Rect]:
    lw = int(rect.width * left)
    return (pygame.Rect(rect.x, rect.y, lw - gap // 2, rect.height),
            pygame.Rect(rect.x + lw + gap // 2, rect.y, rect.width - lw - gap // 2, rect.height))


def _photo_box(rect: pygame.Rect, max_w: float) -> pygame.Rect:
    """A 3:4 portrait box as tall as ``rect`` allows, at most ``max_w`` of its width."""
    h = rect.height
    w = min(int(h * 3 / 4), int(rect.width * max_w))
    h = min(h, int(w * 4 / 3))
    return pygame.Rect(rect.x, rect.y, w, h)


_BIG = ("refused", "out_of_service", "released")


def fit_block(c: Canvas, rect: pygame.Rect, draw: Callable[[float], None], tries: int = 4) -> None:
    """Draw a block of text; if anything in it did not fit, wipe it and redraw smaller."""
    scale = 1.0
    for attempt in range(tries):
        mark_o, mark_h = len(c.ts.overflows), len(c.hits)
        draw(scale)
        if len(c.ts.overflows) == mark_o or attempt == tries - 1:
            return
        del c.ts.overflows[mark_o:]
        del c.hits[mark_h:]
        c.surface.fill(theme.BG, rect)
        scale *= 0.82


def _message_text(c: Canvas, v: View, rect: pygame.Rect) -> None:
    fit_block(c, rect, lambda scale: _message_lines(c, v, rect, scale))


def _message_lines(c: Canvas, v: View, rect: pygame.Rect, scale: float) -> None:
    """Headline, next step, then every further reason: big type first, smaller as lines add up."""
    m = c.m
    body = max(14, int(m.body * scale))
    y = rect.y
    crowded = len(v.reasons) > 1
    if v.headline is not None:
        size = int((m.huge if v.scene.value in _BIG and not crowded else m.large) * scale)
        y = c.bilingual(v.headline, pygame.Rect(rect.x, y, rect.width, rect.bottom - y), size,
                        bold=True, zh_lines=2, en_lines=2)
        y += m.px(0.4 if crowded else 0.6)
    if v.next_step is not None and y < rect.bottom:
        box = pygame.Rect(rect.x, y, rect.width, rect.bottom - y)
        pygame.draw.line(c.surface, theme.BORDER, (rect.x, y - m.px(0.2)), (rect.right, y - m.px(0.2)))
        color = theme.TONE_TEXT[v.tone] if v.tone is not Tone.NEUTRAL else theme.TEXT
        y = c.bilingual(v.next_step, box, body + (0 if crowded else 2), color, bold=crowded or v.tone is Tone.BAD,
                        zh_lines=2, en_lines=2)
        y += m.px(0.3)
    for r in v.reasons:
        lh = c.ts.line_height(body)
        if y + lh > rect.bottom:
            c.ts.overflows.append(_lost(r, rect))
            break
        box = pygame.Rect(rect.x + m.px(0.8), y, rect.width - m.px(0.8), rect.bottom - y)
        pygame.draw.circle(c.surface, theme.TONE_TEXT[v.tone], (rect.x + m.px(0.3), y + lh // 2), max(3, m.px(0.18)))
        y = reason_line(c, r, box, body) + m.px(0.1)


def reason_line(c: Canvas, t: Text, rect: pygame.Rect, size: int) -> int:
    """Chinese and English side by side when they fit on one line, else stacked."""
    m = c.m
    en_size = max(m.small, int(size * 0.7))
    zh_w = c.ts.width(t.zh, size)
    en_w = c.ts.width(t.en, en_size)
    gap = m.px(0.6)
    lh = c.ts.line_height(size)
    if zh_w + gap + en_w <= rect.width:
        c.text(t.zh, pygame.Rect(rect.x, rect.y, zh_w + 2, lh), size)
        c.text(t.en, pygame.Rect(rect.x + zh_w + gap, rect.y, rect.width - zh_w - gap, lh), en_size, theme.MUTED,
               valign="middle")
        return rect.y + lh
    return c.bilingual(t, rect, size, en_lines=2)


def _lost(t: Text, rect: pygame.Rect) -> Overflow:
    return Overflow(t.zh, (rect.x, rect.y, rect.width, rect.height), 0, "no room for this line")


def message(c: Canvas, v: View, rect: pygame.Rect, preview: pygame.Surface | None) -> None:
    m = c.m
    text_rect = rect
    if v.photo_id:
        box = _photo_box(rect, 0.34)
        photo(c, v.photo_id, box)
        text_rect = pygame.Rect(box.right + m.pad * 2, rect.y, rect.right - box.right - m.pad * 2, rect.height)
    if v.preview:
        side_w = int(rect.width * 0.30)
        side = pygame.Rect(rect.right - side_w, rect.y, side_w, min(rect.height, side_w * 3 // 4))
        text_rect = pygame.Rect(text_rect.x, rect.y, side.x - m.pad * 2 - text_rect.x, rect.height)
        _preview(c, side, preview)
        if v.demo_legend:
            text_rect = _legend(c, v.demo_legend, text_rect)
    _message_text(c, v, text_rect)


def _preview(c: Canvas, box: pygame.Rect, preview: pygame.Surface | None) -> None:
    pygame.draw.rect(c.surface, theme.PANEL, box)
    if preview is not None:
        img = pygame.transform.scale(preview, box.size) if preview.get_size() != box.size else preview
        c.surface.blit(img, box.topleft)
    else:
        c.text("摄像头画面 camera", box.inflate(-8, -8), c.m.small, theme.DIM, align="center", valign="middle")
    pygame.draw.rect(c.surface, theme.BORDER, box, width=1)


def _legend(c: Canvas, entries: tuple[tuple[str, str], ...], rect: pygame.Rect) -> pygame.Rect:
    """Demo only: which key presents which card or slip, in columns at the bottom of ``rect``.

    Returns what is left of ``rect`` above the legend.
    """
    m = c.m
    texts = [f"{k} {w}" for k, w in entries]
    pin = [t for t in texts if t.startswith("PIN ")]
    keys = [t for t in texts if not t.startswith("PIN ")]
    size = max(10, m.px(0.5))
    while True:
        lh = c.ts.line_height(size)
        col_w = max(c.ts.width(t, size) for t in keys) + m.px(0.5)
        cols = max(1, (rect.width - 8) // col_w)
        rows = -(-len(keys) // cols)
        height = (rows + 1 + len(pin)) * lh + 6
        if height <= rect.height * 0.45 or size <= 10:
            break
        size -= 1
    box = pygame.Rect(rect.x, rect.bottom - height, rect.width, height)
    pygame.draw.rect(c.surface, theme.PANEL, box)
    c.text("演示按键 demo keys (F1…: 卡 cards · a…: 放行条 slips)", pygame.Rect(box.x + 4, box.y + 3, box.width - 8, lh),
           size, theme.TONE_TEXT[Tone.WARN], bold=True)
    y0 = box.y + 3 + lh
    for i, t in enumerate(keys):
        col, row = divmod(i, rows)
        c.text(t, pygame.Rect(box.x + 4 + col * col_w, y0 + row * lh, col_w - 2, lh), size, theme.MUTED)
    for j, t in enumerate(pin):
        c.text(t, pygame.Rect(box.x + 4, y0 + (rows + j) * lh, box.width - 8, lh), size, theme.MUTED)
    return pygame.Rect(rect.x, rect.y, rect.width, box.y - rect.y - m.px(0.3))


def person(c: Canvas, v: View, rect: pygame.Rect) -> None:
    m = c.m
    box = _photo_box(rect, 0.36)
    photo(c, v.photo_id, box)
    right = pygame.Rect(box.right + m.pad * 2, rect.y, rect.right - box.right - m.pad * 2, rect.height)
    y = right.y
    if v.headline is not None:
        y = c.bilingual(v.headline, pygame.Rect(right.x, y, right.width, right.height), m.large, bold=True,
                        color=theme.TONE_TEXT[v.tone])
    if v.next_step is not None and v.tone is not Tone.OK:
        y = c.bilingual(v.next_step, pygame.Rect(right.x, y, right.width, right.bottom - y), m.body, bold=True,
                        en_lines=1)
    y += m.px(0.3)
    facts(c, v.facts, pygame.Rect(right.x, y, right.width, right.bottom - y))


def slip(c: Canvas, v: View, rect: pygame.Rect) -> None:
    m = c.m
    left, right = _split(rect, 0.46, m.pad * 2)
    facts(c, v.facts, left, value_size=max(14, m.px(0.85)))
    y = right.y
    if v.headline is not None:
        hint = pygame.Rect(right.x, y, right.width, c.ts.line_height(m.small) + 2)
        c.text(f"{v.headline.zh}  {v.headline.en}", hint, m.small, theme.MUTED, min_size=10)
        y = hint.bottom
    items_rect = pygame.Rect(right.x, y + m.px(0.15), right.width, right.bottom - y - m.px(0.15))
    checklist(c, v, items_rect)


def checklist(c: Canvas, v: View, rect: pygame.Rect) -> None:
    """One tappable row per slip line: a box to tick, the item, ×quantity, its spec.

    A long move-out list does not fit a 7" screen: it is split into pages with
    previous/next buttons, and the pager says how many lines are still unticked.
    """
    m = c.m
    n = max(1, len(v.items))
    gap = max(2, m.px(0.15))
    row_h = max(theme.MIN_TOUCH, m.px(2.2), min(m.px(2.6), (rect.height - gap * (n - 1)) // n))
    fits = max(1, (rect.height + gap) // (row_h + gap))
    items = v.items
    if len(items) > fits:
        per_page = max(1, fits - 1)
        pages = -(-len(items) // per_page)
        page = max(0, min(c.page, pages - 1))
        items = items[page * per_page:(page + 1) * per_page]
        _pager(c, v, pygame.Rect(rect.x, rect.y + per_page * (row_h + gap), rect.width, row_h), page, pages)
    for row, it in enumerate(items):
        r = pygame.Rect(rect.x, rect.y + row * (row_h + gap), rect.width, row_h)
        _item_row(c, it, r)


def _item_row(c: Canvas, it: ItemLine, r: pygame.Rect) -> None:
    m = c.m
    row_h = r.height
    pygame.draw.rect(c.surface, theme.PANEL_HI if it.checked else theme.PANEL, r, border_radius=m.px(0.2))
    box = pygame.Rect(r.x + m.px(0.3), 0, row_h - m.px(0.8), row_h - m.px(0.8))
    box.centery = r.centery
    pygame.draw.rect(c.surface, theme.TONE_BG[Tone.OK] if it.checked else theme.BG, box, border_radius=3)
    pygame.draw.rect(c.surface, theme.TEXT, box, width=2, border_radius=3)
    if it.checked:
        pts = [(box.x + box.w * 0.2, box.y + box.h * 0.55), (box.x + box.w * 0.42, box.y + box.h * 0.78),
               (box.x + box.w * 0.82, box.y + box.h * 0.25)]
        pygame.draw.lines(c.surface, theme.TEXT, False, pts, max(2, box.w // 8))
    qty_w = m.px(2.6)
    text_x = box.right + m.px(0.4)
    name_w = r.right - text_x - qty_w - m.px(0.3)
    top_h = r.height * 58 // 100 if it.spec else r.height
    name_size = min(m.body, c.ts.size_for(top_h - 1, True))
    c.text(it.name, pygame.Rect(text_x, r.y + 1, name_w, top_h), name_size, bold=True,
           valign="bottom" if it.spec else "middle", min_size=max(11, int(name_size * 0.7)))
    if it.spec:
        spec_h = r.height - top_h - 1
        spec_size = min(max(11, m.small), c.ts.size_for(spec_h))
        c.text(it.spec, pygame.Rect(text_x, r.y + top_h, name_w, spec_h), spec_size, theme.MUTED,
               min_size=min(10, spec_size))
    if it.quantity:
        c.text(f"×{it.quantity}", pygame.Rect(r.right - qty_w - m.px(0.3), r.y, qty_w, r.height),
               min(m.large, c.ts.size_for(r.height * 85 // 100, True)), bold=True, align="right", valign="middle")
    c.hits.append(Hit(r.copy(), Press(Action.TOGGLE_ITEM, str(it.index))))


def _pager(c: Canvas, v: View, r: pygame.Rect, page: int, pages: int) -> None:
    m = c.m
    bw = max(theme.MIN_TOUCH * 2, r.width // 4)
    prev = pygame.Rect(r.x, r.y, bw, r.height)
    nxt = pygame.Rect(r.right - bw, r.y, bw, r.height)
    for rect, zh, en, delta, active in ((prev, "上一页", "Previous", -1, page > 0),
                                        (nxt, "下一页", "Next", 1, page < pages - 1)):
        button(c, Button(Action.CANCEL, "", zh, en, enabled=active), rect)
        if active:
            c.hits[-1] = Hit(rect.copy(), Page(delta))
    left = sum(1 for it in v.items if not it.checked)
    mid = pygame.Rect(prev.right + m.pad, r.y, nxt.x - prev.right - 2 * m.pad, r.height)
    top_h = mid.height * 6 // 10
    c.text(f"第{page + 1}/{pages}页 · 未核对{left}项", pygame.Rect(mid.x, mid.y, mid.width, top_h),
           min(m.body, c.ts.size_for(top_h, True)), theme.TONE_TEXT[Tone.WARN] if left else theme.TONE_TEXT[Tone.OK],
           bold=True, align="center", valign="bottom")
    c.text(f"page {page + 1} of {pages} · {left} unticked", pygame.Rect(mid.x, mid.y + top_h, mid.width,
           mid.height - top_h), min(m.small, c.ts.size_for(mid.height - top_h)), theme.MUTED, align="center")


def identity(c: Canvas, v: View, rect: pygame.Rect) -> None:
    m = c.m
    box = _photo_box(rect, 0.36)
    photo(c, v.photo_id, box, v.photo_caption)
    right = pygame.Rect(box.right + m.pad * 2, rect.y, rect.right - box.right - m.pad * 2, rect.height)
    y = c.bilingual(v.headline or Text(""), right, m.body + 2, bold=True, zh_lines=2)
    if v.next_step is not None:
        y = c.bilingual(v.next_step, pygame.Rect(right.x, y, right.width, right.bottom - y), m.body_en + 2)
    y += m.px(0.4)
    facts(c, v.facts, pygame.Rect(right.x, y, right.width, right.bottom - y), value_size=m.large)


KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK")


def keypad_view(c: Canvas, v: View, rect: pygame.Rect) -> None:
    m = c.m
    if not v.keypad:
        _message_text(c, v, rect)
        return
    kw_total = min(int(rect.width * 0.5), int(rect.height * 0.95))
    left = pygame.Rect(rect.x, rect.y, rect.width - kw_total - m.pad * 2, rect.height)
    pad_rect = pygame.Rect(rect.right - kw_total, rect.y, kw_total, rect.height)
    y = left.y
    if v.headline is not None:
        y = c.bilingual(v.headline, left, m.large, bold=True)
    if v.next_step is not None:
        y = c.bilingual(v.next_step, pygame.Rect(left.x, y, left.width, left.bottom - y), m.body, en_lines=2)
    y += m.px(0.6)
    dots(c, v.pin_length, pygame.Rect(left.x, y, left.width, m.px(2.4)))
    keypad(c, pad_rect)


def dots(c: Canvas, n: int, rect: pygame.Rect) -> None:
    """The PIN as filled dots in eight slots: how many were typed, never which."""
    slots = 8
    size = min(rect.height, rect.width // slots - 4)
    for i in range(slots):
        r = pygame.Rect(rect.x + i * (size + 4), rect.y, size, size)
        pygame.draw.rect(c.surface, theme.PANEL, r, border_radius=4)
        if i < n:
            pygame.draw.circle(c.surface, theme.TEXT, r.center, size // 4)


def keypad(c: Canvas, rect: pygame.Rect) -> None:
    gap = max(3, c.m.px(0.2))
    kw = (rect.width - 2 * gap) // 3
    kh = (rect.height - 3 * gap) // 4
    for i, key in enumerate(KEYS):
        row, col = divmod(i, 3)
        r = pygame.Rect(rect.x + col * (kw + gap), rect.y + row * (kh + gap), kw, kh)
        if key == "⌫":
            b = Button(Action.BACKSPACE, "", "删除", "Delete")
        elif key == "OK":
            b = Button(Action.PIN_SUBMIT, "", "确认", "OK", "primary")
        else:
            b = Button(Action.DIGIT, key, key, "")
        if b.en:
            button(c, b, r)
        else:
            pygame.draw.rect(c.surface, theme.BUTTON_BG["normal"], r, border_radius=c.m.px(0.3))
            c.text(key, r, min(c.m.large, int(kh * 0.6)), bold=True, align="center", valign="middle")
            c.hits.append(Hit(r.copy(), Press(Action.DIGIT, key)))


def choices(c: Canvas, v: View, rect: pygame.Rect) -> None:
    m = c.m
    y = rect.y
    if v.headline is not None:
        y = c.bilingual(v.headline, pygame.Rect(rect.x, y, rect.width, m.px(2.4)), m.body + 2, bold=True)
    y += m.px(0.3)
    n = len(v.choices)
    cols = 3 if n > 4 and rect.width > rect.height * 1.2 else 2
    rows = (n + cols - 1) // cols
    gap = m.px(0.4)
    area = pygame.Rect(rect.x, y, rect.width, rect.bottom - y)
    bw = (area.width - gap * (cols - 1)) // cols
    bh = max(theme.MIN_TOUCH, min(m.px(3.4), (area.height - gap * (rows - 1)) // max(1, rows)))
    for i, b in enumerate(v.choices):
        row, col = divmod(i, cols)
        button(c, b, pygame.Rect(area.x + col * (bw + gap), area.y + row * (bh + gap), bw, bh))


def table(c: Canvas, v: View, rect: pygame.Rect) -> None:
    m = c.m
    if not v.rows:
        c.text("暂无记录 no events yet", rect, m.body, theme.MUTED, align="center", valign="middle")
        return
    size = max(13, m.px(0.8))
    row_h = c.ts.line_height(size) + m.px(0.25)
    cols = (0.14, 0.24, 0.46, 0.16)
    for i, (at, what, subject, guard, tone) in enumerate(v.rows[: max(1, rect.height // row_h)]):
        r = pygame.Rect(rect.x, rect.y + i * row_h, rect.width, row_h)
        if i % 2 == 0:
            pygame.draw.rect(c.surface, theme.PANEL, r)
        x = r.x + m.px(0.3)
        inner_w = r.width - m.px(0.6)
        for j, (text, color, bold) in enumerate(((at, theme.MUTED, False), (what, theme.TONE_TEXT[tone], True),
                                                 (subject, theme.TEXT, False), (guard, theme.MUTED, False))):
            w = int(inner_w * cols[j])
            c.text(text, pygame.Rect(x, r.y, w - m.px(0.3), r.height), size, color, bold=bold, valign="middle",
                   min_size=11)
            x += w


def form(c: Canvas, v: View, rect: pygame.Rect) -> None:
    """One step of a form: what was entered so far, large, and a grid of big keys.

    A small pad (the ID number's twelve keys) sits beside the entry, like the PIN pad; a large
    one (provinces, the plate's letters and digits, surnames, item choices) fills the width
    beneath it. The confirmation step has no keys: the whole form as facts."""
    m = c.m
    if not v.keys:
        y = rect.y
        if v.headline is not None:
            y = c.bilingual(v.headline, pygame.Rect(rect.x, y, rect.width, m.px(2.4)), m.body + 2, bold=True)
        facts(c, v.facts, pygame.Rect(rect.x, y + m.px(0.3), rect.width, rect.bottom - y - m.px(0.3)),
              value_size=m.large)
        return
    if v.key_cols <= 3 and len(v.keys) >= 9:
        pad_w = min(int(rect.width * 0.48), int(rect.height * 0.95))
        left = pygame.Rect(rect.x, rect.y, rect.width - pad_w - m.pad * 2, rect.height)
        y = left.y
        if v.headline is not None:
            y = c.bilingual(v.headline, left, m.body + 2, bold=True, zh_lines=2)
        y += m.px(0.3)
        if v.entry is not None:
            y = _entry(c, v.entry, pygame.Rect(left.x, y, left.width, m.px(3.2)))
        if v.next_step is not None:
            c.bilingual(v.next_step, pygame.Rect(left.x, y + m.px(0.3), left.width, left.bottom - y), m.body_en,
                        theme.MUTED, en_lines=2)
        key_grid(c, v.keys, v.key_cols, pygame.Rect(rect.right - pad_w, rect.y, pad_w, rect.height))
        return
    strip_h = m.px(2.6)
    entry_w = int(rect.width * 0.5)
    if v.entry is not None:
        _entry(c, v.entry, pygame.Rect(rect.x, rect.y, entry_w, strip_h))
    if v.headline is not None:
        hint = pygame.Rect(rect.x + entry_w + m.pad * 2, rect.y, rect.width - entry_w - m.pad * 2, strip_h)
        c.bilingual(v.headline, hint, m.body, theme.TEXT, zh_lines=1, en_lines=2)
    top = rect.y + strip_h + m.pad
    key_grid(c, v.keys, v.key_cols, pygame.Rect(rect.x, top, rect.width, rect.bottom - top))


def _entry(c: Canvas, f: Fact, rect: pygame.Rect) -> int:
    """The field being filled: its label small on the left, the value large in a box."""
    m = c.m
    label_w = max(m.px(3.6), rect.width // 5)
    zh_s = max(12, int(m.small * 1.05))
    c.text(f.label_zh, pygame.Rect(rect.x, rect.y, label_w, rect.height // 2), zh_s, theme.MUTED, valign="bottom",
           min_size=11)
    c.text(f.label_en, pygame.Rect(rect.x, rect.y + rect.height // 2, label_w, rect.height // 2),
           max(11, int(m.small * 0.85)), theme.DIM, min_size=10)
    box = pygame.Rect(rect.x + label_w, rect.y, rect.width - label_w, rect.height)
    pygame.draw.rect(c.surface, theme.PANEL, box, border_radius=m.px(0.2))
    pygame.draw.rect(c.surface, theme.BORDER, box, width=2, border_radius=m.px(0.2))
    size = min(m.large, c.ts.size_for(box.height * 80 // 100, True))
    c.text(f.value, box.inflate(-m.px(0.5), 0), size, theme.TONE_TEXT[f.tone], bold=True, valign="middle",
           min_size=max(12, size // 2))
    return rect.bottom


def key_grid(c: Canvas, keys: tuple[Button, ...], cols: int, rect: pygame.Rect) -> None:
    """Keys row by row, as large as the rectangle allows; a one-character key shows its character big."""
    cols = max(1, cols)
    rows = -(-len(keys) // cols)
    gap = max(3, c.m.px(0.2))
    kw = (rect.width - gap * (cols - 1)) // cols
    kh = min((rect.height - gap * (rows - 1)) // max(1, rows), max(theme.MIN_TOUCH, int(kw * 1.1)))
    for i, b in enumerate(keys):
        row, col = divmod(i, cols)
        r = pygame.Rect(rect.x + col * (kw + gap), rect.y + row * (kh + gap), kw, kh)
        if b.en:
            button(c, b, r)
            continue
        style = b.style if b.enabled else "disabled"
        pygame.draw.rect(c.surface, theme.BUTTON_BG[style], r, border_radius=c.m.px(0.3))
        if b.style == "primary":
            pygame.draw.rect(c.surface, theme.TEXT, r, width=2, border_radius=c.m.px(0.3))
        c.text(b.zh, r, min(c.m.large, c.ts.size_for(kh * 70 // 100, True)), theme.TEXT if b.enabled else theme.DIM,
               bold=True, align="center", valign="middle")
        if b.enabled:
            c.hits.append(Hit(r.copy(), Press(b.action, b.value)))


def draw_body(c: Canvas, v: View, rect: pygame.Rect, preview: pygame.Surface | None) -> None:
    if v.layout is Layout.MESSAGE:
        message(c, v, rect, preview)
    elif v.layout is Layout.PERSON:
        person(c, v, rect)
    elif v.layout is Layout.SLIP:
        slip(c, v, rect)
    elif v.layout is Layout.IDENTITY:
        identity(c, v, rect)
    elif v.layout is Layout.KEYPAD:
        keypad_view(c, v, rect)
    elif v.layout is Layout.CHOICES:
        choices(c, v, rect)
    elif v.layout is Layout.TABLE:
        table(c, v, rect)
    elif v.layout is Layout.FORM:
        form(c, v, rect)
