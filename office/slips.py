"""Issuing and cancelling item-release slips (物品放行条, form R-KF001).

The front desk's checks come first: the unit exists and owes no fees, the approvals
the slip's kind needs are all there. Only then is the slip stored, signed with the
office's Ed25519 key and written out as a QR code (PNG to print, SVG to scale).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, func, select

from domain.exitrow import has_control
from domain.hours import LARGE_ITEM_HOURS_RULE, parse_hours_rule
from domain.issuing import PROHIBITED_ITEMS, Problem, issue_problems, window_ahead_problem
from domain.model import (
    Approval,
    ApprovalRole,
    LargeItemHours,
    PermitStatus,
    SlipItem,
    SlipKind,
    SlipStatus,
    TokenClaims,
)
from domain.rules import effective_until, missing_approvals
from domain.secrets import id_hash, mask_id
from domain.slip_token import MAX_GATE_ID, MAX_SLIP_ID, TokenFieldError, items_digest, key_id_of, public_raw, sign
from office import schema
from office.changes import get_row, lock_estate, patch, put_rows
from office.errors import NotFound, OfficeError, Refused
from office.memos import record_seal_check, slip_memo_check
from office.records import (
    MAX_ITEM_SIZE_RULE,
    PROHIBITED_ITEMS_RULE,
    _as_permit,
    estate_rule,
    require_unit,
    signing_key_usable,
)


@dataclass(frozen=True)
class SlipRequest:
    kind: SlipKind
    unit_id: str
    applicant_name: str
    mover_name: str
    items: Sequence[SlipItem]
    valid_from: datetime
    valid_until: datetime
    approvals: Sequence[Approval]
    applicant_phone: str = ""
    mover_id_number: str = ""
    mover_permit_id: str = ""
    purpose: str = ""
    mover_photo: str = ""          # a photo already stored (records.put_photo): its id
    exit_gate_id: str = ""
    #: The clerk ticked 印鉴已与备忘表核对: the seal and signature on a commercial tenant's application match its memo.
    seal_checked: bool = False


@dataclass(frozen=True)
class IssuedSlip:
    slip_id: str
    token: str
    png: Path | None
    svg: Path | None


def next_slip_id(conn: Connection, estate: str, day: datetime) -> str:
    """S + yymmdd + three digits, numbered per day: S261129001 (10 characters).

    Past every number a gate has released too (``consumed_slips``): after a restored backup the office
    no longer holds the slips issued since, but the gates send their releases again, and a new slip
    under a released slip's number would be taken for used (docs/backup.md)."""
    prefix = "S" + day.strftime("%y%m%d")
    s, c = schema.slips, schema.consumed_slips
    issued = conn.execute(select(func.max(s.c.slip_id)).where(s.c.estate == estate, s.c.slip_id.like(prefix + "%"))).scalar()
    released = [r for r in conn.execute(select(c.c.slip_id).distinct().where(
        c.c.estate == estate, c.c.slip_id.like(prefix + "%"))).scalars()
        if len(r) == len(prefix) + 3 and r[len(prefix):].isdigit()]       # what a gate pushed may be anything
    last = max([x for x in (issued, *released) if x], default=None)
    n = int(last[len(prefix):]) + 1 if last else 1
    if n > 999:
        raise Refused(f"more than 999 slips on {day:%Y-%m-%d}")
    return f"{prefix}{n:03d}"


class SlipRefused(Refused):
    """The front desk must not issue this slip: every reason, each naming its form field."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)


def estate_hours(conn: Connection, estate: str) -> LargeItemHours:
    """The estate's large-item hours as published to its gates, or the default hours."""
    value = estate_rule(conn, estate, LARGE_ITEM_HOURS_RULE)
    return parse_hours_rule(value) if value is not None else LargeItemHours()


