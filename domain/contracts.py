"""What the gate's parts tell each other about health: one typed definition each.

* `DeviceHealth`: one device's state as the kiosk saw it, with the time of that report.
* `KioskHealth`: the kiosk's health file (``[sync] kiosk_health_file``), read by the sync daemon.
* `HeartbeatBody`: what the sync daemon POSTs to the office's ``/heartbeat`` and the office stores.
* `SyncStatus`: the sync daemon's status file, read by the kiosk's status bar.

Pure: no I/O and no clock; "now" is always passed in. Everything that parses data from
outside (a file, a gate's push, an old database row) never raises: a malformed or
unknown value becomes UNKNOWN (or None) with a detail saying what was wrong, and every
string is bounded and stripped of control characters, because a gate can be hostile and
its text ends up on a clerk's screen and terminal.
"""
from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.instants import in_range

#: The devices a kiosk reports on in its health file and heartbeats.
DEVICES = ("reader", "camera")
#: Longest device detail kept (a serial port and protocol, a camera source and its error).
MAX_DETAIL = 200
#: Longest free text kept from a status file or a heartbeat (versions, errors, URLs).
MAX_TEXT = 400
#: A device report older than this many heartbeat intervals is STALE: the kiosk stopped reporting.
HEALTH_STALE_AFTER_BEATS = 3
#: The heartbeat interval assumed when a report does not say (the sync daemon's default).
DEFAULT_HEARTBEAT_S = 60.0
#: The sync daemon rewrites its status file at least this often, even when nothing changed.
SYNC_STATUS_REFRESH_S = 5.0
#: A status file older than this means the sync daemon is not running.
SYNC_STATUS_STALE_AFTER_S = 30.0
#: The kiosk rewrites its health file at least this often, so that the daemon can tell it is alive.
KIOSK_HEALTH_REFRESH_S = 5.0


def clean_text(value: object, limit: int = MAX_DETAIL) -> str:
    """A string from outside, safe to show: control characters replaced, length bounded."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    text = text[: limit * 2]
    text = "".join(ch if ch.isprintable() else " " if ch in "\t\n\r" else "\N{REPLACEMENT CHARACTER}" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_instant(value: object) -> datetime | None:
    """An ISO 8601 instant from outside, timezone-aware (naive is taken as UTC); None if not one
    or outside domain.instants' range (a time no zone can show would fail whoever displays it)."""
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, str) and 0 < len(value) <= 40:
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return at if in_range(at) else None


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _int(value: object, default: int | None = 0, minimum: int = 0) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or value > 2**63 - 1:
        return default
    return value


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    return f if math.isfinite(f) and abs(f) < 1e12 else None


# ---------------------------------------------------------------------- devices


class DeviceState(str, enum.Enum):
    """A device's state as the office and the status bar show it."""

    ONLINE = "online"
    OFFLINE = "offline"
    FAULT = "fault"
    UNKNOWN = "unknown"
    STALE = "stale"

    @property
    def zh(self) -> str:
        return _LABELS[self][0]

    @property
    def en(self) -> str:
        return _LABELS[self][1]

    @property
    def healthy(self) -> bool:
        return self is DeviceState.ONLINE

    @property
    def known(self) -> bool:
        """Whether the report says something about the device now (not UNKNOWN or STALE)."""
        return self not in (DeviceState.UNKNOWN, DeviceState.STALE)


_LABELS = {
    DeviceState.ONLINE: ("正常", "Online"),
    DeviceState.OFFLINE: ("离线", "Offline"),
    DeviceState.FAULT: ("故障", "Fault"),
    DeviceState.UNKNOWN: ("未知", "Unknown: never reported"),
    DeviceState.STALE: ("过期", "Stale: no recent report"),
}
#: Words an older gate wrote before the state (``"online: /dev/ttyUSB0 open (rdm6300)"``, ``"ok"``).
_LEGACY = {"ok": DeviceState.ONLINE, "ready": DeviceState.ONLINE, "online": DeviceState.ONLINE,
           "offline": DeviceState.OFFLINE, "fault": DeviceState.FAULT, "error": DeviceState.FAULT,
           "unknown": DeviceState.UNKNOWN, "stale": DeviceState.STALE}


