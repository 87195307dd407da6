"""The sync daemon against a real office on loopback: what a gate and the office would notice."""
from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from domain.exitrow import EntryKind, LogEntry
from domain.model import PermitStatus
from domain.reasons import Reason
from domain.rules import decide_card
from domain.statusfiles import STATUS_KEYS, read_status
from kiosk.store import Replica
from office import schema
from tests.office.harness import CST, DaemonThread, GateSite, OfficeServer, wait_for


def test_a_new_event_reaches_the_office_within_a_second(office: OfficeServer, tmp_path: Path) -> None:
    gate = GateSite(tmp_path, "north", office)
    d = DaemonThread(gate)
    try:
        assert wait_for(lambda: (read_status(gate.status_path) or {}).get("last_pull_at") is not None)
        started = time.monotonic()
        row = gate.record()
        assert wait_for(lambda: len(office.events("north")) == 1, timeout=5)
        assert time.monotonic() - started < 1.0
        assert office.events("north")[0]["event_id"] == row["event_id"]
    finally:
        d.stop()


def test_first_pull_fills_the_replica_and_status_reports_it(office: OfficeServer, tmp_path: Path) -> None:
    permit = office.issue_permit("CARD-1")
    slip_id = office.issue_slip()
    gate = GateSite(tmp_path, "north", office)
    daemon = gate.daemon()
    try:
        assert daemon.run_once()
    finally:
        daemon.close()
    replica = Replica.open(gate.replica_path)
    found = replica.permit_by_card("CARD-1")
    assert found is not None and found.permit_id == permit["permit_id"] and found.holder.id_masked.startswith("4401")
    slip = replica.slip(slip_id)
    assert slip is not None and slip[0].items[0].name == "冰箱"
    assert replica.signing_keys()  # the office's public key, so fresh slips verify at the gate
    status = read_status(gate.status_path)
    assert status is not None and status["state"] == "ok" and status["ok"] is True and status["pull_cursor"] > 0
    assert set(status) == set(STATUS_KEYS) and status["last_pull_at"] is not None
    assert status["clock_offset_s"] is not None and abs(status["clock_offset_s"]) < 1


def test_revoking_a_card_reaches_the_gate_at_its_next_pull(office: OfficeServer, tmp_path: Path) -> None:
    # Counted in pulls, not seconds: the daemon pulls every pull_interval_s, so "at the next
    # pull" is "within one interval" on any machine, however loaded.
    office.issue_permit("CARD-7")
    gate = GateSite(tmp_path, "north", office)
    daemon = gate.daemon()
    replica = Replica.open(gate.replica_path)
    try:
        daemon.pull()
        assert replica.permit_by_card("CARD-7").status is PermitStatus.ACTIVE
        from office.records import set_permit_status

        with office.engine.begin() as conn:
            set_permit_status(conn, "default", "CARD-7", PermitStatus.REVOKED)
        daemon.pull()
        assert replica.permit_by_card("CARD-7").status is PermitStatus.REVOKED
        assert decide_card(replica.permit_by_card("CARD-7"), datetime.now(CST)).reason is Reason.CARD_REVOKED
    finally:
        daemon.close()


def test_the_outbox_drains_by_itself_after_the_office_comes_back(office: OfficeServer, tmp_path: Path) -> None:
    gate = GateSite(tmp_path, "north", office)
    d = DaemonThread(gate)
    try:
        assert wait_for(lambda: (read_status(gate.status_path) or {}).get("last_pull_at") is not None)
        office.stop()
        for _ in range(30):
            gate.record()
        assert wait_for(lambda: (read_status(gate.status_path) or {}).get("state") == "offline", timeout=5)

        def offline_with_backlog() -> bool:
            s = read_status(gate.status_path) or {}
            return s.get("outbox_depth") == 30 and (s.get("last_pull_attempt_at") or "") > (s.get("last_pull_at") or "")
        assert wait_for(offline_with_backlog, timeout=5)
        status = read_status(gate.status_path)
        assert status is not None and status["outbox_depth"] == 30 and "unreachable" in status["error"]
        assert status["ok"] is False and status["last_pull_attempt_at"] > status["last_pull_at"]
        office.start()
        assert wait_for(lambda: len(office.events("north")) == 30, timeout=5)
        assert wait_for(lambda: (read_status(gate.status_path) or {}).get("outbox_depth") == 0, timeout=5)
        assert wait_for(lambda: (read_status(gate.status_path) or {}).get("error") is None, timeout=5)
        assert [e["seq"] for e in office.events("north")] == list(range(1, 31))
    finally:
        d.stop()


