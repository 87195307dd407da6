"""The exit log under power cuts and damaged files.

kill -9 of a process recording releases stands in for a power cut (the page cache
survives a kill, so this proves the commit protocol, not the disk; synchronous=FULL
is what carries it through a real power cut). The default suite runs a few trials;
`make faults` runs the campaign sizes the issue names.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

import pytest

from domain.chain import first_break
from kiosk.exitlog import ExitLog

RECORDER = """
import sys
from datetime import datetime, timezone
from kiosk.core.events import EntryKind, LogEntry
from kiosk.exitlog import ExitLog
log = ExitLog.open(sys.argv[1], "north")
print("ready", log.last_seq, flush=True)
while True:
    row = log.append(LogEntry(EntryKind.RELEASE, datetime.now(timezone.utc), guard_id="G1",
                              slip_id="S%09d" % (log.last_seq + 1), detail={"departure": "now"}), clock_synced=True)
    print("ack", row["seq"], row["event_id"], flush=True)
"""


def _ack(line: str, acked: dict[int, str]) -> None:
    """Count an event as acknowledged only if its whole ack line was written."""
    parts = line.split()
    if line.endswith("\n") and len(parts) == 3 and parts[0] == "ack":
        acked[int(parts[1])] = parts[2]


def _kill_trials(tmp_path: Path, trials: int, kiosk_data: Path | None = None) -> None:
    """Kill -9 a recording process at random moments; every acknowledged event must remain.

    With ``kiosk_data`` the process is the real kiosk assembly recording releases
    (tests/faults/kiosk_harness.py); without, a bare exit-log writer (faster).
    """
    path = (kiosk_data or tmp_path) / "exitlog.db"
    rng = random.Random(1234)
    acked: dict[int, str] = {}
    cmd = ([sys.executable, "-m", "tests.faults.kiosk_harness", str(kiosk_data)] if kiosk_data
           else [sys.executable, "-c", RECORDER, str(path)])
    for _trial in range(trials):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=Path(__file__).resolve().parents[2])
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline().split()
        assert first and first[0] == "ready", proc.stderr.read()
        assert int(first[1]) >= max(acked, default=0), "acknowledged events vanished after a restart"
        deadline = time.monotonic() + rng.uniform(0.005, 0.15 if kiosk_data else 0.08)
        while time.monotonic() < deadline:
            _ack(proc.stdout.readline(), acked)
        if proc.poll() is not None:
            raise AssertionError(f"the recorder died by itself:\n{proc.stderr.read()}")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        for line in proc.stdout.read().splitlines(keepends=True):   # acks written before the kill
            _ack(line, acked)
    assert acked, "no event was acknowledged: the campaign proved nothing"
    print(f"kill -9 campaign: {trials} kills, {len(acked)} acknowledged events")
    log = ExitLog.open(path, "north")
    assert log.db.execute("pragma integrity_check").fetchone()[0] == "ok"
    stored = {r["seq"]: r["event_id"] for r in log.rows()}
    missing = {seq: eid for seq, eid in acked.items() if stored.get(seq) != eid}
    assert missing == {}, f"{len(missing)} acknowledged events lost"
    log.verify()


def _kiosk_data(demo, tmp_path: Path) -> Path:
    d = tmp_path / "gate"
    shutil.copytree(demo.data_dir, d)
    for suffix in ("", "-wal", "-shm"):
        (d / f"exitlog.db{suffix}").unlink(missing_ok=True)
    return d


# kill -9 trials are fault campaigns, timing-dependent by nature: `make faults` runs them, not the default suite.
@pytest.mark.faults
def test_acknowledged_events_survive_kill_9_of_the_writer(tmp_path):
    _kill_trials(tmp_path, 8)


@pytest.mark.faults
def test_acknowledged_releases_survive_kill_9_of_the_kiosk(demo, tmp_path):
    _kill_trials(tmp_path, 4, _kiosk_data(demo, tmp_path))


@pytest.mark.faults
@pytest.mark.timeout(5400)
def test_acknowledged_releases_survive_1000_kill_9_of_the_kiosk(demo, tmp_path):
    _kill_trials(tmp_path, 1000, _kiosk_data(demo, tmp_path))


def _pending_kill_trials(data: Path, trials: int) -> tuple[int, int]:
    """Kill -9 the live frame loop while releases commit slowly (tests/faults/slow_commit_harness.py):
    each kill lands a random moment after the screen began showing "recording". Every release the
    screen showed as released must be in the log; a release pending at the kill may be absent.
    Returns (kills while a release was pending, releases shown)."""
    rng = random.Random(4321)
    shown: dict[int, tuple[str, str]] = {}
    pending_kills = 0
    for _trial in range(trials):
        proc = subprocess.Popen([sys.executable, "-m", "tests.faults.slow_commit_harness", str(data)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=Path(__file__).resolve().parents[2])
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline().split()
        assert first and first[0] == "ready", proc.stderr.read()
        assert int(first[1]) >= max(shown, default=0), "releases shown as done vanished after a restart"
        pendings = rng.randint(1, 3)           # let a release or two finish, then kill during the next commit
        last = ""
        while pendings:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"the kiosk died by itself:\n{proc.stderr.read()}")
            last = line
            parts = line.split()
            if parts[0] == "pending":
                pendings -= 1
            elif parts[0] == "shown" and line.endswith("\n") and len(parts) == 4:
                shown[int(parts[1])] = (parts[2], parts[3])
        time.sleep(rng.uniform(0.0, 0.25))     # the commit sleeps 50-300 ms before it runs
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        rest = proc.stdout.read().splitlines(keepends=True)
        for line in rest:
            parts = line.split()
            if line.endswith("\n") and len(parts) == 4 and parts[0] == "shown":
                shown[int(parts[1])] = (parts[2], parts[3])
                last = line
            elif parts:
                last = line
        pending_kills += last.startswith("pending")
    log = ExitLog.open(data / "exitlog.db", "north")
    assert log.db.execute("pragma integrity_check").fetchone()[0] == "ok"
    stored = {r["seq"]: (r["event_id"], r["slip_id"]) for r in log.rows()}
    lost = {seq: v for seq, v in shown.items() if stored.get(seq) != v}
    assert lost == {}, f"{len(lost)} releases shown as released are not in the log"
    log.verify()
    log.db.conn.close()
    print(f"kill -9 during pending commits: {trials} kills, {pending_kills} while a release was pending, "
          f"{len(shown)} releases shown, {len(stored)} rows kept")
    return pending_kills, len(shown)


@pytest.mark.faults
def test_a_kill_during_a_slow_commit_loses_no_release_the_screen_showed(demo, tmp_path):
    pending_kills, shown = _pending_kill_trials(_kiosk_data(demo, tmp_path), 6)
    assert shown, "no release was shown: the campaign proved nothing"
    assert pending_kills, "no kill landed while a release was pending: the campaign proved nothing"


def _log_with_wal(path: Path, n: int) -> tuple[ExitLog, list[dict]]:
    """A log whose last rows live only in the WAL file, as after a crash before checkpoint."""
    from datetime import datetime

    from domain.exitrow import EntryKind, LogEntry

    log = ExitLog.open(path, "north")
    log.db.execute("pragma wal_autocheckpoint = 0")
    for i in range(n):
        log.append(LogEntry(EntryKind.CARD_PASS, datetime(2026, 11, 25, tzinfo=UTC), card_uid=f"C{i}"),
                   clock_synced=True)
    # the caller keeps the connection open and copies the files: nothing is checkpointed
    return log, list(log.rows())


def _wal_trials(tmp_path: Path, trials: int) -> None:
    rng = random.Random(99)
    src = tmp_path / "src"
    src.mkdir()
    live, committed = _log_with_wal(src / "exitlog.db", 40)
    wal_size = (src / "exitlog.db-wal").stat().st_size
    assert wal_size > 0
    for trial in range(trials):
        d = tmp_path / f"t{trial}"
        d.mkdir()
        for name in ("exitlog.db", "exitlog.db-wal"):
            shutil.copy(src / name, d / name)
        wal = d / "exitlog.db-wal"
        data = bytearray(wal.read_bytes())
        offset = rng.randrange(len(data))
        if trial % 2:
            data = data[:offset]                           # torn write: the tail is gone
        else:
            for k in range(rng.randint(1, 16)):            # corrupted bytes
                i = min(len(data) - 1, offset + k)
                data[i] ^= rng.randint(1, 255)
        wal.write_bytes(bytes(data))
        conn = sqlite3.connect(d / "exitlog.db")
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        conn.close()
        log = ExitLog.open(d / "exitlog.db", "north")
        rows = list(log.rows())
        assert rows == committed[: len(rows)], "the log is not a committed prefix"
        assert first_break(rows) is None
        shutil.rmtree(d)
    live.db.conn.close()


def test_a_damaged_wal_leaves_a_committed_prefix(tmp_path):
    _wal_trials(tmp_path, 12)


@pytest.mark.faults
def test_a_damaged_wal_leaves_a_committed_prefix_campaign(tmp_path):
    _wal_trials(tmp_path, 500)
