"""The office's gate API fuzzed from its own OpenAPI spec (schemathesis): never a 5xx.

A real office (uvicorn on 127.0.0.1; SQLite file, or PostgreSQL with GATEPASS_PG_URL) publishes /openapi.json; schemathesis
loads it from the running server and generates requests for every operation, both
schema-conforming (positive) and schema-violating (negative), each sent with a valid gate
credential and without one. No response may have a status of 500 or more, no request may
kill the connection, and afterwards the server still answers /health and takes a real push.

The default suite sends a few examples per operation; `make faults` (`-m faults`) a few
hundred.
"""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from tests.office.conftest import office  # noqa: F401 - the shared fixture (real uvicorn on 127.0.0.1)
from tests.office.harness import OfficeServer
from tests.office.test_api import rows_of

GATE = "north"


@dataclass
class Tally:
    calls: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    unsatisfiable: list[str] = field(default_factory=list)


def _describe(case: Any, status: Any) -> str:
    body = case.body if not type(case.body).__name__ == "NotSet" else None
    return f"{status} {case.method} {case.path} query={case.query!r:.200} body={body!r:.300}"


def _fuzz_one(op: Any, mode: Any, label: str, headers: dict[str, str], base: str, tally: Tally,
              max_examples: int, seed_value: int) -> None:
    @seed(seed_value)
    @settings(max_examples=max_examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=mode), own=st.booleans())
    def run(case: Any, own: bool) -> None:
        if own and isinstance(case.body, dict) and isinstance(case.body.get("events"), list):
            # Generated rows name random gates and stop at the 403 check; half the time make
            # them the caller's own, so that they reach the ingest code and the database.
            for event in case.body["events"]:
                if isinstance(event, dict):
                    event["gate_id"] = GATE
        tally.calls += 1
        tally.by_operation[label] += 1
        try:
            response = case.call(base_url=base, headers=dict(headers), timeout=15)
        except Exception as exc:  # noqa: BLE001 - a dropped connection is a server failure too
            tally.server_errors.append(_describe(case, f"{type(exc).__name__}: {exc}"[:200]))
            return
        tally.statuses[response.status_code] += 1
        if response.status_code >= 500:
            tally.server_errors.append(_describe(case, response.status_code))

    run()


def fuzz(office: OfficeServer, *, max_examples: int, anonymous_examples: int, seed_value: int) -> Tally:
    """``max_examples`` per operation and mode with the gate's credential, ``anonymous_examples`` without."""
    import schemathesis  # a test dependency (pyproject's [test] extra)

    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    credential = office.add_gate(GATE)
    office.issue_permit("CARD-1")       # so /replica has something to page through
    base = office.url
    schema = schemathesis.openapi.from_url(base + "/openapi.json")   # the server's own spec
    operations = [r.ok() for r in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/replica", "/api/v1/events", "/api/v1/heartbeat",
                                              "/api/v1/health"}
    tally = Tally()
    auths = {"gate credential": {"Authorization": f"Bearer {credential}"}, "no credential": {}}
    for op, mode, (auth, headers) in itertools.product(operations, modes, auths.items()):
        label = f"{op.method.upper()} {op.path} [{mode.value}, {auth}]"
        try:
            _fuzz_one(op, mode, label, headers, base, tally, max_examples if headers else anonymous_examples,
                      seed_value)
        except Unsatisfiable:
            # e.g. negative data for GET /health, which takes no input at all
            tally.unsatisfiable.append(label)
    return tally


def assert_still_serving(office: OfficeServer) -> None:
    """After the fuzzing: health answers, and a real gate's push is accepted as usual."""
    with httpx.Client(base_url=office.url + "/api/v1", timeout=10) as c:
        assert c.get("/health").json()["ok"] is True
    credential = office.add_gate("south")
    with httpx.Client(base_url=office.url + "/api/v1", timeout=10,
                      headers={"Authorization": f"Bearer {credential}"}) as c:
        r = c.post("/events", json={"events": rows_of("south", 3)})
        assert r.status_code == 200 and r.json()["accepted"] == 3 and r.json()["acked_seq"] == 3
        assert c.get("/replica").status_code == 200


def check(tally: Tally, min_calls: int) -> None:
    print(f"\noffice fuzz: {tally.calls} requests; statuses {dict(sorted(tally.statuses.items()))}; "
          f"no negative data possible for {tally.unsatisfiable}")
    assert not tally.server_errors, f"{len(tally.server_errors)} server errors:\n" + "\n".join(tally.server_errors[:10])
    assert tally.calls >= min_calls
    assert tally.statuses[401] > 0 and tally.statuses[200] > 0 and tally.statuses[422] > 0


def test_api_fuzzed_from_its_openapi_spec_gives_no_5xx(office: OfficeServer) -> None:
    tally = fuzz(office, max_examples=10, anonymous_examples=5, seed_value=6)
    check(tally, min_calls=60)
    assert_still_serving(office)


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



@pytest.mark.faults
@pytest.mark.timeout(600)
def test_api_fuzz_campaign(office: OfficeServer) -> None:
    tally = fuzz(office, max_examples=300, anonymous_examples=100, seed_value=2026)
    check(tally, min_calls=2000)
    assert_still_serving(office)


def test_nul_characters_in_a_pushed_row_get_422_on_every_database(office: OfficeServer) -> None:
    """PostgreSQL text cannot hold NUL: a row with one made the office's first query fail (500)."""
    credential = office.add_gate(GATE)
    with httpx.Client(base_url=office.url + "/api/v1", timeout=10,
                      headers={"Authorization": f"Bearer {credential}"}) as c:
        row = rows_of(GATE, 1)[0]
        for name in ("event_id", "kind", "at", "guard_id", "card_uid", "permit_id", "slip_id"):
            r = c.post("/events", json={"events": [dict(row, **{name: "a\x00b"})]})
            assert r.status_code == 422 and "NUL" in r.text, (name, r.status_code, r.text[:200])
        assert c.post("/events", json={"events": [dict(row, reasons=["x\x00"])]}).status_code == 422
        # detail is stored as JSON (NUL escaped): such a row is judged on its hash like any other
        assert c.post("/events", json={"events": [dict(row, detail={"text": "a\x00b"})]}).status_code == 200
        assert c.post("/events", json={"events": [row]}).json()["acked_seq"] == 1
    assert len(office.events(GATE)) == 1
