"""The devices as the app holds them, and the demo keys that drive the drivers' fakes.

Readers and scanners come from the drivers package (real, or its fakes in demo mode);
the gate outputs are wrapped in `RecordingGateIO`. Demo keys call the fakes'
``present``/``remove`` and ``show``, as a card on the reader or a slip in front of the
camera would.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class RecordingGateIO:
    """Wraps the gate outputs: logs each command, and `fail_next` makes the next one raise.

    The log is what tests and scripted walks check ("did the gate open?"); `fail_next`
    is the fault drill for "the relay driver failed while releasing".
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[float, str]] = []
        self.fail_next = ""

    def _do(self, what: str, action: Callable[[], None]) -> None:
        if self.fail_next:
            msg, self.fail_next = self.fail_next, ""
            raise OSError(msg)
        action()
        self.calls.append((time.monotonic(), what))
        if len(self.calls) > 1000:
            del self.calls[:500]

    def open_gate(self) -> None:
        self._do("open_gate", self.inner.open_gate)

    def signal(self, pattern: str) -> None:
        self._do(f"signal:{pattern}", lambda: self.inner.signal(pattern))

    def safe_state(self) -> None:
        self.calls.append((time.monotonic(), "safe_state"))
        self.inner.safe_state()

    def close(self) -> None:
        self.inner.close()


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
        for d in (self.reader, self.scanner):
            stop = getattr(d, "stop", None)
            if stop is not None:
                try:
                    stop()
                except Exception:
                    pass
        try:
            self.gate_io.close()
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
