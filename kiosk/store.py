"""The gate's local replica: what the office knows, synced down, read by the kiosk.

Single writer per SQLite file: the sync daemon (or `gatepass demo-data`) writes the
replica; the kiosk only reads it. The exit log lives in its own file
(kiosk/exitlog.py), written only by the kiosk. Migrations run at open.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database, Migrations

from domain.errors import BadRecord, StoreError
from domain.instants import read_instant
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

log = logging.getLogger("gatepass.store")
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
    "other_estate_keys": ("key_id",),
}

#: replica_meta: the estate this gate belongs to, as the office's pull reply names it (the estate
#: its credential is for). Slips must be signed for this estate (domain/slip_token.py version 2).
ESTATE_META = "office_estate"
#: replica_meta: the last row of this gate's exit log the office holds, "<seq>:<hash>" (the pull reply's
#: gate_head): where a replaced gate's new, empty exit log continues the chain (kiosk/exitlog.py).
GATE_HEAD_META = "office_gate_head"


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


@replica_migrations()
def m003_other_estate_keys(db: Database) -> None:
    """Public slip keys of the office's other estates: a genuine slip of another estate is refused
    with its own reason (slip.other_estate), never trusted to release here."""
    db.table("other_estate_keys").create({"key_id": str, "key_estate": str, "public_key": str}, pk="key_id")


def _dt(text: str) -> datetime:
    return read_instant(text)


T = TypeVar("T")


def _read(table: str, key: object, convert: Callable[[], T]) -> T:
    """One synced row as a domain object, or BadRecord naming the table, the row and what is wrong.

    Whatever the office (or a broken sync) wrote, a row that does not convert is that
    row's problem, raised as one typed error the resolver turns into a refusal.
    """
    try:
        return convert()
    except BadRecord:
        raise
    except (KeyError, IndexError, ValueError, TypeError, OverflowError, AttributeError, RecursionError) as exc:
        problem = str(exc) if not isinstance(exc, KeyError) else f"missing field {exc}"
        raise BadRecord(table, str(key)[:64], f"{type(exc).__name__}: {problem[:200]}") from None


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of a replica file, or None for memory or a path not there."""
    if path == ":memory:":
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


#: How long a statement waits for another connection's write lock: one frame (the screen never waits longer).
BUSY_MS = 50
#: How long opening and migrating a file may wait: the kiosk and the sync daemon start together and
#: both open (and on a first start, make) the replica; the second waits for the first, never fails.
OPEN_BUSY_MS = 10_000


@contextmanager
def patient(db: Database) -> Iterator[None]:
    """Wait up to OPEN_BUSY_MS for locks while opening or migrating, then back to one frame."""
    db.execute(f"PRAGMA busy_timeout = {OPEN_BUSY_MS}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA busy_timeout = {BUSY_MS}")