def test_a_slip_used_at_two_offline_gates_is_flagged_and_both_gates_learn_it(office: OfficeServer, tmp_path: Path) -> None:
    slip_id = office.issue_slip()
    north, south = GateSite(tmp_path, "north", office), GateSite(tmp_path, "south", office)
    # Both gates offline (no daemon running): each releases against the same slip.
    north.record(EntryKind.RELEASE, slip_id=slip_id, guard_id="g1")
    south.record(EntryKind.RELEASE, slip_id=slip_id, guard_id="g2")
    for site in (north, south):
        daemon = site.daemon()
        try:
            assert daemon.run_once()
        finally:
            daemon.close()
    flags = office.flags("double_use")
    assert len(flags) == 1 and flags[0]["slip_id"] == slip_id
    for site in (north, south):  # the next pull tells each gate about both uses
        daemon = site.daemon()
        try:
            assert daemon.run_once()
        finally:
            daemon.close()
        used_at = {c.gate_id for c in Replica.open(site.replica_path).consumptions(slip_id)}
        assert used_at == {"north", "south"}
    assert office.count(schema.consumed_slips) == 2


def test_a_gate_resends_what_an_office_restored_from_backup_lost(office: OfficeServer, tmp_path: Path) -> None:
    from sqlalchemy import delete, update

    gate = GateSite(tmp_path, "north", office)
    for _ in range(6):
        gate.record()
    daemon = gate.daemon()
    try:
        assert daemon.run_once() and len(office.events("north")) == 6
        head = office.events("north")[1]["hash"]
        with office.engine.begin() as conn:   # the office loses its last four rows
            conn.execute(delete(schema.events).where(schema.events.c.seq > 2))
            conn.execute(update(schema.gates).values(head_seq=2, head_hash=head))
        gate.record()
        assert daemon.run_once()
    finally:
        daemon.close()
    assert [e["seq"] for e in office.events("north")] == [1, 2, 3, 4, 5, 6, 7]
    # Row 7 arrived before the resent rows: a gap was flagged, then closed by the resend.
    assert all(f["kind"] == "gap" and f["resolved_at"] for f in office.flags())


def _gate_with_three_rows_at_the_office(office: OfficeServer, tmp_path: Path) -> GateSite:
    """Gate north's first Pi: three rows recorded and pushed."""
    old = GateSite(tmp_path / "old", "north", office)
    for _ in range(3):
        old.record()
    daemon = old.daemon()
    try:
        assert daemon.run_once() and len(office.events("north")) == 3
    finally:
        daemon.close()
    return old


def test_a_re_imaged_gate_with_its_old_credential_never_counts_refused_rows_as_sent(office: OfficeServer, tmp_path: Path) -> None:
    # An SD card dies; the installer re-images the Pi and puts the old credential back: the exit log
    # starts again at row 1, and the office, holding the old gate's rows 1-3, refuses the new ones as
    # a fork. They used to be counted as pushed (state ok, outbox 0, cursor moved on) and lost (issue 18).
    slip_id = office.issue_slip()
    old = _gate_with_three_rows_at_the_office(office, tmp_path)
    credential = (old.dir / "gate.credential").read_text(encoding="utf-8").strip()
    new = GateSite(tmp_path / "re-imaged", "north", office, credential=credential)
    release = new.record(EntryKind.RELEASE, slip_id=slip_id, guard_id="g1")
    daemon = new.daemon()
    try:
        assert daemon.run_once() is False
        daemon.write_status(force=True)
    finally:
        daemon.close()
    status = read_status(new.status_path) or {}
    assert status["state"] == "error" and status["outbox_depth"] == 1 and status["push_cursor"] == 0, status
    assert "row 1: fork" in status["last_error"] and "re-imaged" in status["last_error"]
    assert release["event_id"] not in {e["event_id"] for e in office.events("north")}
    assert [f["seq"] for f in office.flags("fork")] == [1]                  # the office saw it too


def test_new_events_are_pushed_while_a_long_first_pull_is_running(office: OfficeServer, tmp_path: Path) -> None:
    from office.changes import put_rows

    with office.engine.begin() as conn:
        put_rows(conn, "default", schema.guards, [
            {"guard_id": f"G{i:05d}", "name": "保安", "badge_uid": f"B{i}", "pin_hash": "x", "role": "guard", "active": 1}
            for i in range(30_000)], fresh=True)
    gate = GateSite(tmp_path, "north", office, extra_sync="page_size = 200\n")
    d = DaemonThread(gate)
    replica = Replica.open(gate.replica_path)
    try:
        assert wait_for(lambda: (replica.meta("pull_cursor") or "0") != "0")   # the first pull is under way
        recorded = time.monotonic()
        gate.record()
        assert wait_for(lambda: len(office.events("north")) == 1, timeout=5)
        assert time.monotonic() - recorded < 1.0
        assert replica.counts()["guards"] < 30_000                              # ...and still is
    finally:
        d.stop()


