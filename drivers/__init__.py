"""Hardware edge: card readers, camera + QR decoding, gate I/O. Each with a fake for demo mode.

`import drivers` stays cheap (no serial, cv2 or gpiozero); the factories and classes
below are imported on first use.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "make_reader": "drivers.factory",
    "make_scanner": "drivers.factory",
    "make_gate_io": "drivers.factory",
    "CardReader": "drivers.interfaces",
    "QrScanner": "drivers.interfaces",
    "GateIO": "drivers.interfaces",
    "FakeReader": "drivers.fakes",
    "FakeScanner": "drivers.fakes",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'drivers' has no attribute {name!r}")