def check(conn: Connection, estate: str, req: SlipRequest, *, now: datetime | None = None,
          require_approvals: bool = True, memo_day: date | None = None) -> int | None:
    """Refuse a slip the front desk must not issue; the message says what is missing. ``now`` (the
    office's clock) adds the checks of time: the window not over, inside large-item hours, a
    move-out's notice; without it only what does not depend on the time is checked. A commercial
    tenant's unit is checked against its release memo on the day of ``now`` (else ``memo_day``):
    returned is the memo's id (None for a residential unit)."""
    unit = require_unit(conn, estate, req.unit_id)
    if unit["unpaid_fees"]:
        raise Refused(f"unit {req.unit_id} has unpaid property, water or electricity fees: no slip until they are paid (欠费不予放行)")
    if require_approvals:
        missing = missing_approvals(req.kind, (a.role for a in req.approvals))
        if missing:
            names = ", ".join(f"{r.value} ({r.label_zh})" for r in missing)
            raise Refused(f"a {req.kind.value} slip needs approval by: {names}")
    if not req.items:
        raise OfficeError("a slip lists at least one item")
    if any(i.quantity < 1 for i in req.items):
        raise OfficeError("item quantities are whole numbers of at least 1")
    if req.valid_from.tzinfo is None or req.valid_until.tzinfo is None:
        raise OfficeError("a slip's time window needs a timezone")
    if req.valid_until <= req.valid_from:
        raise Refused("a slip's time window must end after it starts")
    if req.kind is SlipKind.MOVE_OUT and not req.exit_gate_id:
        raise Refused("a move-out slip (迁出) names its designated exit gate")
    if len(req.exit_gate_id) > MAX_GATE_ID:
        raise OfficeError(f"exit gate id {req.exit_gate_id!r} is longer than {MAX_GATE_ID}")
    if req.mover_permit_id and get_row(conn, estate, schema.permits, {"permit_id": req.mover_permit_id}) is None:
        if now is None:
            raise NotFound(f"no permit {req.mover_permit_id!r} for the mover")
    day = now.date() if now is not None else memo_day
    memo_id, problems = (None, []) if day is None else slip_memo_check(
        conn, estate, req.unit_id, req.applicant_name, req.seal_checked, day)
    if now is None:
        if problems:
            raise SlipRefused(problems)
        return memo_id
    if req.mover_permit_id:
        problems += carrier_permit_problems(conn, estate, req.mover_permit_id, now)
    g = schema.gates
    if req.exit_gate_id and conn.execute(select(g.c.gate_id).where(g.c.estate == estate,
                                                                   g.c.gate_id == req.exit_gate_id)).first() is None:
        problems.append(Problem("exit_gate", f"没有出口 {req.exit_gate_id}", f"no gate {req.exit_gate_id!r} in this estate"))
    size = estate_rule(conn, estate, MAX_ITEM_SIZE_RULE)
    problems += issue_problems(
        now=now, valid_from=req.valid_from, valid_until=req.valid_until, hours=estate_hours(conn, estate),
        move_out=req.kind is SlipKind.MOVE_OUT, items=[(i.name, i.spec) for i in req.items],
        banned=PROHIBITED_ITEMS + tuple(estate_rule(conn, estate, PROHIBITED_ITEMS_RULE) or ()),
        max_size_cm=float(size) if size is not None else None, unit_id=req.unit_id, id_number=req.mover_id_number)
    if problems:
        raise SlipRefused(problems)
    return memo_id


def _record_seal_check(conn: Connection, estate: str, slip_id: str, memo_id: int | None, req: SlipRequest,
                       now: datetime) -> None:
    if memo_id is not None:
        handler = next((a.name for a in req.approvals if a.role is ApprovalRole.HANDLER), "")
        record_seal_check(conn, estate, slip_id, memo_id, handler, now)


