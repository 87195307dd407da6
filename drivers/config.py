"""Settings of the hardware edge: which reader, camera and pin factory a gate uses.

Hardware is chosen here, never by silent fallback: `fake` drivers run only when a
config or `--demo` asks for them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReaderConfig:
    # pyserial URL: /dev/serial/by-id/..., loop://, socket://host:port, spy://...; "fake" for demo
    port: str = "fake"
    protocol: str = "rdm6300"      # rdm6300 | line | pn532
    baudrate: int = 9600
    uid_format: str = "hex"        # canonical UID form: hex | decimal


@dataclass(frozen=True)
class CameraConfig:
    # V4L2 index ("0"), device path, video file, image folder; "fake" for demo; "" for none
    source: str = "fake"
    decoder: str = "zxing"         # zxing | pyzbar
    width: int = 640
    height: int = 480


@dataclass(frozen=True)
class GpioConfig:
    pin_factory: str = "mock"      # lgpio on a Pi, mock for demo and tests
    relay_pin: int = 17
    relay_active_high: bool = True
    relay_pulse_s: float = 1.0
    green_led_pin: int = 27
    red_led_pin: int = 22
    buzzer_pin: int = 23
    exit_button_pin: int = 24
    door_contact_pin: int = -1     # -1: no door contact wired
