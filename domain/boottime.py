"""Re-dating rows recorded before a gate's clock was synced: the one rule.

A Raspberry Pi has no battery-backed clock. After a power cut it restores the time it last
saved (fake-hwclock, systemd-timesyncd's clock file) and runs from there until NTP answers:
rows recorded in that window carry a plausible but wrong time, with ``clock_synced`` false.
What stays right is the kernel's boot time (CLOCK_BOOTTIME: milliseconds since this boot,
never set, never stepped), and the boot id names the boot. Each row carries both
(domain/exitrow.py), and so does each heartbeat (domain/contracts.py).

Once the office holds an **anchor** of the same boot (a row with ``clock_synced`` true, or a
heartbeat sent with the clock synced: wall time W at boot time T), a row of that boot recorded
at boot time t happened at ``W - (T - t)``. A boot with no anchor stays as recorded. The
original time is never replaced: it is what the gate signed into its hash chain.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.exitrow import BadTime, parse_at


@dataclass(frozen=True)
class BootStamp:
    """Where a gate was in its boot: the kernel's boot id and the milliseconds since that boot."""

    boot_id: str
    boottime_ms: int


@dataclass(frozen=True)
class BootAnchor:
    """A time the gate's clock had right, and where in the boot it was: what re-dates that boot's rows."""

    boot_id: str
    boottime_ms: int
    at: datetime          # the synced wall time, timezone-aware
    source: str = ""      # what it came from, e.g. "row 12" or "heartbeat"


def can_redate(*, clock_synced: bool, boot_id: str, boottime_ms: int) -> bool:
    """Whether a row could ever be re-dated: recorded unsynced, and it says which boot and when in it."""
    return not clock_synced and bool(boot_id) and boottime_ms > 0


def anchor_of(*, boot_id: str, boottime_ms: int, at: str | datetime | None, clock_synced: bool | None,
              source: str = "") -> BootAnchor | None:
    """An anchor from a row or a heartbeat, or None when it cannot be one: the clock was not synced,
    or it does not say which boot and when, or its time is unreadable."""
    if clock_synced is not True or not boot_id or boottime_ms <= 0 or at is None:
        return None
    try:
        when = parse_at(at) if isinstance(at, str) else at
    except BadTime:
        return None
    if when.tzinfo is None or when.utcoffset() is None:
        return None
    return BootAnchor(boot_id, boottime_ms, when, source)


#: How far a heartbeat's synced clock may be from the office's when the office receives it: the
#: request's own time on the wire and both clocks' NTP error, with room to spare. Further apart, one
#: of the two clocks is wrong, and the heartbeat anchors nothing (a gate claiming 2999 or 1971).
HEARTBEAT_CLOCK_TOLERANCE = timedelta(minutes=5)
#: How much later than the office received it a re-dated row may be put: none, but for clock error.
REDATE_SLACK = timedelta(minutes=5)


def anchor_problem(anchor: BootAnchor, received: datetime, *, live: bool) -> tuple[str, str] | None:
    """Why a synced time cannot anchor its boot, in Chinese and English; None when it can. A heartbeat
    (``live``) is sent and received at once: its time must agree with the office's receipt. A row may
    arrive long after it was recorded (a gate offline for days), never before: its time must not be
    later than the receipt."""
    apart = (anchor.at - received).total_seconds()
    if (abs(apart) if live else apart) <= HEARTBEAT_CLOCK_TOLERANCE.total_seconds():
        return None
    what_zh, what_en = ("心跳", "heartbeat") if live else ("记录", "row")
    return (f"岗亭称时钟已校准,但其{what_zh}时间 {anchor.at.isoformat()} 与物业收到的时间 {received.isoformat()} 相差 {abs(apart):.0f} 秒",
            f"the gate says its clock is synced, but its {what_en} time {anchor.at.isoformat()} is {abs(apart):.0f} s "
            f"{'from' if live else 'after'} the office's receipt at {received.isoformat()}")


def redate_within(when: datetime, *, earliest: datetime | None, received: datetime) -> bool:
    """Whether re-dating may put a row at ``when``: not before the gate was registered (``earliest``),
    not after the office received the row. Outside that, an anchor is wrong and the row keeps its time."""
    return (earliest is None or when >= earliest) and when <= received + REDATE_SLACK


def redate(boot_id: str, boottime_ms: int, anchor: BootAnchor) -> datetime | None:
    """When a row of boot ``boot_id`` recorded at ``boottime_ms`` happened, by ``anchor``'s clock:
    ``W - (T - t)``, in the anchor's offset; None for a row of another boot (or with no boot time)."""
    if not boot_id or boot_id != anchor.boot_id or boottime_ms <= 0:
        return None
    try:
        return anchor.at - timedelta(milliseconds=anchor.boottime_ms - boottime_ms)
    except OverflowError:
        return None


def redated_text(boot_id: str, boottime_ms: int, anchor: BootAnchor, *, like: str = "") -> str | None:
    """`redate` as a row's time is written (ISO 8601 with offset, milliseconds), or None. In the offset
    of ``like`` (the row's own time, so both read alike side by side) when that is readable, else the anchor's."""
    when = redate(boot_id, boottime_ms, anchor)
    if when is None:
        return None
    try:
        when = when.astimezone(parse_at(like).tzinfo)
    except (BadTime, OverflowError):
        pass
    return when.isoformat(timespec="milliseconds")
