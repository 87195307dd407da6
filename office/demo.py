"""A demo office: an estate with units, permits, guards, gates, staff accounts, slips and two days of
gate records, served with its console. `make office` runs it; no PostgreSQL, no gate needed.

Everything goes through the office's own functions (what the `gatepass office ...` commands call),
and the gate records through a real exit log and the office's ingest, as a gate's push would.
The staff accounts share one demo password, printed at start: a demo, never a real office.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from domain.chain import GENESIS, seal
from domain.clock import Clock, EstateTime, SystemClock
from domain.exitrow import EntryKind, ExitRow, LogEntry
from domain.keyfiles import load_hmac_key, load_private, new_keys
from domain.model import Approval, ApprovalRole, PermitKind, Role, SlipItem, SlipKind
from office import schema
from office.config import DatabaseConfig, OfficeConfig
from office.console.auth import add_staff
from office.db import open_office
from office.ingest import ingest
from office.memos import Person as MemoPerson
from office.memos import register_memo
from office.records import add_gate, add_guard, add_unit, import_public_keys, issue_permit, set_fees
from office.slips import SlipRequest, issue_slip, make_pending_slip

ESTATE, ESTATE_NAME = "default", "翠湖苑"
#: The demo's one password for every staff account (printed when the demo starts).
DEMO_PASSWORD = "gatepass-demo"
#: (username, name, role, what they do in the demo)
STAFF = (("qiantai", "前台小李", "front_desk", "开放行条 makes slips, ticks the morning archive"),
         ("guanjia", "管家王主管", "butler", "批准业主放行条 approves residents' slips"),
         ("baoan", "保安部张队", "security", "确认警报 acknowledges alerts"),
         ("admin", "管理员", "admin", "everything"))


@dataclass(frozen=True)
class DemoOffice:
    cfg: OfficeConfig
    credentials: dict[str, Path]
    slips: dict[str, str]


def chained(gate_id: str, entries: list[LogEntry]) -> list[dict[str, Any]]:
    """Rows as a gate's exit log makes them (domain/exitrow.py, domain/chain.py): numbered, chained, sealed."""
    rows, head = [], GENESIS
    for seq, entry in enumerate(entries, start=1):
        row = seal(ExitRow.of_entry(entry, event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo/{gate_id}/{seq}")),
                                    gate_id=gate_id, seq=seq, clock_synced=True, prev_hash=head))
        head = row.hash
        rows.append(row.to_dict())
    return rows


def _items(*lines: tuple[str, int, str]) -> list[SlipItem]:
    return [SlipItem(n, q, s) for n, q, s in lines]


