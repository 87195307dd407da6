"""Commercial tenants' release memos (租户室内物品放行备忘表, form R-WK-033) on file at the front desk.

At move-in a commercial or office tenant signs the memo with its specimen seal and signatures (印鉴)
and names the people who may apply for its slips; the front desk files it (DOMAIN.md, procedure 4.2).
Registering one marks the unit commercial (`commercial_units`); from then on each slip of that unit is
checked against the memo in force (domain/issuing.py `memo_problems`, called by office/slips.py `check`)
and records which memo its seal was checked against (`slip_memo_checks`). Withdrawing a memo (the tenant
moved out) leaves the unit commercial, so its slips are refused until a new memo is filed, unless the
front desk says the unit is residential again. Everything here is office-only: nothing is replicated.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from domain.clock import Clock
from domain.issuing import Problem, TenantMemo, memo_in_force, memo_problems
from office import schema
from office.db import utcnow
from office.errors import NotFound, Refused
from office.records import require_unit

#: Most people a memo authorises to apply (the paper form has a few lines).
MAX_PEOPLE = 6
#: Most specimen signature images a memo keeps (with its one seal image).
MAX_SIGNATURES = 3
#: A scanned seal or signature needs far less; four of them, each perhaps sent twice (the file and the copy a
#: refused form keeps), stay well inside the server's 8 MB body limit.
IMAGE_MAX_BYTES = 512 * 1024


@dataclass(frozen=True)
class Person:
    name: str
    phone: str = ""


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def as_memo(row: Any) -> TenantMemo:
    """A stored memo as the rule reads it (an unreadable signed date never puts a memo in force)."""
    return TenantMemo(memo_id=int(row["memo_id"]), company=row["company"],
                      authorised=tuple(p.name for p in people_of(row["people"])),
                      signed_on=_date(row["signed_on"]) or date.max, valid_until=_date(row["valid_until"]),
                      withdrawn=row["withdrawn_at"] is not None)


def people_of(text: str) -> list[Person]:
    try:
        items = json.loads(text)
    except (TypeError, ValueError):
        return []
    return [Person(str(p.get("name", "")), str(p.get("phone", ""))) for p in items
            if isinstance(p, dict)] if isinstance(items, list) else []


def is_commercial(conn: Connection, estate: str, unit_id: str) -> bool:
    cu = schema.commercial_units
    return conn.execute(select(cu.c.unit_id).where(cu.c.estate == estate, cu.c.unit_id == unit_id)).first() is not None


def unit_memos(conn: Connection, estate: str, unit_id: str) -> list[TenantMemo]:
    m = schema.tenant_memos
    return [as_memo(r) for r in conn.execute(select(m).where(m.c.estate == estate, m.c.unit_id == unit_id)).mappings()]


def memo_row(conn: Connection, estate: str, memo_id: int) -> dict[str, Any] | None:
    m = schema.tenant_memos
    row = conn.execute(select(m).where(m.c.estate == estate, m.c.memo_id == memo_id)).mappings().first()
    return dict(row) if row else None


def slip_memo_check(conn: Connection, estate: str, unit_id: str, applicant: str, seal_checked: bool,
                    today: date) -> tuple[int | None, list[Problem]]:
    """For a slip of ``unit_id``: the memo it is checked against (None for a residential unit) and the
    problems (domain/issuing.py memo_problems); a residential unit has none."""
    if not is_commercial(conn, estate, unit_id):
        return None, []
    memos = unit_memos(conn, estate, unit_id)
    problems = memo_problems(unit_id=unit_id, memos=memos, applicant=applicant, seal_checked=seal_checked, today=today)
    memo = memo_in_force(memos, today)
    return (memo.memo_id if memo else None), problems


def record_seal_check(conn: Connection, estate: str, slip_id: str, memo_id: int, checked_by: str,
                      at: datetime) -> None:
    conn.execute(insert(schema.slip_memo_checks).values(estate=estate, slip_id=slip_id, memo_id=memo_id,
                                                        checked_by=checked_by, checked_at=at.isoformat()))


def register_memo(conn: Connection, estate: str, *, unit_id: str, company: str, people: Sequence[Person],
                  seal: tuple[bytes, str], signatures: Sequence[tuple[bytes, str]], signed_on: date,
                  valid_until: date | None, by: str, today: date, clock: Clock | None = None) -> int:
    """File a memo (its images already checked by office/photos.py) and mark the unit commercial.
    Refused: no such unit, no authorised person, dates that put it out of force, or the unit already
    has a memo in force (withdraw that one first: one memo is what the desk checks against)."""
    require_unit(conn, estate, unit_id)
    if not company.strip():
        raise Refused("请填写租户公司名称\nthe tenant company's name is missing")
    if not any(p.name.strip() for p in people):
        raise Refused("请至少填写一名授权申请人\nname at least one person the tenant authorises to apply")
    if signed_on > today:
        raise Refused("签署日期不能晚于今天\nthe memo cannot be signed after today")
    if valid_until is not None and valid_until < today:
        raise Refused("有效期已过\nthe memo's last day is already past")
    current = memo_in_force(unit_memos(conn, estate, unit_id), today)
    if current is not None:
        raise Refused(f"单元 {unit_id} 已有有效的备忘表 #{current.memo_id}({current.company}),请先撤回\n"
                      f"unit {unit_id} already has memo #{current.memo_id} ({current.company}) in force: withdraw it first")
    m = schema.tenant_memos
    made = conn.execute(insert(m).values(
        estate=estate, unit_id=unit_id, company=company.strip(),
        people=json.dumps([{"name": p.name.strip(), "phone": p.phone.strip()} for p in people if p.name.strip()],
                          ensure_ascii=False),
        signed_on=signed_on.isoformat(), valid_until=valid_until.isoformat() if valid_until else "",
        created_at=utcnow(clock), created_by=by)).inserted_primary_key
    assert made is not None
    memo_id = int(made[0])
    images = [("seal", seal), *(("signature", s) for s in signatures)]
    conn.execute(insert(schema.memo_images), [{"estate": estate, "memo_id": memo_id, "kind": kind, "mime": mime,
                                               "data": data} for kind, (data, mime) in images])
    if not is_commercial(conn, estate, unit_id):
        conn.execute(insert(schema.commercial_units).values(estate=estate, unit_id=unit_id, marked_at=utcnow(clock),
                                                            marked_by=by))
    return memo_id


def withdraw_memo(conn: Connection, estate: str, memo_id: int, *, by: str, residential: bool,
                  clock: Clock | None = None) -> dict[str, Any]:
    """Withdraw a memo (the tenant moved out); ``residential``: the unit is no longer a commercial tenant's."""
    row = memo_row(conn, estate, memo_id)
    if row is None:
        raise NotFound(f"没有备忘表 #{memo_id}\nno memo #{memo_id} in this estate")
    if row["withdrawn_at"] is not None:
        raise Refused(f"备忘表 #{memo_id} 已撤回\nmemo #{memo_id} is already withdrawn")
    m = schema.tenant_memos
    conn.execute(update(m).where(m.c.estate == estate, m.c.memo_id == memo_id)
                 .values(withdrawn_at=utcnow(clock), withdrawn_by=by))
    if residential:
        cu = schema.commercial_units
        conn.execute(delete(cu).where(cu.c.estate == estate, cu.c.unit_id == row["unit_id"]))
    return {**row, "withdrawn_by": by}
