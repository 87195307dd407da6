"""The exit log: durable, append-only, and any tampering is found and named."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from domain.errors import LogChainError, StoreError
from domain.exitrow import EntryKind, LogEntry
from kiosk.exitlog import ExitLog
from tests.factories import NOW


def fill(path, n=6):
    log = ExitLog.open(path, "north")
    for i in range(n):
        kind = EntryKind.RELEASE if i % 2 else EntryKind.CARD_PASS
        log.append(LogEntry(kind, NOW + timedelta(seconds=i), guard_id="G1", slip_id=f"S{i}",
                            detail={"departure": "x", "名": "张伟"}), clock_synced=i % 3 == 0)
    return log


def raw(path):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("drop trigger exit_log_no_update")
    conn.execute("drop trigger exit_log_no_delete")
    return conn


def verify_cli(path):
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "log", "verify", "--db", str(path)],
                          capture_output=True, text=True)


def test_rows_carry_id_sequence_guard_time_clock_quality_and_chain(tmp_path):
    log = fill(tmp_path / "log.db")
    rows = list(log.rows())
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert len({r["event_id"] for r in rows}) == 6
    assert rows[1]["prev_hash"] == rows[0]["hash"] and rows[0]["gate_id"] == "north"
    assert rows[0]["clock_synced"] is True and rows[1]["clock_synced"] is False
    assert rows[1]["detail"]["名"] == "张伟"
    log.verify()


def test_sequence_and_chain_continue_after_reopening(tmp_path):
    fill(tmp_path / "log.db", 3)
    log = fill(tmp_path / "log.db", 2)
    assert log.last_seq == 5
    log.verify()


def test_the_log_refuses_updates_and_deletes(tmp_path):
    log = fill(tmp_path / "log.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        log.db.execute("update exit_log set guard_id = 'X' where seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        log.db.execute("delete from exit_log where seq = 2")


def test_log_is_durable_wal_and_synchronous_full(tmp_path):
    log = fill(tmp_path / "log.db", 1)
    assert log.db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert log.db.execute("pragma synchronous").fetchone()[0] == 2   # FULL


def test_verify_names_an_edited_row(tmp_path):
    path = tmp_path / "log.db"
    fill(path).db.conn.close()
    raw(path).execute("update exit_log set guard_id = 'G9' where seq = 4")
    with pytest.raises(LogChainError) as err:
        ExitLog.open(path, "north").verify()
    assert err.value.seq == 4 and "edited" in str(err.value)
    out = verify_cli(path)
    assert out.returncode == 1 and "row 4" in out.stdout


def test_verify_names_a_deleted_row(tmp_path):
    path = tmp_path / "log.db"
    fill(path).db.conn.close()
    raw(path).execute("delete from exit_log where seq = 3")
    out = verify_cli(path)
    assert out.returncode == 1 and "row 4" in out.stdout and "missing" in out.stdout


def test_verify_names_rows_removed_from_the_end(tmp_path):
    path = tmp_path / "log.db"
    fill(path).db.conn.close()
    raw(path).execute("delete from exit_log where seq >= 5")
    out = verify_cli(path)
    assert out.returncode == 1 and "row 5" in out.stdout


def test_verify_names_an_inserted_row(tmp_path):
    path = tmp_path / "log.db"
    fill(path).db.conn.close()
    conn = raw(path)
    # shift rows 4..6 up by one and slip a forged row in at 4, with a hash that fits its own content
    for seq in (6, 5, 4):
        conn.execute("update exit_log set seq = seq + 1 where seq = ?", [seq])
    conn.execute(
        "insert into exit_log (seq, event_id, gate_id, kind, at, clock_synced, prev_hash, hash) "
        "select 4, 'forged', gate_id, 'release', at, 1, hash, hash from exit_log where seq = 3")
    out = verify_cli(path)
    assert out.returncode == 1 and "row 4" in out.stdout


def test_verify_passes_an_intact_log_from_the_cli(tmp_path):
    path = tmp_path / "log.db"
    fill(path).db.conn.close()
    out = verify_cli(path)
    assert out.returncode == 0 and "6 rows" in out.stdout


def test_a_log_that_cannot_be_written_says_so_and_keeps_what_it_had(tmp_path):
    path = tmp_path / "log.db"
    log = fill(path, 2)
    log.db.execute("pragma query_only = 1")
    with pytest.raises(StoreError, match="cannot record release"):
        log.append(LogEntry(EntryKind.RELEASE, NOW), clock_synced=True)
    log.db.execute("pragma query_only = 0")
    assert log.last_seq == 2
    log.append(LogEntry(EntryKind.RELEASE, NOW), clock_synced=True)
    log.verify()
    assert log.last_seq == 3


def test_verify_of_a_missing_file_is_a_clear_error(tmp_path):
    out = verify_cli(tmp_path / "nope.db")
    assert out.returncode == 2 and "not found" in out.stderr


def test_verify_by_an_account_that_may_not_read_the_gates_folder_says_whose_it_is():
    # docs/install.md step 9 as the installer's admin account: /var/lib/gatepass is 0750 gatepass.
    # A real process of another user (setpriv), not a patched open: it is told to read it as the kiosk's user.
    site = Path(tempfile.mkdtemp(prefix="gatepass-perm-"))
    try:
        site.chmod(0o755)
        state = site / "var-lib-gatepass"
        fill(state / "exitlog.db").db.conn.close()
        state.chmod(0o750)
        out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "kiosk.cli",
                              "log", "verify", "--db", str(state / "exitlog.db")],
                             cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=60)
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr and "cannot read the exit log" in out.stderr and "sudo -u gatepass" in out.stderr
    finally:
        shutil.rmtree(site)


def test_reading_tools_never_write_the_kiosks_log(tmp_path):
    """check and log verify open the log read-only: not even a migration may land on it."""
    path = tmp_path / "log.db"
    fill(path).db.conn.close()
    before = path.read_bytes()
    log = ExitLog.open_readonly(path)
    log.verify()
    assert log.last_seq == 6 and len(list(log.rows())) == 6
    with pytest.raises(sqlite3.DatabaseError):
        log.db.execute("insert into probe (data) values (x'00')")
    assert verify_cli(path).returncode == 0
    wal = tmp_path / "log.db-wal"          # a WAL reader may create an empty one; nothing is written to it
    assert path.read_bytes() == before and (not wal.exists() or wal.stat().st_size == 0)


def test_a_badge_locked_by_wrong_pins_stays_locked_after_the_kiosk_restarts(tmp_path):
    """The lock-out lives in the core's state; a restart rebuilds it from the exit log's rows."""
    from domain.model import MAX_PIN_FAILURES
    from domain.reasons import Reason
    from kiosk.core.events import Action, CardPresented, Press, Record
    from kiosk.core.flow import Scene, Timeouts, initial_state, step, with_lockouts
    from tests.factories import GATE, GUARD

    log = ExitLog.open(tmp_path / "exitlog.db", "north")
    s, now = initial_state(GATE, Timeouts()), NOW
    wrong = [Press(Action.DIGIT, "0")] * 4 + [Press(Action.PIN_SUBMIT)]
    for ev in [CardPresented(GUARD.badge_uid, guard=GUARD), *wrong * MAX_PIN_FAILURES]:
        now += timedelta(seconds=1)
        s, cmds = step(s, ev, now)
        for c in cmds:
            if isinstance(c, Record):
                log.append(c.entry, clock_synced=True)
    log.db.close()

    reopened = ExitLog.open(tmp_path / "exitlog.db", "north")
    locks = reopened.pin_lockouts()
    assert list(locks) == ["G1"]
    fresh = with_lockouts(initial_state(GATE, Timeouts()), locks)
    s, _ = step(fresh, CardPresented(GUARD.badge_uid, guard=GUARD), now + timedelta(minutes=1))
    assert s.scene is Scene.IDLE and s.notice is Reason.GUARD_PIN_LOCKED
    s, _ = step(fresh, CardPresented(GUARD.badge_uid, guard=GUARD), locks["G1"])
    assert s.scene is Scene.SIGN_IN_PIN                    # over: the keypad opens again
