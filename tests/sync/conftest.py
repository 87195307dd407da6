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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fault campaigns run only when asked for (`make faults`, i.e. `-m faults`), not in a plain run."""
    if "faults" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="fault campaign: run with -m faults (make faults)")
    for item in items:
        if item.get_closest_marker("faults"):
            item.add_marker(skip)
