from __future__ import annotations

from tests.office.conftest import office  # noqa: F401 - the shared fixture
