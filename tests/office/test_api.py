"""The gate API refuses what it must with the right status, and keeps serving."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from domain.exitrow import EntryKind, LogEntry
from kiosk.exitlog import ExitLog
from tests.office.harness import CST, OfficeServer


def rows_of(gate_id: str, n: int) -> list[dict[str, Any]]:
    log = ExitLog.memory(gate_id)
    for i in range(n):
        log.append(LogEntry(EntryKind.CARD_PASS, datetime.now(CST), card_uid=f"C{i}"), clock_synced=True)
    return list(log.rows())


def client(office: OfficeServer, credential: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    return httpx.Client(base_url=office.url + "/api/v1", headers=headers, timeout=10)


def test_missing_or_wrong_credentials_get_401(office: OfficeServer) -> None:
    good = office.add_gate("north")
    gate_id, _, secret = good.partition(".")
    for credential in (None, "north.", f"north.{'0' * 64}", f"south.{secret}", secret, "garbage"):
        with client(office, credential) as c:
            r = c.get("/replica")
            assert r.status_code == 401, credential
            assert r.headers["www-authenticate"] == "Bearer"
    with client(office, good) as c:
        assert c.get("/replica").status_code == 200


def test_a_gate_cannot_push_another_gates_events(office: OfficeServer) -> None:
    office.add_gate("south")
    with client(office, office.add_gate("north")) as c:
        r = c.post("/events", json={"events": rows_of("south", 2)})
        assert r.status_code == 403
        assert "only its own events" in r.json()["detail"]
    assert office.events() == []


def test_garbage_and_malformed_bodies_get_422_and_nothing_is_stored(office: OfficeServer) -> None:
    with client(office, office.add_gate("north")) as c:
        assert c.post("/events", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
        assert c.post("/events", json={"events": "lots"}).status_code == 422
        row = rows_of("north", 1)[0]
        assert c.post("/events", json={"events": [dict(row, seq="1")]}).status_code == 422       # strict types
        assert c.post("/events", json={"events": [dict(row, surprise=1)]}).status_code == 422    # unknown field
        assert c.post("/events", json={"events": [{k: v for k, v in row.items() if k != "hash"}]}).status_code == 422
        assert c.post("/heartbeat", json={"outbox_depth": -1}).status_code == 422
        assert c.get("/replica", params={"since": "-3"}).status_code == 422
    assert office.events() == []


def test_oversized_bodies_get_413_before_parsing_and_the_server_keeps_serving(office: OfficeServer) -> None:
    credential = office.add_gate("north")
    huge = b'{"events": [' + b" " * (200 * 1024) + b"]}"
    with client(office, credential) as c:
        r = c.post("/events", content=huge, headers={"content-type": "application/json"})
        assert r.status_code == 413

    def chunks():  # no Content-Length: the limit applies to the bytes as they stream in
        for _ in range(20):
            yield b" " * 8192

    with client(office, credential) as c:
        r = c.post("/events", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
    with client(office, credential) as c:
        r = c.post("/events", json={"events": rows_of("north", 3)})
        assert r.status_code == 200 and r.json()["acked_seq"] == 3


def test_too_many_events_in_one_push_is_422(tmp_path: Path) -> None:
    office = OfficeServer(tmp_path, max_events_per_push=10)
    try:
        with client(office, office.add_gate("north")) as c:
            r = c.post("/events", json={"events": rows_of("north", 11)})
            assert r.status_code == 422 and "at most 10 events" in r.json()["detail"]
            assert c.post("/events", json={"events": rows_of("north", 10)}).json()["acked_seq"] == 10
    finally:
        office.stop()


def test_openapi_describes_the_versioned_gate_api(office: OfficeServer) -> None:
    spec = httpx.get(office.url + "/openapi.json").json()
    assert {"/api/v1/replica", "/api/v1/events", "/api/v1/heartbeat"} <= set(spec["paths"])


def test_heartbeat_returns_server_time_and_is_stored_as_the_contract(office: OfficeServer) -> None:
    from domain.contracts import DeviceHealth, DeviceState, HeartbeatBody
    from office.ingest import list_gates

    at = datetime.now(CST)
    body = HeartbeatBody(reader=DeviceHealth(DeviceState.ONLINE, "/dev/gatepass-reader open (rdm6300)", at),
                         camera=DeviceHealth(DeviceState.OFFLINE, "camera /dev/video0: no such device", at),
                         versions={"gatepass": "0.1"}, outbox_depth=4, clock_offset_s=0.2, sent_at=at,
                         heartbeat_interval_s=60)
    with client(office, office.add_gate("north")) as c:
        r = c.post("/heartbeat", json=body.to_json())
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["server_time"]).tzinfo is not None
    with office.engine.connect() as conn:
        (gate,) = list_gates(conn, "default")
    assert gate["heartbeat"] == body                   # what the gate sent is what the office reads back


def test_a_hostile_heartbeat_is_refused_or_defused_never_a_500(office: OfficeServer) -> None:
    from office.ingest import list_gates

    ok = {"state": "online", "detail": "fine", "at": datetime.now(CST).isoformat()}
    with client(office, office.add_gate("north")) as c:
        for body in ({"reader": {**ok, "state": "exploded"}},              # not a state
                     {"reader": {**ok, "detail": "x" * 201}},              # too long
                     {"reader": {**ok, "at": "2026-11-25T10:00:00"}},      # a time without its zone
                     {"reader": {**ok, "at": "not a time"}},
                     {"reader": {**ok, "extra": 1}},
                     {"reader": 42}, {"reader": ["online"]}, {"reader": "x" * 500},
                     {"camera": ok, "surprise": True},
                     {"versions": {f"k{i}": "v" for i in range(17)}},
                     {"versions": {"gatepass": "v" * 65}},
                     {"clock_offset_s": "NaN"}, {"clock_offset_s": 1e300},
                     {"heartbeat_interval_s": 0}, {"outbox_depth": 2**63},
                     {"sent_at": "Tuesday"}):
            r = c.post("/heartbeat", json=body)
            assert r.status_code == 422, (body, r.status_code, r.text)
        # within the bounds but nasty: control characters and markup are defused, not stored raw
        r = c.post("/heartbeat", json={"reader": {**ok, "detail": "\x00\x1b[31mred<script>"},
                                       "camera": "online: /dev/video0 open", "versions": {"gatepass": "\x07bell"}})
        assert r.status_code == 200, r.text
    with office.engine.connect() as conn:
        beat = list_gates(conn, "default")[0]["heartbeat"]
    assert "\x00" not in beat.reader.detail and "\x1b" not in beat.reader.detail and beat.reader.detail.endswith("red<script>")
    assert beat.camera.state.value == "online" and beat.camera.detail == "/dev/video0 open"   # an older gate's text
    assert beat.versions == {"gatepass": "\N{REPLACEMENT CHARACTER}bell"}

