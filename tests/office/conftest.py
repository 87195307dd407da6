"""The `office` fixture: a real office server on loopback, on SQLite, and on PostgreSQL too
when GATEPASS_PG_URL names a database the tests may wipe (e.g.
postgresql+psycopg:///gatepass_test?host=/var/run/postgresql)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from tests.office.harness import OfficeServer

PG_URL = os.environ.get("GATEPASS_PG_URL", "")


def _wipe(url: str) -> None:
    from sqlalchemy import create_engine

    from office.schema import metadata

    engine = create_engine(url)
    metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not PG_URL, reason="set GATEPASS_PG_URL to run the office tests on PostgreSQL"))])
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
