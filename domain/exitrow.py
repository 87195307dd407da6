"""The exit log's row: what a gate records, and what the office receives, verifies and stores.

One definition for every place that reads or writes a row: the gate's exit log
(kiosk/exitlog.py), the hash chain (domain/chain.py), the push API's `EventRow`
(office/api.py) and the office's events table (office/schema.py, office/ingest.py).
`ROW_FIELDS` lists the row's fields with their types and limits; everything else is
derived from it. A `LogEntry` is what the core decides; the gate's log adds the event
id, its sequence number and the chain to make an `ExitRow`.

Three forms of a row:

* the **row** (`ExitRow.to_dict`): what is hashed and what the gate pushes as JSON:
  ``reasons`` a list, ``detail`` an object, ``clock_synced`` a bool;
* the **stored** form (`ExitRow.encode`): the same fields as SQL column values, the
  JSON fields as text and the flag as 0/1 (the gate's SQLite file and the office's table);
* the `ExitRow` itself, typed.
"""
from __future__ import annotations

import enum
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Literal

from domain.instants import in_range
from domain.slip_token import MAX_GATE_ID


class EntryKind(str, enum.Enum):
    """Rows of the exit log."""

    RELEASE = "release"
    REFUSAL = "refusal"
    CARD_PASS = "card_pass"
    CARD_DENIED = "card_denied"
    OVERRIDE = "override"
    REPORT = "report"
    SHIFT_START = "shift_start"
    SHIFT_END = "shift_end"
    EXIT_REQUEST = "exit_request"
    PIN_FAILURE = "pin_failure"
    VISITOR = "visitor"             # a registration form (登记表) for someone without a permit: domain/visitor.py

    @property
    def label_zh(self) -> str:
        return _KIND_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _KIND_LABELS[self][1]

    @property
    def consumes_slip(self) -> bool:
        """Whether a row of this kind uses up the slip it names (see `consumes_slip`)."""
        return self in CONSUMING_KINDS


#: What staff read for each kind, at the gate and in the office console (docs/console.md).
_KIND_LABELS: dict[EntryKind, tuple[str, str]] = {
    EntryKind.RELEASE: ("放行", "Release"),
    EntryKind.REFUSAL: ("拒绝放行", "Refusal"),
    EntryKind.CARD_PASS: ("刷卡通行", "Card pass"),
    EntryKind.CARD_DENIED: ("刷卡被拒", "Card denied"),
    EntryKind.OVERRIDE: ("主管强制放行", "Override"),
    EntryKind.REPORT: ("上报", "Report"),
    EntryKind.SHIFT_START: ("上岗", "Shift start"),
    EntryKind.SHIFT_END: ("下岗", "Shift end"),
    EntryKind.EXIT_REQUEST: ("按钮开门", "Exit button"),
    EntryKind.PIN_FAILURE: ("密码错误", "Wrong PIN"),
    EntryKind.VISITOR: ("访客登记", "Visitor registered"),
}

#: A release, or a supervisor's override, uses up the slip it names: a second one is double use.
CONSUMING_KINDS: frozenset[EntryKind] = frozenset({EntryKind.RELEASE, EntryKind.OVERRIDE})


def consumes_slip(kind: str | EntryKind) -> bool:
    """Whether an exit-log row of ``kind`` consumes its slip; an unknown kind does not."""
    try:
        return EntryKind(kind) in CONSUMING_KINDS
    except ValueError:
        return False


def kind_label(kind: str | EntryKind) -> tuple[str, str]:
    """(Chinese, English) for a row kind; an unknown kind (a newer gate's) shows as itself."""
    try:
        k = EntryKind(kind)
    except ValueError:
        return str(kind), str(kind)
    return k.label_zh, k.label_en


@dataclass(frozen=True)
class LogEntry:
    """One gate event as the core decides it; the store adds id, sequence and hash."""

    kind: EntryKind
    at: datetime
    guard_id: str = ""
    card_uid: str = ""
    permit_id: str = ""
    slip_id: str = ""
    reasons: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ the row's fields

