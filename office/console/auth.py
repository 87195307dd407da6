"""Staff accounts and sessions of the console.

A session is a cookie ``<payload>.<signature>``: the payload names the staff member, when
the session began and a random nonce; the signature is HMAC-SHA256 under a secret kept in
the office database (made on first start), so any office process serving the same
database accepts it. The CSRF token of a session is derived from its nonce under the same
secret, and every form carries it. Passwords are stored as PBKDF2 hashes in the form the
guards' PINs use (domain/rules.py checks both).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from domain.clock import Clock
from domain.secrets import check_pin, hash_pin
from domain.staff import ROLES
from office import schema
from office.console.schema import console_audit, console_secrets, staff, staff_estates
from office.db import utcnow
from office.errors import OfficeError, Refused

COOKIE = "gatepass_staff"
#: A session lasts one long shift; then the clerk signs in again.
SESSION_SECONDS = 12 * 3600
#: An office PC is not a Raspberry Pi: staff passwords get more rounds than guards' PINs.
PASSWORD_ITERATIONS = 200_000
USERNAME = re.compile(r"^[a-z0-9_.-]{2,32}$")
#: The shortest staff password (the CLI and the console's staff and account pages check it alike).
PASSWORD_MIN = 10
#: A hash to check a password against when the username does not exist: the answer takes as long.
_DUMMY_HASH = hash_pin("not-a-password", b"\0" * 16, PASSWORD_ITERATIONS)


@dataclass(frozen=True)
class Session:
    username: str
    name: str
    role: str
    estate: str                      # the estate the console shows now: one of ``estates``
    nonce: str
    csrf: str
    estates: tuple[str, ...] = ()    # every estate this staff member works for


def estates_of(conn: Connection, row: Any) -> tuple[str, ...]:
    """The estates a staff member works for: their own ones (staff_estates, and the one they
    were added in), or every estate for an admin."""
    if row["role"] == "admin":
        return tuple(sorted(conn.execute(select(schema.estates.c.estate_id)).scalars()))
    listed = set(conn.execute(select(staff_estates.c.estate).where(staff_estates.c.username == row["username"])).scalars())
    return tuple(sorted(listed | {row["estate"]}))


def add_staff(conn: Connection, estate: str, username: str, name: str, password: str, role: str = "front_desk",
              clock: Clock | None = None) -> None:
    """Create a staff account, or reset its password, name and role (which voids its sessions);
    either way the account works for ``estate`` from then on, besides the estates it had."""
    if not USERNAME.match(username):
        raise OfficeError(f"username {username!r}: 2-32 lowercase letters, digits, '.', '-' or '_'")
    if role not in ROLES:
        raise OfficeError(f"role {role!r}: one of {', '.join(ROLES)}")
    problem = password_problem(username, password)
    if problem:
        raise Refused(problem[1])
    row = {"estate": estate, "name": name or username, "role": role, "active": 1,
           "password_hash": hash_pin(password, secrets.token_bytes(16), PASSWORD_ITERATIONS)}
    if conn.execute(select(staff.c.username).where(staff.c.username == username)).first():
        conn.execute(update(staff).where(staff.c.username == username).values(**row, sessions_after=utcnow(clock)))
    else:
        conn.execute(insert(staff).values(username=username, created_at=utcnow(clock), **row))
    if conn.execute(select(staff_estates.c.estate).where(staff_estates.c.username == username,
                                                         staff_estates.c.estate == estate)).first() is None:
        conn.execute(insert(staff_estates).values(username=username, estate=estate))


def password_problem(username: str, password: str) -> tuple[str, str] | None:
    """What is wrong with ``password`` as ``username``'s password, (Chinese, English); None when it will do."""
    if len(password) < PASSWORD_MIN:
        return f"密码至少 {PASSWORD_MIN} 个字符", f"a staff password has at least {PASSWORD_MIN} characters"
    # a username of 2 or 3 letters ("li") may well occur in a good password; a longer one may not
    name, typed = username.lower(), password.lower()
    if name and (typed == name or (len(name) >= 4 and name in typed)):
        return "密码不能包含用户名", "the password must not contain the username"
    return None


