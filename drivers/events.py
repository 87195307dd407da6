"""What the drivers report, from their own threads: a card read, a slip code seen,
a device going offline or coming back. The gate application resolves these against
its replica; the drivers know nothing of permits or slips.
"""
from __future__ import annotations

from dataclasses import dataclass


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
