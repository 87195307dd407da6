"""The exit log's row: what a gate records, and what the office receives, verifies and stores.

One definition for every place that reads or writes a row: the gate's exit log
(kiosk/exitlog.py), the hash chain (domain/chain.py), the push API and the office's
table. A `LogEntry` is what the core decides; the gate's log adds the event id, its
sequence number and the chain to make an `ExitRow`.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
