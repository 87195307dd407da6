"""The daemon's parts as the kiosk and systemd see them: config, status file, notify, locks, refusals."""
from __future__ import annotations

import dataclasses
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from domain.settings import load
from domain.statusfiles import read_status, write_status
from kiosk.config import KioskConfig, SyncConfig
from kiosk.store import Replica
from office import schema
from office.changes import put_rows, remove_rows
from office.config import BackupConfig, DatabaseConfig, OfficeConfig, ServerConfig
from sync.daemon import Backoff
from tests.office.harness import ROOT, DaemonThread, GateSite, OfficeServer, wait_for


def test_every_setting_is_documented_in_the_shipped_config_files() -> None:
    sync_text = (ROOT / "config" / "sync.toml").read_text()
    assert load(KioskConfig, ROOT / "config" / "sync.toml").sync == SyncConfig()
    for f in dataclasses.fields(SyncConfig):
        assert f"\n{f.name} = " in sync_text, f.name
    office_text = (ROOT / "config" / "office.toml").read_text()
    assert load(OfficeConfig, ROOT / "config" / "office.toml") == OfficeConfig()
    for cls in (OfficeConfig, DatabaseConfig, ServerConfig, BackupConfig):
        for f in dataclasses.fields(cls):
            if f.name not in ("database", "server", "backup"):
                assert f"\n{f.name} = " in office_text, f.name


def test_status_reader_never_raises_and_writes_are_atomic(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    assert read_status(path) is None
    path.write_text("{half")
    assert read_status(path) is None
    write_status(path, {"state": "ok", "outbox_depth": 3})
    assert read_status(path) == {"state": "ok", "outbox_depth": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_backoff_doubles_with_jitter_up_to_the_maximum_and_resets() -> None:
    b = Backoff(0.5, 8.0, random.Random(1))
    delays = [b.failed() for _ in range(8)]
    assert 0.25 <= delays[0] <= 0.5 and 4.0 <= delays[-1] <= 8.0
    assert len(set(delays)) == len(delays)            # jitter: no two gates retry in lockstep
    b.succeeded()
    assert b.failed() <= 0.5


def test_systemd_hears_ready_and_watchdog(office: OfficeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    address = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    d = DaemonThread(GateSite(tmp_path, "north", office))
    try:
        heard = set()
        while not {"READY=1", "WATCHDOG=1"} <= heard:
            heard.update(sock.recv(4096).decode().splitlines())
    finally:
        d.stop()
        sock.close()


def test_a_deleted_row_is_deleted_at_the_gate_and_writes_stay_short(office: OfficeServer, tmp_path: Path) -> None:
    guards = [{"guard_id": f"G{i:05d}", "name": "保安", "badge_uid": f"B{i}", "pin_hash": "x", "role": "guard", "active": 1}
              for i in range(5000)]
    with office.engine.begin() as conn:
        put_rows(conn, "default", schema.guards, guards, fresh=True)
    gate = GateSite(tmp_path, "north", office)
    daemon = gate.daemon()
    try:
        assert daemon.run_once()
        assert Replica.open(gate.replica_path).guard("G00007") is not None
        # 5000 rows pulled, never more than 250 in one transaction: the kiosk never waits behind a long write
        # (how long such a write takes is measured in `make bench`, not asserted here)
        assert 0 < daemon.writer.largest_commit_changes <= 250
        with office.engine.begin() as conn:
            remove_rows(conn, "default", schema.guards, [{"guard_id": "G00007"}])
        assert daemon.run_once()
    finally:
        daemon.close()
    replica = Replica.open(gate.replica_path)
    assert replica.guard("G00007") is None and replica.counts()["guards"] == 4999


def test_wrong_credential_is_reported_and_the_daemon_keeps_running(office: OfficeServer, tmp_path: Path) -> None:
    gate = GateSite(tmp_path, "north", office, credential="north." + "0" * 64)
    d = DaemonThread(gate)
    try:
        assert wait_for(lambda: "401" in str((read_status(gate.status_path) or {}).get("last_error")))
        assert d.thread.is_alive() and read_status(gate.status_path)["state"] == "error"
    finally:
        d.stop()


def test_sync_once_from_the_command_line(office: OfficeServer, tmp_path: Path) -> None:
    gate = GateSite(tmp_path, "north", office)
    gate.record()
    done = subprocess.run([sys.executable, "-m", "sync", "--config", str(gate.config), "--once"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "push cursor 1, outbox 0" in done.stdout
    (gate.dir / "gate.credential").unlink()
    done = subprocess.run([sys.executable, "-m", "sync", "--config", str(gate.config), "--once"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "gate credential not found" in done.stderr and "Traceback" not in done.stderr
