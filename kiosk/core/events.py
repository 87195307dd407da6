"""Events into the gate core and commands out of it.

Drivers produce the raw events (`CardRead`, `SlipScanned`, health changes) from
their own threads; the app resolves raw events against the replica into the facts
the core decides on (`CardPresented`, `SlipPresented`) and steps the core on its
one owner thread. The core answers with commands that the app carries out.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Union

from kiosk.core.model import Consumption, Guard, LargeItemHours, Permit, Slip, TokenClaims, Unit
from kiosk.core.reasons import Reason

# ---------------------------------------------------------------- raw driver events


@dataclass(frozen=True)
class CardRead:
    """A card was presented to the reader (once per presentation, not per frame)."""

    uid: str
    protocol: str = ""


@dataclass(frozen=True)
class CardRemoved:
    uid: str


@dataclass(frozen=True)
class SlipScanned:
    """A QR code was decoded from the camera (once per slip held in view)."""

    text: str
    decoder: str = ""


@dataclass(frozen=True)
class DeviceHealth:
    """A driver went offline or came back: `device` is "reader", "camera" or "gpio"."""

    device: str
    online: bool
    detail: str = ""


# ---------------------------------------------------------------- resolved events


@dataclass(frozen=True)
class CardPresented:
    """A card read, with what the replica knows of its UID (either, both or none)."""

    uid: str
    permit: Permit | None = None
    guard: Guard | None = None


@dataclass(frozen=True)
class SlipEvidence:
    """Everything the gate knows about a scanned slip, gathered by the app.

    ``token_reason`` is None when the token verified; otherwise the reason it did not
    (malformed, unknown key, bad signature). ``slip``/``unit`` are None when the replica
    has not synced them yet.
    """

    text: str
    token_reason: Reason | None
    claims: TokenClaims | None = None
    slip: Slip | None = None
    unit: Unit | None = None
    consumptions: tuple[Consumption, ...] = ()
    items_digest: str = ""     # digest of the replica's item list, to compare with the token's
    hours: LargeItemHours = field(default_factory=LargeItemHours)


@dataclass(frozen=True)
class SlipPresented:
    evidence: SlipEvidence


class Action(str, enum.Enum):
    """What a guard can tap on the screen (or a script can play)."""

    DIGIT = "digit"                  # value: "0".."9"
    BACKSPACE = "backspace"
    PIN_SUBMIT = "pin_submit"
    TOGGLE_ITEM = "toggle_item"      # value: item index
    ALL_MATCH = "all_match"
    ITEMS_CONFIRMED = "items_confirmed"
    MISMATCH = "mismatch"
    MISMATCH_REASON = "mismatch_reason"   # value: a MISMATCH_CHOICES key
    CONFIRM_IDENTITY = "confirm_identity"
    OVERRIDE = "override"
    OVERRIDE_REASON = "override_reason"   # value: an OVERRIDE_CHOICES key
    REPORT = "report"
    REPORT_REASON = "report_reason"       # value: a REPORT_CHOICES key
    SIGN_OUT = "sign_out"
    CONFIRM = "confirm"
    CANCEL = "cancel"
    RECENT = "recent"


@dataclass(frozen=True)
class Press:
    action: Action
    value: str = ""


@dataclass(frozen=True)
class ExitRequested:
    """The exit-request button inside the gate was pressed (a pedestrian leaving, no items)."""


@dataclass(frozen=True)
class Tick:
    """Time passes; ``now`` comes with every step."""


@dataclass(frozen=True)
class Fault:
    """A driver, the database or a command failed: the gate goes out of service."""

    source: str
    message: str


@dataclass(frozen=True)
class Recovered:
    source: str


Event = Union[CardPresented, SlipPresented, Press, ExitRequested, Tick, Fault, Recovered]

# ---------------------------------------------------------------- commands


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


@dataclass(frozen=True)
class Record:
    entry: LogEntry


@dataclass(frozen=True)
class OpenGate:
    """Pulse the gate relay once."""


class SignalPattern(str, enum.Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    ALERT = "alert"


@dataclass(frozen=True)
class Signal:
    pattern: SignalPattern


@dataclass(frozen=True)
class SafeState:
    """All outputs off: gate closed, LEDs off, buzzer silent."""


Command = Union[Record, OpenGate, Signal, SafeState]

__all__ = [
    "Action", "CardPresented", "CardRead", "CardRemoved", "Command", "DeviceHealth", "EntryKind",
    "Event", "ExitRequested", "Fault", "LogEntry", "OpenGate", "Press", "Record", "Recovered", "SafeState", "Signal",
    "SignalPattern", "SlipEvidence", "SlipPresented", "SlipScanned", "Tick",
]
