"""Composition root of the gate kiosk: config -> devices -> stores -> controller -> screen.

Everything concrete is chosen here and nowhere else. Devices come from one seam,
`build_devices`, so the real drivers (pyserial reader, camera + QR, gpiozero) plug in
without the rest of the kiosk knowing; demo mode asks for in-process stand-ins
explicitly, never as a silent fallback (DESIGN.md principle 3).
"""
from __future__ import annotations

import logging
import os
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from domain.boottime import BootStamp
from domain.clock import Clock, system_boot
from kiosk.config import KioskConfig
from kiosk.core.events import ExitRequested
from kiosk.core.flow import initial_state, with_lockouts
from kiosk.exitlog import ExitLog
from kiosk.resolve import Resolver
from kiosk.shell.controller import Controller
from kiosk.shell.devices import Devices, RecordingGateIO
from kiosk.shell.status import StatusMonitor, clock_synchronised
from kiosk.store import Replica

Emit = Callable[[object], None]
log = logging.getLogger("gatepass.kiosk")


# ----------------------------------------------------------------- clocks


class OffsetClock:
    """Demo time: starts at the demo estate's morning and runs at real speed.

    Demo slips are valid on a working-day morning; a demo run on a Sunday night would
    otherwise refuse every slip for large-item hours.
    """

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._t0)


