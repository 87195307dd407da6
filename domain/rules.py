"""Decisions on a card or a slip: pure functions of the facts and the time.

Each decision carries every reason that applies, the first being the one the
screen leads with, so the office log keeps the whole picture while the guard reads
one clear line.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.model import (
    MAX_PIN_FAILURES,
    PIN_LOCKOUT_MINUTES,
    REQUIRED_APPROVALS,
    TEMPORARY_PASS_MAX_DAYS,
    ApprovalRole,
    Consumption,
    Gate,
    Guard,
    LargeItemHours,
    Permit,
    PermitKind,
    PermitStatus,
    Role,
    Slip,
    SlipKind,
    SlipStatus,
    TokenClaims,
    Unit,
)
from domain.reasons import Reason


@dataclass(frozen=True)
class SlipEvidence:
    """Everything the gate knows about a scanned slip, gathered by the app.

    ``token_reason`` is None when the token verified; otherwise the reason it did not
    (malformed, unknown key, bad signature). ``slip``/``unit`` are None when the replica
    has not synced them yet.
    """

    text: str
    token_reason: Reason | None
    claims: TokenClaims | None = None
    slip: Slip | None = None
    unit: Unit | None = None
    consumptions: tuple[Consumption, ...] = ()
    items_digest: str = ""     # digest of the replica's item list, to compare with the token's
    hours: LargeItemHours = field(default_factory=LargeItemHours)
    bad_record: str = ""       # a replica row about this slip could not be read: what was wrong


@dataclass(frozen=True)
class CardDecision:
    reason: Reason
    permit: Permit | None
    days_left: int | None = None

    @property
    def allowed(self) -> bool:
        return self.reason is Reason.CARD_VALID


def effective_until(permit: Permit) -> datetime:
    """A temporary pass is never good for more than three days, whatever it says."""
    if permit.kind is PermitKind.TEMPORARY:
        return min(permit.valid_until, permit.valid_from + timedelta(days=TEMPORARY_PASS_MAX_DAYS))
    return permit.valid_until


#: Which of a card's permits speaks for it: an active one over a lost one over a revoked one.
_STATUS_RANK = {PermitStatus.ACTIVE: 2, PermitStatus.LOST: 1, PermitStatus.REVOKED: 0}


def card_permit(permits: Iterable[Permit]) -> Permit | None:
    """The permit a gate decides on when one card UID is on several (or None for none).

    A card is re-issued by reporting or revoking its permit and issuing a new one on the
    same UID (the office keeps at most one active permit per card), so the active permit
    wins over the old ones whatever their dates. Among permits of one status the one valid
    longest wins (a renewal over the permit it renews), then the one that starts last;
    the permit id breaks a tie, so every gate picks the same permit.
    """
    return max(permits, default=None,
               key=lambda p: (_STATUS_RANK[p.status], effective_until(p), p.valid_from, p.permit_id))


def override_approval(approver: Guard, on_shift: Guard | None) -> Reason | None:
    """Why ``approver`` may not approve an override of a refusal (None: they may).

    Guards never release on their own authority (DOMAIN.md): an override takes two people,
    the guard on shift and a second, active supervisor, who then proves it with their PIN."""
    if on_shift is None:
        return Reason.GUARD_NOT_ON_SHIFT
    if approver.guard_id == on_shift.guard_id:
        return Reason.GUARD_OWN_OVERRIDE
    if approver.role is not Role.SUPERVISOR or not approver.active:
        return Reason.GUARD_NOT_SUPERVISOR
    return None


def pin_lockout_ends(failures: int, now: datetime) -> datetime | None:
    """When a badge whose PIN was just wrong for the ``failures``-th time in a row is locked until
    (None: not locked, the guard may try again)."""
    if failures < MAX_PIN_FAILURES:
        return None
    return now + timedelta(minutes=PIN_LOCKOUT_MINUTES)


def missing_approvals(kind: SlipKind, have: Iterable[ApprovalRole]) -> tuple[ApprovalRole, ...]:
    """The approvals a slip of ``kind`` needs (DOMAIN.md) that are not among ``have``, in the order they are due."""
    present = set(have)
    return tuple(r for r in REQUIRED_APPROVALS[kind] if r not in present)


def decide_card(permit: Permit | None, now: datetime, bad_record: str = "") -> CardDecision:
    """``bad_record`` says a replica row for this card could not be read: the card is
    refused for that, whatever the other rows say (the unreadable one may be its revocation)."""
    if bad_record:
        return CardDecision(Reason.CARD_RECORD_INVALID, None)
    if permit is None:
        return CardDecision(Reason.CARD_UNKNOWN, None)
    if permit.status is PermitStatus.LOST:
        return CardDecision(Reason.CARD_LOST, permit)
    if permit.status is PermitStatus.REVOKED:
        return CardDecision(Reason.CARD_REVOKED, permit)
    if now < permit.valid_from:
        return CardDecision(Reason.CARD_NOT_YET_VALID, permit)
    until = effective_until(permit)
    if now >= until:
        return CardDecision(Reason.CARD_EXPIRED, permit, days_left=0)
    return CardDecision(Reason.CARD_VALID, permit, days_left=(until - now).days)


@dataclass(frozen=True)
class SlipDecision:
    reasons: tuple[Reason, ...]          # empty: the slip may proceed to the item check
    claims: TokenClaims | None
    slip: Slip | None
    used: Consumption | None = None      # when and where it was used, for "already used"
    missing_approvals: tuple[ApprovalRole, ...] = ()
    detail: str = ""

    @property
    def allowed(self) -> bool:
        return not self.reasons

    @property
    def primary(self) -> Reason:
        return self.reasons[0] if self.reasons else Reason.SLIP_VALID

    @property
    def synced(self) -> bool:
        return self.slip is not None

    @property
    def slip_id(self) -> str:
        if self.claims is not None:
            return self.claims.slip_id
        return self.slip.slip_id if self.slip else ""


def decide_slip(ev: SlipEvidence, gate: Gate, now: datetime) -> SlipDecision:
    """Apply the slip rules of DOMAIN.md in the order a supervisor would ask them."""
    if ev.token_reason is not None or ev.claims is None:
        return SlipDecision((ev.token_reason or Reason.SLIP_MALFORMED,), None, None)
    claims, slip = ev.claims, ev.slip
    reasons: list[Reason] = []
    if ev.bad_record:
        # What the replica says about this slip (used? cancelled? fees?) is unknown: refuse.
        reasons.append(Reason.SLIP_RECORD_INVALID)
    used: Consumption | None = None
    missing: tuple[ApprovalRole, ...] = ()

    if slip is not None and slip.status is SlipStatus.CANCELLED:
        reasons.append(Reason.SLIP_CANCELLED)
    if slip is not None and ev.items_digest and ev.items_digest != claims.items_digest:
        # The office amended the slip after this code was printed: the old paper is void.
        reasons.append(Reason.SLIP_CANCELLED)
    for c in ev.consumptions:
        used = c
        reasons.append(Reason.SLIP_ALREADY_USED if c.gate_id == gate.gate_id else Reason.SLIP_USED_AT_OTHER_GATE)
        break
    valid_from = slip.valid_from if slip else claims.valid_from
    valid_until = slip.valid_until if slip else claims.valid_until
    if now < valid_from:
        reasons.append(Reason.SLIP_NOT_YET_VALID)
    elif now >= valid_until:
        reasons.append(Reason.SLIP_EXPIRED)
    if slip is not None:
        missing = missing_approvals(slip.kind, slip.approved_roles)
        if missing:
            reasons.append(Reason.SLIP_APPROVALS_MISSING)
    exit_gate = (slip.exit_gate_id if slip else "") or claims.exit_gate_id
    if exit_gate and exit_gate != gate.gate_id:
        reasons.append(Reason.SLIP_WRONG_GATE)
    elif not exit_gate and claims.kind is SlipKind.MOVE_OUT and not gate.designated_exit:
        reasons.append(Reason.SLIP_WRONG_GATE)
    if not ev.hours.allows(now):
        reasons.append(Reason.SLIP_OUTSIDE_HOURS)
    if ev.unit is not None and ev.unit.unpaid_fees:
        reasons.append(Reason.SLIP_UNPAID_FEES)
    # de-duplicate, keep order
    seen: list[Reason] = []
    for r in reasons:
        if r not in seen:
            seen.append(r)
    return SlipDecision(tuple(seen), claims, slip, used, missing, detail=ev.bad_record)


