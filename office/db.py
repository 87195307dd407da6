"""Open the office database, run its migrations, and hand out short transactions.

Nothing here is SQLite-only: the same statements run on PostgreSQL. SQLite gets WAL,
a busy timeout and foreign keys through a connect hook, because the API serves gate
requests from a thread pool while office staff run commands.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy import Connection, Engine, create_engine, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from office import schema
from office.errors import OfficeError


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _v1(conn: Connection) -> None:
    schema.metadata.create_all(conn)


def _v2(conn: Connection) -> None:
    from office.console.schema import create_console_tables

    create_console_tables(conn)


#: Versioned migrations, applied in order, each in its own transaction.
MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [(1, _v1), (2, _v2)]


def open_engine(url: str) -> Engine:
    """An engine for ``url``; a SQLite file's directory is created when missing."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise OfficeError(f"database url {url!r}: {exc}") from None
    kwargs: dict = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise OfficeError(f"database url {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    return engine


def migrate(engine: Engine) -> int:
    """Bring the schema to the newest version; return that version."""
    try:
        with engine.begin() as conn:
            schema.schema_version.create(conn, checkfirst=True)
        with engine.connect() as conn:
            done = {int(v) for v in conn.execute(select(schema.schema_version.c.version)).scalars()}
        for version, step in MIGRATIONS:
            if version in done:
                continue
            with engine.begin() as conn:
                step(conn)
                conn.execute(insert(schema.schema_version).values(version=version, applied_at=utcnow()))
        return MIGRATIONS[-1][0]
    except OperationalError as exc:
        raise OfficeError(f"cannot open the office database: {exc.orig}") from None
    except SQLAlchemyError as exc:
        raise OfficeError(f"cannot migrate the office database: {exc}") from None


def ensure_estate(conn: Connection, estate: str, name: str = "") -> None:
    """Create the estate row once; its epoch identifies this database to gates."""
    row = conn.execute(select(schema.estates.c.estate_id).where(schema.estates.c.estate_id == estate)).first()
    if row is None:
        conn.execute(insert(schema.estates).values(
            estate_id=estate, name=name or estate, change_seq=0, epoch=secrets.token_hex(8)))


def open_office(url: str, estate: str = "default") -> Engine:
    """Engine, migrated, with ``estate`` present: what every command and the server start from."""
    engine = open_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        ensure_estate(conn, estate)
    return engine
