"""Device health from the driver to the clerk's screen, every part real.

A real serial reader on a pty and a real camera (a folder source) emit the health events
they emit at a gate; the kiosk's status monitor writes them to its health file; the real
sync daemon reads that file and sends its heartbeat to a real office on loopback; the
clerk signs in and reads /console/gates. Then the kiosk stops writing, and three
heartbeats later (an injected clock, no sleeping) the office shows the devices stale.
"""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from domain.clock import FixedClock, SystemClock
from domain.contracts import DeviceState
from domain.settings import load
from drivers.camera import CameraScanner
from drivers.config import CameraConfig, ReaderConfig
from drivers.events import DeviceHealth as DriverHealth
from drivers.reader import SerialCardReader
from kiosk.config import KioskConfig
from kiosk.shell.sdnotify import Notifier
from kiosk.shell.status import StatusMonitor
from office.console.auth import add_staff
from office.ingest import list_gates
from sync.cli import load_credential
from sync.daemon import SyncDaemon
from tests.drivers.ptys import Events, PtyPort
from tests.office.harness import GateSite, OfficeServer

PASSWORD = "correct horse 1"
BEAT_S = 60.0


def device_cells(html: str, gate_id: str) -> list[str]:
    (row,) = [r for r in re.findall(r"<tr[^>]*>.*?</tr>", html, re.S) if f">{gate_id}<" in r]
    return re.findall(r'<td class="device">.*?</td>', row, re.S)


@pytest.fixture
def devices(tmp_path: Path):
    """The gate's real reader (RDM6300 on a pty) and camera (a folder of frames), running."""
    port = PtyPort(tmp_path / "gatepass-reader")
    frames = tmp_path / "camera"
    frames.mkdir()
    cv2.imwrite(str(frames / "empty.png"), np.full((480, 640, 3), 190, np.uint8))
    events = Events()
    reader = SerialCardReader(ReaderConfig(port=str(port.link), reopen_min_s=0.05, reopen_max_s=0.2), events)
    camera = CameraScanner(CameraConfig(source=str(frames)), events)
    reader.start()
    camera.start()
    yield events
    reader.stop()
    camera.stop()
    port.close()


def test_a_healthy_gate_shows_green_and_a_kiosk_that_stops_reporting_goes_grey(
        office: OfficeServer, tmp_path: Path, devices: Events) -> None:
    gate = GateSite(tmp_path, "north", office)
    with office.engine.begin() as conn:
        add_staff(conn, "default", "wangli", "王丽", PASSWORD, "front_desk")

    # the drivers come up: what the kiosk's controller keeps as each device's last report
    last: dict[str, tuple[bool | None, str]] = {}
    while set(last) != {"reader", "camera"} or not all(online for online, _ in last.values()):
        ev = devices.wait_for(lambda e: isinstance(e, DriverHealth))
        last[ev.device] = (ev.online, ev.detail)
    clock = FixedClock(SystemClock().now())
    cfg = load(KioskConfig, str(gate.config))
    monitor = StatusMonitor(gate.status_path, lambda: True, health_file=Path(cfg.sync.kiosk_health_file), clock=clock)
    monitor.set_devices(last)
    monitor.poll_once()

    daemon = SyncDaemon(replace(cfg.sync, heartbeat_interval_s=BEAT_S), gate_id="north",
                        replica_path=cfg.store.replica, exit_log_path=cfg.store.exit_log,
                        credential=load_credential(cfg.sync.credential_file), wall=clock, notifier=Notifier())
    clerk = httpx.Client(base_url=office.url, timeout=10)
    try:
        assert clerk.post("/console/login", data={"username": "wangli", "password": PASSWORD,
                                                  "next": "/console/gates"}).status_code == 303

        def console() -> list[str]:
            r = clerk.get("/console/gates")
            assert r.status_code == 200
            return device_cells(r.text, "north")

        assert daemon.run_once(), daemon.status.last_error
        reader, camera = console()
        assert 'class="good"' in reader and "正常" in reader and str(gate.dir) not in reader
        assert f"{tmp_path / 'gatepass-reader'} open (rdm6300)" in reader      # the driver's own words
        assert 'class="good"' in camera and "正常" in camera and "open" in camera
        assert "异常" not in reader + camera

        # The kiosk stops writing (hung, or killed). The daemon keeps beating.
        for beat in (1, 2):
            clock.advance(seconds=BEAT_S)
            daemon.heartbeat()
            assert all("正常" in cell for cell in console()), f"stale already after {beat} heartbeats"
        clock.advance(seconds=BEAT_S + 1)                     # the third heartbeat, a second late
        daemon.heartbeat()
        with office.engine.connect() as conn:
            sent = list_gates(conn, "default")[0]["heartbeat"]
        assert sent.reader.state is DeviceState.STALE and sent.camera.state is DeviceState.STALE  # the daemon said so
        for cell in console():
            assert "过期" in cell and 'class="quiet note"' in cell and "正常" not in cell
            assert "最后报告 " in cell and "Stale: no recent report" in cell

        # The kiosk comes back: the next heartbeat is green again.
        monitor.poll_once()
        daemon.heartbeat()
        assert all("正常" in cell for cell in console())
    finally:
        clerk.close()
        daemon.close()


def test_a_gate_whose_kiosk_never_wrote_health_says_unknown_not_online(office: OfficeServer, tmp_path: Path) -> None:
    gate = GateSite(tmp_path, "north", office)
    cfg = load(KioskConfig, str(gate.config))
    daemon = SyncDaemon(cfg.sync, gate_id="north", replica_path=cfg.store.replica, exit_log_path=cfg.store.exit_log,
                        credential=load_credential(cfg.sync.credential_file), notifier=Notifier())
    try:
        assert daemon.run_once()
    finally:
        daemon.close()
    with office.engine.connect() as conn:
        beat = list_gates(conn, "default")[0]["heartbeat"]
    assert beat.reader.state is DeviceState.UNKNOWN and "no health file" in beat.reader.detail
    assert beat.camera.state is DeviceState.UNKNOWN
