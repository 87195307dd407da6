"""The kiosk's shell around the status bar: the sync daemon's status file, the health file, systemd's socket."""
from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.clock import FixedClock
from domain.contracts import KIOSK_HEALTH_REFRESH_S, DeviceState, KioskHealth, SyncState, SyncStatus
from domain.statusfiles import STATUS_KEYS, write_status
from kiosk.core.view import Status, Tone, status_items
from kiosk.shell.sdnotify import Notifier, watchdog_interval_s
from kiosk.shell.status import StatusMonitor, read_sync_status

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_sync_status_file_gives_the_push_cursor(tmp_path: Path):
    p = tmp_path / "sync-status.json"
    assert read_sync_status(p, NOW).ok is None                 # no daemon yet
    write_status(p, SyncStatus(state=SyncState.OK, ok=True, push_cursor=40, updated_at=NOW,
                               last_pull_at=NOW - timedelta(minutes=2)))
    snap = read_sync_status(p, NOW)
    assert snap.ok is True and snap.pushed_seq == 40 and snap.last_pull_at == NOW - timedelta(minutes=2)
    assert set(json.loads(p.read_text())) == set(STATUS_KEYS)
    p.write_text("{broken")
    snap = read_sync_status(p, NOW)
    assert snap.ok is False and snap.state == "error" and "unreadable" in snap.detail


def test_a_status_file_from_a_broken_daemon_is_an_error_not_a_crash(tmp_path: Path):
    p = tmp_path / "sync-status.json"
    p.write_text(json.dumps({"state": "exploded", "ok": "yes", "push_cursor": -5, "updated_at": "yesterday",
                             "error": "x" * 10_000}))
    snap = read_sync_status(p, NOW)
    assert snap.state == "error" and snap.pushed_seq == 0 and "unknown state 'exploded'" in snap.detail
    assert len(snap.detail) <= 400
    p.write_text("[1, 2]")
    assert read_sync_status(p, NOW).ok is False


def test_a_stale_status_file_means_the_sync_daemon_is_not_running(tmp_path: Path):
    p = tmp_path / "sync-status.json"
    write_status(p, SyncStatus(state=SyncState.OK, ok=True, push_cursor=7, updated_at=NOW - timedelta(minutes=5)))
    snap = read_sync_status(p, NOW)
    assert snap.state == "not_running" and snap.ok is False and snap.pushed_seq == 7
    texts = [t.en for t, _ in status_items(Status(sync_ok=snap.ok, sync_state=snap.state))]
    assert "sync not running" in texts


def test_an_offline_office_is_a_warning_not_an_alarm(tmp_path: Path):
    p = tmp_path / "sync-status.json"
    write_status(p, SyncStatus(state=SyncState.OFFLINE, ok=False, error="connect timeout", updated_at=NOW))
    snap = read_sync_status(p, NOW)
    items = dict((t.en, tone) for t, tone in status_items(Status(sync_ok=snap.ok, sync_state=snap.state)))
    assert items["office offline"] is Tone.WARN


def test_device_health_is_written_with_its_time_and_rewritten_while_the_kiosk_lives(tmp_path: Path):
    clock = FixedClock(NOW)
    path = tmp_path / "kiosk-health.json"
    m = StatusMonitor(tmp_path / "none.json", lambda: True, health_file=path, clock=clock)
    m.poll_once()
    assert not path.exists()                          # nothing to say before the frame loop has said it
    m.set_devices({"reader": (False, "/dev/gatepass-reader: unplugged"), "camera": (True, "/dev/video0 open"),
                   "gpio": (None, "")})
    m.poll_once()
    health = KioskHealth.from_json(json.loads(path.read_text()))
    assert health.written_at == NOW
    reader, camera, gpio = health.devices["reader"], health.devices["camera"], health.devices.get("gpio")
    assert reader.state is DeviceState.OFFLINE and reader.detail == "/dev/gatepass-reader: unplugged" and reader.at == NOW
    assert camera.state is DeviceState.ONLINE and camera.state.healthy
    assert gpio is None                                # the contract carries the reader and the camera only
    clock.advance(seconds=1)
    m.poll_once()                                      # unchanged and recent: not rewritten (SD card)
    assert KioskHealth.from_json(json.loads(path.read_text())).written_at == NOW
    clock.advance(seconds=KIOSK_HEALTH_REFRESH_S)
    m.poll_once()                                      # unchanged but due: rewritten, so the daemon sees it alive
    assert KioskHealth.from_json(json.loads(path.read_text())).written_at == clock.now()


# ---------------------------------------------------------------- systemd


def _listen(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(2)
    return server


def test_ready_status_and_watchdog_pings_reach_systemds_socket(tmp_path: Path):
    server = _listen(tmp_path / "notify")
    ticks = iter([100.0, 100.2, 100.4, 100.6])
    env = {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "1000000", "PATH": "/bin"}
    n = Notifier.from_environment(env, monotonic=lambda: next(ticks))
    assert env == {"PATH": "/bin"}                     # taken out, so that children do not report to our unit
    n.ready("sync starting")
    assert server.recv(256) == b"READY=1\nSTATUS=sync starting"
    assert n.ping("ok") and server.recv(256) == b"WATCHDOG=1\nSTATUS=ok"
    assert not n.ping() and not n.ping()               # at most every WatchdogSec/2 = 0.5 s
    assert n.ping() and server.recv(256) == b"WATCHDOG=1"
    n.stopping()
    assert server.recv(256) == b"STOPPING=1"
    server.close()


def test_the_abstract_namespace_socket_works_too(tmp_path: Path):
    name = f"@gatepass-test-{tmp_path.name}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind("\0" + name[1:])
    server.settimeout(2)
    Notifier.from_environment({"NOTIFY_SOCKET": name}).status("hello")
    assert server.recv(64) == b"STATUS=hello"
    server.close()


def test_no_watchdog_pings_unless_systemd_asked_this_process_for_them(tmp_path: Path):
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"}, pid=4242) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4243"}, pid=4242) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "soon"}) is None
    server = _listen(tmp_path / "notify")
    n = Notifier.from_environment({"NOTIFY_SOCKET": str(tmp_path / "notify")})
    assert not n.ping()                                # no WatchdogSec: nothing to feed
    n.ready()
    assert server.recv(64) == b"READY=1"
    server.close()
    assert not Notifier.from_environment({}).send("READY=1")     # not under systemd: a no-op
