"""The one rule for an instant read from a synced row: ISO 8601, with an offset, in range.

A row pulled from the office is input, not truth: a date that Python can parse but not
move into the estate's zone (``9999-12-31T23:59:59-14:00``), a naive one (which cannot be
compared with the gate's aware clock) or plain garbage must become a refusal of that
row, never an exception in the frame loop. Every reader of a synced instant goes through
`read_instant`; the lenient reader of status files and heartbeats
(domain.contracts.parse_instant) shares its range through `in_range`.
"""
from __future__ import annotations

from datetime import UTC, datetime

#: Instants a gate accepts from a synced row: far wider than any permit or slip, narrow
#: enough that moving one into any zone (offsets up to ±24 h) cannot overflow.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(2999, 12, 31, tzinfo=UTC)


def in_range(at: datetime) -> bool:
    """Whether an aware instant lies where every zone can show it (the one range rule;
    domain.contracts' lenient reader of status files and heartbeats uses it too)."""
    try:
        return EARLIEST_INSTANT <= at.astimezone(UTC) <= LATEST_INSTANT
    except (OverflowError, ValueError):
        return False


class BadInstant(ValueError):
    """Text that is not an instant a gate can decide on; the message says why."""


def read_instant(text: object) -> datetime:
    """An aware datetime within [EARLIEST_INSTANT, LATEST_INSTANT], or BadInstant."""
    if not isinstance(text, str):
        raise BadInstant(f"not a date-time text: {type(text).__name__}")
    shown = text if len(text) <= 40 else text[:40] + "…"
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise BadInstant(f"not an ISO 8601 date-time: {shown!r}") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise BadInstant(f"date-time without a UTC offset: {shown!r}")
    if not in_range(at):
        raise BadInstant(f"date-time out of range ({EARLIEST_INSTANT.year}..{LATEST_INSTANT.year}): {shown!r}")
    return at
