"""Sync benchmarks: push of a long outbox, first pull of a big replica, an idle cycle's cost.

Everything runs on loopback against a real uvicorn office and real SQLite files, with
the daemon's own code paths (SyncDaemon.push / pull). `python -m bench.sync [--quick]`
prints the JSON list; `run(quick)` returns it for `make bench`.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from domain.clock import SystemClock

CST = timezone(timedelta(hours=8))
#: One frame of the kiosk at 30 fps: no replica transaction may be longer.
FRAME_S = 1 / 30


def _result(name: str, value: float, unit: str, target: float, lower_is_better: bool = True) -> dict[str, Any]:
    met = value <= target if lower_is_better else value >= target
    return {"name": name, "value": round(value, 4), "unit": unit, "target": round(target, 3), "met": bool(met)}


def _load_office(engine: Any, permits: int, slips: int) -> None:
    from office import schema
    from office.changes import put_rows

    start = datetime(2026, 1, 1, tzinfo=CST)
    with engine.begin() as conn:
        put_rows(conn, "default", schema.units, [
            {"unit_id": f"{b}-{e}-{r:04d}", "building": str(b), "room": f"{r:04d}", "unpaid_fees": 0}
            for b in range(1, 11) for e in range(1, 3) for r in range(101, 151)], fresh=True)
    for lo in range(0, permits, 10_000):
        with engine.begin() as conn:
            put_rows(conn, "default", schema.permits, [{
                "permit_id": f"P{i:07d}", "card_uid": f"04A1{i:08X}", "kind": "resident", "holder_name": "张伟",
                "id_masked": "4401**********123X", "id_hash": f"{i:064x}", "photo": "", "phone": "13800000000",
                "unit_id": "1-1-0101", "valid_from": start.isoformat(), "valid_until": (start + timedelta(days=365)).isoformat(),
                "status": "active"} for i in range(lo, min(permits, lo + 10_000))], fresh=True)
    for lo in range(0, slips, 5_000):
        ids = range(lo, min(slips, lo + 5_000))
        with engine.begin() as conn:
            put_rows(conn, "default", schema.slips, [{
                "slip_id": f"S{i:09d}", "kind": "owner", "unit_id": "1-1-0101", "applicant_name": "张伟",
                "applicant_phone": "", "mover_name": "李师傅", "mover_id_masked": "", "mover_id_hash": "",
                "mover_photo": "", "mover_permit_id": "", "purpose": "搬家", "valid_from": start.isoformat(),
                "valid_until": (start + timedelta(days=1)).isoformat(), "status": "issued", "exit_gate_id": "",
                "approvals": '[{"role":"handler","name":"李","at":null},{"role":"butler_head","name":"王","at":null}]',
                "items_digest": "0123456789abcdef"} for i in ids], fresh=True)
            put_rows(conn, "default", schema.slip_items, [
                {"slip_id": f"S{i:09d}", "line": line, "name": "冰箱", "quantity": 1, "spec": "180cm"}
                for i in ids for line in range(2)], fresh=True)


def run(quick: bool) -> list[dict[str, Any]]:
    from domain.exitrow import EntryKind, LogEntry
    from domain.keyfiles import new_keys
    from kiosk.config import SyncConfig
    from kiosk.exitlog import ExitLog
    from office.config import DatabaseConfig, OfficeConfig
    from office.records import add_gate
    from office.server import ThreadedServer, build
    from sync.daemon import SyncDaemon

    events, permits, slips = (1_000, 5_000, 1_000) if quick else (10_000, 100_000, 20_000)
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-") as tmp_name:
        tmp = Path(tmp_name)
        new_keys(tmp / "keys")
        cfg = OfficeConfig(keys=str(tmp / "keys"), database=DatabaseConfig(f"sqlite:///{tmp / 'office.db'}"))
        app, engine = build(cfg)
        with engine.begin() as conn:
            credential = add_gate(conn, "default", "north", clock=SystemClock())
        _load_office(engine, permits, slips)
        server = ThreadedServer(app)
        server.start()
        try:
            log = ExitLog.open(tmp / "exitlog.db", "north")
            now = SystemClock().now().astimezone(CST)
            for i in range(events):
                log.append(LogEntry(EntryKind.CARD_PASS, now, card_uid=f"04A1{i:08X}", permit_id=f"P{i:07d}",
                                    reasons=("card.valid",)), clock_synced=True)
            daemon = SyncDaemon(SyncConfig(office_url=server.url, status_file=str(tmp / "status.json")),
                                gate_id="north", replica_path=tmp / "replica.db", exit_log_path=tmp / "exitlog.db",
                                credential=credential)
            c = daemon.client
            t0 = time.perf_counter()
            assert daemon.push() == events
            push_s = time.perf_counter() - t0
            out += [
                _result(f"push {events} events: wall time", push_s, "s", events / 1000),
                _result(f"push {events} events: requests", c.requests, "requests", -(-events // 500)),
                _result(f"push {events} events: bytes on the wire", c.bytes_sent + c.bytes_received, "bytes",
                        events * 800),
            ]
            c.requests = c.bytes_sent = c.bytes_received = 0
            t0 = time.perf_counter()
            applied = daemon.pull()
            pull_s = time.perf_counter() - t0
            name = f"first pull {permits} permits + {slips} slips ({applied} changes)"
            out += [
                _result(f"{name}: wall time", pull_s, "s", 6.0 if quick else 60.0),
                _result(f"{name}: requests", c.requests, "requests", -(-applied // 2000) + 1),
                _result(f"{name}: bytes on the wire (gzip)", c.bytes_sent + c.bytes_received, "bytes", applied * 150),
                _result("longest replica write transaction", daemon.writer.longest_commit_s * 1000, "ms", FRAME_S * 1000),
            ]
            c.requests = c.bytes_sent = c.bytes_received = 0
            t0 = time.perf_counter()
            daemon.pull()
            daemon.pending()
            idle_s = time.perf_counter() - t0
            out += [
                _result("idle sync cycle: requests", c.requests, "requests", 1),
                _result("idle sync cycle: bytes on the wire", c.bytes_sent + c.bytes_received, "bytes", 1024),
                _result("idle sync cycle: wall time", idle_s * 1000, "ms", 50),
            ]
            t0 = time.perf_counter()
            for _ in range(100):
                daemon.pending()
            out.append(_result("outbox poll (max(seq) of the exit log)", (time.perf_counter() - t0) * 10, "ms", 1.0))
            daemon.close()
        finally:
            server.stop()
            engine.dispose()
    return out


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv[1:]), ensure_ascii=False, indent=1))
