"""The one way gatepass reads the time: an injected clock, and the estate's zone.

Code outside the pure core never asks the machine for the time: it is handed a `Clock`, so
tests fix the instant and the suite passes in any zone at any hour. Dates a person
sees (a slip's day, the morning report, an export's range) are in the estate's zone,
which `EstateTime` carries with the clock, never the machine's zone.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from domain.boottime import BootStamp

ESTATE_ZONE = "Asia/Shanghai"
#: Where Linux names the current boot (a random UUID, new at every boot).
BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """The machine's clock, in UTC (the zone is the estate's business, not the machine's)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def system_boot(boot_id_file: Path = BOOT_ID_FILE) -> BootStamp | None:
    """This boot's id and the milliseconds since it (CLOCK_BOOTTIME: counts suspend, never set or
    stepped by NTP); None where the kernel does not say (not Linux). Stamped on every exit-log row
    and heartbeat so that the office can re-date rows recorded before the clock was synced."""
    try:
        boot_id = boot_id_file.read_text(encoding="ascii").strip().lower()
        since_boot = time.clock_gettime(time.CLOCK_BOOTTIME)
    except (OSError, AttributeError, UnicodeDecodeError):
        return None
    return BootStamp(boot_id[:36], int(since_boot * 1000)) if boot_id else None


@dataclass
class FixedClock:
    """A clock that stands still until told to move: for tests and replays."""

    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at = self.at + timedelta(**delta)
        return self.at


@dataclass(frozen=True)
class EstateTime:
    """A clock read in the estate's zone: what "now" and "today" mean to the people there."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo(ESTATE_ZONE))
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def of(cls, zone: str, clock: Clock | None = None) -> EstateTime:
        return cls(ZoneInfo(zone), clock or SystemClock())

    def now(self) -> datetime:
        return self.clock.now().astimezone(self.zone)

    def today(self) -> date:
        return self.now().date()

    def local(self, at: datetime) -> datetime:
        """An instant as the estate's wall-clock time; a naive time is taken as already local."""
        return at.replace(tzinfo=self.zone) if at.tzinfo is None else at.astimezone(self.zone)
