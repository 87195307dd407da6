"""What the app calls: config in, a started-nothing driver out.

"fake" in config gives the demo stand-ins from `fakes.py`; anything else is real
hardware, and a real device that is misconfigured raises DriverError here, at start.
"""
from __future__ import annotations

from typing import Any

from domain.errors import DriverError
from drivers.config import CameraConfig, GpioConfig, ReaderConfig
from drivers.interfaces import CardReader, Emit, GateIO, QrScanner


def make_reader(cfg: ReaderConfig, emit: Emit) -> CardReader:
    if cfg.port == "fake":
        from drivers.fakes import FakeReader
        return FakeReader(emit)
    if cfg.protocol == "hid":
        return hid_reader(cfg, emit)
    from drivers.reader import SerialCardReader
    return SerialCardReader(cfg, emit)


def hid_reader(cfg: ReaderConfig, emit: Emit, on_reject: Any = None) -> CardReader:
    """A keyboard-wedge reader through evdev, which exists only on Linux."""
    try:
        from drivers.hid import HidCardReader
    except ImportError as exc:
        raise DriverError(f"reader {cfg.port}: protocol \"hid\" needs python-evdev (Linux only): {exc}; "
                          "install the gate's lock (docs/install.md, step 4)") from None
    return HidCardReader(cfg, emit, on_reject)


def make_scanner(cfg: CameraConfig, emit: Emit) -> QrScanner | None:
    """None when no camera is configured (source "")."""
    if cfg.source == "":
        return None
    if cfg.source == "fake":
        from drivers.fakes import FakeScanner
        return FakeScanner(emit, cfg)
    from drivers.camera import CameraScanner
    return CameraScanner(cfg, emit)


def make_gate_io(cfg: GpioConfig) -> GateIO:
    from drivers.gpio import GpioGateIO
    return GpioGateIO(cfg)
