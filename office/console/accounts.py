"""Staff accounts as an administrator manages them in the console (office/console/staffpages.py).

List the accounts of an estate, create one, change its role and estates, disable or enable it,
reset its password; and a staff member's change of their own password. Each refusal is an
``AccountRefused`` carrying the reason in Chinese and English. Two rules hold whatever is asked:
an administrator does not disable or demote themselves, and the last active administrator stays
one (checked before the change, with the administrators' rows locked on PostgreSQL, and again
after it in the same transaction, so two admins disabling each other at once cannot both succeed).
"""
from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from domain.clock import Clock
from domain.staff import ROLES
from office import schema
from office.console import auth
from office.console.schema import console_audit, staff, staff_estates
from office.db import utcnow

#: Usernames the staff pages' own paths use (/console/staff/new): an account so named could not be opened there.
RESERVED = frozenset({"new"})


class AccountRefused(Exception):
    """What an administrator asked for that is not done, in words: (Chinese, English)."""

    def __init__(self, zh: str, en: str, field: str = "") -> None:
        super().__init__(en)
        self.zh, self.en, self.field = zh, en, field


def new_password() -> str:
    """A password to hand over once (12 characters, letters and digits without look-alikes)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def list_staff(conn: Connection, estate: str) -> list[dict[str, Any]]:
    """The accounts that work for ``estate`` (admins work for all), by name, with their estates and last sign-in."""
    listed = set(conn.execute(select(staff_estates.c.username).where(staff_estates.c.estate == estate)).scalars())
    rows = [dict(r) for r in conn.execute(select(staff).order_by(staff.c.role, staff.c.username)).mappings()
            if r["role"] == "admin" or r["estate"] == estate or r["username"] in listed]
    a = console_audit
    last = {r.username: r.at for r in conn.execute(
        select(a.c.username, func.max(a.c.at).label("at")).where(a.c.action == "sign_in").group_by(a.c.username))}
    for r in rows:
        r["estates"] = auth.estates_of(conn, r)
        r["last_sign_in"] = last.get(r["username"])
        r.pop("password_hash", None)
    return rows


def get(conn: Connection, username: str) -> dict[str, Any] | None:
    row = conn.execute(select(staff).where(staff.c.username == username)).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out.pop("password_hash", None)
    out["estates"] = auth.estates_of(conn, out)
    return out


def _other_active_admins(conn: Connection, username: str) -> int:
    rows = conn.execute(select(staff.c.username).where(staff.c.role == "admin", staff.c.active == 1)
                        .with_for_update()).scalars()
    return sum(1 for u in rows if u != username)


def _still_an_admin(conn: Connection) -> None:
    """Checked again after the change, in its transaction (which a refusal rolls back): two admins
    demoting each other at once must not both succeed, whichever database serialises them."""
    left = conn.execute(select(func.count()).select_from(staff).where(staff.c.role == "admin", staff.c.active == 1))
    if int(left.scalar_one()) == 0:
        raise AccountRefused("这是最后一个管理员账号", "this is the last administrator: it stays one", "role")


def _check_password(username: str, password: str) -> None:
    problem = auth.password_problem(username, password)
    if problem:
        raise AccountRefused(*problem, field="password")


def _check_estates(role: str, estates: list[str], allowed: tuple[str, ...]) -> list[str]:
    chosen = sorted(set(estates))
    if any(e not in allowed for e in chosen):
        raise AccountRefused("只能选择您负责的小区", "choose only estates you work for", "estates")
    if role != "admin" and not chosen:
        raise AccountRefused("请至少选择一个小区", "choose at least one estate", "estates")
    return chosen


def create(conn: Connection, *, username: str, name: str, role: str, estates: list[str], password: str,
           allowed: tuple[str, ...], clock: Clock | None = None) -> None:
    """A new account working for ``estates`` (a subset of ``allowed``, the administrator's own)."""
    if not auth.USERNAME.match(username):
        raise AccountRefused("用户名为 2-32 个小写字母、数字或 . - _", "username: 2-32 lowercase letters, digits, '.', '-' or '_'",
                             "username")
    if username in RESERVED:
        raise AccountRefused(f"用户名 {username} 是保留字", f"the username {username} is reserved", "username")
    if conn.execute(select(staff.c.username).where(staff.c.username == username)).first():
        raise AccountRefused(f"用户名 {username} 已被使用", f"the username {username} is taken", "username")
    if not name.strip():
        raise AccountRefused("请填写姓名", "fill in the name", "name")
    if role not in ROLES:
        raise AccountRefused("请选择角色", "choose a role", "role")
    chosen = _check_estates(role, estates, allowed)
    _check_password(username, password)
    home = chosen[0] if chosen else allowed[0]
    auth.add_staff(conn, home, username, name.strip(), password, role, clock=clock)
    for e in chosen[1:]:
        conn.execute(insert(staff_estates).values(username=username, estate=e))


def _target(conn: Connection, username: str) -> dict[str, Any]:
    row = get(conn, username)
    if row is None:
        raise AccountRefused("没有这个账号", "no such account", "")
    return row


def set_role_and_estates(conn: Connection, admin: str, username: str, role: str, estates: list[str],
                         allowed: tuple[str, ...]) -> None:
    """Change an account's role and, within the administrator's ``allowed`` estates, which estates it works for."""
    row = _target(conn, username)
    if role not in ROLES:
        raise AccountRefused("请选择角色", "choose a role", "role")
    if role != row["role"]:
        if username == admin:
            raise AccountRefused("不能更改自己的角色", "you cannot change your own role", "role")
        if row["role"] == "admin" and row["active"] and _other_active_admins(conn, username) == 0:
            raise AccountRefused("这是最后一个管理员账号,不能取消管理员角色", "this is the last administrator: it stays one", "role")
    chosen = _check_estates(role, estates, allowed)
    # the estates outside the administrator's are kept as they are
    mine = set(conn.execute(select(staff_estates.c.estate).where(staff_estates.c.username == username)).scalars())
    keep = (mine | {row["estate"]}) - set(allowed)
    wanted = keep | set(chosen)
    conn.execute(delete(staff_estates).where(staff_estates.c.username == username))
    for e in sorted(wanted):
        conn.execute(insert(staff_estates).values(username=username, estate=e))
    home = row["estate"] if row["estate"] in wanted or not wanted else sorted(wanted)[0]
    conn.execute(update(staff).where(staff.c.username == username).values(role=role, estate=home))
    _still_an_admin(conn)


def set_active(conn: Connection, admin: str, username: str, active: bool, clock: Clock | None = None) -> None:
    """Enable or disable an account; a disabled account's sessions end at once."""
    row = _target(conn, username)
    if not active:
        if username == admin:
            raise AccountRefused("不能停用自己的账号", "you cannot disable your own account", "")
        if row["role"] == "admin" and row["active"] and _other_active_admins(conn, username) == 0:
            raise AccountRefused("这是最后一个管理员账号,不能停用", "this is the last administrator: it cannot be disabled", "")
    conn.execute(update(staff).where(staff.c.username == username).values(active=1 if active else 0))
    if not active:
        _still_an_admin(conn)
        auth.end_sessions(conn, username, clock)


def set_password(conn: Connection, username: str, password: str, clock: Clock | None = None) -> None:
    """A new password for ``username``; every session of theirs made before it ends."""
    _target(conn, username)
    _check_password(username, password)
    conn.execute(update(staff).where(staff.c.username == username).values(
        password_hash=auth.hash_pin(password, secrets.token_bytes(16), auth.PASSWORD_ITERATIONS),
        sessions_after=utcnow(clock)))


def estate_names(conn: Connection, ids: tuple[str, ...]) -> dict[str, str]:
    e = schema.estates
    return {r.estate_id: r.name or r.estate_id for r in conn.execute(
        select(e.c.estate_id, e.c.name).where(e.c.estate_id.in_(ids)))}