@dataclass(frozen=True)
class DeviceHealth:
    """One device's state, what the driver said about it, and when the kiosk reported it."""

    state: DeviceState
    detail: str = ""
    at: datetime | None = None

    def __post_init__(self) -> None:
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("DeviceHealth.at must be timezone-aware")

    @classmethod
    def of(cls, online: bool | None, detail: str, at: datetime | None) -> DeviceHealth:
        """From a driver's report: online True/False, or None when the driver never said."""
        state = DeviceState.UNKNOWN if online is None else DeviceState.ONLINE if online else DeviceState.OFFLINE
        return cls(state, clean_text(detail or ("no report from the driver yet" if online is None else "")), at)

    @classmethod
    def unknown(cls, why: str, at: datetime | None = None) -> DeviceHealth:
        return cls(DeviceState.UNKNOWN, clean_text(why), at)

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state.value, "detail": self.detail, "at": _iso(self.at)}

    @classmethod
    def from_json(cls, data: object) -> DeviceHealth:
        """Never raises: an unknown state or a malformed report is UNKNOWN, saying what was wrong."""
        if data is None:
            return cls.unknown("not reported")
        if isinstance(data, str):            # a gate from before the typed report: "online: /dev/ttyUSB0 open"
            word, _, rest = data.partition(":")
            state = _LEGACY.get(word.strip().lower())
            if state is None:
                return cls.unknown(f"unrecognised report {clean_text(data, 80)!r}")
            return cls(state, clean_text(rest.strip()))
        if not isinstance(data, Mapping):
            return cls.unknown(f"malformed report ({type(data).__name__}, not an object)")
        raw_state, raw_at = data.get("state"), data.get("at")
        at = parse_instant(raw_at)
        detail = clean_text(data.get("detail"))
        problems = []
        if raw_at is not None and at is None:
            problems.append(f"bad time {clean_text(raw_at, 40)!r}")
        try:
            state = DeviceState(raw_state)
        except ValueError:
            state = DeviceState.UNKNOWN
            problems.append(f"unknown state {clean_text(raw_state, 40)!r}")
        if problems:                         # half a report is no report: say what was wrong
            return cls(DeviceState.UNKNOWN, clean_text("; ".join(problems) + (f" ({detail})" if detail else "")), at)
        return cls(state, detail, at)

    def aged(self, now: datetime, heartbeat_interval_s: float) -> DeviceHealth:
        """STALE when this report is older than `HEALTH_STALE_AFTER_BEATS` heartbeats (or has no time)."""
        if not self.state.known:
            return self
        if self.at is None or now - self.at > stale_after(heartbeat_interval_s):
            return DeviceHealth(DeviceState.STALE, self.detail, self.at)
        return self


def stale_after(heartbeat_interval_s: float) -> timedelta:
    interval = heartbeat_interval_s if heartbeat_interval_s > 0 else DEFAULT_HEARTBEAT_S
    return timedelta(seconds=HEALTH_STALE_AFTER_BEATS * interval)


def age_devices(devices: Mapping[str, DeviceHealth], now: datetime,
                heartbeat_interval_s: float) -> dict[str, DeviceHealth]:
    """The rule: a device whose last report is older than three heartbeats is STALE."""
    return {name: d.aged(now, heartbeat_interval_s) for name, d in devices.items()}


def _devices_from_json(data: object) -> dict[str, DeviceHealth]:
    got = data if isinstance(data, Mapping) else {}
    return {name: DeviceHealth.from_json(got.get(name)) for name in DEVICES}


# ---------------------------------------------------------------------- kiosk health file