#: Sequence numbers are BIGINT at the office: anything larger is refused, never sent to the database.
MAX_SEQ = 2**63 - 1
HEX64 = r"^[0-9a-f]{64}$"

#: How a field is held in an SQL column. ``varchar`` is bounded by the field's max_length;
#: ``json`` is text holding the field as JSON; ``flag`` is an integer 0/1.
SqlType = Literal["bigint", "varchar", "text", "json", "flag"]


@dataclass(frozen=True)
class RowField:
    """One field of the exit-log row: its type, its limits, whether the chain hashes it."""

    name: str
    type: type                              # int | str | bool | list (of str) | dict
    sql: SqlType
    required: bool = True                   # no default: a row without it is refused
    min_length: int | None = None
    max_length: int | None = None           # characters, or items of a list
    item_max_length: int | None = None      # characters of each list item
    ge: int | None = None
    le: int | None = None
    pattern: str | None = None
    hashed: bool = True                     # covered by the row's hash (domain/chain.py)
    #: Added after gates were in service: the hash leaves the field out while it holds its default,
    #: so rows recorded before it existed (stored, or pushed by an older gate) still verify.
    hashed_when_set: bool = False

    @property
    def default(self) -> Any:
        """The value of an optional field when it is absent."""
        empty: dict[type, Any] = {str: "", list: (), dict: {}, int: 0}
        return empty[self.type] if not self.required else None


#: The kernel's boot id, as /proc/sys/kernel/random/boot_id spells it (a UUID); "" when unknown.
BOOT_ID = r"^[0-9a-f-]{0,36}$"

#: The row, in the order the gate's exit-log table holds it (fields added later come last,
#: as SQLite's ALTER TABLE adds them).
ROW_FIELDS: tuple[RowField, ...] = (
    RowField("seq", int, "bigint", ge=1, le=MAX_SEQ),
    RowField("event_id", str, "varchar", min_length=1, max_length=64),
    RowField("gate_id", str, "varchar", min_length=1, max_length=MAX_GATE_ID),
    RowField("kind", str, "varchar", min_length=1, max_length=16),
    RowField("at", str, "varchar", min_length=1, max_length=40),
    RowField("clock_synced", bool, "flag"),
    RowField("guard_id", str, "text", required=False, max_length=64),
    RowField("card_uid", str, "text", required=False, max_length=64),
    RowField("permit_id", str, "text", required=False, max_length=32),
    RowField("slip_id", str, "text", required=False, max_length=64),
    RowField("reasons", list, "json", required=False, max_length=32, item_max_length=64),
    RowField("detail", dict, "json", required=False),
    RowField("prev_hash", str, "varchar", max_length=64, pattern=HEX64, hashed=False),
    RowField("hash", str, "varchar", max_length=64, pattern=HEX64, hashed=False),
    # Which boot of the gate recorded the row and how long after that boot (CLOCK_BOOTTIME, ms):
    # the office re-dates a row recorded before the clock was synced from a synced row or
    # heartbeat of the same boot (domain/boottime.py). ""/0 from gates (or rows) before these.
    RowField("boot_id", str, "text", required=False, max_length=36, pattern=BOOT_ID, hashed_when_set=True),
    RowField("boottime_ms", int, "bigint", required=False, ge=0, le=MAX_SEQ, hashed_when_set=True),
)
FIELD: dict[str, RowField] = {f.name: f for f in ROW_FIELDS}
ROW_NAMES: tuple[str, ...] = tuple(f.name for f in ROW_FIELDS)
#: The fields a row's hash covers (domain/chain.py): all but the chain's own two.
HASHED_FIELDS: tuple[str, ...] = tuple(f.name for f in ROW_FIELDS if f.hashed)


def encode_value(f: RowField, value: Any) -> Any:
    """One field's value as its SQL column holds it."""
    if f.sql == "json":
        if f.type is list:
            return json.dumps(list(value), ensure_ascii=False)
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if f.sql == "flag":
        return int(bool(value))
    return value


