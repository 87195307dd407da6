"""A real full disk under the exit log: the kiosk says so, refuses what it cannot record,
and comes back by itself when space returns. Needs root to mount a small tmpfs."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from drivers.events import CardRead
from kiosk.app import SimClock, assemble
from kiosk.config import KioskConfig
from kiosk.core.events import Action, FaultKind, Press
from kiosk.core.flow import Scene


@pytest.fixture()
def small_disk(tmp_path: Path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.fail("this fault test mounts a tmpfs and must run as root (CI does)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(folder: Path) -> Path:
    ballast = folder / "ballast"
    with open(ballast, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return ballast


@pytest.mark.faults
def test_full_disk_refuses_unrecorded_openings_and_recovers(demo, tmp_path, small_disk):
    data = tmp_path / "gate"
    shutil.copytree(demo.data_dir, data)
    cfg = KioskConfig()
    cfg = replace(cfg, store=replace(cfg.store, replica=str(data / "replica.db"),
                                     exit_log=str(small_disk / "exitlog.db"), keys=str(data / "keys")),
                  sync=replace(cfg.sync, status_file=str(data / "s.json"), kiosk_health_file=str(data / "h.json")))
    kiosk = assemble(cfg, monitor_thread=False)
    c, clock = kiosk.controller, SimClock(demo.now)
    c.handle_raw(CardRead(demo.guards[0][0]), clock.now())
    for d in demo.guards[0][1]:
        c.press(Press(Action.DIGIT, d), clock.now())
    c.press(Press(Action.PIN_SUBMIT), clock.now())
    ballast = _fill(small_disk)
    opened_before = sum(w == "open_gate" for _, w in kiosk.devices.gate_io.calls)
    seq_before = kiosk.exit_log.last_seq
    for _ in range(2000):
        c.handle_raw(CardRead(demo.cards["valid"]), clock.now())
        if c.state.scene is Scene.OUT_OF_SERVICE:
            break
        clock.advance(9)
        c.tick(clock.now())
    assert c.state.scene is Scene.OUT_OF_SERVICE, "the disk never filled"
    assert c.state.fault is not None and c.state.fault.kind is FaultKind.DISK_FULL
    opened = sum(w == "open_gate" for _, w in kiosk.devices.gate_io.calls) - opened_before
    assert opened == kiosk.exit_log.last_seq - seq_before      # no opening without its row
    for _ in range(3):                                          # still full: stays closed
        clock.advance(6)
        c.tick(clock.now())
    assert c.state.scene is Scene.OUT_OF_SERVICE
    ballast.unlink()
    clock.advance(6)
    c.tick(clock.now())
    assert c.state.scene is Scene.IDLE and c.state.guard is not None
    c.handle_raw(CardRead(demo.cards["valid"]), clock.now())
    assert kiosk.exit_log.recent(1)[0]["kind"] == "card_pass"
    kiosk.exit_log.verify()
    assert kiosk.exit_log.db.execute("pragma integrity_check").fetchone()[0] == "ok"
    kiosk.close()