class SimClock:
    """Scripted time: moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.t = start

    def now(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


# ----------------------------------------------------------------- devices (the seam)


def build_devices(cfg: KioskConfig, emit: Emit, demo: bool) -> Devices:
    """Reader, scanner and gate I/O for this gate, from the drivers package.

    Demo mode asks explicitly for the drivers' fakes (a reader and a camera that keys
    and scripts drive) and gpiozero's mock pins; otherwise the config decides, and a
    misconfigured device is a DriverError here, at start. The gate outputs are wrapped
    so that every command is logged and a fault drill can make the next one fail.
    """
    import drivers

    if demo:
        reader: Any = drivers.FakeReader(emit)
        scanner: Any = drivers.FakeScanner(emit, cfg.camera)
        gate_io: Any = drivers.make_gate_io(replace(cfg.gpio, pin_factory="mock"))
    else:
        reader = drivers.make_reader(cfg.reader, emit)
        scanner = drivers.make_scanner(cfg.camera, emit)
        gate_io = drivers.make_gate_io(cfg.gpio)
    # The exit-request button is read on gpiozero's thread: it only queues an event.
    gate_io.on_exit_request = lambda: emit(ExitRequested())
    return Devices(reader, scanner, RecordingGateIO(gate_io))


#: Settings that ask for an in-process stand-in instead of the gate's hardware:
#: (table, key, value). A gate runs them only with --demo (`refuse_stand_ins`).
STAND_INS = (("reader", "port", "fake"), ("camera", "source", "fake"), ("gpio", "pin_factory", "mock"))


def refuse_stand_ins(cfg: KioskConfig, where: str | None) -> None:
    """A real run (no --demo) with a fake reader, fake camera or mock pins is a ConfigError.

    Otherwise a gate installed with the shipped defaults would show a working screen, log
    nothing real and never open the gate (DESIGN.md principle 3: never a silent fallback).
    """
    from domain.errors import ConfigError

    found = [f'[{table}] {key} = "{value}"' for table, key, value in STAND_INS
             if getattr(getattr(cfg, table), key) == value]
    if found:
        keys = ", ".join(found)
        raise ConfigError(
            f"{where or '内置默认值'}: {keys}：这是演示用的模拟设备，只能与 --demo 一起使用；请在配置中填写真实设备"
            "（见 config/production.toml），或加上 --demo\n"
            f"{where or 'embedded defaults'}: {keys}: a demo stand-in, used only with --demo; set the real device "
            "(see config/production.toml) or add --demo")


# ----------------------------------------------------------------- assembly


@dataclass
class Kiosk:
    """Everything the loop, the scripted walk and the benchmark need, assembled once."""

    cfg: KioskConfig
    replica: Replica
    exit_log: ExitLog
    controller: Controller
    devices: Devices
    monitor: StatusMonitor
    demo: Any = None           # kiosk.demo.Demo in demo mode

    def close(self, now: datetime | None = None) -> None:
        """Stop: at ``now`` (the loop's clock) a guard still on shift is signed out, recorded; then a
        commit in flight finishes (its row is kept) and the devices close."""
        if now is not None:
            self.controller.shut_down(now)
        self.controller.close()         # a commit in flight finishes first: its row is kept
        self.monitor.stop()
        self.devices.close()


def demo_config(cfg: KioskConfig, data_dir: Path) -> KioskConfig:
    from kiosk.demo import DEMO_GATE

    store = replace(cfg.store, replica=str(data_dir / "replica.db"), exit_log=str(data_dir / "exitlog.db"),
                    keys=str(data_dir / "keys"), id_hmac_key_file=str(data_dir / "keys" / "id-hmac.key"))
    gate = replace(cfg.gate, id=DEMO_GATE, designated_exit=True)
    sync = replace(cfg.sync, status_file=str(data_dir / "sync-status.json"),
                   kiosk_health_file=str(data_dir / "kiosk-health.json"))
    return replace(cfg, store=store, gate=gate, sync=sync)


def build_demo_data(data_dir: Path, permits: int = 200) -> Any:
    """Fresh demo estate and an empty exit log, so every demo run starts the same."""
    from kiosk.demo import build_demo
    from kiosk.exitlog import hold_writer_lock

    # Take the writer's lock before clearing the log: another demo kiosk on this folder
    # keeps its log, and this one stops with the holder's name.
    data_dir.mkdir(parents=True, exist_ok=True)
    hold_writer_lock(data_dir / "exitlog.db")
    demo = build_demo(data_dir, permits=permits)
    for suffix in ("", "-wal", "-shm"):
        Path(str(demo.exit_log_path) + suffix).unlink(missing_ok=True)
    return demo


def load_id_key(cfg: KioskConfig) -> bytes:
    """The estate's ID HMAC key, with which the visitor form stores ID numbers (hashed, never plain).

    A gate without the file still runs (cards and slips need no key): the visitor button then
    says the key is missing. A file that is there but unreadable is a KeyStoreError at start."""
    from domain.keyfiles import load_hmac_key_file

    path = Path(cfg.store.id_hmac_key_file)
    if not path.exists():
        log.warning("%s: no ID HMAC key: visitors cannot be registered at this gate", path)
        return b""
    return load_hmac_key_file(path)


def assemble(cfg: KioskConfig, *, demo: Any = None, monitor_thread: bool = True,
             clock_check: Callable[[], bool | None] | None = None,
             boot: Callable[[], BootStamp | None] = system_boot, clock: Clock | None = None) -> Kiosk:
    """Open the stores, the devices and the controller; start nothing that draws.

    ``clock`` is the gate's time for the status monitor (the sync status file's age, the health
    file's instant); the screen's own clock is the caller's, and must be the same one."""
    from domain.keyfiles import load_public_dir

    replica = Replica.open(cfg.store.replica)
    exit_log = ExitLog.open(cfg.store.exit_log, cfg.gate.id)
    resolver = Resolver(replica, exit_log, cfg.rules.hours(), load_public_dir(cfg.store.keys))
    timeouts = cfg.flow.timeouts()
    health_file = Path(cfg.sync.kiosk_health_file)
    monitor = StatusMonitor(Path(cfg.sync.status_file), clock_check or clock_synchronised, health_file=health_file,
                            clock=clock)
    # a badge locked out for wrong PINs stays locked across a restart
    state = with_lockouts(initial_state(cfg.gate.to_gate(), timeouts, load_id_key(cfg)), exit_log.pin_lockouts())
    events: queue.SimpleQueue[object] = queue.SimpleQueue()
    devices = build_devices(cfg, events.put, demo is not None)
    controller = Controller(state, resolver, exit_log, devices.gate_io, lambda: monitor.clock_synced, events, boot=boot)
    devices.start()
    if monitor_thread:
        monitor.start()
    else:
        monitor.poll_once(with_clock=clock_check is not None)
    return Kiosk(cfg, replica, exit_log, controller, devices, monitor, demo)


def has_display() -> bool:
    """A desktop session, or a DRM device SDL's kmsdrm driver can take over."""
    if os.environ.get("SDL_VIDEODRIVER") in ("dummy", "offscreen"):
        return False
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return True
    return any(Path("/dev/dri").glob("card*")) if Path("/dev/dri").is_dir() else False