@dataclass(frozen=True)
class KioskHealth:
    """The kiosk's health file: when it was written and each device's last report."""

    written_at: datetime | None
    devices: Mapping[str, DeviceHealth] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"written_at": _iso(self.written_at), "devices": {k: v.to_json() for k, v in self.devices.items()}}

    @classmethod
    def from_json(cls, data: object) -> KioskHealth:
        """Never raises; a device missing from the file is UNKNOWN."""
        if not isinstance(data, Mapping):
            why = "kiosk health file is not a JSON object"
            return cls(None, {name: DeviceHealth.unknown(why) for name in DEVICES})
        if "devices" not in data and any(name in data for name in DEVICES):   # the old {"reader": "online: ..."}
            return cls(None, {name: DeviceHealth.from_json(data.get(name)) for name in DEVICES})
        return cls(parse_instant(data.get("written_at")), _devices_from_json(data.get("devices")))

    @classmethod
    def missing(cls, why: str) -> KioskHealth:
        return cls(None, {name: DeviceHealth.unknown(why) for name in DEVICES})


# ---------------------------------------------------------------------- heartbeat


@dataclass(frozen=True)
class HeartbeatBody:
    """What the sync daemon sends to ``POST /api/v1/heartbeat`` and the office stores as the gate's last heartbeat."""

    reader: DeviceHealth
    camera: DeviceHealth
    versions: Mapping[str, str] = field(default_factory=dict)
    outbox_depth: int = 0
    clock_offset_s: float | None = None
    sent_at: datetime | None = None
    heartbeat_interval_s: float = DEFAULT_HEARTBEAT_S
    #: Where in which boot the gate was at ``sent_at``, and whether its clock was synced then:
    #: a synced heartbeat re-dates that boot's unsynced rows (domain/boottime.py). ""/0/None: not said.
    boot_id: str = ""
    boottime_ms: int = 0
    clock_synced: bool | None = None

    #: Bounds the office enforces (its pydantic model is built from these).
    MAX_VERSIONS = 16
    MAX_VERSION_TEXT = 64
    MAX_BOOT_ID = 36

    def devices(self) -> dict[str, DeviceHealth]:
        return {"reader": self.reader, "camera": self.camera}

    def to_json(self) -> dict[str, Any]:
        return {"reader": self.reader.to_json(), "camera": self.camera.to_json(), "versions": dict(self.versions),
                "outbox_depth": self.outbox_depth, "clock_offset_s": self.clock_offset_s,
                "sent_at": _iso(self.sent_at), "heartbeat_interval_s": self.heartbeat_interval_s,
                "boot_id": self.boot_id, "boottime_ms": self.boottime_ms, "clock_synced": self.clock_synced}

    @classmethod
    def from_json(cls, data: object) -> HeartbeatBody:
        """Never raises: what a stored (or older gate's) heartbeat holds, each part checked on its own."""
        d = data if isinstance(data, Mapping) else {}
        versions = d.get("versions")
        vs = {clean_text(k, cls.MAX_VERSION_TEXT): clean_text(v, cls.MAX_VERSION_TEXT)
              for k, v in list(versions.items())[: cls.MAX_VERSIONS]} if isinstance(versions, Mapping) else {}
        interval = _float(d.get("heartbeat_interval_s"))
        return cls(
            reader=DeviceHealth.from_json(d.get("reader")) if isinstance(data, Mapping)
            else DeviceHealth.unknown("no heartbeat"),
            camera=DeviceHealth.from_json(d.get("camera")) if isinstance(data, Mapping)
            else DeviceHealth.unknown("no heartbeat"),
            versions=vs, outbox_depth=_int(d.get("outbox_depth")) or 0,
            clock_offset_s=_float(d.get("clock_offset_s")), sent_at=parse_instant(d.get("sent_at")),
            heartbeat_interval_s=interval if interval is not None and interval > 0 else DEFAULT_HEARTBEAT_S,
            boot_id=clean_text(d.get("boot_id"), cls.MAX_BOOT_ID), boottime_ms=_int(d.get("boottime_ms")) or 0,
            clock_synced=d.get("clock_synced") if isinstance(d.get("clock_synced"), bool) else None)

    def as_of(self, now: datetime) -> dict[str, DeviceHealth]:
        """Each device as of `now` on the office's clock: the gate's report times corrected by its clock offset,
        then the stale rule (a gate that went silent has stale devices)."""
        offset = timedelta(seconds=self.clock_offset_s or 0.0)
        out = {}
        for name, d in self.devices().items():
            try:
                moved = d if d.at is None else DeviceHealth(d.state, d.detail, d.at + offset)
            except OverflowError:       # a report time at the calendar's end (a hostile gate): no time, so stale
                moved = DeviceHealth(d.state, d.detail, None)
            out[name] = moved.aged(now, self.heartbeat_interval_s)
        return out