def check_password(conn: Connection, estate: str, username: str, password: str) -> dict[str, Any] | None:
    """The active staff member with that password who works for ``estate`` ("": for any estate),
    or None (in about constant time).
    A username no account could have (NUL, too long) is not looked up: PostgreSQL refuses NUL in text."""
    row = (conn.execute(select(staff).where(staff.c.username == username)).mappings().first()
           if USERNAME.match(username) else None)
    ok = check_pin(password, row["password_hash"] if row else _DUMMY_HASH)
    if row is None or not ok or not row["active"] or (estate and estate not in estates_of(conn, row)):
        return None
    return dict(row)


def session_secret(engine: Engine, clock: Clock | None = None) -> bytes:
    """The database's session-signing secret, made the first time a console starts."""
    with engine.begin() as conn:
        got = conn.execute(select(console_secrets.c.value).where(console_secrets.c.name == "session")).scalar()
        if got is None:
            got = secrets.token_hex(32)
            conn.execute(insert(console_secrets).values(name="session", value=got, created_at=utcnow(clock)))
    return bytes.fromhex(got)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, purpose: str, data: str) -> str:
    return _b64(hmac.new(secret, f"{purpose}:{data}".encode(), hashlib.sha256).digest())


def make_cookie(secret: bytes, username: str, now: float) -> str:
    """A session cookie for ``username``, begun at ``now`` (POSIX seconds, read from the console's clock)."""
    payload = _b64(json.dumps({"u": username, "iat": int(now * 1000), "n": secrets.token_hex(16)},
                              separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{_sign(secret, 'session', payload)}"


def csrf_token(secret: bytes, nonce: str) -> str:
    return _sign(secret, "csrf", nonce)


def same_token(sent: str, expected: str) -> bool:
    """A token from a request against the one expected, in constant time; any text may be sent
    (compare_digest refuses non-ASCII str, so both are compared as UTF-8 bytes)."""
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


def read_session(conn: Connection, secret: bytes, estate: str, cookie: str | None,
                 now: float) -> Session | None:
    """The session a cookie carries, if its signature holds, it has not expired or been voided,
    and its staff member is still active and works for ``estate`` ("" for the one they were added in,
    or else the first they work for), which the session then shows."""
    if not cookie or "." not in cookie or not cookie.isascii():     # a browser's cookie is ASCII; anything else is forged
        return None
    payload, _, sig = cookie.partition(".")
    if not hmac.compare_digest(sig, _sign(secret, "session", payload)):
        return None
    try:
        claims = json.loads(_unb64(payload))
        username, iat, nonce = str(claims["u"]), int(claims["iat"]) / 1000, str(claims["n"])
    except (ValueError, KeyError, TypeError):
        return None
    if not iat <= now + 60 or now - iat > SESSION_SECONDS:
        return None
    row = conn.execute(select(staff).where(staff.c.username == username)).mappings().first()
    if row is None or not row["active"]:
        return None
    estates = estates_of(conn, row)
    estate = estate or (row["estate"] if row["estate"] in estates else estates[0] if estates else "")
    if estate not in estates:
        return None
    # to the millisecond, as iat is: a session begun in the same instant as a sign-out survives it
    if row["sessions_after"] and iat < int(datetime.fromisoformat(row["sessions_after"]).timestamp() * 1000) / 1000:
        return None
    return Session(username, row["name"], row["role"], estate, nonce, csrf_token(secret, nonce), estates)


def end_sessions(conn: Connection, username: str, clock: Clock | None = None) -> None:
    """Sign a staff member out everywhere (the cookie is stateless; this voids older ones)."""
    conn.execute(update(staff).where(staff.c.username == username).values(sessions_after=utcnow(clock)))


def audit(conn: Connection, estate: str, username: str, action: str, target: str = "",
          clock: Clock | None = None) -> None:
    conn.execute(insert(console_audit).values(estate=estate, at=utcnow(clock), username=username, action=action,
                                              target=target))
