"""In-process stand-ins for the reader, camera and gate outputs, for demo mode and tests.

They speak the same small interface the real drivers will (drivers/ branch):
a reader and a scanner push raw events through ``emit``; the gate I/O has
``open_gate``, ``signal``, ``safe_state`` and ``close``. Demo keys call
``present`` and ``show`` as a card on the reader or a slip in front of the camera would.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from kiosk.core.events import CardRead, DeviceHealth, SlipScanned

Emit = Callable[[object], None]


class DemoReader:
    def __init__(self, emit: Emit) -> None:
        self.emit = emit

    def start(self) -> None:
        self.emit(DeviceHealth("reader", True, "demo reader"))

    def present(self, uid: str) -> None:
        self.emit(CardRead(uid))

    def close(self) -> None:
        pass


class DemoScanner:
    """Shows a slowly moving gradient as the camera preview, so a frozen screen is visible."""

    def __init__(self, emit: Emit, size: tuple[int, int] = (160, 120)) -> None:
        self.emit = emit
        self.size = size
        self._frames: list[Any] = []

    def start(self) -> None:
        self.emit(DeviceHealth("camera", True, "demo camera"))

    def show(self, text: str) -> None:
        self.emit(SlipScanned(text, "demo"))

    def preview(self) -> Any:
        import numpy as np

        if not self._frames:
            w, h = self.size
            y, x = np.mgrid[0:h, 0:w]
            for k in range(16):
                phase = k / 16 * 2 * math.pi
                r = (60 + 40 * np.sin(x / 17 + phase)).astype(np.uint8)
                g = (70 + 30 * np.cos(y / 13 + phase)).astype(np.uint8)
                b = np.full_like(r, 90)
                self._frames.append(np.dstack([r, g, b]))
        return self._frames[int(time.monotonic() * 4) % len(self._frames)]

    def close(self) -> None:
        pass


@dataclass
class DemoGateIO:
    """Records what the gate would do; `fail_next` makes the next call raise, for fault drills."""

    calls: list[tuple[float, str]] = field(default_factory=list)
    fail_next: str = ""

    def _do(self, what: str) -> None:
        if self.fail_next:
            msg, self.fail_next = self.fail_next, ""
            raise OSError(msg)
        self.calls.append((time.monotonic(), what))
        if len(self.calls) > 1000:
            del self.calls[:500]

    def open_gate(self) -> None:
        self._do("open_gate")

    def signal(self, pattern: str) -> None:
        self._do(f"signal:{pattern}")

    def safe_state(self) -> None:
        self.calls.append((time.monotonic(), "safe_state"))

    def close(self) -> None:
        pass


@dataclass
class Devices:
    """What `build_devices` hands the app: two event sources and the gate outputs."""

    reader: Any
    scanner: Any
    gate_io: Any

    def start(self) -> None:
        for d in (self.reader, self.scanner):
            start = getattr(d, "start", None)
            if start is not None:
                start()

    def close(self) -> None:
        for d in (self.reader, self.scanner, self.gate_io):
            try:
                d.close()
            except Exception:
                pass


# ----------------------------------------------------------------- demo keys

CARD_KEYS = ("valid", "mover", "expired", "lost", "revoked", "not_yet_valid", "temporary", "renovation", "unknown")
SLIP_KEYS = ("owner", "tenant", "non_owner", "contractor", "move_out", "company", "not_synced", "used",
             "expired", "not_yet_valid", "cancelled", "wrong_gate", "unpaid_fees", "approvals_missing",
             "forged", "tampered")


@dataclass(frozen=True)
class Binding:
    key: str            # as shown in the legend: "F1", "a"
    label: str          # what it presents
    kind: str           # "card" or "slip"
    value: str          # card UID or slip text


def demo_bindings(demo: Any) -> list[Binding]:
    """F1.. present the guards' badges then demo cards; letters show demo slips."""
    out: list[Binding] = []
    fkeys = iter(f"F{i}" for i in range(1, 13))
    for badge, _pin, role, name in demo.guards:
        out.append(Binding(next(fkeys), f"{'主管' if role == 'supervisor' else '保安'}{name}", "card", badge))
    for label in CARD_KEYS:
        if label in demo.cards:
            try:
                out.append(Binding(next(fkeys), label, "card", demo.cards[label]))
            except StopIteration:
                break
    letters = iter("abcdefghijklmnopqrstuvw")
    for label in SLIP_KEYS:
        if label in demo.slips:
            out.append(Binding(next(letters), label, "slip", demo.slips[label]))
    return out


def pin_hint(demo: Any) -> str:
    return "  ".join(f"{name} {pin}" for _b, pin, _r, name in demo.guards)