def seed(folder: str | Path, clock: Clock | None = None, zone: str = "Asia/Shanghai") -> DemoOffice:
    """Make the demo office in ``folder`` (a SQLite file, keys, gate credentials); a folder made
    before is made again from scratch."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "office.db"
    for stale in (db, folder / "office.db-wal", folder / "office.db-shm"):
        stale.unlink(missing_ok=True)
    keys = folder / "keys"
    if not (keys / ESTATE / "signing.key").exists():
        new_keys(keys / ESTATE)
    cfg = OfficeConfig(estate=ESTATE, timezone=zone, keys=str(keys), slips_dir=str(folder / "slips"),
                       database=DatabaseConfig(f"sqlite:///{db}"))
    et = EstateTime.of(zone, clock or SystemClock())
    now = et.now().replace(microsecond=0)
    yesterday = now - timedelta(days=1)
    private, hmac_key = load_private(keys / ESTATE), load_hmac_key(keys / ESTATE)
    engine = open_office(cfg.database.url, ESTATE)
    credentials: dict[str, Path] = {}
    slips: dict[str, str] = {}
    with engine.begin() as conn:
        conn.execute(update(schema.estates).where(schema.estates.c.estate_id == ESTATE).values(name=ESTATE_NAME))
        import_public_keys(conn, ESTATE, keys / ESTATE)
        for unit in ("3-2-1502", "3-2-1601", "5-1-0302", "8-1-1201"):
            add_unit(conn, ESTATE, unit)
        set_fees(conn, ESTATE, "5-1-0302", True)
        for card, name, unit in (("04A1B2C3", "张三", "3-2-1502"), ("04D4E5F6", "李梅", "3-2-1601"),
                                 ("04778899", "赵六", "8-1-1201")):
            issue_permit(conn, ESTATE, card_uid=card, kind=PermitKind.RESIDENT, holder_name=name, unit_id=unit,
                         id_number="", hmac_key=hmac_key, valid_from=now - timedelta(days=200))
        add_guard(conn, ESTATE, "g1", "刘保安", "B001", "1234")
        add_guard(conn, ESTATE, "g2", "王主管", "B002", "5678", Role.SUPERVISOR)
        for username, name, role, _what in STAFF:
            add_staff(conn, ESTATE, username, name, DEMO_PASSWORD, role, clock=et.clock)
        for gate_id, label in (("north", "北门"), ("south", "南门")):
            credential = add_gate(conn, ESTATE, gate_id, label, clock=et.clock)
            path = folder / "credentials" / f"{gate_id}.credential"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(credential + "\n")
            path.chmod(0o600)
            credentials[gate_id] = path
        # The gates were installed a month ago: yesterday's rows are inside their registration.
        conn.execute(update(schema.gates).where(schema.gates.c.estate == ESTATE).values(
            created_at=(now - timedelta(days=30)).isoformat()))

        def slip(kind: SlipKind, unit: str, applicant: str, items: list[SlipItem], start: datetime, hours: int,
                 approvals: list[Approval], **kw: Any) -> str:
            req = SlipRequest(kind=kind, unit_id=unit, applicant_name=applicant, mover_name=kw.pop("mover", applicant),
                              items=items, valid_from=start, valid_until=start + timedelta(hours=hours),
                              approvals=approvals, **kw)
            return issue_slip(conn, ESTATE, req, private=private, hmac_key=hmac_key, out_dir=folder / "slips",
                              now=now).slip_id

        owner = [Approval(ApprovalRole.HANDLER, "前台小李", now), Approval(ApprovalRole.BUTLER_HEAD, "管家王主管", now)]
        slips["released_yesterday"] = slip(SlipKind.OWNER, "3-2-1502", "张三", _items(("冰箱", 1, "180cm"), ("纸箱", 3, "")),
                                           yesterday.replace(hour=8, minute=0), 12, owner, purpose="搬家")
        slips["issued"] = slip(SlipKind.OWNER, "3-2-1601", "李梅", _items(("沙发", 1, "2m"), ("书柜", 1, "")),
                               now.replace(hour=8, minute=0, second=0), 36, owner, applicant_phone="13800000000")
        slips["pending"] = make_pending_slip(conn, ESTATE, SlipRequest(
            kind=SlipKind.TENANT, unit_id="8-1-1201", applicant_name="赵六", mover_name="搬家公司陈师傅",
            items=_items(("洗衣机", 1, "60x60x85cm")), valid_from=now + timedelta(days=1),
            valid_until=now + timedelta(days=1, hours=10),
            approvals=[Approval(ApprovalRole.HANDLER, "前台小李", now), Approval(ApprovalRole.OWNER_CONSENT, "业主孙先生", now)]),
            hmac_key=hmac_key, now=now)
        slips["commercial"] = _commercial_tenant(conn, now, hmac_key, et.clock)
        gates = {r["gate_id"]: dict(r) for r in conn.execute(select(schema.gates).where(schema.gates.c.estate == ESTATE))
                 .mappings()}
        y = yesterday.replace(hour=9, minute=12, second=0)
        north: list[LogEntry] = []
        for entry in (
            LogEntry(EntryKind.SHIFT_START, y.replace(hour=8, minute=0), guard_id="g1"),
            LogEntry(EntryKind.CARD_PASS, y.replace(hour=8, minute=41), guard_id="g1", card_uid="04A1B2C3",
                     reasons=("card.valid",)),
            LogEntry(EntryKind.RELEASE, y, guard_id="g1", slip_id=slips["released_yesterday"], reasons=("slip.valid",)),
            LogEntry(EntryKind.REFUSAL, y.replace(hour=15, minute=3), guard_id="g1", slip_id=slips["issued"],
                     reasons=("slip.items_mismatch",), detail={"mismatch": "extra_items"}),
            LogEntry(EntryKind.CARD_DENIED, now.replace(hour=7, minute=55, second=0), guard_id="g1", card_uid="FFEE0102",
                     reasons=("card.unknown",)),
            LogEntry(EntryKind.OVERRIDE, now.replace(hour=7, minute=58, second=0), guard_id="g1", slip_id=slips["issued"],
                     reasons=("slip.outside_hours",), detail={"supervisor_id": "g2", "override_reason": "emergency",
                                                              "guard_on_shift": "g1", "flagged": True}),
        ):
            north.append(entry)
        south = [LogEntry(EntryKind.REPORT, now.replace(hour=7, minute=30, second=0), guard_id="g1",
                          detail={"report": "suspicious_person", "scene": "idle"})]
        for gate_id, entries in (("north", north), ("south", south)):
            ingest(conn, gates[gate_id], chained(gate_id, entries), clock=et.clock)
    engine.dispose()
    return DemoOffice(replace(cfg), credentials, slips)


def _specimen(kind: str) -> bytes:
    """A demo seal (red ring and star) or signature (a scrawl), as a desk scanner might save one."""
    import io

    from PIL import Image, ImageDraw

    if kind == "seal":
        img = Image.new("RGB", (200, 200), "white")
        draw = ImageDraw.Draw(img)
        draw.ellipse((20, 20, 180, 180), outline=(210, 40, 40), width=7)
        draw.polygon([(100, 50), (112, 88), (150, 88), (119, 110), (131, 148), (100, 125), (69, 148), (81, 110),
                      (50, 88), (88, 88)], fill=(210, 40, 40))
    else:
        img = Image.new("RGB", (260, 90), "white")
        ImageDraw.Draw(img).line([(20, 60), (60, 20), (90, 70), (140, 25), (180, 65), (240, 30)], fill=(30, 30, 30),
                                 width=3)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _commercial_tenant(conn: Any, now: datetime, hmac_key: bytes, clock: Clock) -> str:
    """A shop unit whose tenant filed its release memo (R-WK-033), and a slip checked against it, pending."""
    add_unit(conn, ESTATE, "12-0101")
    register_memo(conn, ESTATE, unit_id="12-0101", company="深圳市星河贸易有限公司",
                  people=[MemoPerson("王建国", "13800000001"), MemoPerson("李娜")],
                  seal=(_specimen("seal"), "image/png"), signatures=[(_specimen("signature"), "image/png")],
                  signed_on=now.date() - timedelta(days=90), valid_until=None, by="qiantai", today=now.date(),
                  clock=clock)
    return make_pending_slip(conn, ESTATE, SlipRequest(
        kind=SlipKind.OWNER, unit_id="12-0101", applicant_name="王建国", mover_name="王建国",
        items=_items(("办公桌", 2, "160x80cm"), ("文件柜", 1, "")), valid_from=now + timedelta(days=1),
        valid_until=now + timedelta(days=1, hours=10), approvals=[Approval(ApprovalRole.HANDLER, "前台小李", now)],
        seal_checked=True), hmac_key=hmac_key, now=now)


def banner(demo: DemoOffice, url: str) -> str:
    lines = [f"gatepass demo office: {ESTATE_NAME} ({ESTATE}), database {demo.cfg.database.url}",
             f"  console: {url}/console   (sign in with any account below, password: {DEMO_PASSWORD})"]
    lines += [f"    {u:<8} {name:<8} {role:<12} {what}" for u, name, role, what in STAFF]
    lines += [f"  slips: {', '.join(f'{k} {v}' for k, v in demo.slips.items())}",
              f"  gate credentials: {', '.join(str(p) for p in demo.credentials.values())}",
              "  a demo only: every account has the same password."]
    return "\n".join(lines)
