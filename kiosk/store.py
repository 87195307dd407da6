"""The gate's local replica: what the office knows, synced down, read by the kiosk.

Single writer per SQLite file: the sync daemon (or `gatepass demo-data`) writes the
replica; the kiosk only reads it. The exit log lives in its own file
(kiosk/exitlog.py), written only by the kiosk. Migrations run at open.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database, Migrations

from domain.errors import StoreError
from domain.model import (
    Approval,
    ApprovalRole,
    Consumption,
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
    Unit,
)
from domain.rules import card_permit

replica_migrations = Migrations("gatepass.replica")

#: Tables the office syncs down, with their primary keys (sync/ writes them by these).
REPLICA_TABLES: dict[str, tuple[str, ...]] = {
    "units": ("unit_id",),
    "permits": ("permit_id",),
    "slips": ("slip_id",),
    "slip_items": ("slip_id", "line"),
    "guards": ("guard_id",),
    "signing_keys": ("key_id",),
    "rules": ("name",),
    "consumed_slips": ("slip_id", "gate_id"),
    "photos": ("photo_id",),
}


@replica_migrations()
def m001_replica(db: Database) -> None:
    db.table("units").create(
        {"unit_id": str, "building": str, "room": str, "unpaid_fees": int}, pk="unit_id"
    )
    db.table("permits").create(
        {
            "permit_id": str, "card_uid": str, "kind": str, "holder_name": str, "id_masked": str,
            "id_hash": str, "photo": str, "phone": str, "unit_id": str, "valid_from": str,
            "valid_until": str, "status": str,
        },
        pk="permit_id",
    )
    db.table("permits").create_index(["card_uid"])
    db.table("permits").create_index(["id_hash"])
    db.table("slips").create(
        {
            "slip_id": str, "kind": str, "unit_id": str, "applicant_name": str, "applicant_phone": str,
            "mover_name": str, "mover_id_masked": str, "mover_id_hash": str, "mover_photo": str,
            "mover_permit_id": str, "purpose": str, "valid_from": str, "valid_until": str,
            "status": str, "exit_gate_id": str, "approvals": str, "items_digest": str,
        },
        pk="slip_id",
    )
    db.table("slip_items").create(
        {"slip_id": str, "line": int, "name": str, "quantity": int, "spec": str}, pk=("slip_id", "line")
    )
    db.table("guards").create(
        {"guard_id": str, "name": str, "badge_uid": str, "pin_hash": str, "role": str, "active": int},
        pk="guard_id",
    )
    db.table("guards").create_index(["badge_uid"])
    db.table("signing_keys").create({"key_id": str, "public_key": str, "revoked": int}, pk="key_id")
    db.table("rules").create({"name": str, "value": str}, pk="name")
    db.table("consumed_slips").create({"slip_id": str, "gate_id": str, "at": str}, pk=("slip_id", "gate_id"))
    db.table("photos").create({"photo_id": str, "mime": str, "data": bytes}, pk="photo_id")
    db.table("replica_meta").create({"name": str, "value": str}, pk="name")


@replica_migrations()
def m002_permit_replaces(db: Database) -> None:
    """A replacement card names the permit it replaces (shown at the gate and in its log row)."""
    db.table("permits").add_column("replaces", str, not_null_default="")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def open_database(path: str | Path, *, create: bool = True) -> Database:
    """Open a SQLite file in WAL mode with a busy timeout that covers one frame."""
    p = Path(path)
    if not create and not p.exists():
        raise StoreError(f"{p}: database not found")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(p), timeout=0.05, isolation_level=None, check_same_thread=False)
        db = Database(conn)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        return db
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{p}: cannot open database: {exc}") from None
    except OSError as exc:
        raise StoreError(f"{p}: cannot open database: {exc.strerror}") from None


class Replica:
    """Read side for the kiosk; write helpers for the one writer (sync daemon, demo data)."""

    def __init__(self, db: Database, path: str = ":memory:") -> None:
        self.db = db
        self.path = path
        try:
            replica_migrations.apply(db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot migrate replica: {exc}") from None

    @classmethod
    def open(cls, path: str | Path) -> Replica:
        return cls(open_database(path), str(path))

    @classmethod
    def memory(cls) -> Replica:
        return cls(Database(memory=True))

    # ------------------------------------------------------------- reads

    def permit_by_card(self, uid: str) -> Permit | None:
        """The permit that speaks for this card when the UID is on several (domain.rules.card_permit)."""
        return card_permit(_permit(r) for r in self.db.query("select * from permits where card_uid = ?", [uid]))

    def guard_by_badge(self, uid: str) -> Guard | None:
        rows = list(self.db.query("select * from guards where badge_uid = ? and active = 1 limit 1", [uid]))
        return _guard(rows[0]) if rows else None

    def guard(self, guard_id: str) -> Guard | None:
        rows = list(self.db.query("select * from guards where guard_id = ?", [guard_id]))
        return _guard(rows[0]) if rows else None

    def slip(self, slip_id: str) -> tuple[Slip, str] | None:
        """The slip and the digest of its item list as the office computed it."""
        rows = list(self.db.query("select * from slips where slip_id = ?", [slip_id]))
        if not rows:
            return None
        items = [
            SlipItem(r["name"], int(r["quantity"]), r["spec"] or "")
            for r in self.db.query("select * from slip_items where slip_id = ? order by line", [slip_id])
        ]
        return _slip(rows[0], items), rows[0]["items_digest"] or ""

    def unit(self, unit_id: str) -> Unit | None:
        rows = list(self.db.query("select * from units where unit_id = ?", [unit_id]))
        if not rows:
            return None
        r = rows[0]
        return Unit(r["unit_id"], r["building"], r["room"], bool(r["unpaid_fees"]))

    def consumptions(self, slip_id: str) -> list[Consumption]:
        return [
            Consumption(r["slip_id"], r["gate_id"], _dt(r["at"]))
            for r in self.db.query("select * from consumed_slips where slip_id = ? order by at", [slip_id])
        ]

    def signing_keys(self) -> dict[str, bytes]:
        import base64

        return {
            r["key_id"]: base64.b64decode(r["public_key"])
            for r in self.db.query("select * from signing_keys where revoked = 0")
        }

    def revoked_key_ids(self) -> frozenset[str]:
        """Keys the office has revoked: refused even where the gate's key folder still has them."""
        return frozenset(r["key_id"] for r in self.db.query("select key_id from signing_keys where revoked != 0"))

    def photo(self, photo_id: str) -> bytes | None:
        if not photo_id:
            return None
        rows = list(self.db.query("select data from photos where photo_id = ?", [photo_id]))
        return bytes(rows[0]["data"]) if rows else None

    def rule(self, name: str, default: Any = None) -> Any:
        rows = list(self.db.query("select value from rules where name = ?", [name]))
        return json.loads(rows[0]["value"]) if rows else default

    def meta(self, name: str, default: str | None = None) -> str | None:
        rows = list(self.db.query("select value from replica_meta where name = ?", [name]))
        return rows[0]["value"] if rows else default

    def counts(self) -> dict[str, int]:
        return {t: self.db[t].count for t in REPLICA_TABLES}

    # ------------------------------------------------------------- writes (one writer only)

    def upsert(self, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
        if table not in REPLICA_TABLES:
            raise StoreError(f"replica has no table {table!r}")
        self.db.table(table).upsert_all([dict(r) for r in rows], pk=REPLICA_TABLES[table])

    def delete(self, table: str, key: Mapping[str, Any]) -> None:
        pks = REPLICA_TABLES[table]
        where = " and ".join(f"[{k}] = ?" for k in pks)
        self.db.execute(f"delete from [{table}] where {where}", [key[k] for k in pks])

    def set_meta(self, name: str, value: str) -> None:
        self.db.table("replica_meta").upsert({"name": name, "value": value}, pk="name")


# ------------------------------------------------------------- row <-> domain


def permit_row(p: Permit) -> dict[str, Any]:
    return {
        "permit_id": p.permit_id, "card_uid": p.card_uid, "kind": p.kind.value,
        "holder_name": p.holder.name, "id_masked": p.holder.id_masked, "id_hash": p.holder.id_hash,
        "photo": p.holder.photo, "phone": p.holder.phone, "unit_id": p.unit_id,
        "valid_from": p.valid_from.isoformat(), "valid_until": p.valid_until.isoformat(),
        "status": p.status.value, "replaces": p.replaces,
    }


def _permit(r: Mapping[str, Any]) -> Permit:
    return Permit(
        permit_id=r["permit_id"], card_uid=r["card_uid"], kind=PermitKind(r["kind"]),
        holder=Person(r["holder_name"], r["id_masked"] or "", r["id_hash"] or "", r["photo"] or "", r["phone"] or ""),
        unit_id=r["unit_id"], valid_from=_dt(r["valid_from"]), valid_until=_dt(r["valid_until"]),
        status=PermitStatus(r["status"]), replaces=r.get("replaces") or "",
    )


def guard_row(g: Guard) -> dict[str, Any]:
    return {
        "guard_id": g.guard_id, "name": g.name, "badge_uid": g.badge_uid, "pin_hash": g.pin_hash,
        "role": g.role.value, "active": int(g.active),
    }


def _guard(r: Mapping[str, Any]) -> Guard:
    return Guard(r["guard_id"], r["name"], r["badge_uid"], r["pin_hash"], Role(r["role"]), bool(r["active"]))


def slip_rows(s: Slip, items_digest: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    row = {
        "slip_id": s.slip_id, "kind": s.kind.value, "unit_id": s.unit_id,
        "applicant_name": s.applicant.name, "applicant_phone": s.applicant.phone,
        "mover_name": s.mover.name, "mover_id_masked": s.mover.id_masked, "mover_id_hash": s.mover.id_hash,
        "mover_photo": s.mover.photo, "mover_permit_id": s.mover_permit_id, "purpose": s.purpose,
        "valid_from": s.valid_from.isoformat(), "valid_until": s.valid_until.isoformat(),
        "status": s.status.value, "exit_gate_id": s.exit_gate_id,
        "approvals": json.dumps(
            [{"role": a.role.value, "name": a.name, "at": a.at.isoformat() if a.at else None} for a in s.approvals],
            ensure_ascii=False,
        ),
        "items_digest": items_digest,
    }
    items = [
        {"slip_id": s.slip_id, "line": i, "name": it.name, "quantity": it.quantity, "spec": it.spec}
        for i, it in enumerate(s.items)
    ]
    return row, items


def _slip(r: Mapping[str, Any], items: list[SlipItem]) -> Slip:
    approvals = tuple(
        Approval(ApprovalRole(a["role"]), a["name"], _dt(a["at"]) if a.get("at") else None)
        for a in json.loads(r["approvals"] or "[]")
    )
    return Slip(
        slip_id=r["slip_id"], kind=SlipKind(r["kind"]), unit_id=r["unit_id"],
        applicant=Person(r["applicant_name"], phone=r["applicant_phone"] or ""),
        mover=Person(r["mover_name"], r["mover_id_masked"] or "", r["mover_id_hash"] or "", r["mover_photo"] or ""),
        items=tuple(items), valid_from=_dt(r["valid_from"]), valid_until=_dt(r["valid_until"]),
        purpose=r["purpose"] or "", approvals=approvals, status=SlipStatus(r["status"]),
        mover_permit_id=r["mover_permit_id"] or "", exit_gate_id=r["exit_gate_id"] or "",
    )
