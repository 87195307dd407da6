"""Demo data: a believable estate to walk the gate through without an office.

`build_demo` makes a replica with residents (Chinese names, buildings and units),
guards with badges and PINs, permits of every state, slips of every kind and every
way a slip can be refused, their QR codes as PNG files, and an office key pair.
It is the office's signing code (domain/slip_token.py) that mints the slips, so
demo slips verify exactly like real ones.
"""
from __future__ import annotations

import base64
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from domain import keyfiles as keyring
from domain import slip_token
from domain.model import (
    REQUIRED_APPROVALS,
    Approval,
    ApprovalRole,
    Guard,
    Permit,
    PermitKind,
    PermitStatus,
    Person,
    Role,
    Slip,
    SlipItem,
    SlipKind,
    SlipStatus,
    TokenClaims,
)
from domain.secrets import hash_pin, id_hash, mask_id
from kiosk.store import ESTATE_META, Replica, guard_row, permit_row, slip_rows

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍鹏辉建华红梅飞"
         "鑫波宇浩凯婷雪琳晨阳欣怡子轩梓涵一诺浩然雨桐思远嘉怡俊杰志强海燕晓东文博佳琪")
ITEMS = [
    ("双人床垫", "1.8m×2.0m"), ("三人沙发", "2.1m 布艺"), ("冰箱", "海尔 BCD-470 双开门"), ("洗衣机", "滚筒 10kg"),
    ("书柜", "1.2m×2.0m 实木"), ("电脑主机", "台式"), ("餐桌", "1.4m 实木 含四把椅子"), ("纸箱", "60×40×40cm"),
    ("电视机", "65英寸"), ("空调外机", "格力 1.5匹"), ("钢琴", "立式 雅马哈 U1"), ("办公桌", "1.6m 钢木"),
    ("装修废料", "编织袋装"), ("电动工具箱", "切割机 电钻"), ("文件柜", "四抽屉 铁皮"), ("打印机", "激光 A3"),
]
DEMO_GATE = "north"
OTHER_GATE = "south"
#: The demo gate's estate, and another estate of the same office whose slip it refuses.
DEMO_ESTATE = "demo"
OTHER_ESTATE = "east"
GUARD_SEED = [
    ("G001", "刘建国", "7F00000001", "1234", Role.GUARD),
    ("G002", "陈晓东", "7F00000002", "2468", Role.GUARD),
    ("S001", "王海燕", "7F00000009", "9999", Role.SUPERVISOR),
]


@dataclass
class Demo:
    data_dir: Path
    replica_path: Path
    exit_log_path: Path
    keys_dir: Path
    qr_dir: Path
    now: datetime
    cards: dict[str, str] = field(default_factory=dict)
    guards: list[tuple[str, str, str, str]] = field(default_factory=list)   # badge, pin, role, name
    slips: dict[str, str] = field(default_factory=dict)
    public_keys: dict[str, bytes] = field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        return {
            "replica": str(self.replica_path), "exit_log": str(self.exit_log_path), "keys": str(self.keys_dir),
            "qr_codes": str(self.qr_dir), "now": self.now.isoformat(), "cards": self.cards,
            "guards": [{"badge": b, "pin": p, "role": r, "name": n} for b, p, r, n in self.guards],
            "slips": self.slips,
        }


def default_now() -> datetime:
    """A working-day morning in the estate's zone: demo slips are valid and within hours."""
    tz = timezone(timedelta(hours=8))
    return datetime(2026, 11, 25, 10, 0, tzinfo=tz)   # a Wednesday


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
    return rng.choice(SURNAMES) + given


def _id_number(rng: random.Random, born_year: int) -> str:
    region = rng.choice(["440106", "440304", "310115", "110105", "510107", "330106"])
    birth = f"{born_year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = f"{region}{birth}{rng.randint(0, 999):03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]
    return body + check


def _photo_png(seed: int) -> bytes:
    """A plain head-and-shoulders placeholder, so the photo area shows something real."""
    import cv2
    import numpy as np

    rng = random.Random(seed)
    img = np.full((240, 180, 3), (235, 228, 220), np.uint8)
    colour = (rng.randint(40, 120), rng.randint(40, 120), rng.randint(60, 160))
    cv2.ellipse(img, (90, 250), (80, 70), 0, 180, 360, colour, -1)
    cv2.circle(img, (90, 105), 48, (182, 200, 226), -1)
    cv2.ellipse(img, (90, 80), (50, 30), 0, 180, 360, (40, 40, 50), -1)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return bytes(buf)


def _qr(text: str, path: Path) -> None:
    import segno

    segno.make(text, error="q", boost_error=False).save(str(path), scale=8, border=4)


