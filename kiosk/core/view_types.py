"""The screen's vocabulary: texts, buttons, facts, item lines, status, the View itself.

Plain data shared by the scene builders (kiosk/core/view.py) and the pygame painter
(kiosk/ui). Also the status bar's wording, which every scene shows the same way.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kiosk.core.events import Action
from kiosk.core.flow import Scene


class Tone(str, enum.Enum):
    OK = "ok"
    BAD = "bad"
    WARN = "warn"
    NEUTRAL = "neutral"


class Layout(str, enum.Enum):
    """Which arrangement the screen uses; several scenes share one."""

    MESSAGE = "message"      # headline, next step, reasons; optional photo
    PERSON = "person"        # large photo beside the holder's facts
    SLIP = "slip"            # slip facts beside the item checklist
    IDENTITY = "identity"    # mover's photo and masked ID
    KEYPAD = "keypad"        # message beside an on-screen PIN keypad
    CHOICES = "choices"      # a grid of reasons to pick one from
    TABLE = "table"          # recent events
    FORM = "form"            # one field of a form: what was entered, and a grid of big keys to enter it


@dataclass(frozen=True)
class Text:
    """One bilingual line: Chinese first, English beneath it in smaller type."""

    zh: str
    en: str = ""


@dataclass(frozen=True)
class Button:
    action: Action
    value: str
    zh: str
    en: str
    style: str = "normal"      # normal | primary | danger
    enabled: bool = True


@dataclass(frozen=True)
class Fact:
    label_zh: str
    label_en: str
    value: str
    tone: Tone = Tone.NEUTRAL


@dataclass(frozen=True)
class ItemLine:
    index: int
    name: str
    quantity: int
    spec: str
    checked: bool


@dataclass(frozen=True)
class Status:
    """Health the status bar shows on every scene, gathered off the frame loop."""

    reader: bool | None = None
    reader_detail: str = ""
    camera: bool | None = None
    camera_detail: str = ""
    sync_ok: bool | None = None           # None: no sync status file yet
    sync_detail: str = ""
    sync_state: str = ""                  # ok | offline | error | not_running ("" unknown)
    replica_age_s: float | None = None    # None: never synced
    pending: int | None = None            # exit-log rows not yet pushed
    clock_synced: bool | None = None      # None: unknown (warned, like False)


@dataclass(frozen=True)
class Extras:
    """Read-only context that is not part of the core's state."""

    recent: tuple[dict[str, Any], ...] = ()
    demo_legend: tuple[tuple[str, str], ...] = ()   # (key, what it presents)
    guard_names: dict[str, str] = field(default_factory=dict)
    recording: bool = False        # an exit-log row is being committed: the step waits for it


@dataclass(frozen=True)
class View:
    scene: Scene
    layout: Layout
    tone: Tone
    title: Text
    headline: Text | None = None
    next_step: Text | None = None
    reasons: tuple[Text, ...] = ()
    facts: tuple[Fact, ...] = ()
    items: tuple[ItemLine, ...] = ()
    photo_id: str = ""
    photo_caption: str = ""
    keypad: bool = False
    pin_length: int = 0
    buttons: tuple[Button, ...] = ()
    choices: tuple[Button, ...] = ()
    rows: tuple[tuple[str, str, str, str, Tone], ...] = ()   # (time, what, subject, guard, tone)
    entry: Fact | None = None             # FORM: the field and what has been entered so far
    keys: tuple[Button, ...] = ()         # FORM: the key grid, row by row ("primary": chosen)
    key_cols: int = 0                     # FORM: keys per row
    notice: Text | None = None
    countdown: int | None = None
    preview: bool = False
    gate_name: str = ""
    guard_name: str = ""
    clock: str = ""
    status: Status = Status()
    status_items: tuple[tuple[Text, Tone], ...] = ()
    demo_legend: tuple[tuple[str, str], ...] = ()


# ----------------------------------------------------------------- helpers


def _local(d: datetime, now: datetime) -> datetime:
    """Token times are UTC; the guard reads the estate's local time (the zone of ``now``).

    A time that cannot be moved into the zone (at the edge of the calendar) is shown as
    it was given: drawing a screen must never raise over one odd date."""
    try:
        return d.astimezone(now.tzinfo) if now.tzinfo is not None and d.tzinfo is not None else d
    except (OverflowError, ValueError):
        return d


def _date(d: datetime, now: datetime) -> str:
    return _local(d, now).strftime("%Y-%m-%d")


def _minute(d: datetime, now: datetime) -> str:
    return _local(d, now).strftime("%m-%d %H:%M")


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{int(seconds)}s"
    if seconds < 90 * 60:
        return f"{int(seconds // 60)}min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"


def status_items(s: Status) -> tuple[tuple[Text, Tone], ...]:
    """The status bar's entries, in the order a guard scans them: devices, data, clock."""
    out: list[tuple[Text, Tone]] = []
    for zh, en, online in (("读卡器", "reader", s.reader), ("摄像头", "camera", s.camera)):
        if online is None:
            out.append((Text(f"{zh}?", f"{en} ?"), Tone.WARN))
        elif online:
            out.append((Text(f"{zh}正常", f"{en} ok"), Tone.OK))
        else:
            out.append((Text(f"{zh}离线", f"{en} offline"), Tone.BAD))
    if s.sync_state == "not_running":
        out.append((Text("同步程序未运行", "sync not running"), Tone.BAD))
    elif s.sync_state == "offline":        # offline is normal: the gate decides from its replica
        out.append((Text("物业中心离线", "office offline"), Tone.WARN))
    elif s.sync_ok is None:
        out.append((Text("同步未知", "sync ?"), Tone.WARN))
    elif s.sync_ok:
        out.append((Text("同步正常", "sync ok"), Tone.OK))
    else:
        out.append((Text("同步出错", "sync error"), Tone.BAD))
    if s.replica_age_s is None:
        out.append((Text("数据未同步", "data never synced"), Tone.WARN))
    else:
        age_tone = Tone.OK if s.replica_age_s < 3600 else Tone.WARN if s.replica_age_s < 86400 else Tone.BAD
        out.append((Text(f"数据{_age(s.replica_age_s)}前", f"data {_age(s.replica_age_s)} old"), age_tone))
    if s.pending is not None:
        tone = Tone.OK if s.pending == 0 else Tone.WARN if s.pending < 100 else Tone.BAD
        out.append((Text(f"待上传{s.pending}条", f"{s.pending} to push"), tone))
    if s.clock_synced is not True:
        out.append((Text("时钟未校准", "clock not synced"), Tone.WARN))
    return tuple(out)