# ---------------------------------------------------------------------- sync daemon status file


class SyncState(str, enum.Enum):
    STARTING = "starting"
    OK = "ok"
    OFFLINE = "offline"
    ERROR = "error"
    STOPPED = "stopped"


@dataclass(frozen=True)
class SyncStatus:
    """The sync daemon's status file (times are UTC instants or None).

    ``ok``/``error`` say how the last attempt went (``error`` is cleared on success) while
    ``last_error`` keeps the most recent failure; ``last_pull_at`` and ``last_push_at`` are
    the last *successful* pull and push (the age of the gate's data), ``*_attempt_at`` the
    last tries.
    """

    gate_id: str = ""
    pid: int | None = None
    updated_at: datetime | None = None
    state: SyncState = SyncState.STARTING
    ok: bool | None = None
    error: str | None = None
    office_url: str = ""
    last_pull_at: datetime | None = None
    last_pull_attempt_at: datetime | None = None
    pull_cursor: int = 0
    last_push_at: datetime | None = None
    last_push_attempt_at: datetime | None = None
    push_cursor: int = 0
    outbox_depth: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    clock_offset_s: float | None = None
    office_epoch: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = _iso(v) if isinstance(v, datetime) else v.value if isinstance(v, enum.Enum) else v
        return out

    @classmethod
    def from_json(cls, data: object) -> SyncStatus:
        """Never raises; a malformed file is an ERROR status whose ``error`` says so."""
        if not isinstance(data, Mapping):
            return cls(state=SyncState.ERROR, ok=False, error="status file is not a JSON object")
        problems = []
        raw_state = data.get("state")
        error = data.get("error")
        ok = data.get("ok") if isinstance(data.get("ok"), bool) else None
        try:
            state = SyncState(raw_state)
        except ValueError:
            state = SyncState.OK if (ok if ok is not None else not error) else SyncState.ERROR
            if raw_state is not None:
                problems.append(f"unknown state {clean_text(raw_state, 40)!r}")

        def text(key: str) -> str | None:
            v = data.get(key)
            return None if v is None else clean_text(v, MAX_TEXT)

        error_text = text("error")
        if problems:
            error_text = clean_text("; ".join(problems + ([error_text] if error_text else [])), MAX_TEXT)
        return cls(
            gate_id=clean_text(data.get("gate_id"), 40), pid=_int(data.get("pid"), None, 1),
            updated_at=parse_instant(data.get("updated_at")), state=state, ok=ok, error=error_text,
            office_url=clean_text(data.get("office_url"), MAX_TEXT),
            last_pull_at=parse_instant(data.get("last_pull_at")),
            last_pull_attempt_at=parse_instant(data.get("last_pull_attempt_at")),
            pull_cursor=_int(data.get("pull_cursor")) or 0,
            last_push_at=parse_instant(data.get("last_push_at")),
            last_push_attempt_at=parse_instant(data.get("last_push_attempt_at")),
            push_cursor=_int(data.get("push_cursor")) or 0, outbox_depth=_int(data.get("outbox_depth")) or 0,
            last_error=text("last_error"), last_error_at=parse_instant(data.get("last_error_at")),
            clock_offset_s=_float(data.get("clock_offset_s")), office_epoch=text("office_epoch"))

    def running(self, now: datetime) -> bool:
        """False once the daemon said it stopped, or its file has not been rewritten for a while."""
        if self.state is SyncState.STOPPED:
            return False
        return self.updated_at is None or (now - self.updated_at).total_seconds() <= SYNC_STATUS_STALE_AFTER_S


#: Keys of the status file, in the order the daemon writes them.
SYNC_STATUS_KEYS = tuple(f.name for f in fields(SyncStatus))
