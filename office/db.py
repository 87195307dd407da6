"""Open the office database, run its Alembic migrations, and hand out short transactions.

Nothing here is SQLite-only: the same statements run on PostgreSQL. SQLite gets WAL,
a busy timeout and foreign keys through a connect hook, because the API serves gate
requests from a thread pool while office staff run commands.

The schema is versioned by Alembic (office/migrations/, shipped in the package); opening
the database upgrades it to the newest revision with a config built here, so no
alembic.ini is needed. A database made by the code before Alembic (its tables, a
``schema_version`` table, no ``alembic_version``) is recognised and stamped at the revision
that matches what it holds, then upgraded like any other.
"""
from __future__ import annotations

import functools
import secrets
from datetime import UTC
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, insert, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from domain.clock import Clock, SystemClock
from office import schema
from office.errors import OfficeError

#: Where the revisions live: inside the package, so an installed wheel carries them.
MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
_SYSTEM_CLOCK = SystemClock()


def utcnow(clock: Clock | None = None) -> str:
    """The instant ``clock`` reads (the system's when none is given), as UTC ISO text for a row."""
    return (clock or _SYSTEM_CLOCK).now().astimezone(UTC).isoformat(timespec="microseconds")


def alembic_config(conn: Connection | None = None) -> Config:
    """Alembic's settings, built in code; ``conn`` is the connection env.py migrates."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def legacy_revision(conn: Connection) -> str | None:
    """The revision a pre-Alembic database matches, or None when it is not one (fresh, or already Alembic's).

    The old code ran ``metadata.create_all`` (its version 1: revision 0001) and then made the
    console's tables (its version 2: revision 0002). What the database holds decides."""
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables or "estates" not in tables:
        return None
    return "0002" if "staff" in tables else "0001"


def open_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """An engine for ``url``; a SQLite file's directory is created when missing. ``pool_size`` and
    ``max_overflow`` bound the connections a server process holds (a server database only)."""
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
        kwargs.update(pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise OfficeError(f"database url {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    return engine


def migrate(engine: Engine) -> str:
    """Bring the schema to the newest revision (adopting a pre-Alembic database first); return it."""
    try:
        with engine.begin() as conn:
            legacy = legacy_revision(conn)
            if legacy is not None:
                command.stamp(alembic_config(conn), legacy)
        with engine.begin() as conn:
            if current_revision(conn) != head_revision():
                command.upgrade(alembic_config(conn), "head")
        return head_revision()
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


def open_office(url: str, estate: str = "default", *, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """Engine, migrated, with ``estate`` present: what every command and the server start from."""
    engine = open_engine(url, pool_size=pool_size, max_overflow=max_overflow)
    migrate(engine)
    with engine.begin() as conn:
        ensure_estate(conn, estate)
    return engine