def carrier_permit_problems(conn: Connection, estate: str, permit_id: str, now: datetime) -> list[Problem]:
    """A carrier named by their own permit: it must be this estate's, active and in date now."""
    row = get_row(conn, estate, schema.permits, {"permit_id": permit_id})
    if row is None:
        return [Problem("mover_permit", f"本小区没有住户证 {permit_id}", f"no permit {permit_id!r} in this estate")]
    if row["status"] != PermitStatus.ACTIVE.value:
        zh, en = {PermitStatus.LOST.value: ("已挂失", "reported lost"),
                  PermitStatus.REVOKED.value: ("已注销", "revoked")}.get(row["status"], (row["status"], row["status"]))
        return [Problem("mover_permit", f"搬运人的住户证 {permit_id} {zh}", f"the carrier's permit {permit_id} is {en}")]
    try:
        permit = _as_permit(row)
    except (ValueError, TypeError):
        permit = None
    if permit is None or not permit.valid_from <= now < effective_until(permit):     # a gate's own rule
        return [Problem("mover_permit", f"搬运人的住户证 {permit_id} 不在有效期内",
                        f"the carrier's permit {permit_id} is not in date")]
    return []


def issue_slip(conn: Connection, estate: str, req: SlipRequest, *, private: Ed25519PrivateKey,
               hmac_key: bytes, out_dir: str | Path | None, now: datetime, check_time: bool = False) -> IssuedSlip:
    """Store a slip, sign it and write its QR code (to ``out_dir``, unless None). A slip whose kind
    still needs approvals is refused (`make_pending_slip` makes one that waits for them).
    ``check_time`` adds the checks that depend on the time (the console's form has them)."""
    lock_estate(conn, estate)  # two clerks must not get the same slip number
    signing_key_usable(conn, estate, key_id_of(public_raw(private)))
    memo_id = check(conn, estate, req, now=now if check_time else None, memo_day=now.date())
    if not check_time and (far := window_ahead_problem(now, req.valid_from)) is not None:
        raise SlipRefused([far])              # the one time rule every way of issuing keeps (issue_problems has it too)
    slip_id = next_slip_id(conn, estate, now)
    row = _slip_row(req, slip_id, hmac_key, SlipStatus.ISSUED)
    try:
        token = sign(slip_claims(row, len(req.items)), private, estate)
    except TokenFieldError as exc:
        raise Refused(f"slip cannot be signed: {exc}") from None
    put_rows(conn, estate, schema.slips, [row])
    put_rows(conn, estate, schema.slip_items, [
        {"slip_id": slip_id, "line": i, "name": it.name, "quantity": it.quantity, "spec": it.spec}
        for i, it in enumerate(req.items)])
    _record_seal_check(conn, estate, slip_id, memo_id, req, now)
    if out_dir is None:
        return IssuedSlip(slip_id, token, None, None)
    png, svg = write_qr(token, Path(out_dir), slip_id)
    return IssuedSlip(slip_id, token, png, svg)


def slip_claims(row: Mapping[str, Any], item_count: int) -> TokenClaims:
    """What a slip's token proves, from the slip as stored: the one place a slip becomes claims."""
    return TokenClaims(slip_id=row["slip_id"], kind=SlipKind(row["kind"]), unit_id=row["unit_id"],
                       valid_from=datetime.fromisoformat(row["valid_from"]),
                       valid_until=datetime.fromisoformat(row["valid_until"]), item_count=item_count,
                       items_digest=row["items_digest"], key_id="", exit_gate_id=row["exit_gate_id"])


def slip_token(conn: Connection, estate: str, row: Mapping[str, Any], item_count: int, private: Ed25519PrivateKey) -> str:
    """The signed token of a stored slip, for printing it again: the same slip and key give the same
    token (Ed25519 is deterministic); a revoked key is refused as at issue."""
    signing_key_usable(conn, estate, key_id_of(public_raw(private)))
    try:
        return sign(slip_claims(row, item_count), private, estate)
    except (TokenFieldError, ValueError, KeyError) as exc:
        raise OfficeError(f"slip {row.get('slip_id')!r} cannot be signed: {exc}") from None


