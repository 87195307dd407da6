"""Issue 11: one writer per exit log, enforced; a replica rebuilt on disk is followed at once."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from domain.errors import StoreError
from drivers.events import CardRead
from kiosk.app import SimClock, assemble, demo_config
from kiosk.config import KioskConfig
from kiosk.core.flow import Scene
from kiosk.exitlog import ExitLog

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys
from kiosk.exitlog import ExitLog
log = ExitLog.open(sys.argv[1], "north")
print("holding", flush=True)
sys.stdin.read()
"""


@pytest.fixture()
def holder(tmp_path: Path):
    """Another process that writes tmp_path/exitlog.db (as a running kiosk does)."""
    path = tmp_path / "exitlog.db"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    yield path, proc
    proc.stdin.close()   # type: ignore[union-attr]
    proc.wait(timeout=10)


def test_a_second_kiosk_on_the_same_exit_log_exits_non_zero_naming_the_file_and_the_holder(holder, tmp_path):
    path, proc = holder
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[store]\nreplica = "{tmp_path}/replica.db"\nexit_log = "{path}"\n'
                   f'keys = "{tmp_path}/keys"\n[sync]\nstatus_file = "{tmp_path}/sync.json"\n'
                   '[reader]\nport = "/dev/gatepass-reader-missing"\n[camera]\nsource = ""\n'
                   '[gpio]\npin_factory = "lgpio"\n')    # real devices (none here): the lock is refused first
    env = dict(os.environ, SDL_VIDEODRIVER="dummy")
    run = subprocess.run([sys.executable, "-m", "kiosk.cli", "kiosk", "--config", str(cfg), "--window"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert str(path) in run.stderr
    assert f"pid {proc.pid}" in run.stderr
    assert "one writer per exit log" in run.stderr and "出门记录" in run.stderr


def test_the_lock_is_the_writers_alone_readers_are_not_refused(holder):
    path, _ = holder
    assert ExitLog.open_readonly(path).last_seq == 0       # gatepass check / log verify still work
    with pytest.raises(StoreError, match="already being written"):
        ExitLog.open(path, "north")


def test_the_lock_goes_with_the_process_that_held_it(holder):
    path, proc = holder
    proc.stdin.close()   # type: ignore[union-attr]
    proc.wait(timeout=10)
    ExitLog.open(path, "north")                              # a restarted kiosk takes over


def _rebuild_with(replica: Path, sql: str, args: tuple) -> None:
    """What the sync daemon does on a full resync: build a new file, then put it in place."""
    fresh = replica.with_name("replica.new.db")
    src, dst = sqlite3.connect(replica), sqlite3.connect(fresh)
    src.backup(dst)
    src.close()
    dst.execute(sql, args)
    dst.commit()
    dst.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(replica) + suffix).unlink(missing_ok=True)
    os.rename(fresh, replica)


def test_a_card_revoked_in_a_rebuilt_replica_is_refused_by_the_running_kiosk(demo, tmp_path):
    d = tmp_path / "estate"
    shutil.copytree(demo.data_dir, d)
    for suffix in ("", "-wal", "-shm"):
        (d / f"exitlog.db{suffix}").unlink(missing_ok=True)
    k = assemble(demo_config(KioskConfig(), d), demo=demo, monitor_thread=False)
    try:
        uid = demo.cards["valid"]
        assert k.controller.resolver.card(uid).permit.status.value == "active"
        _rebuild_with(d / "replica.db", "update permits set status = 'revoked' where card_uid = ?", (uid,))
        presented = k.controller.resolver.card(uid)
        assert presented.permit is not None and presented.permit.status.value == "revoked"
        clock = SimClock(demo.now)
        badge, pin, _, _ = demo.guards[0]
        from kiosk.core.events import Action, Press
        c = k.controller
        c.handle_raw(CardRead(badge), clock.now())
        for digit in pin:
            c.press(Press(Action.DIGIT, digit), clock.now())
        c.press(Press(Action.PIN_SUBMIT), clock.now())
        c.handle_raw(CardRead(uid), clock.now())
        assert c.state.scene is Scene.CARD_RESULT
        assert c.state.card.reason.value == "card.revoked"
        assert not any(w == "open_gate" for _, w in k.devices.gate_io.calls)
    finally:
        k.close()


def test_a_replica_missing_mid_rebuild_keeps_the_last_data(demo, tmp_path):
    d = tmp_path / "estate"
    shutil.copytree(demo.data_dir, d)
    k = assemble(demo_config(KioskConfig(), d), demo=demo, monitor_thread=False)
    try:
        for suffix in ("", "-wal", "-shm"):
            Path(str(d / "replica.db") + suffix).unlink(missing_ok=True)
        assert k.controller.resolver.card(demo.cards["valid"]).permit is not None
    finally:
        k.close()


def test_a_second_demo_kiosk_on_the_same_folder_leaves_the_first_ones_log_alone(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    path = data / "exitlog.db"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        env = dict(os.environ, SDL_VIDEODRIVER="dummy")
        run = subprocess.run([sys.executable, "-m", "kiosk.cli", "kiosk", "--demo", "--headless", "--data-dir", str(data),
                              "--screenshots", str(tmp_path / "shots")],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 2, run.stderr
        assert f"pid {proc.pid}" in run.stderr and "Traceback" not in run.stderr
        assert path.exists()                    # the running kiosk's log was not deleted under it
    finally:
        proc.stdin.close()   # type: ignore[union-attr]
        proc.wait(timeout=10)
