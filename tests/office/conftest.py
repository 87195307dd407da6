from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.office.harness import OfficeServer


@pytest.fixture
def office(tmp_path: Path) -> Iterator[OfficeServer]:
    server = OfficeServer(tmp_path / "office", max_body_bytes=64 * 1024, max_events_per_push=1000)
    server.add_unit()
    yield server
    server.stop()
    server.engine.dispose()
