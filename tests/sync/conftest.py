from __future__ import annotations


import pytest

from tests.office.conftest import office  # noqa: F401 - the shared fixture


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fault campaigns run only when asked for (`make faults`, i.e. `-m faults`), not in a plain run."""
    if "faults" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="fault campaign: run with -m faults (make faults)")
    for item in items:
        if item.get_closest_marker("faults"):
            item.add_marker(skip)