def while_locked(step: Callable[[], Any]) -> Any:
    """Run ``step`` again while another opener holds the file's lock, for up to OPEN_BUSY_MS. SQLite
    answers some opening steps (the switch to WAL, a first BEGIN IMMEDIATE) with "database is locked"
    at once, without waiting in its busy handler."""
    deadline = time.monotonic() + OPEN_BUSY_MS / 1000
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def migrate(db: Database, migrations: Migrations) -> None:
    """Apply ``migrations`` as one writer: the whole check-and-apply holds the write lock (BEGIN
    IMMEDIATE, waiting up to OPEN_BUSY_MS), so two processes starting together on a new file do not
    both see a migration pending and collide; the second finds it applied."""
    with patient(db):
        while_locked(lambda: db.execute("BEGIN IMMEDIATE"))
        try:
            migrations.apply(db)            # each migration nests as a savepoint inside this transaction
        except BaseException:
            if db.conn.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def open_database(path: str | Path, *, create: bool = True) -> Database:
    """Open a SQLite file in WAL mode with a busy timeout that covers one frame (the opening itself
    may wait longer: see `patient`)."""
    p = Path(path)
    if not create and not p.exists():
        raise StoreError(f"{p}: database not found")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(p), timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
        db = Database(conn)
        with patient(db):
            while_locked(lambda: db.execute("PRAGMA journal_mode=WAL"))
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
        self._identity = _identity(path)
        try:
            migrate(db, replica_migrations)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot migrate replica: {exc}") from None

    @classmethod
    def open(cls, path: str | Path) -> Replica:
        return cls(open_database(path), str(path))

    def follow(self) -> bool:
        """Reopen the file if it was replaced on disk (deleted and rebuilt, or renamed over);
        True when it was. Called before each decision, so a revocation in a rebuilt replica
        counts at once instead of the kiosk reading the deleted file until a restart.

        While the path is missing (mid-rebuild) the open file is kept: the last data the
        gate had beats none.
        """
        if self._identity is None:
            return False
        now = _identity(self.path)
        if now is None or now == self._identity:
            return False
        try:
            db = open_database(self.path, create=False)
            migrate(db, replica_migrations)
        except (StoreError, sqlite3.DatabaseError) as exc:
            log.error("replica %s was replaced but cannot be opened: %s", self.path, exc)
            return False
        old, self.db, self._identity = self.db, db, now
        log.warning("replica %s was replaced on disk; reopened it", self.path)
        try:
            old.conn.close()
        except sqlite3.Error:
            pass
        return True

    @classmethod
    def memory(cls) -> Replica:
        return cls(Database(memory=True))

    # ------------------------------------------------------------- reads

    def permit_by_card(self, uid: str) -> Permit | None:
        """The permit that speaks for this card when the UID is on several (domain.rules.card_permit)."""
        permits = [_read("permits", r.get("permit_id"), lambda r=r: _permit(r))   # type: ignore[misc]
                   for r in self.db.query("select * from permits where card_uid = ?", [uid])]
        return card_permit(permits)

    def guard_by_badge(self, uid: str) -> Guard | None:
        rows = list(self.db.query("select * from guards where badge_uid = ? and active = 1 limit 1", [uid]))
        return _read("guards", rows[0].get("guard_id"), lambda: _guard(rows[0])) if rows else None

    def guard(self, guard_id: str) -> Guard | None:
        rows = list(self.db.query("select * from guards where guard_id = ?", [guard_id]))
        return _read("guards", guard_id, lambda: _guard(rows[0])) if rows else None

    def slip(self, slip_id: str) -> tuple[Slip, str] | None:
        """The slip and the digest of its item list as the office computed it."""
        rows = list(self.db.query("select * from slips where slip_id = ?", [slip_id]))
        if not rows:
            return None
        items = [
            _read("slip_items", f"{slip_id}/{r.get('line')}", lambda r=r: _slip_item(r))   # type: ignore[misc]
            for r in self.db.query("select * from slip_items where slip_id = ? order by line", [slip_id])
        ]
        return _read("slips", slip_id, lambda: (_slip(rows[0], items), _text(rows[0]["items_digest"])))

    def unit(self, unit_id: str) -> Unit | None:
        rows = list(self.db.query("select * from units where unit_id = ?", [unit_id]))
        if not rows:
            return None
        r = rows[0]
        return _read("units", unit_id, lambda: Unit(_str(r["unit_id"]), _text(r["building"]), _text(r["room"]),
                                                     bool(_int(r["unpaid_fees"]))))

    def consumptions(self, slip_id: str) -> list[Consumption]:
        return [
            _read("consumed_slips", f"{slip_id}/{r.get('gate_id')}",
                  lambda r=r: Consumption(_str(r["slip_id"]), _str(r["gate_id"]), _dt(r["at"])))   # type: ignore[misc]
            for r in self.db.query("select * from consumed_slips where slip_id = ? order by at", [slip_id])
        ]

    def signing_keys(self, bad: list[BadRecord] | None = None) -> dict[str, bytes]:
        """The office's public keys in force; a row that does not read is left out (and put on ``bad``)."""
        keys: dict[str, bytes] = {}
        for r in self.db.query("select * from signing_keys where revoked = 0"):
            try:
                keys[_str(r["key_id"])] = _read("signing_keys", r.get("key_id"), lambda r=r: _public_key(r))  # type: ignore[misc]
            except BadRecord as exc:
                if bad is not None:
                    bad.append(exc)
        return keys

    def other_estate_keys(self, bad: list[BadRecord] | None = None) -> dict[str, tuple[str, bytes]]:
        """Other estates' public keys: key id -> (estate, raw key); an unreadable row is left out (and put on ``bad``)."""
        keys: dict[str, tuple[str, bytes]] = {}
        for r in self.db.query("select * from other_estate_keys"):
            try:
                keys[_str(r["key_id"])] = _read("other_estate_keys", r.get("key_id"),
                                                lambda r=r: (_str(r["key_estate"]), _public_key(r)))  # type: ignore[misc]
            except BadRecord as exc:
                if bad is not None:
                    bad.append(exc)
        return keys

    def estate(self) -> str:
        """The estate this gate belongs to ("" until the first pull from the office)."""
        return self.meta(ESTATE_META) or ""

    def gate_head(self) -> tuple[int, str] | None:
        """The last row of this gate's chain the office holds, (seq, hash); None before a pull said so."""
        text = self.meta(GATE_HEAD_META) or ""
        seq, _, hash_ = text.partition(":")
        if not seq.isdigit() or len(hash_) != 64 or not all(c in "0123456789abcdef" for c in hash_):
            return None
        return int(seq), hash_

    def revoked_key_ids(self) -> frozenset[str]:
        """Keys the office has revoked: refused even where the gate's key folder still has them."""
        return frozenset(r["key_id"] for r in self.db.query("select key_id from signing_keys where revoked != 0"))

    def photo(self, photo_id: str) -> bytes | None:
        if not photo_id:
            return None
        rows = list(self.db.query("select data from photos where photo_id = ?", [photo_id]))
        data = rows[0]["data"] if rows else None
        return bytes(data) if isinstance(data, bytes | bytearray | memoryview) else None

    def rule(self, name: str, default: Any = None) -> Any:
        rows = list(self.db.query("select value from rules where name = ?", [name]))
        return _read("rules", name, lambda: json.loads(_str(rows[0]["value"]))) if rows else default

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


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError(f"expected text, found {type(v).__name__}")
    return v


