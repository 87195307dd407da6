"""Entry points behind `gatepass kiosk`: the live screen and the headless scripted walk."""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import pygame

from domain.clock import Clock, EstateTime
from kiosk.app import OffsetClock, SimClock, assemble, build_demo_data, demo_config
from kiosk.config import KioskConfig


def _legend(demo: Any) -> tuple[list[Any], tuple[tuple[str, str], ...]]:
    from kiosk.shell.devices import demo_bindings, pin_hint

    bindings = demo_bindings(demo)
    legend = tuple((b.key, b.label) for b in bindings) + (("PIN", pin_hint(demo)),)
    return bindings, legend


def run_window(cfg: KioskConfig, demo_mode: bool, data_dir: Path | None, fullscreen: bool) -> int:
    from kiosk.ui.loop import keymap, run_live
    from kiosk.ui.sdl import require_kmsdrm

    require_kmsdrm()          # before any device opens: a screen that cannot be drawn is no gate
    demo = None
    if demo_mode:
        assert data_dir is not None
        demo = build_demo_data(data_dir)
        cfg = demo_config(cfg, data_dir)
    kiosk = assemble(cfg, demo=demo)
    clock: Any = OffsetClock(demo.now) if demo is not None else EstateTime.of(cfg.gate.timezone)
    try:
        pygame.display.init()
        keys: dict[int, Any] = {}
        legend: tuple[tuple[str, str], ...] = ()
        if demo is not None:
            bindings, legend = _legend(demo)
            keys = keymap(bindings, kiosk.devices.reader, kiosk.devices.scanner)
        return run_live(kiosk, clock, fullscreen, keys, legend)
    finally:
        kiosk.close(clock.now())          # stopped (systemd, a reboot) with a guard on shift: the shift ends
        pygame.quit()


def run_headless(cfg: KioskConfig, data_dir: Path | None, script: Path | None, shots: Path,
                 size: tuple[int, int], out: TextIO | None = None, *, clock: Clock | None = None,
                 clock_check: Callable[[], bool | None] | None = None) -> int:
    """Play the script headless, write a PNG of every scene, print the exit log.

    With ``data_dir`` (--demo): a fresh demo estate there, the drivers' stand-ins, a
    simulated clock. Without: the config's own replica, exit log and devices, the status
    files the sync daemon shares, and real time, as the gate runs them; or, for a test that
    walks a whole estate on one clock, ``clock``'s time (screen, exit-log rows and status
    monitor alike) with ``clock_check`` saying whether that time is synchronised.
    """
    if clock is not None and data_dir is not None:
        raise ValueError("a demo walk runs on its own simulated clock: pass no clock with --demo")
    from kiosk.ui.loop import make_session
    from kiosk.ui.script import DEFAULT_SCRIPT, ScriptRunner, load_script

    out = out or sys.stdout
    steps = load_script(script or DEFAULT_SCRIPT)
    demo = None
    if data_dir is not None:
        demo = build_demo_data(data_dir)
        cfg = demo_config(cfg, data_dir)
    kiosk = assemble(cfg, demo=demo, monitor_thread=demo is None, clock=clock, clock_check=clock_check)
    walk_clock: Any = SimClock(demo.now) if demo is not None else EstateTime.of(cfg.gate.timezone, clock)
    try:
        pygame.display.init()
        surface = pygame.Surface(size)
        legend: tuple[tuple[str, str], ...] = ()
        if demo is not None:
            _, legend = _legend(demo)
            print(f"gatepass kiosk (headless demo): gate {cfg.gate.id}, data in {data_dir}, {size[0]}x{size[1]}", file=out)
        else:
            print(f"gatepass kiosk (headless): gate {cfg.gate.id}, replica {cfg.store.replica}, "
                  f"exit log {cfg.store.exit_log}, {size[0]}x{size[1]}", file=out, flush=True)
        session = make_session(kiosk, size, legend)
        if demo is None:
            # On the gate's own devices and files, rows are committed as the live screen commits them:
            # on the writer thread (kiosk/ui/loop.py), so what is tested headless is what runs.
            kiosk.controller.use_writer_thread()
        runner = ScriptRunner(session, kiosk, walk_clock, surface, shots, out)
        return runner.run(steps)
    finally:
        kiosk.close(walk_clock.now())
        pygame.quit()
