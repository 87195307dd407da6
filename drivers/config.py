"""Settings of the hardware edge: which reader, camera and pin factory a gate uses.

Hardware is chosen here, never by silent fallback: `fake` drivers run only when a
config or `--demo` asks for them. Timings have defaults that suit the real devices
(an RDM6300 repeats its frame every 100-200 ms while a tag is held; a guard moves a
slip in and out of view within a second or two); tests shorten them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from domain.settings import Count, Delay, Pixels, Rate, Seconds

# The reader's choices, as types: `gatepass config check` refuses any other value by key,
# and the drivers and `gatepass reader` take their lists from here.
#: The reader protocols: over a serial port (drivers/reader.py), and "hid", a keyboard-wedge
#: reader read through evdev (drivers/hid.py).
ReaderProtocol = Literal["rdm6300", "line", "pn532", "hid"]
READER_PROTOCOLS: tuple[str, ...] = get_args(ReaderProtocol)
SERIAL_PROTOCOLS = tuple(p for p in READER_PROTOCOLS if p != "hid")
#: The canonical UID forms (drivers/frames.py, `format_uid`).
UidFormat = Literal["hex", "decimal", "dec10", "w26"]
UID_FORMATS: tuple[str, ...] = get_args(UidFormat)
#: How a `line` reader's UID of only digits is read.
LineDigits = Literal["decimal", "hex"]
#: What a keyboard-wedge reader types per card (drivers/hid.py, `wedge_uid`).
HidDigits = Literal["dec10", "w26"]
HID_DIGITS: tuple[str, ...] = get_args(HidDigits)


@dataclass(frozen=True)
class ReaderConfig:
    # pyserial URL: /dev/serial/by-id/..., /dev/gatepass-reader, loop://, socket://host:port,
    # spy://...; protocol "hid": an evdev path, /dev/input/by-id/usb-...-event-kbd; "fake" for demo
    port: str = "fake"
    protocol: ReaderProtocol = "rdm6300"   # rdm6300 | line | pn532 (serial) | hid (keyboard-wedge, evdev)
    baudrate: Count = 9600           # rdm6300: 9600; PN532 over HSU: 115200
    uid_format: UidFormat = "hex"    # canonical UID form: hex (upper case) | decimal | dec10 | w26 (frames.format_uid)
    line_digits: LineDigits = "decimal"   # line protocol: a line of only digits is decimal | hex
    hid_digits: HidDigits = "dec10"  # hid: what the wedge reader types: dec10 (10 digits) | w26 (8 digits)
    key_gap_s: Seconds = 0.25        # hid: a partial number with no key for this long is discarded
    removal_gap_s: Seconds = 0.6     # no frame for this long: the card has been taken away
    poll_interval_s: Delay = 0.15  # pn532: time between InListPassiveTarget polls
    answer_timeout_s: Seconds = 0.5  # pn532: wait this long for ACK / response
    silent_polls: Count = 3          # pn532: this many unanswered polls in a row: offline
    reopen_min_s: Seconds = 0.5      # first retry after the reader is lost ...
    reopen_max_s: Seconds = 2.0      # ... doubling up to this (a replugged reader is back within 3 s)


@dataclass(frozen=True)
class CameraConfig:
    # V4L2 index ("0"), device path, video file, image folder; "fake" for demo; "" for none
    source: str = "fake"
    decoder: str = "zxing"         # zxing | pyzbar
    width: Pixels = 640
    height: Pixels = 480
    fallback: bool = True          # when the plain pass reads nothing, escalate where a symbol was seen (drivers/qr.py)
    repeat_gap_s: Seconds = 2.0      # a slip out of view this long is a new scan when it comes back
    max_fps: Rate = 15.0          # frames decoded per second at most (file and folder sources play at this rate)
    preview_width: Pixels = 160
    preview_height: Pixels = 120
    reopen_min_s: Seconds = 0.5
    reopen_max_s: Seconds = 2.0       # a replugged camera is back within 3 s
    #: Opened but no frame this long (or none since the last for this long): offline, saying so.
    frame_timeout_s: Seconds = 5.0


@dataclass(frozen=True)
class GpioConfig:
    pin_factory: str = "mock"      # lgpio on a Pi, mock for demo and tests
    relay_pin: int = 17
    relay_active_high: bool = True
    relay_pulse_s: Seconds = 1.0
    green_led_pin: int = 27
    red_led_pin: int = 22
    buzzer_pin: int = 23
    buzzer_active_high: bool = True
    exit_button_pin: int = 24      # to ground, internal pull-up
    door_contact_pin: int = -1     # -1: no door contact wired; else to ground, closed when door shut
    bounce_s: Delay = 0.05