def _text(v: Any) -> str:
    """An optional text column: NULL reads as empty."""
    return "" if v is None else _str(v)


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"expected an integer, found {type(v).__name__}")
    return v


def _slip_item(r: Mapping[str, Any]) -> SlipItem:
    quantity = _int(r["quantity"])
    if quantity < 0:
        raise ValueError(f"negative quantity {quantity}")
    return SlipItem(_str(r["name"]), quantity, _text(r["spec"]))


def _public_key(r: Mapping[str, Any]) -> bytes:
    import base64
    import binascii

    try:
        raw = base64.b64decode(_str(r["public_key"]), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"public key is not base64: {exc}") from None
    if len(raw) != 32:
        raise ValueError(f"public key is {len(raw)} bytes, an Ed25519 key is 32")
    return raw


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
        permit_id=_str(r["permit_id"]), card_uid=_str(r["card_uid"]), kind=PermitKind(r["kind"]),
        holder=Person(_str(r["holder_name"]), _text(r["id_masked"]), _text(r["id_hash"]), _text(r["photo"]),
                      _text(r["phone"])),
        unit_id=_text(r["unit_id"]), valid_from=_dt(r["valid_from"]), valid_until=_dt(r["valid_until"]),
        status=PermitStatus(r["status"]), replaces=_text(r.get("replaces")),
    )


def guard_row(g: Guard) -> dict[str, Any]:
    return {
        "guard_id": g.guard_id, "name": g.name, "badge_uid": g.badge_uid, "pin_hash": g.pin_hash,
        "role": g.role.value, "active": int(g.active),
    }


def _guard(r: Mapping[str, Any]) -> Guard:
    return Guard(_str(r["guard_id"]), _str(r["name"]), _str(r["badge_uid"]), _str(r["pin_hash"]), Role(r["role"]),
                 bool(_int(r["active"])))


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
    listed = json.loads(_text(r["approvals"]) or "[]")
    if not isinstance(listed, list):
        raise TypeError("approvals is not a list")
    approvals = tuple(
        Approval(ApprovalRole(a["role"]), _str(a["name"]), _dt(a["at"]) if a.get("at") else None)
        for a in listed
    )
    return Slip(
        slip_id=_str(r["slip_id"]), kind=SlipKind(r["kind"]), unit_id=_str(r["unit_id"]),
        applicant=Person(_text(r["applicant_name"]), phone=_text(r["applicant_phone"])),
        mover=Person(_text(r["mover_name"]), _text(r["mover_id_masked"]), _text(r["mover_id_hash"]), _text(r["mover_photo"])),
        items=tuple(items), valid_from=_dt(r["valid_from"]), valid_until=_dt(r["valid_until"]),
        purpose=_text(r["purpose"]), approvals=approvals, status=SlipStatus(r["status"]),
        mover_permit_id=_text(r["mover_permit_id"]), exit_gate_id=_text(r["exit_gate_id"]),
    )
