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
