"""The small interfaces the app programs against; real drivers and fakes both fit them."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

# What the app passes to a driver: called from the driver's thread with one event
# (CardRead, CardRemoved, SlipScanned, DeviceHealth); typically a queue's put.
Emit = Callable[[Any], None]


class CardReader(Protocol):
    """Emits CardRead / CardRemoved / DeviceHealth("reader", ...) from its own thread."""

    @property
    def online(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


class QrScanner(Protocol):
    """Emits SlipScanned / DeviceHealth("camera", ...) from its own thread."""

    @property
    def online(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...

    def preview(self) -> np.ndarray | None:
        """Latest frame as a small RGB array (preview_height x preview_width x 3), or None."""
        ...


class GateIO(Protocol):
    """Relay, LEDs, buzzer and inputs. Commands return at once; patterns run in the background."""

    on_exit_request: Callable[[], None] | None

    @property
    def door_open(self) -> bool | None: ...
    def open_gate(self) -> None: ...
    def signal(self, pattern: str) -> None: ...
    def safe_state(self) -> None: ...
    def close(self) -> None: ...
