"""`gatepass kiosk --demo` with no display plays the built-in walk headless: every scene, on record."""
from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.core.flow import Scene
from kiosk.ui.script import DEFAULT_SCRIPT, load_script
from kiosk.ui.sdnotify import Notifier
from kiosk.ui.status import read_sync_status


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    for var in ("DISPLAY", "WAYLAND_DISPLAY"):
        mp.delenv(var, raising=False)
    mp.setenv("SDL_VIDEODRIVER", "dummy")
    base = tmp_path_factory.mktemp("walk")
    shots = base / "shots"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["kiosk", "--demo", "--screenshots", str(shots), "--data-dir", str(base / "data")])
    mp.undo()
    return rc, out.getvalue(), shots


def test_the_walk_visits_every_scene(walked):
    rc, out, _ = walked
    assert rc == 0
    visited = next(line for line in out.splitlines() if line.startswith("scenes visited:"))
    for scene in Scene:
        assert scene.value in visited, scene


def test_the_walk_writes_a_png_of_each_scene(walked):
    _, _, shots = walked
    names = {p.stem.split("_", 1)[1] for p in shots.glob("*.png")}
    assert {s.value for s in Scene} <= names


def test_the_walk_prints_an_intact_exit_log(walked):
    _, out, _ = walked
    assert "hash chain intact" in out
    for kind in ("shift_start", "card_pass", "card_denied", "release", "refusal", "override", "report", "shift_end"):
        assert f" {kind}" in out, kind
    assert "flagged=True" in out and "signed_by=pin" in out and "signed_by=badge" in out


def test_the_shipped_script_is_valid_json_steps():
    steps = load_script(DEFAULT_SCRIPT)
    assert steps and all(isinstance(s, dict) for s in steps)
    assert json.loads(DEFAULT_SCRIPT.read_text())


def test_watchdog_pings_reach_systemds_socket(tmp_path: Path):
    path = tmp_path / "notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(1)
    n = Notifier(str(path), every_s=0.0)
    n.ready()
    n.ping()
    assert server.recv(64) == b"READY=1"
    assert server.recv(64) == b"WATCHDOG=1"
    server.close()


def test_sync_status_file_gives_the_push_cursor(tmp_path: Path):
    p = tmp_path / "sync-status.json"
    assert read_sync_status(p).ok is None
    p.write_text(json.dumps({"pushed_seq": 40, "last_pull_at": "2026-11-25T09:58:00+08:00"}))
    snap = read_sync_status(p)
    assert snap.ok is True and snap.pushed_seq == 40 and snap.last_pull_at is not None
    p.write_text("{broken")
    assert read_sync_status(p).ok is False


def test_a_stale_status_file_means_the_sync_daemon_is_not_running(tmp_path: Path):
    from datetime import datetime, timedelta, timezone

    from kiosk.core.view import Status, status_items

    p = tmp_path / "sync-status.json"
    now = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
    p.write_text(json.dumps({"state": "ok", "ok": True, "push_cursor": 7,
                             "updated_at": (now - timedelta(minutes=5)).isoformat()}))
    snap = read_sync_status(p, now)
    assert snap.state == "not_running" and snap.ok is False and snap.pushed_seq == 7
    texts = [t.en for t, _ in status_items(Status(sync_ok=snap.ok, sync_state=snap.state))]
    assert "sync not running" in texts


def test_an_offline_office_is_a_warning_not_an_alarm(tmp_path: Path):
    from datetime import datetime, timezone

    from kiosk.core.view import Status, Tone, status_items

    p = tmp_path / "sync-status.json"
    now = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
    p.write_text(json.dumps({"state": "offline", "ok": False, "error": "connect timeout", "updated_at": now.isoformat()}))
    snap = read_sync_status(p, now)
    items = dict((t.en, tone) for t, tone in status_items(Status(sync_ok=snap.ok, sync_state=snap.state)))
    assert items["office offline"] is Tone.WARN


def test_device_health_is_written_for_the_sync_daemons_heartbeat(tmp_path: Path):
    from kiosk.ui.status import StatusMonitor

    m = StatusMonitor(tmp_path / "none.json", lambda: True, health_file=tmp_path / "kiosk-health.json")
    m.health = {"reader": "offline: unplugged", "camera": "online"}
    m.poll_once()
    assert json.loads((tmp_path / "kiosk-health.json").read_text()) == m.health