def build_demo(data_dir: str | Path, permits: int = 200, now: datetime | None = None, seed: int = 7) -> Demo:
    """Write a demo replica, keys and slip QR codes under ``data_dir``; return the manifest."""
    rng = random.Random(seed)
    now = now or default_now()
    d = Path(data_dir)
    d.mkdir(parents=True, exist_ok=True)
    replica_path, keys_dir, qr_dir = d / "replica.db", d / "keys", d / "slips"
    for p in (replica_path, d / "replica.db-wal", d / "replica.db-shm"):
        p.unlink(missing_ok=True)
    qr_dir.mkdir(exist_ok=True)
    if not (keys_dir / keyring.PRIVATE_NAME).exists():
        keyring.new_keys(keys_dir)
    private = keyring.load_private(keys_dir)
    hmac_key = keyring.load_hmac_key(keys_dir)
    demo = Demo(d, replica_path, d / "exitlog.db", keys_dir, qr_dir, now)
    demo.public_keys = keyring.load_public_dir(keys_dir)
    replica = Replica.open(replica_path)
    db = replica.db
    db.conn.execute("begin")
    for kid, raw in demo.public_keys.items():
        replica.upsert("signing_keys", [{"key_id": kid, "public_key": base64.b64encode(raw).decode(), "revoked": 0}])

    # units and residents
    units: list[dict[str, Any]] = []
    for b in range(1, 13):
        for e in range(1, 3):
            for floor in range(2, 31, 3):
                for r in (1, 2):
                    room = f"{floor}{r:02d}"
                    units.append({"unit_id": f"{b}-{e}-{room}", "building": f"{b}栋{e}单元", "room": room, "unpaid_fees": 0})
    unpaid_unit = units[5]["unit_id"]
    units[5]["unpaid_fees"] = 1
    replica.upsert("units", units)

    photos: list[dict[str, Any]] = []
    permit_rows: list[dict[str, Any]] = []
    people: list[tuple[Permit, str]] = []
    special = ["valid", "mover", "expired", "lost", "revoked", "not_yet_valid", "temporary", "renovation"]
    for i in range(max(permits, len(special))):
        label = special[i] if i < len(special) else ""
        unit = units[(i * 7 + 11) % len(units)]["unit_id"] if label != "valid" else units[0]["unit_id"]
        id_number = _id_number(rng, rng.randint(1950, 2003))
        photo_id = f"P{i:06d}" if i < 60 else ""
        if photo_id:
            photos.append({"photo_id": photo_id, "mime": "image/png", "data": _photo_png(i)})
        kind, start, end, status = PermitKind.RESIDENT, now - timedelta(days=rng.randint(10, 300)), None, PermitStatus.ACTIVE
        if label == "expired":
            start = now - timedelta(days=400)
            end = now - timedelta(days=35)
        elif label == "lost":
            status = PermitStatus.LOST
        elif label == "revoked":
            status = PermitStatus.REVOKED
        elif label == "not_yet_valid":
            start = now + timedelta(days=2)
        elif label == "temporary":
            kind, start, end = PermitKind.TEMPORARY, now - timedelta(days=1), now + timedelta(days=2)
        elif label == "renovation":
            kind, end = PermitKind.RENOVATION, now + timedelta(days=45)
        elif i % 9 == 4:
            kind = PermitKind.STANDING_RELEASE
        end = end or start + timedelta(days=365)
        uid = f"{0x3C00000000 + i * 7919 + 17:010X}"
        permit = Permit(
            permit_id=f"R{i:06d}", card_uid=uid, kind=kind,
            holder=Person(_name(rng), mask_id(id_number), id_hash(hmac_key, id_number), photo_id,
                          f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}"),
            unit_id=unit, valid_from=start, valid_until=end, status=status,
        )
        permit_rows.append(permit_row(permit))
        people.append((permit, id_number))
        if label:
            demo.cards[label] = uid
    replica.upsert("photos", photos)
    for first in range(0, len(permit_rows), 5000):
        replica.upsert("permits", permit_rows[first:first + 5000])
    demo.cards["unknown"] = "0BADC0FFEE"

    guards = []
    for gid, name, badge, pin, role in GUARD_SEED:
        guards.append(guard_row(Guard(gid, name, badge, hash_pin(pin, secrets.token_bytes(8)), role)))
        demo.guards.append((badge, pin, role.value, name))
    replica.upsert("guards", guards)

    # slips: one per kind, plus one per way to be refused
    owner_permit, _ = people[0]
    mover_permit, _ = people[1]
    serial = 0

    def slip(label: str, kind: SlipKind, *, unit: str | None = None, start: datetime | None = None,
             end: datetime | None = None, status: SlipStatus = SlipStatus.ISSUED, exit_gate: str = "",
             approvals: tuple[ApprovalRole, ...] | None = None, synced: bool = True, key: Any = None,
             resident_mover: bool = False, n_items: int | None = None, estate: str = DEMO_ESTATE) -> str:
        nonlocal serial
        serial += 1
        slip_id = f"S{now:%y%m%d}{serial:03d}"
        start = start or now - timedelta(hours=2)
        end = end or now + timedelta(days=1)
        items = tuple(
            SlipItem(name, rng.randint(1, 3), spec) for name, spec in rng.sample(ITEMS, n_items or rng.randint(2, 4))
        )
        roles = REQUIRED_APPROVALS[kind] if approvals is None else approvals
        approvers = {r: _name(rng) for r in roles}
        if resident_mover:
            mover = mover_permit.holder
        else:
            mid = _id_number(rng, rng.randint(1965, 2000))
            mover = Person(_name(rng), mask_id(mid), id_hash(hmac_key, mid))
        s = Slip(
            slip_id=slip_id, kind=kind, unit_id=unit or owner_permit.unit_id,
            applicant=Person(owner_permit.holder.name, phone=owner_permit.holder.phone), mover=mover, items=items,
            valid_from=start, valid_until=end, purpose={SlipKind.MOVE_OUT: "迁出", SlipKind.CONTRACTOR: "装修清运"}.get(kind, "搬家"),
            approvals=tuple(Approval(r, approvers[r], start) for r in roles), status=status,
            mover_permit_id=mover_permit.permit_id if resident_mover else "", exit_gate_id=exit_gate,
        )
        digest = slip_token.items_digest(items)
        if synced:
            row, item_rows = slip_rows(s, digest)
            replica.upsert("slips", [row])
            replica.upsert("slip_items", item_rows)
        claims = TokenClaims(slip_id, kind, s.unit_id, start, end, len(items), digest, "", exit_gate)
        text = slip_token.sign(claims, key or private, estate)
        demo.slips[label] = text
        _qr(text, qr_dir / f"{label}.png")
        return slip_id

    slip("owner", SlipKind.OWNER, resident_mover=True)
    slip("tenant", SlipKind.TENANT)
    slip("non_owner", SlipKind.NON_OWNER)
    slip("contractor", SlipKind.CONTRACTOR)
    slip("move_out", SlipKind.MOVE_OUT, exit_gate=DEMO_GATE, n_items=4)
    slip("company", SlipKind.COMPANY_ASSETS)
    slip("not_synced", SlipKind.OWNER, synced=False)
    used = slip("used", SlipKind.OWNER)
    replica.upsert("consumed_slips", [{"slip_id": used, "gate_id": OTHER_GATE, "at": (now - timedelta(hours=1)).isoformat()}])
    slip("expired", SlipKind.OWNER, start=now - timedelta(days=5), end=now - timedelta(days=3))
    slip("not_yet_valid", SlipKind.OWNER, start=now + timedelta(days=1), end=now + timedelta(days=2))
    slip("cancelled", SlipKind.OWNER, status=SlipStatus.CANCELLED)
    slip("wrong_gate", SlipKind.MOVE_OUT, exit_gate=OTHER_GATE)
    slip("unpaid_fees", SlipKind.OWNER, unit=unpaid_unit)
    slip("approvals_missing", SlipKind.CONTRACTOR, approvals=(ApprovalRole.HANDLER, ApprovalRole.CUSTOMER_SERVICE))
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    slip("forged", SlipKind.OWNER, key=Ed25519PrivateKey.generate())
    # A genuine slip of another estate of the office, whose public key the office replicates here.
    other = Ed25519PrivateKey.generate()
    other_raw = slip_token.public_raw(other)
    replica.upsert("other_estate_keys", [{"key_id": slip_token.key_id_of(other_raw), "key_estate": OTHER_ESTATE,
                                          "public_key": base64.b64encode(other_raw).decode()}])
    slip("other_estate", SlipKind.OWNER, key=other, estate=OTHER_ESTATE, synced=False)
    good = demo.slips["owner"]
    flip = good[:-10] + ("A" if good[-10] != "A" else "B") + good[-9:]   # a byte of the signature
    demo.slips["tampered"] = flip
    _qr(flip, qr_dir / "tampered.png")
    db.conn.execute("commit")
    replica.set_meta("built_at", now.isoformat())
    replica.set_meta("last_pull_at", now.isoformat())
    replica.set_meta(ESTATE_META, DEMO_ESTATE)
    db.conn.close()
    return demo
