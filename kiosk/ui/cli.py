"""The `gatepass kiosk` subcommand: the gate screen, live or as a scripted headless walk."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.clock import Clock


def _size(text: str | None, default: tuple[int, int]) -> tuple[int, int]:
    if not text:
        return default
    from domain.errors import ConfigError

    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 800x480") from None
    return w, h


def _data_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    var = Path("var")
    try:
        var.mkdir(exist_ok=True)
        probe = var / ".write-test"
        probe.touch()
        probe.unlink()
        return var / "demo"
    except OSError:
        return Path(tempfile.mkdtemp(prefix="gatepass-demo-"))


def cmd_kiosk(args: argparse.Namespace, *, clock: Clock | None = None,
              clock_check: Callable[[], bool | None] | None = None) -> int:
    """`gatepass kiosk`. ``clock`` and ``clock_check`` are for a test that runs this very command
    in-process with a whole estate on one clock (the headless walk without --demo only; see run_headless)."""
    from domain.errors import ConfigError
    from domain.settings import load
    from kiosk.app import has_display, refuse_stand_ins
    from kiosk.config import KioskConfig

    cfg = load(KioskConfig, args.config)
    if not args.demo:
        refuse_stand_ins(cfg, args.config)
    if args.mock_pins:
        # Asked for on the command line of this one run, never by the installed config (which
        # refuse_stand_ins has just checked), and said out loud: such a gate never opens.
        print(f"gatepass kiosk: --mock-pins: 测试台模式，GPIO 使用模拟引脚，闸门不会打开（配置为 {cfg.gpio.pin_factory}）\n"
              f"gatepass kiosk: --mock-pins: test bench, mock GPIO pins instead of {cfg.gpio.pin_factory!r}; "
              "the gate will not open", file=sys.stderr)
        cfg = replace(cfg, gpio=replace(cfg.gpio, pin_factory="mock"))
    headless = args.headless or (args.demo and not args.window and not has_display())
    if args.script and not headless:
        raise ConfigError("--script plays only headless: add --headless")
    if clock is not None and not headless:
        raise ValueError("an injected clock drives only the headless walk (the live screen reads the machine's)")
    if headless and not args.demo and not args.script:
        raise ConfigError("a headless run without --demo plays a --script on the configured devices and replica: "
                          "add --script FILE, or --demo for the built-in walk on demo data")
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
        if not args.headless:
            print("gatepass kiosk: no display found; playing the demo walk headless", file=sys.stderr)
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from kiosk.ui.run import run_headless, run_window

    size = _size(args.size, (cfg.display.width, cfg.display.height))
    if headless:
        shots = Path(args.screenshots or "var/screenshots")
        return run_headless(cfg, _data_dir(args.data_dir) if args.demo else None,
                            Path(args.script) if args.script else None, shots, size, clock=clock, clock_check=clock_check)
    from kiosk.ui.loop import DisplayError

    try:
        return run_window(cfg, args.demo, _data_dir(args.data_dir) if args.demo else None,
                          fullscreen=cfg.display.fullscreen and not args.window)
    except DisplayError as exc:
        if not args.demo or args.window:
            raise
        # `make run` on a machine whose DRM device we cannot take: show the demo anyway.
        print(f"gatepass kiosk: {exc}\ngatepass kiosk: playing the demo walk headless instead", file=sys.stderr)
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        shots = Path(args.screenshots or "var/screenshots")
        return run_headless(cfg, _data_dir(args.data_dir), None, shots, size)


def cmd_display_check(args: argparse.Namespace) -> int:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from kiosk.ui.sdl import refusal, sdl_info

    info = sdl_info()
    print(f"SDL {info.version}: {info.library}\nvideo drivers: {', '.join(info.drivers)}")
    if not info.has_kmsdrm:
        print(refusal(info), file=sys.stderr)
        return 1
    print("KMSDRM: 可以在无桌面的树莓派上显示\nKMSDRM: can draw on a Raspberry Pi without a desktop")
    return 0