def write_qr(token: str, out_dir: Path, slip_id: str) -> tuple[Path, Path]:
    import segno

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        qr = segno.make(token, error="q", boost_error=False)
        png, svg = out_dir / f"{slip_id}.png", out_dir / f"{slip_id}.svg"
        qr.save(str(png), scale=6, border=4)
        qr.save(str(svg), scale=6, border=4)
    except OSError as exc:
        raise OfficeError(f"{out_dir}: cannot write the slip's QR code: {exc.strerror}") from None
    return png, svg


def slip_id_ok(slip_id: str) -> bool:
    """Whether ``slip_id`` could name a slip: not too long, no NUL or other control character (a URL can
    carry them; PostgreSQL refuses a NUL in a query). Look nothing up for an id that could not."""
    return len(slip_id) <= MAX_SLIP_ID and not has_control(slip_id)


def slip_in_url_ok(slip_id: str) -> bool:
    """Whether a slip id from a console address could name a slip the office made (S, the date, a number:
    ASCII letters and digits only); the pages answer 404 at once for anything else."""
    return slip_id_ok(slip_id) and slip_id.isascii() and slip_id.isalnum()


@dataclass(frozen=True)
class SlipUse:
    """Where and when a slip was released: the first use the office knows of (from a gate's push)."""

    gate_id: str
    at: str


class SlipUsed(Refused):
    """Used means used: a released slip is the record of what went out. It is neither cancelled nor
    amended (the items it let out would vanish behind a new slip), and it goes to no phone."""

    def __init__(self, slip_id: str, use: SlipUse) -> None:
        self.slip_id = slip_id
        self.use = use
        super().__init__(self.said(use.at[:16].replace("T", " ")))

    def said(self, when: str) -> str:
        """The refusal, with the release time as the caller writes it (the console: the estate's local time)."""
        return (f"放行条 {self.slip_id} 已使用({when} 于 {self.use.gate_id} 放行),不能作废、更正或发到手机 / "
                f"slip {self.slip_id} was released at gate {self.use.gate_id} at {when}: a used slip cannot be "
                "cancelled, amended or sent to a phone")


def slip_use(conn: Connection, estate: str, slip_id: str) -> SlipUse | None:
    """The slip's first release at a gate, if the office has heard of one."""
    cs = schema.consumed_slips
    row = conn.execute(select(cs.c.gate_id, cs.c.at).where(cs.c.estate == estate, cs.c.slip_id == slip_id)
                       .order_by(cs.c.at).limit(1)).first() if slip_id_ok(slip_id) else None
    return SlipUse(str(row.gate_id), str(row.at)) if row is not None else None


def require_unused(conn: Connection, estate: str, slip_id: str) -> None:
    """The one rule for the CLI and the console: raise SlipUsed for a slip a gate has released."""
    use = slip_use(conn, estate, slip_id)
    if use is not None:
        raise SlipUsed(slip_id, use)


def cancel_slip(conn: Connection, estate: str, slip_id: str) -> dict[str, Any]:
    """Cancel a slip; gates refuse it after their next pull. A released slip is not cancelled (SlipUsed).
    An id no slip could have (too long, NUL or other control characters, as a URL can carry) is not
    looked up: PostgreSQL refuses NUL."""
    if not slip_id_ok(slip_id) or get_row(conn, estate, schema.slips, {"slip_id": slip_id}) is None:
        raise NotFound(f"no slip {slip_id!r} in estate {estate!r}")
    require_unused(conn, estate, slip_id)
    return patch(conn, estate, schema.slips, {"slip_id": slip_id}, status=SlipStatus.CANCELLED.value)


