"""Every exit-log row says which boot of the gate recorded it and when in that boot, so the office can
re-date rows recorded before the clock was synced; logs written before that still open and verify."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta, timezone

from sqlite_utils import Database

from domain.boottime import BootAnchor, BootStamp, anchor_of, can_redate, redate, redated_text
from domain.chain import GENESIS, first_break
from domain.clock import system_boot
from domain.contracts import DeviceHealth, HeartbeatBody
from domain.exitrow import EntryKind, LogEntry
from kiosk.exitlog import ExitLog, log_migrations
from tests.factories import NOW

CST = timezone(timedelta(hours=8))
BOOT_A = "0b6a1f4c-6f2e-4d0e-9c55-2f0c4a9b1e01"
BOOT_B = "7d2c9e11-0a3b-4f6c-8e1d-5b4a3c2d1e02"


def test_each_row_carries_the_boot_id_and_boot_time_it_was_recorded_at(tmp_path):
    log = ExitLog.open(tmp_path / "log.db", "north")
    log.append(LogEntry(EntryKind.CARD_PASS, NOW, card_uid="04A1"), clock_synced=False, boot=BootStamp(BOOT_A, 41_000))
    log.append(LogEntry(EntryKind.RELEASE, NOW, slip_id="S1"), clock_synced=True, boot=BootStamp(BOOT_A, 95_500))
    # the gate restarts: another boot, its boot time from zero again
    log.append(LogEntry(EntryKind.CARD_PASS, NOW, card_uid="04A2"), clock_synced=False, boot=BootStamp(BOOT_B, 12_000))
    rows = list(ExitLog.open_readonly(tmp_path / "log.db").rows())
    assert [(r["boot_id"], r["boottime_ms"], r["clock_synced"]) for r in rows] == [
        (BOOT_A, 41_000, False), (BOOT_A, 95_500, True), (BOOT_B, 12_000, False)]
    log.verify()
    # the boot fields are hashed: a row moved to another boot, or in its boot, no longer verifies
    for change in ({"boot_id": BOOT_B}, {"boottime_ms": 40_000}, {"boot_id": "", "boottime_ms": 0}):
        edited = [dict(rows[0], **change), *rows[1:]]
        assert first_break(edited) == (1, "hash does not match the row's contents (row edited)")


def test_a_row_without_a_boot_reading_is_recorded_all_the_same(tmp_path):
    log = ExitLog.open(tmp_path / "log.db", "north")
    row = log.append(LogEntry(EntryKind.CARD_PASS, NOW), clock_synced=True, boot=None)
    assert (row["boot_id"], row["boottime_ms"]) == ("", 0)
    log.verify()


def _old_hash(prev: str, row: dict) -> str:
    """The hash as gates computed it before rows had boot fields (frozen here, not imported)."""
    names = ("seq", "event_id", "gate_id", "kind", "at", "clock_synced", "guard_id", "card_uid", "permit_id", "slip_id",
             "reasons", "detail")
    body = json.dumps({n: row[n] for n in names}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev.encode("ascii") + b"\n" + body.encode("utf-8")).hexdigest()


def test_a_log_written_before_boot_fields_opens_verifies_and_continues(tmp_path):
    path = tmp_path / "old.db"
    db = Database(sqlite3.connect(path, isolation_level=None))
    log_migrations.apply(db, stop_before="m003_boot")      # the gate's file as the previous release left it
    assert "boot_id" not in {c.name for c in db["exit_log"].columns}
    prev = GENESIS
    for seq in (1, 2, 3):
        row = {"seq": seq, "event_id": str(uuid.uuid4()), "gate_id": "north", "kind": "card_pass",
               "at": (NOW + timedelta(seconds=seq)).isoformat(), "clock_synced": seq != 2, "guard_id": "G1",
               "card_uid": f"04A{seq}", "permit_id": "", "slip_id": "", "reasons": ["card.valid"], "detail": {"名": "张伟"}}
        row["prev_hash"], row["hash"] = prev, _old_hash(prev, row)
        db.execute("insert into exit_log (seq, event_id, gate_id, kind, at, clock_synced, guard_id, card_uid, permit_id, "
                   "slip_id, reasons, detail, prev_hash, hash) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   [row["seq"], row["event_id"], row["gate_id"], row["kind"], row["at"], int(row["clock_synced"]),
                    row["guard_id"], row["card_uid"], row["permit_id"], row["slip_id"], json.dumps(row["reasons"]),
                    json.dumps(row["detail"], ensure_ascii=False), row["prev_hash"], row["hash"]])
        prev = row["hash"]
    db.conn.close()

    log = ExitLog.open(path, "north")                      # migrates: the old rows read as no boot
    old = list(log.rows())
    assert [(r["boot_id"], r["boottime_ms"]) for r in old] == [("", 0)] * 3
    log.verify()
    log.append(LogEntry(EntryKind.RELEASE, NOW, slip_id="S1"), clock_synced=True, boot=BootStamp(BOOT_A, 5_000))
    log.verify()
    assert list(log.rows())[-1]["boot_id"] == BOOT_A
    out = subprocess.run([sys.executable, "-m", "kiosk.cli", "log", "verify", "--db", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_this_machines_boot_reads_the_same_boot_and_a_boot_time_that_only_grows():
    first, second = system_boot(), system_boot()
    assert first is not None and second is not None          # Linux: the kernel names its boot
    assert first.boot_id == second.boot_id and uuid.UUID(first.boot_id)
    assert 0 < first.boottime_ms <= second.boottime_ms


def test_a_row_recorded_before_the_sync_is_dated_back_from_the_boots_anchor():
    # the clock restored to last week at boot; NTP set it 95.5 s into the boot, when a synced row said 08:01:35.5
    anchor = anchor_of(boot_id=BOOT_A, boottime_ms=95_500, at="2026-11-30T08:01:35.500+08:00", clock_synced=True,
                       source="row 2")
    assert anchor is not None
    assert redate(BOOT_A, 41_000, anchor) == datetime(2026, 11, 30, 8, 0, 41, tzinfo=CST)
    assert redated_text(BOOT_A, 41_000, anchor) == "2026-11-30T08:00:41.000+08:00"
    # written in the row's own offset when it has one (a heartbeat's anchor is in UTC)
    utc = BootAnchor(BOOT_A, 95_500, datetime(2026, 11, 30, 0, 1, 35, 500_000, tzinfo=UTC))
    assert redated_text(BOOT_A, 41_000, utc, like="2026-11-27T08:00:41+08:00") == "2026-11-30T08:00:41.000+08:00"
    assert redated_text(BOOT_A, 41_000, utc, like="garbage") == "2026-11-30T00:00:41.000+00:00"
    assert redate(BOOT_B, 41_000, anchor) is None                # another boot: its boot time means nothing here
    assert redate(BOOT_A, 0, anchor) is None


def test_only_a_synced_reading_of_a_known_boot_is_an_anchor_and_only_unsynced_rows_are_re_dated():
    at = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert anchor_of(boot_id=BOOT_A, boottime_ms=1, at=at, clock_synced=False) is None
    assert anchor_of(boot_id=BOOT_A, boottime_ms=1, at=at, clock_synced=None) is None
    assert anchor_of(boot_id="", boottime_ms=1, at=at, clock_synced=True) is None
    assert anchor_of(boot_id=BOOT_A, boottime_ms=1, at="yesterday", clock_synced=True) is None
    assert anchor_of(boot_id=BOOT_A, boottime_ms=1, at=at, clock_synced=True) == BootAnchor(BOOT_A, 1, at)
    assert can_redate(clock_synced=False, boot_id=BOOT_A, boottime_ms=5)
    assert not can_redate(clock_synced=True, boot_id=BOOT_A, boottime_ms=5)
    assert not can_redate(clock_synced=False, boot_id="", boottime_ms=5)


def test_a_heartbeat_says_its_boot_and_whether_the_clock_was_synced_and_an_older_one_still_reads():
    health = DeviceHealth.unknown("x")
    body = HeartbeatBody(health, health, sent_at=NOW, boot_id=BOOT_A, boottime_ms=7_000, clock_synced=True)
    back = HeartbeatBody.from_json(json.loads(json.dumps(body.to_json())))
    assert (back.boot_id, back.boottime_ms, back.clock_synced, back.sent_at) == (BOOT_A, 7_000, True, NOW)
    old = HeartbeatBody.from_json({"reader": None, "camera": None, "outbox_depth": 2})
    assert (old.boot_id, old.boottime_ms, old.clock_synced) == ("", 0, None)
    assert HeartbeatBody.from_json({"boot_id": "\x1b[31m", "boottime_ms": -5, "clock_synced": "yes"}).clock_synced is None


def test_neither_gate_unit_hides_the_boot_id_from_its_process():
    """The kiosk stamps rows and the sync daemon stamps heartbeats with /proc/sys/kernel/random/boot_id:
    ProcSubset=pid would hide /proc/sys, and every heartbeat would go out without its boot."""
    from pathlib import Path

    from tests.test_units import parse_unit

    for name in ("gatepass-kiosk.service", "gatepass-sync.service"):
        service = parse_unit(Path(__file__).resolve().parents[1] / "systemd" / name)["Service"]
        assert service.get("ProcSubset", ["all"])[-1] != "pid", name
        assert service.get("ProtectKernelTunables", ["no"])[-1] == "yes", name      # readable, not writable
