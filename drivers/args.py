"""The drivers package's subcommands, as `gatepass` lists them: reader, scan, gpio-test.

Arguments only: the code (drivers/cli.py) is imported when a command runs (domain/commands.py).
"""
from __future__ import annotations

import argparse

from domain.commands import gate
from drivers.config import HID_DIGITS, READER_PROTOCOLS, UID_FORMATS, CameraConfig, ReaderConfig


def register(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to the `gatepass` parser."""
    p = sub.add_parser("reader", help="print the cards a reader sees, one line per presentation")
    p.add_argument("--port", required=True, help="pyserial URL, e.g. /dev/gatepass-reader or socket://host:port; "
                   "hid: the input device, e.g. /dev/input/by-id/usb-...-event-kbd")
    p.add_argument("--protocol", choices=READER_PROTOCOLS, default="rdm6300")
    p.add_argument("--baudrate", type=int, help="default: 115200 for pn532, else 9600")
    p.add_argument("--uid-format", choices=UID_FORMATS, default="hex")
    p.add_argument("--line-digits", choices=("decimal", "hex"), default="decimal",
                   help="line protocol: how to read a UID of only digits")
    p.add_argument("--hid-digits", choices=HID_DIGITS, default=ReaderConfig().hid_digits,
                   help="hid protocol: what the keyboard-wedge reader types, 10 digits (dec10) or 8 (w26)")
    p.add_argument("--count", type=int, default=0, help="stop after N presentations (default: run until Ctrl-C)")
    p.add_argument("--json", action="store_true", help='one JSON object per line: {"uid", "protocol", "at"}')
    p.add_argument("--verbose", action="store_true", help="also print each rejected frame and why (to stderr)")
    p.set_defaults(func=gate("drivers.cli:run_reader"))

    p = sub.add_parser("scan", help="decode slip QR codes from image files or a camera")
    p.add_argument("images", nargs="*", metavar="IMAGE")
    p.add_argument("--camera", metavar="SRC", help="V4L2 index or path, picamera2[:N] (CSI module), video file or image folder")
    p.add_argument("--decoder", choices=("zxing", "pyzbar"), default=CameraConfig().decoder)
    p.add_argument("--no-fallback", action="store_true", help="plain pass only, no escalation on hard photos")
    p.add_argument("--count", type=int, default=0, help="live: stop after N scans")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=gate("drivers.cli:run_scan"))

    p = sub.add_parser("gpio-test", help="switch each gate output on in turn and show the inputs")
    p.add_argument("--config", metavar="TOML", help="kiosk config whose [gpio] pins to test (default: built-in pins)")
    p.add_argument("--pin-factory", choices=("lgpio", "mock"), help="default: the config's, lgpio without one")
    p.add_argument("--auto", action="store_true", help="step on by itself instead of waiting for Enter")
    p.add_argument("--step-s", type=float, default=1.0, help="--auto: seconds each output stays on")
    p.set_defaults(func=gate("drivers.cli:run_gpio_test"))
