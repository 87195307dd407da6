"""Small builders of domain objects for table-driven core tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from domain.model import (
    REQUIRED_APPROVALS,
    Approval,
    Gate,
    Guard,
    LargeItemHours,
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
    Unit,
)
from domain.rules import SlipEvidence
from domain.secrets import hash_pin

TZ = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)     # a Wednesday morning
GATE = Gate("north", "北门", designated_exit=False)
HOURS = LargeItemHours()

GUARD = Guard("G1", "刘建国", "B1", hash_pin("1234", b"salt1234", 1000))
GUARD2 = Guard("G2", "陈晓东", "B2", hash_pin("2468", b"salt2468", 1000))
SUPERVISOR = Guard("S1", "王海燕", "B9", hash_pin("9999", b"salt9999", 1000), Role.SUPERVISOR)


def permit(status: PermitStatus = PermitStatus.ACTIVE, *, start: datetime | None = None,
           end: datetime | None = None, kind: PermitKind = PermitKind.RESIDENT, pid: str = "R1",
           id_hash: str = "h-mover") -> Permit:
    return Permit(pid, f"C{pid}", kind, Person("张伟", "4401**********123X", id_hash), "3-2-1502",
                  start or NOW - timedelta(days=30), end or NOW + timedelta(days=300), status)


def slip(kind: SlipKind = SlipKind.OWNER, *, status: SlipStatus = SlipStatus.ISSUED, start: datetime | None = None,
         end: datetime | None = None, roles=None, exit_gate: str = "", mover_permit: str = "R1",
         items: int = 2) -> Slip:
    roles = REQUIRED_APPROVALS[kind] if roles is None else roles
    return Slip(
        "S261125001", kind, "3-2-1502", Person("张伟"), Person("李强", "4401**********5678", "h-mover"),
        tuple(SlipItem(f"物品{i}", 1, "") for i in range(items)),
        start or NOW - timedelta(hours=1), end or NOW + timedelta(days=1),
        approvals=tuple(Approval(r, "审批人") for r in roles), status=status, mover_permit_id=mover_permit,
        exit_gate_id=exit_gate,
    )


def claims_of(s: Slip, digest: str = "00" * 8) -> TokenClaims:
    return TokenClaims(s.slip_id, s.kind, s.unit_id, s.valid_from, s.valid_until, len(s.items), digest, "k1",
                       s.exit_gate_id)


def evidence(s: Slip | None = None, *, unpaid: bool = False, consumptions=(), synced: bool = True,
             token_reason=None, hours: LargeItemHours = HOURS, digest: str = "00" * 8,
             replica_digest: str | None = None) -> SlipEvidence:
    s = s or slip()
    return SlipEvidence(
        text="GP1:TEST", token_reason=token_reason, claims=None if token_reason else claims_of(s, digest),
        slip=s if synced else None, unit=Unit("3-2-1502", "3栋2单元", "1502", unpaid) if synced else None,
        consumptions=tuple(consumptions), items_digest=(digest if replica_digest is None else replica_digest)
        if synced else "", hours=hours,
    )