def _slip_row(req: SlipRequest, slip_id: str, hmac_key: bytes, status: SlipStatus) -> dict[str, Any]:
    return {
        "slip_id": slip_id, "kind": req.kind.value, "unit_id": req.unit_id,
        "applicant_name": req.applicant_name, "applicant_phone": req.applicant_phone,
        "mover_name": req.mover_name,
        "mover_id_masked": mask_id(req.mover_id_number) if req.mover_id_number else "",
        "mover_id_hash": id_hash(hmac_key, req.mover_id_number) if req.mover_id_number else "",
        "mover_photo": req.mover_photo, "mover_permit_id": req.mover_permit_id, "purpose": req.purpose,
        "valid_from": req.valid_from.isoformat(), "valid_until": req.valid_until.isoformat(),
        "status": status.value, "exit_gate_id": req.exit_gate_id,
        "approvals": approvals_json(req.approvals),
        "items_digest": items_digest(req.items),
    }


def approvals_json(approvals: Sequence[Approval]) -> str:
    return json.dumps([{"role": a.role.value, "name": a.name, "at": a.at.isoformat() if a.at else None}
                       for a in approvals], ensure_ascii=False)


def stored_approvals(text: str) -> list[Approval]:
    """The approvals a stored slip carries (unknown roles and unreadable entries skipped)."""
    out = []
    try:
        items = json.loads(text)
    except ValueError:
        return []
    for a in items if isinstance(items, list) else []:
        try:
            out.append(Approval(ApprovalRole(a["role"]), str(a.get("name", "")),
                                datetime.fromisoformat(a["at"]) if a.get("at") else None))
        except (KeyError, ValueError, TypeError):
            continue
    return out


def make_pending_slip(conn: Connection, estate: str, req: SlipRequest, *, hmac_key: bytes, now: datetime) -> str:
    """A slip the front desk has checked and its handler signed: it waits, without a token, for the
    approvals its kind needs (`approve_slip`); the time checks run as for an issued slip."""
    lock_estate(conn, estate)
    memo_id = check(conn, estate, req, now=now, require_approvals=False)
    slip_id = next_slip_id(conn, estate, now)
    missing = missing_approvals(req.kind, (a.role for a in req.approvals))
    put_rows(conn, estate, schema.slips, [_slip_row(req, slip_id, hmac_key,
                                                    SlipStatus.PENDING if missing else SlipStatus.ISSUED)])
    put_rows(conn, estate, schema.slip_items, [
        {"slip_id": slip_id, "line": i, "name": it.name, "quantity": it.quantity, "spec": it.spec}
        for i, it in enumerate(req.items)])
    _record_seal_check(conn, estate, slip_id, memo_id, req, now)
    return slip_id


def approve_slip(conn: Connection, estate: str, slip_id: str, role: ApprovalRole, name: str, *,
                 now: datetime) -> dict[str, Any]:
    """Add ``role``'s approval to a pending slip; the last approval its kind needs issues it."""
    lock_estate(conn, estate)
    row = get_row(conn, estate, schema.slips, {"slip_id": slip_id}) if slip_id_ok(slip_id) else None
    if row is None:
        raise NotFound(f"no slip {slip_id!r} in estate {estate!r}")
    if row["status"] != SlipStatus.PENDING.value:
        raise Refused(f"slip {slip_id} is {row['status']}, not waiting for approval")
    kind = SlipKind(row["kind"])
    # A commercial tenant's memo withdrawn or ended while the slip waited: the tenant no longer authorises it.
    _, problems = slip_memo_check(conn, estate, row["unit_id"], row["applicant_name"], True, now.date())
    if problems:
        raise SlipRefused(problems)
    have = stored_approvals(row["approvals"])
    if role not in missing_approvals(kind, (a.role for a in have)):
        raise Refused(f"slip {slip_id} does not need the approval of {role.label_zh} ({role.value})")
    have.append(Approval(role, name, now))
    done = not missing_approvals(kind, (a.role for a in have))
    return patch(conn, estate, schema.slips, {"slip_id": slip_id}, approvals=approvals_json(have),
                 status=(SlipStatus.ISSUED if done else SlipStatus.PENDING).value)
