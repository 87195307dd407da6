"""Events into the gate core and commands out of it.

Drivers produce their own raw events (drivers/events.py) from their own threads;
the app resolves raw events against the replica into the facts
the core decides on (`CardPresented`, `SlipPresented`) and steps the core on its
one owner thread. The core answers with commands that the app carries out.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from domain.exitrow import EntryKind, LogEntry
from domain.model import Guard, Permit
from domain.rules import SlipEvidence

# ---------------------------------------------------------------- resolved events


@dataclass(frozen=True)
class CardPresented:
    """A card read, with what the replica knows of its UID (either, both or none)."""

    uid: str
    permit: Permit | None = None
    guard: Guard | None = None
    bad_record: str = ""        # a replica row for this UID could not be read: what was wrong


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
    VISITOR = "visitor"              # open the registration form for a visitor without a permit
    KEY = "key"                      # value: one key of the plate pad, the ID pad, or a surname
    NEXT = "next"
    PREV = "prev"
    NO_VEHICLE = "no_vehicle"
    PICK = "pick"                    # value: a HONORIFICS key (先生 / 女士)


@dataclass(frozen=True)
class Press:
    action: Action
    value: str = ""


@dataclass(frozen=True)
class ExitRequested:
    """The exit-request button inside the gate was pressed (a pedestrian leaving, no items)."""


@dataclass(frozen=True)
class Shutdown:
    """The kiosk is being stopped (systemd's stop, a reboot, an update): the guard's shift ends with it."""


@dataclass(frozen=True)
class Tick:
    """Time passes; ``now`` comes with every step."""


class FaultSource(str, enum.Enum):
    """What broke."""

    READER = "reader"
    CAMERA = "camera"
    GPIO = "gpio"                # the gate relay, LEDs, buzzer and exit button
    STORE = "store"              # the exit log (writes) or the replica (look-ups)
    CORE = "core"                # the gate procedure itself raised
    KIOSK = "kiosk"              # the frame loop (drawing, input) raised


class FaultKind(str, enum.Enum):
    """How it broke: decided where the exception is caught, so nobody parses messages."""

    DISK_FULL = "disk_full"              # no room for the exit log's next row
    LOG_WRITE = "log_write"              # the exit log refused a row for another reason
    LOOKUP = "lookup"                    # the replica could not be read
    DEVICE_OFFLINE = "device_offline"    # a driver reported its device gone
    DEVICE_FAILED = "device_failed"      # a gate command (relay, signal) raised
    EXCEPTION = "exception"              # a bug: unexpected exception in the core or a frame


@dataclass(frozen=True)
class Fault:
    """A driver, the database or a command failed: the gate goes out of service.

    ``message`` is the exact error, for the technician; the guard's wording comes from
    ``source`` and ``kind``.
    """

    source: FaultSource
    kind: FaultKind
    message: str = ""

    def __str__(self) -> str:
        return f"{self.source.value} {self.kind.value}: {self.message}"


@dataclass(frozen=True)
class DeviceChanged:
    """A device went offline or came back (the shell's translation of a driver's health report)."""

    device: FaultSource
    online: bool
    detail: str = ""


@dataclass(frozen=True)
class Recovered:
    """The shell found that what failed works again (e.g. the exit log can take rows)."""

    source: FaultSource


Event = CardPresented | SlipPresented | Press | ExitRequested | Tick | Fault | DeviceChanged | Recovered | Shutdown

# ---------------------------------------------------------------- commands


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


Command = Record | OpenGate | Signal | SafeState

__all__ = [
    "Action", "CardPresented", "Command", "DeviceChanged", "EntryKind", "Event", "ExitRequested", "Fault", "FaultKind",
    "FaultSource", "LogEntry", "OpenGate",
    "Press", "Record", "Recovered", "SafeState", "Signal", "SignalPattern", "SlipEvidence", "SlipPresented", "Tick",
]
