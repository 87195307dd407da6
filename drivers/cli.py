"""Subcommands of the `drivers` package: installer and bench-side tools.

`gatepass reader`   show what a serial card reader sends, one line per presentation;
`gatepass scan`     decode slip images, or watch a camera;
`gatepass gpio-test` walk an installer through every output and show every input.
Heavy libraries (serial, cv2, gpiozero) are imported inside the commands.
"""
from __future__ import annotations

import argparse
import json
import queue
import sys
import time
from collections.abc import Callable
from typing import Any

from domain.clock import SystemClock
from domain.errors import DriverError
from drivers.config import CameraConfig, GpioConfig, ReaderConfig


def _now() -> str:
    # an installer's terminal: the time as its own `date` shows it (these tools read no estate config)
    return SystemClock().now().astimezone().isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------- reader

def run_reader(args: argparse.Namespace) -> int:
    from drivers.events import CardRead
    from drivers.factory import hid_reader
    from drivers.frames import Reject
    from drivers.reader import SerialCardReader

    if args.port == "fake":
        raise DriverError("reader: --port fake has no card to read; give the reader's device or URL")
    baud = args.baudrate or (115200 if args.protocol == "pn532" else 9600)
    cfg = ReaderConfig(port=args.port, protocol=args.protocol, baudrate=baud,
                       uid_format=args.uid_format, line_digits=args.line_digits, hid_digits=args.hid_digits)
    events: queue.Queue[Any] = queue.Queue()

    def show_reject(r: Reject) -> None:
        data = r.data.decode("ascii", "replace") if args.protocol == "hid" else r.data.hex(" ")
        print(f"rejected {data}: {r.reason}", file=sys.stderr, flush=True)

    on_reject = show_reject if args.verbose else None
    reader: Any = (hid_reader(cfg, events.put, on_reject) if args.protocol == "hid"
                   else SerialCardReader(cfg, events.put, on_reject=on_reject))

    def card_line(ev: Any) -> str | None:
        if not isinstance(ev, CardRead):
            return None
        at = _now()
        return (json.dumps({"uid": ev.uid, "protocol": ev.protocol, "at": at}) if args.json
                else f"{at}  {ev.uid}  ({ev.protocol})")

    return _print_events(reader, events, "reader", card_line, args.count)


def _print_events(device: Any, events: queue.Queue[Any], name: str,
                  line_of: Callable[[Any], str | None], count: int | None) -> int:
    """Run a device and print one line per presentation (health on stderr) until ``count``."""
    from drivers.events import DeviceHealth

    device.start()
    seen = 0
    try:
        while not count or seen < count:
            ev = events.get()
            if isinstance(ev, DeviceHealth):
                print(f"{name} {'online' if ev.online else 'OFFLINE'}: {ev.detail}", file=sys.stderr, flush=True)
            elif (line := line_of(ev)) is not None:
                seen += 1
                print(line, flush=True)
    finally:
        device.stop()
    return 0


# ---------------------------------------------------------------------- scan

def run_scan(args: argparse.Namespace) -> int:
    if args.camera and args.images:
        raise DriverError("scan: give image files or --camera, not both")
    if args.camera:
        return _scan_live(args)
    if not args.images:
        raise DriverError("scan: give image files to decode, or --camera SRC")
    from domain.images import ImageRefused
    from drivers.camera import read_image
    from drivers.qr import decode_frame, make_decoder

    decoder = make_decoder(args.decoder)
    status = 0
    for path in args.images:
        try:
            frame = read_image(path)
        except ImageRefused as exc:
            print(json.dumps({"file": path, "error": str(exc)}, ensure_ascii=False) if args.json
                  else f"图片未解码 image not decoded: {exc}", flush=True)
            status = 1
            continue
        except OSError as exc:
            frame = None
            print(f"{path}: {exc.strerror}", file=sys.stderr, flush=True)
        if frame is None:
            print(json.dumps({"file": path, "error": "cannot read image"}) if args.json
                  else f"{path}: cannot read image", flush=True)
            status = 1
            continue
        started = time.perf_counter()
        texts = decode_frame(decoder, frame, fallback=not args.no_fallback)
        ms = (time.perf_counter() - started) * 1000
        if args.json:
            print(json.dumps({"file": path, "texts": texts, "decoder": decoder.name, "ms": round(ms, 2)}), flush=True)
        else:
            print(f"{path}: {' | '.join(texts) if texts else 'no code'}  [{decoder.name}, {ms:.1f} ms]", flush=True)
    return status


def _scan_live(args: argparse.Namespace) -> int:
    from drivers.camera import CameraScanner
    from drivers.events import SlipScanned

    cfg = CameraConfig(source=args.camera, decoder=args.decoder, fallback=not args.no_fallback)
    events: queue.Queue[Any] = queue.Queue()
    scanner = CameraScanner(cfg, events.put)

    def slip_line(ev: Any) -> str | None:
        if not isinstance(ev, SlipScanned):
            return None
        at = _now()
        return (json.dumps({"text": ev.text, "decoder": ev.decoder, "at": at}) if args.json
                else f"{at}  {ev.text}  [{ev.decoder}]")

    return _print_events(scanner, events, "camera", slip_line, args.count)


# ---------------------------------------------------------------------- gpio-test

def run_gpio_test(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from drivers.gpio import GpioGateIO, relay_boot_hint

    if args.config:
        from domain.settings import load_table

        cfg = load_table(GpioConfig, args.config, "gpio")
    else:
        cfg = replace(GpioConfig(), pin_factory="lgpio")
    if args.pin_factory:
        cfg = replace(cfg, pin_factory=args.pin_factory)

    def step(prompt: str) -> None:
        if args.auto:
            print(prompt, flush=True)
            time.sleep(args.step_s)
        else:
            input(prompt + "  [Enter] ")

    print(relay_boot_hint(cfg.relay_pin, cfg.relay_active_high), flush=True)
    gate = GpioGateIO(cfg)
    try:
        print(f"gpio-test with pin factory {cfg.pin_factory!r}; every output starts off.")
        for name, device in gate.outputs.items():
            device.on()
            step(f"ON   {name}: check it is on (relay clicks / LED lit / buzzer sounds)")
            device.off()
            print(f"off  {name}")
        _show_inputs(gate)
        if not args.auto:
            gate.exit_button.when_released = lambda: print("     exit button released", flush=True)
            gate.on_exit_request = lambda: print("     exit button PRESSED", flush=True)
            if gate.door is not None:
                gate.door.when_pressed = lambda: print("     door SHUT", flush=True)
                gate.door.when_released = lambda: print("     door OPEN", flush=True)
            input("Press the exit button / open the door to see them change; Enter to finish. ")
    finally:
        gate.close()
    print("all outputs off.")
    return 0


def _show_inputs(gate: Any) -> None:
    button = "pressed" if gate.exit_button.is_pressed else "released"
    print(f"in   exit button (GPIO{gate.cfg.exit_button_pin}): {button}")
    door = gate.door_open
    if door is None:
        print("in   door contact: not wired (door_contact_pin = -1)")
    else:
        print(f"in   door contact (GPIO{gate.cfg.door_contact_pin}): {'OPEN' if door else 'shut'}")
