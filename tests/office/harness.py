"""A real office server on loopback and real gates on tmp files, for the sync and office tests."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from domain.clock import Clock
from domain.exitrow import EntryKind, LogEntry
from domain.keyfiles import load_hmac_key, load_private, new_keys
from domain.model import Approval, ApprovalRole, PermitKind, SlipItem, SlipKind
from kiosk.exitlog import ExitLog
from office import schema
from office.config import DatabaseConfig, OfficeConfig, ServerConfig
from office.records import add_gate, add_unit, issue_permit
from office.server import ThreadedServer, build
from office.slips import IssuedSlip, SlipRequest, issue_slip

ROOT = Path(__file__).resolve().parents[2]
CST = timezone(timedelta(hours=8))


class OfficeServer:
    """The office API under uvicorn in a thread; stop() and start() keep port and database."""

    def __init__(self, tmp: Path, *, db_url: str | None = None, clock: Clock | None = None, zone: str = "Asia/Shanghai",
                 **server: Any) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        keys = tmp / "office-keys"
        if not (keys / "signing.key").exists():
            new_keys(keys)
        self.cfg = OfficeConfig(keys=str(keys), slips_dir=str(tmp / "slips"), timezone=zone,
                                database=DatabaseConfig(db_url or f"sqlite:///{tmp / 'office.db'}"),
                                server=replace(ServerConfig(), **server))
        self.app, self.engine = build(self.cfg, clock)
        self.server = ThreadedServer(self.app)
        self.port, self.url = self.server.port, self.server.url
        self.start()

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    # ---------------------------------------------------------------- office-side helpers

    def add_gate(self, gate_id: str) -> str:
        """Register a gate at the office's clock: rows it pushes are checked against that instant."""
        with self.engine.begin() as conn:
            return add_gate(conn, "default", gate_id, clock=self.app.state.clock)

    def add_unit(self, unit_id: str = "3-2-1502") -> None:
        with self.engine.begin() as conn:
            add_unit(conn, "default", unit_id)

    def issue_permit(self, card_uid: str, unit_id: str = "3-2-1502", **kw: Any) -> dict[str, Any]:
        with self.engine.begin() as conn:
            return issue_permit(conn, "default", card_uid=card_uid, kind=kw.pop("kind", PermitKind.RESIDENT),
                                holder_name=kw.pop("holder_name", "张三"), unit_id=unit_id,
                                id_number=kw.pop("id_number", "440101199001011234"),
                                hmac_key=load_hmac_key(self.cfg.keys),
                                valid_from=kw.pop("valid_from", datetime.now(CST)), **kw)

    def issue_slip(self, unit_id: str = "3-2-1502") -> str:
        return self.issued_slip(unit_id).slip_id

    def issued_slip(self, unit_id: str = "3-2-1502") -> IssuedSlip:
        """Issue an approved owner's slip for today: its id, signed token and QR files."""
        now = datetime.now(CST)
        req = SlipRequest(kind=SlipKind.OWNER, unit_id=unit_id, applicant_name="张三", mover_name="张三",
                          items=[SlipItem("冰箱", 1, "180cm")], valid_from=now, valid_until=now + timedelta(days=1),
                          approvals=[Approval(ApprovalRole.HANDLER, "李"), Approval(ApprovalRole.BUTLER_HEAD, "王")])
        with self.engine.begin() as conn:
            return issue_slip(conn, "default", req, private=load_private(self.cfg.keys),
                              hmac_key=load_hmac_key(self.cfg.keys), out_dir=self.cfg.slips_dir, now=now)

    def events(self, gate_id: str | None = None) -> list[dict[str, Any]]:
        e = schema.events
        q = select(e).order_by(e.c.gate_id, e.c.seq)
        if gate_id:
            q = q.where(e.c.gate_id == gate_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def flags(self, kind: str | None = None) -> list[dict[str, Any]]:
        f = schema.flags
        q = select(f).order_by(f.c.flag_id)
        if kind:
            q = q.where(f.c.kind == kind)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def count(self, table: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


class GateSite:
    """A gate's files: kiosk config, credential, replica, exit log (written here as the kiosk would)."""

    def __init__(self, tmp: Path, gate_id: str, office: OfficeServer, *, pull_interval_s: float = 0.5,
                 push_batch: int = 500, credential: str | None = None, extra_sync: str = "") -> None:
        self.dir = tmp / f"gate-{gate_id}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.gate_id = gate_id
        cred = self.dir / "gate.credential"
        cred.write_text((credential or office.add_gate(gate_id)) + "\n")
        self.replica_path = self.dir / "replica.db"
        self.exit_log_path = self.dir / "exitlog.db"
        self.status_path = self.dir / "sync-status.json"
        self.config = self.dir / "kiosk.toml"
        self.config.write_text(
            f'[gate]\nid = "{gate_id}"\n'
            f'[store]\nreplica = "{self.replica_path}"\nexit_log = "{self.exit_log_path}"\n'
            f'[sync]\noffice_url = "{office.url}"\ncredential_file = "{cred}"\npull_interval_s = {pull_interval_s}\n'
            f'push_delay_s = 0.05\nstatus_file = "{self.status_path}"\nbackoff_min_s = 0.05\nbackoff_max_s = 0.5\n'
            f'heartbeat_interval_s = 1.0\npush_batch = {push_batch}\ntimeout_s = 5.0\n'
            f'kiosk_health_file = "{self.dir / "health.json"}"\n{extra_sync}')
        self.log = ExitLog.open(self.exit_log_path, gate_id)

    def record(self, kind: EntryKind = EntryKind.CARD_PASS, **kw: Any) -> dict[str, Any]:
        return self.log.append(LogEntry(kind=kind, at=datetime.now(CST), **kw), clock_synced=True)

    def daemon(self, **clock: Any) -> Any:
        """The daemon in-process; ``wall=`` and ``clock_synced=`` put it on a test's clock."""
        from sync.cli import make_daemon

        return make_daemon(str(self.config), **clock)

    def spawn(self) -> subprocess.Popen[bytes]:
        """The daemon as a real process (`python -m sync`), as systemd would run it."""
        return subprocess.Popen([sys.executable, "-m", "sync", "--config", str(self.config)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class DaemonThread:
    """Run an in-process daemon in a thread (fast tests); stop() joins it."""

    def __init__(self, site: GateSite, **clock: Any) -> None:
        self.daemon = site.daemon(**clock)
        self.thread = threading.Thread(target=self.daemon.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.daemon.stop_event.set()
        self.thread.join(10)
        self.daemon.close()


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