def test_a_permit_photo_reaches_the_gate_byte_for_byte(office: OfficeServer, tmp_path: Path) -> None:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (120, 160), (200, 140, 60)).save(out, "JPEG", quality=85)
    jpeg = out.getvalue()                     # already small, no metadata: the office keeps it as it is
    permit = office.issue_permit("CARD-P", photo=(jpeg, "image/jpeg"))
    gate = GateSite(tmp_path, "north", office)
    daemon = gate.daemon()
    try:
        assert daemon.run_once()
    finally:
        daemon.close()
    replica = Replica.open(gate.replica_path)
    found = replica.permit_by_card("CARD-P")
    assert found is not None and found.holder.photo == permit["photo"]
    assert replica.photo(found.holder.photo) == jpeg


def test_a_gate_pulls_everything_again_from_a_new_office_database(office: OfficeServer, tmp_path: Path) -> None:
    office.issue_permit("CARD-E")
    gate = GateSite(tmp_path, "north", office)
    daemon = gate.daemon()
    try:
        assert daemon.run_once()
        old_epoch = daemon.status.office_epoch
        with office.engine.begin() as conn:  # as if the office database were rebuilt: new epoch, numbering restarts
            conn.execute(schema.estates.update().values(epoch="rebuilt", change_seq=0))
            conn.execute(schema.changes.delete())
        office.issue_permit("CARD-F")
        assert daemon.run_once()
    finally:
        daemon.close()
    assert old_epoch != "rebuilt" and daemon.status.office_epoch == "rebuilt"
    assert Replica.open(gate.replica_path).permit_by_card("CARD-F") is not None


def test_a_missing_exit_log_is_an_error_in_the_status_until_the_kiosk_writes_it(office: OfficeServer, tmp_path: Path) -> None:
    """Not "nothing to send": a daemon reading another file than the kiosk writes must say so."""
    from kiosk.exitlog import ExitLog

    gate = GateSite(tmp_path, "north", office)
    elsewhere = tmp_path / "kiosk-data" / "exitlog.db"
    gate.config.write_text(gate.config.read_text().replace(str(gate.exit_log_path), str(elsewhere)))
    d = DaemonThread(gate)
    try:
        def status() -> dict:
            return read_status(gate.status_path) or {}
        assert wait_for(lambda: status().get("last_pull_at") is not None and status().get("state") == "error")
        s = status()
        assert s["ok"] is False and str(elsewhere) in s["error"]
        assert "出口日志不存在" in s["error"] and "exit log not found" in s["error"]
        # Pulls and heartbeats go on succeeding; the status stays an error all the same.
        pulled = s["last_pull_at"]
        assert wait_for(lambda: (status().get("last_pull_at") or "") > pulled, timeout=5)
        assert status()["state"] == "error"

        elsewhere.parent.mkdir()
        log = ExitLog.open(elsewhere, "north")          # the kiosk starts
        row = log.append(LogEntry(kind=EntryKind.CARD_PASS, at=datetime.now(CST)), clock_synced=True)
        assert wait_for(lambda: [e["event_id"] for e in office.events("north")] == [row["event_id"]], timeout=5)
        assert wait_for(lambda: status().get("state") == "ok" and status().get("error") is None, timeout=5)
    finally:
        d.stop()


def test_a_gate_replaced_by_the_documented_procedure_continues_its_chain_at_the_office(office: OfficeServer, tmp_path: Path) -> None:
    # docs/install.md "Replacing a gate": the office gives the gate a new credential (the old one, on the
    # dead card or a stolen Pi, is refused), the new Pi pulls once, and its kiosk's first row continues
    # the chain the office holds for the gate: stored, no fork, nothing lost (issue 18).
    from domain.exitrow import EntryKind
    from domain.settings import load
    from kiosk.app import assemble
    from kiosk.config import KioskConfig
    from kiosk.core.events import ExitRequested
    from kiosk.exitlog import ExitLog
    from office.records import replace_gate

    old = _gate_with_three_rows_at_the_office(office, tmp_path)
    with office.engine.begin() as conn:
        credential = replace_gate(conn, "default", "north")
    new = GateSite(tmp_path / "new", "north", office, credential=credential)
    daemon = new.daemon()
    try:
        assert daemon.run_once(), daemon.status.last_error              # the first pull, before the kiosk records
    finally:
        daemon.close()
    new.log.db.conn.close()
    kiosk = assemble(load(KioskConfig, str(new.config)), monitor_thread=False, boot=lambda: None)
    try:
        kiosk.controller.handle_raw(ExitRequested(), datetime.now(CST))  # the kiosk's first row, as it records it
    finally:
        kiosk.close()
    log = ExitLog.open_readonly(new.exit_log_path)
    log.verify()
    assert [r["seq"] for r in log.rows()] == [4] and list(log.rows())[0]["kind"] == EntryKind.EXIT_REQUEST.value
    daemon = new.daemon()
    try:
        assert daemon.run_once(), daemon.status.last_error
    finally:
        daemon.close()
    assert [e["seq"] for e in office.events("north")] == [1, 2, 3, 4] and office.flags() == []
    refused = old.daemon()                                               # the replaced Pi's credential
    try:
        assert refused.run_once() is False and "401" in (refused.status.last_error or "")
    finally:
        refused.close()
