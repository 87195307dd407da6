"""The office database in SQLAlchemy Core: portable between SQLite and PostgreSQL.

Entity tables mirror the gate's replica tables (kiosk/store.py) with an ``estate``
column in front, so that a write to one of them becomes a replica change with no
translation. ``changes`` holds, per estate, the latest change of every replicated
row under a monotonic sequence number; gates pull ``seq > cursor``.

These tables are what the code expects; office/migrations/ is what makes them. A change
here needs a new revision there (tests/office/test_migrations.py compares the two).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from domain.exitrow import ROW_FIELDS, RowField, encode_value

metadata = MetaData()


def _key(name: str, length: int = 64) -> Column:
    return Column(name, String(length), primary_key=True)


estates = Table(
    "estates", metadata,
    _key("estate_id", 32),
    Column("name", Text, nullable=False, default=""),
    # The last change sequence number handed out in this estate; writers lock this row,
    # so sequence order is commit order and a pulling gate never skips a change.
    Column("change_seq", BigInteger, nullable=False, default=0),
    # Random id of this office database: a gate that sees a new epoch pulls from zero.
    Column("epoch", String(32), nullable=False),
)

changes = Table(
    "changes", metadata,
    Column("seq", BigInteger, nullable=False, autoincrement=False),
    Column("estate", String(32), nullable=False),
    Column("tbl", String(32), nullable=False),
    Column("pk", Text, nullable=False),          # JSON list of the key values
    Column("op", String(8), nullable=False),      # "upsert" | "delete"
    Column("body", Text),                         # JSON of the replica row; NULL for a tombstone
    # Sequence numbers are per estate (estates.change_seq); a gate pulls in this order.
    PrimaryKeyConstraint("estate", "seq"),
    UniqueConstraint("estate", "tbl", "pk", name="changes_one_per_row"),
)

units = Table(
    "units", metadata,
    _key("estate", 32), _key("unit_id", 10),
    Column("building", Text, nullable=False, default=""),
    Column("room", Text, nullable=False, default=""),
    Column("unpaid_fees", Integer, nullable=False, default=0),
)

permits = Table(
    "permits", metadata,
    _key("estate", 32), _key("permit_id", 32),
    Column("card_uid", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("holder_name", Text, nullable=False),
    Column("id_masked", Text, nullable=False, default=""),
    Column("id_hash", String(64), nullable=False, default=""),
    Column("photo", String(64), nullable=False, default=""),
    Column("phone", Text, nullable=False, default=""),
    Column("unit_id", String(10), nullable=False),
    Column("valid_from", String(40), nullable=False),
    Column("valid_until", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("replaces", String(32), nullable=False, default="", server_default=""),   # a replacement card's old permit
    Index("permits_by_card", "estate", "card_uid"),
)

slips = Table(
    "slips", metadata,
    _key("estate", 32), _key("slip_id", 10),
    Column("kind", String(16), nullable=False),
    Column("unit_id", String(10), nullable=False),
    Column("applicant_name", Text, nullable=False),
    Column("applicant_phone", Text, nullable=False, default=""),
    Column("mover_name", Text, nullable=False),
    Column("mover_id_masked", Text, nullable=False, default=""),
    Column("mover_id_hash", String(64), nullable=False, default=""),
    Column("mover_photo", String(64), nullable=False, default=""),
    Column("mover_permit_id", String(32), nullable=False, default=""),
    Column("purpose", Text, nullable=False, default=""),
    Column("valid_from", String(40), nullable=False),
    Column("valid_until", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("exit_gate_id", String(6), nullable=False, default=""),
    Column("approvals", Text, nullable=False, default="[]"),
    Column("items_digest", String(16), nullable=False),
)

slip_items = Table(
    "slip_items", metadata,
    _key("estate", 32), _key("slip_id", 10),
    Column("line", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("spec", Text, nullable=False, default=""),
)

#: Proof attached to a slip at the front desk (收据 receipt, 发票 invoice, 授权书 authorisation letter,
#: 其他 other; domain/issuing.py PROOF_KINDS), n-th of its slip: office-only, never sent to a gate
#: (not in REPLICATED). Checked by office/attachments.py; made by Alembic revision 0011.
slip_attachments = Table(
    "slip_attachments", metadata,
    _key("estate", 32), _key("slip_id", 10),
    Column("n", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("filename", Text, nullable=False),
    Column("mime", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("uploaded_by", String(32), nullable=False),
    Column("at", String(40), nullable=False),
)

guards = Table(
    "guards", metadata,
    _key("estate", 32), _key("guard_id", 32),
    Column("name", Text, nullable=False),
    Column("badge_uid", String(64), nullable=False),
    Column("pin_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("active", Integer, nullable=False, default=1),
)

signing_keys = Table(
    "signing_keys", metadata,
    _key("estate", 32), _key("key_id", 8),
    Column("public_key", Text, nullable=False),
    Column("revoked", Integer, nullable=False, default=0),
)

rules = Table(
    "rules", metadata,
    _key("estate", 32), _key("name", 64),
    Column("value", Text, nullable=False),
)

consumed_slips = Table(
    "consumed_slips", metadata,
    _key("estate", 32), _key("slip_id", 10), _key("gate_id", 6),
    Column("at", String(40), nullable=False),
)

photos = Table(
    "photos", metadata,
    _key("estate", 32), _key("photo_id", 64),
    Column("mime", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

#: The public slip keys of the office's OTHER estates, replicated to each estate's gates so that
#: a gate can tell a genuine slip of another estate (refused: slip.other_estate) from a forgery.
#: Never trusted to release. Kept by office/records.py publish_other_estate_keys.
other_estate_keys = Table(
    "other_estate_keys", metadata,
    _key("estate", 32), _key("key_id", 8),
    Column("key_estate", String(32), nullable=False),
    Column("public_key", Text, nullable=False),
)

#: Commercial tenants' release memos (租户室内物品放行备忘表, form R-WK-033) on file at the front desk, with who
#: may apply for the tenant's slips (``people``: JSON list of {"name", "phone"}). Office-only: never
#: replicated (a gate checks the slip, not the memo). office/memos.py; revision 0012.
tenant_memos = Table(
    "tenant_memos", metadata,
    Column("memo_id", Integer, primary_key=True, autoincrement=True),
    Column("estate", String(32), nullable=False),
    Column("unit_id", String(10), nullable=False),
    Column("company", Text, nullable=False),
    Column("people", Text, nullable=False, default="[]"),
    Column("signed_on", String(10), nullable=False),          # ISO date the tenant signed
    Column("valid_until", String(10), nullable=False, default=""),   # last day in force; "" until withdrawn
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(32), nullable=False),
    Column("withdrawn_at", String(40)),                       # NULL: not withdrawn
    Column("withdrawn_by", String(32)),
    Index("tenant_memos_by_unit", "estate", "unit_id"),
)

#: A memo's specimen seal (公章 / 放行专用章) and signatures, as uploaded (PNG or JPEG, office/photos.py checks).
#: Not in ``photos``: that table is replicated to the gates.
memo_images = Table(
    "memo_images", metadata,
    Column("image_id", Integer, primary_key=True, autoincrement=True),
    Column("estate", String(32), nullable=False),
    Column("memo_id", Integer, nullable=False),
    Column("kind", String(16), nullable=False),               # "seal" | "signature"
    Column("mime", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index("memo_images_by_memo", "estate", "memo_id"),
)

#: Units of a commercial or office tenant (商业/写字楼): their slips need a memo in force (domain/issuing.py
#: memo_problems). Marked when a memo is registered; a unit stays marked when its memo is withdrawn, until
#: the front desk says it is residential again. Office-only.
commercial_units = Table(
    "commercial_units", metadata,
    _key("estate", 32), _key("unit_id", 10),
    Column("marked_at", String(40), nullable=False),
    Column("marked_by", String(32), nullable=False),
)

#: A commercial unit's slip: the memo its seal and signature were checked against, and by whom (the
#: clerk's tick 印鉴已与备忘表核对). Office-only: the token and what replicates do not change.
slip_memo_checks = Table(
    "slip_memo_checks", metadata,
    _key("estate", 32), _key("slip_id", 10),
    Column("memo_id", Integer, nullable=False),
    Column("checked_by", Text, nullable=False),
    Column("checked_at", String(40), nullable=False),
)

#: Replicated tables by name, as the gate's replica names them.
REPLICATED: dict[str, Table] = {
    t.name: t for t in (units, permits, slips, slip_items, guards, signing_keys, rules, consumed_slips, photos,
                        other_estate_keys)
}

#: Gates are named within their estate: estates west and default may each have a gate "north".
gates = Table(
    "gates", metadata,
    Column("gate_id", String(6), nullable=False),
    Column("estate", String(32), nullable=False),
    Column("name", Text, nullable=False, default=""),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    # The last exit-log row accepted from this gate: the chain continues from here.
    Column("head_seq", BigInteger, nullable=False, default=0),
    Column("head_hash", String(64), nullable=False),
    Column("last_seen", String(40)),
    Column("heartbeat", Text),                    # JSON of the last heartbeat
    PrimaryKeyConstraint("estate", "gate_id", name="gates_pkey"),
)

def _row_column(f: RowField, **kw: Any) -> Column:
    """A column of the events table for one field of the exit-log row (domain/exitrow.py)."""
    sql_type: Any = {"bigint": BigInteger, "varchar": String(f.max_length), "text": Text, "json": Text,
                "flag": Integer}[f.sql]
    if not f.required:
        kw.setdefault("default", encode_value(f, f.default))
    if f.sql == "bigint" and kw.get("primary_key"):
        kw.setdefault("autoincrement", False)
    return Column(f.name, sql_type, nullable=False, **kw)


_row = {f.name: f for f in ROW_FIELDS}
_keys = ("gate_id", "seq", "event_id")

#: Every exit-log row the office accepted: the row's own fields, plus its estate and when it arrived.
#: A row is its gate's (estate, gate_id) row number seq.
events = Table(
    "events", metadata,
    _row_column(_row["gate_id"]),
    _row_column(_row["seq"], autoincrement=False),
    _row_column(_row["event_id"], unique=True),
    Column("estate", String(32), nullable=False),
    *(_row_column(f) for f in ROW_FIELDS if f.name not in _keys),
    Column("received_at", String(40), nullable=False),
    # A row recorded before its gate's clock was synced, re-dated from an anchor of the same boot
    # (domain/boottime.py, boot_anchors): the corrected time and what it came from. ``at`` keeps
    # what the gate sent (its hash covers it); NULL: not re-dated.
    Column("at_redated", String(40)),
    Column("redated_by", String(40)),
    PrimaryKeyConstraint("estate", "gate_id", "seq", name="events_pkey"),
    Index("events_by_estate_at", "estate", "at"),
    Index("events_by_estate_redated", "estate", "at_redated"),
    Index("events_by_boot", "estate", "gate_id", "boot_id"),
)

#: The first time each boot of each gate was seen with its clock synced (a row or a heartbeat):
#: what re-dates that boot's rows recorded before the sync (domain/boottime.py).
boot_anchors = Table(
    "boot_anchors", metadata,
    Column("estate", String(32), primary_key=True),
    Column("gate_id", String(6), primary_key=True),
    Column("boot_id", String(36), primary_key=True),
    Column("boottime_ms", BigInteger, nullable=False),
    Column("at", String(40), nullable=False),           # the gate's synced wall time at boottime_ms
    Column("source", String(40), nullable=False),       # "row 12" | "heartbeat"
    Column("recorded_at", String(40), nullable=False),
)

#: Rows that arrived ahead of a gap in a gate's chain: kept, not accepted, until the gap fills.
held_events = Table(
    "held_events", metadata,
    Column("gate_id", String(6), nullable=False),
    Column("seq", BigInteger, nullable=False, autoincrement=False),
    Column("body", Text, nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("estate", String(32), nullable=False, server_default=""),
    PrimaryKeyConstraint("estate", "gate_id", "seq", name="held_events_pkey"),
)

flags = Table(
    "flags", metadata,
    Column("flag_id", Integer, primary_key=True, autoincrement=True),
    Column("estate", String(32), nullable=False),
    Column("gate_id", String(6), nullable=False, default=""),
    Column("kind", String(24), nullable=False),   # office/console/labels.py FLAG_KINDS
    Column("seq", BigInteger),
    Column("slip_id", String(10), nullable=False, default=""),
    Column("message", Text, nullable=False),
    Column("detail", Text, nullable=False, default="{}"),
    Column("dedupe_key", String(200), nullable=False, unique=True),   # begins with the estate: office/ingest.py raise_flag
    Column("raised_at", String(40), nullable=False),
    Column("resolved_at", String(40)),
)