def decode_value(f: RowField, value: Any) -> Any:
    """One SQL column value back as the row holds it (and as it was hashed)."""
    if f.sql == "json":
        parsed = json.loads(value)
        return tuple(parsed) if f.type is list else parsed
    if f.sql == "flag":
        return bool(value)
    return value


@dataclass(frozen=True)
class ExitRow:
    """One exit-log row: a gate event with its id, this gate's sequence number and the chain."""

    seq: int
    event_id: str
    gate_id: str
    kind: str            # an EntryKind's value; kept as text so that a newer gate's kinds still verify
    at: str              # ISO 8601 with the offset, as the gate's clock read it
    clock_synced: bool
    guard_id: str = ""
    card_uid: str = ""
    permit_id: str = ""
    slip_id: str = ""
    reasons: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""
    boot_id: str = ""
    boottime_ms: int = 0

    @classmethod
    def of_entry(cls, entry: LogEntry, *, event_id: str, gate_id: str, seq: int, clock_synced: bool,
                 prev_hash: str, boot_id: str = "", boottime_ms: int = 0) -> ExitRow:
        """The row for ``entry`` before it is hashed (``hash`` empty: see domain.chain.seal)."""
        return cls(seq=seq, event_id=event_id, gate_id=gate_id, kind=entry.kind.value, at=entry.at.isoformat(),
                   clock_synced=clock_synced, guard_id=entry.guard_id, card_uid=entry.card_uid,
                   permit_id=entry.permit_id, slip_id=entry.slip_id, reasons=tuple(entry.reasons),
                   detail=dict(entry.detail), prev_hash=prev_hash, boot_id=boot_id, boottime_ms=boottime_ms)

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> ExitRow:
        """From the row's JSON form (a pushed or decoded row); absent optional fields take their default."""
        values = {f.name: row[f.name] for f in ROW_FIELDS if f.name in row}
        if "reasons" in values:
            values["reasons"] = tuple(values["reasons"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The row as it is hashed and pushed: ``reasons`` a list, ``detail`` an object."""
        out = {name: getattr(self, name) for name in ROW_NAMES}
        out["reasons"] = list(self.reasons)
        return out

    def encode(self) -> dict[str, Any]:
        """Column values for an SQL table holding the row (the gate's exit_log, the office's events)."""
        return {f.name: encode_value(f, getattr(self, f.name)) for f in ROW_FIELDS}

    @classmethod
    def decode(cls, stored: Mapping[str, Any]) -> ExitRow:
        """From a stored row's columns (other columns, like the office's ``estate``, are ignored)."""
        return cls(**{f.name: decode_value(f, stored[f.name]) for f in ROW_FIELDS})

    @property
    def consumes_slip(self) -> bool:
        """This row uses up a slip: a release or override naming one."""
        return bool(self.slip_id) and consumes_slip(self.kind)


# ------------------------------------------------------------------ what a row may say

#: How far a row's ``at`` may lie before its gate was registered, or after the office's clock:
#: a day covers a gate whose zone is mislabelled (offsets run from -12 to +14 hours) and a
#: clock that drifted while the gate was offline, and nothing that would wreck a report.
AT_SLACK = timedelta(days=1)
#: The ``detail`` object as JSON text: a scanned code (a QR holds under 3 kB) with room to spare.
MAX_DETAIL_JSON = 8192
#: Text fields a row's readers show or export (the hashes have their own pattern).
TEXT_FIELDS: tuple[str, ...] = ("event_id", "gate_id", "kind", "at", "guard_id", "card_uid", "permit_id", "slip_id", "boot_id")


class BadTime(ValueError):
    """A row's time that is no ISO 8601 instant with an offset."""


def parse_at(text: object) -> datetime:
    """A row's ``at`` as an aware instant: ISO 8601 with its UTC offset (``2026-11-29T14:03:07+08:00``).

    BadTime for anything else, including a date without a time, a time without an offset, and
    an instant outside domain.instants' range (so near year 1 or 9999 that it cannot be read
    in another zone, or otherwise no time a gate could have recorded)."""
    if not isinstance(text, str) or not text or len(text) > (FIELD["at"].max_length or 0):
        raise BadTime("not an ISO 8601 time")
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise BadTime("not an ISO 8601 time") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise BadTime("has no UTC offset")
    if not in_range(at):          # the one range rule for instants (domain.instants)
        raise BadTime("out of the calendar's range")
    return at


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character (C0, DEL, C1) or a lone surrogate: none belongs in a row's text."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def without_controls(text: str) -> str:
    """``text`` without the characters `has_control` finds (a NUL no keyboard types, which PostgreSQL refuses)."""
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cs"))


@dataclass(frozen=True)
class RowProblem:
    """Why a pushed row is refused: its seq (None if unreadable), the field, in Chinese and English."""

    seq: int | None
    field: str
    zh: str
    en: str


def row_problems(row: Mapping[str, Any]) -> list[RowProblem]:
    """What is wrong with a row that already has the row's types and lengths (the push API checks those):
    its time unreadable, control characters in its text, ``detail`` too large. No gate of ours writes
    such a row, so the office refuses it. Empty when the row may be stored; the gate may ask the same
    before it appends. (A readable time that is merely implausible is `time_out_of_bounds`'s business.)"""
    seq = row.get("seq") if isinstance(row.get("seq"), int) else None
    out: list[RowProblem] = []

    def bad(name: str, zh: str, en: str) -> None:
        out.append(RowProblem(seq, name, zh, en))

    for name in TEXT_FIELDS:
        value = row.get(name, "")
        if isinstance(value, str) and has_control(value):
            bad(name, "含有控制字符", "contains a control character")
    reasons = row.get("reasons", ())
    if isinstance(reasons, list | tuple) and any(isinstance(r, str) and has_control(r) for r in reasons):
        bad("reasons", "含有控制字符", "contains a control character")
    if "at" in row and not any(p.field == "at" for p in out):
        try:
            parse_at(row["at"])
        except BadTime as exc:
            bad("at", "时间无法识别(应为带时区的 ISO 8601,如 2026-11-29T14:03:07+08:00)",
                f"time {str(row['at'])[:40]!r} {exc} (expected ISO 8601 with offset, like 2026-11-29T14:03:07+08:00)")
    if "detail" in row:
        try:
            size = len(json.dumps(row["detail"], ensure_ascii=False))
        except (TypeError, ValueError, RecursionError):
            bad("detail", "无法保存为 JSON", "cannot be stored as JSON")
        else:
            if size > MAX_DETAIL_JSON:
                bad("detail", f"内容过长(上限 {MAX_DETAIL_JSON} 字符)", f"too large ({size} > {MAX_DETAIL_JSON} characters)")
    return out


def time_out_of_bounds(at: datetime, *, earliest: datetime | None, latest: datetime | None) -> tuple[str, str] | None:
    """Why a readable row time cannot be right, in Chinese and English; None when it can.

    Such a row is stored all the same, and flagged: a gate whose clock was wrong when it recorded
    (a Pi without a real-time clock, before NTP) must not be stuck behind that row forever, and
    the row's hash covers its time, so the office cannot correct it in place. What the office
    derives from the row (a slip's use, which every gate pulls) takes the office's own time."""
    if earliest is not None and at < earliest:
        return (f"时间早于岗亭登记时间 {earliest.isoformat()}",
                f"time {at.isoformat()} is before the gate was registered (earliest {earliest.isoformat()})")
    if latest is not None and at > latest:
        return (f"时间晚于办公室当前时间 {latest.isoformat()}",
                f"time {at.isoformat()} is in the future (latest {latest.isoformat()})")
    return None


def _check_spec(names: Iterable[str]) -> None:
    if tuple(names) != ROW_NAMES:
        raise AssertionError(f"ExitRow's fields {tuple(names)} differ from ROW_FIELDS {ROW_NAMES}")


_check_spec(f.name for f in fields(ExitRow))
