"""The office's gate API never answers a 5xx, whatever a client sends."""
from __future__ import annotations

import httpx

from tests.office.conftest import office  # noqa: F401 - the shared fixture (real uvicorn on 127.0.0.1)
from tests.office.harness import OfficeServer
from tests.office.test_api import rows_of


def test_a_cursor_beyond_64_bits_is_refused_not_a_server_error(office: OfficeServer) -> None:
    """Found by the fuzzer: `since` (and a pushed `seq`) over 2**63-1 reached SQLite and made a 500."""
    credential = office.add_gate("north")
    with httpx.Client(base_url=office.url + "/api/v1", timeout=10,
                      headers={"Authorization": f"Bearer {credential}"}) as c:
        assert c.get("/replica", params={"since": 2**63 - 1}).status_code == 200
        assert c.get("/replica", params={"since": 2**63}).status_code == 422
        assert c.get("/replica", params={"since": 10**22}).status_code == 422
        row = rows_of("north", 1)[0]
        for seq in (2**63, 10**22):
            assert c.post("/events", json={"events": [dict(row, seq=seq)]}).status_code == 422
        assert c.post("/events", json={"events": [row]}).json()["acked_seq"] == 1
    assert office.flags() == []
