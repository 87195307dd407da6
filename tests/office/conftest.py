"""The `office` fixture: a real office server on loopback, on SQLite, and on PostgreSQL too
when GATEPASS_PG_URL names a database the tests may wipe (e.g.
postgresql+psycopg:///gatepass_test?host=/var/run/postgresql)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.office.harness import OfficeServer


def _worker_database(url: str) -> str:
    """The database this test process may wipe: GATEPASS_PG_URL's, or under pytest-xdist (make test runs
    two workers) a database of its own beside it, made when missing: two workers wiping one database
    would delete each other's tables in the middle of a test."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker:
        return url
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("select 1 from pg_database where datname = :n"), {"n": name}).first() is None:
                conn.execute(text(f'create database "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


PG_URL = _worker_database(os.environ.get("GATEPASS_PG_URL", ""))


def _wipe(url: str) -> None:
    """Drop every table the database holds (the office's, alembic_version, a legacy schema_version)."""
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(url)
    found = MetaData()
    found.reflect(engine)
    found.drop_all(engine)
    engine.dispose()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not PG_URL, reason="set GATEPASS_PG_URL to run the office tests on PostgreSQL"))]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty office database: a SQLite file, or the PostgreSQL database of GATEPASS_PG_URL wiped."""
    if request.param == "postgresql":
        _wipe(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path / 'office.db'}"


@pytest.fixture(params=BACKENDS)
def office(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OfficeServer]:
    url = None
    if request.param == "postgresql":
        _wipe(PG_URL)
        url = PG_URL
    server = OfficeServer(tmp_path / "office", db_url=url, max_body_bytes=64 * 1024, max_events_per_push=1000)
    server.add_unit()
    yield server
    server.stop()
    server.engine.dispose()
