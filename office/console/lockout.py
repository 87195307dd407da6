"""Console sign-in lock-out: MAX_FAILURES wrong passwords for a username lock it for LOCK_SECONDS.

The count is a row per username in ``sign_in_failures``, and a try takes its place in it
*before* its password is hashed, with one conditional ``UPDATE ... SET failures = failures + 1
WHERE failures < MAX_FAILURES``: the database serialises the tries (SQLite's write lock,
PostgreSQL's row lock), so however many arrive at once, at any number of office processes,
at most MAX_FAILURES are ever checked, and a restart forgets nothing. A right password clears
the row; a row quiet for LOCK_SECONDS is forgotten (the lock-out ends). Time is the console's
injected clock.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import Connection, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.clock import Clock, FixedClock
from office.console.auth import USERNAME
from office.console.schema import sign_in_failures
from office.db import utcnow

#: Wrong passwords per username before sign-in is refused for LOCK_SECONDS.
MAX_FAILURES, LOCK_SECONDS = 5, 300


def key_of(username: str) -> str:
    """The row a typed username counts under: itself when it could be an account's name; otherwise a
    digest (any text may be typed: it must fit the column and hold no NUL, and all of it counts)."""
    if USERNAME.match(username):
        return username
    return "#" + hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def take_try(conn: Connection, username: str, clock: Clock) -> bool:
    """Count a try for ``username`` before its password is checked; False when it is locked out
    (MAX_FAILURES counted and none cleared within LOCK_SECONDS): then the password is not checked."""
    t = sign_in_failures
    now = utcnow(clock)
    quiet = utcnow(FixedClock(clock.now() - timedelta(seconds=LOCK_SECONDS)))
    key = key_of(username)
    conn.execute(delete(t).where(t.c.last_at < quiet))
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(insert(t).values(username=key, failures=0, last_at=now).on_conflict_do_nothing(index_elements=["username"]))
    taken = conn.execute(update(t).where(t.c.username == key, t.c.failures < MAX_FAILURES)
                         .values(failures=t.c.failures + 1, last_at=now))
    return taken.rowcount == 1


def clear(conn: Connection, username: str) -> None:
    """A right password: the username's count starts again from nothing."""
    conn.execute(delete(sign_in_failures).where(sign_in_failures.c.username == key_of(username)))

