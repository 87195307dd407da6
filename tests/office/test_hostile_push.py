"""A stolen gate's push cannot take the estate down: every pushed row is held to the row contract
(domain/exitrow.py), times parsed and bounded, text without control characters; a bad push gets a
422 naming the row and the field, and the console renders bad values already stored as unreadable."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from domain.clock import FixedClock
from domain.exitrow import EntryKind, LogEntry
from kiosk.exitlog import ExitLog
from office import schema
from office.console.auth import add_staff
from tests.office.harness import CST, OfficeServer
from tests.office.test_api import client

PASSWORD = "correct horse 1"
NOW = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)


@pytest.fixture
def office_now(db_url: str, tmp_path: Path) -> Any:
    clock = FixedClock(NOW)
    office = OfficeServer(tmp_path / "office", db_url=db_url, clock=clock)
    office.add_unit()
    with office.engine.begin() as conn:
        add_staff(conn, "default", "wangli", "王丽", PASSWORD, clock=clock)
    yield office
    office.stop()
    office.engine.dispose()


def release_rows(gate_id: str, slip_id: str, at: str) -> list[dict[str, Any]]:
    """A release row as a tampered gate sends it: ``at`` set to anything, the chain resealed so it verifies."""
    from domain.chain import GENESIS, row_hash

    log = ExitLog.memory(gate_id)
    log.append(LogEntry(EntryKind.RELEASE, NOW.astimezone(CST), guard_id="g1", slip_id=slip_id), clock_synced=True)
    row = dict(next(iter(log.rows())), at=at)
    row["hash"] = row_hash(GENESIS, row)
    return [row]


@contextmanager
def signed_in(office: OfficeServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=office.url, timeout=10, follow_redirects=False) as c:
        r = c.post("/console/login", data={"username": "wangli", "password": PASSWORD, "next": "/console/log"})
        assert r.status_code == 303, r.text
        yield c


@pytest.mark.parametrize("at, why", [
    ("9999-12-31T23:59:59-14:00", "range"),
    ("garbage", "ISO 8601"),
    ("2026-11-30T20:00:00", "offset"),                    # no offset: which instant?
    ("0001-01-01T00:00:00+14:00", "range"),
])
def test_a_release_at_an_impossible_time_is_refused_naming_row_and_field(office_now: OfficeServer, at: str,
                                                                          why: str) -> None:
    slip_id = office_now.issue_slip()
    with client(office_now, office_now.add_gate("north")) as c:
        r = c.post("/events", json={"events": release_rows("north", slip_id, at)})
        assert r.status_code == 422, r.text
        problem = r.json()["detail"][0]
        assert (problem["seq"], problem["field"], problem["loc"]) == (1, "at", ["body", "events", 0, "at"])
        assert why in problem["msg"] and "时间" in problem["msg"]
    assert office_now.events() == [] and office_now.count(schema.consumed_slips) == 0
    with signed_in(office_now) as c:
        assert c.get("/console/slips").status_code == 200


@pytest.mark.parametrize("at, why", [
    ("2026-12-02T20:00:01+00:00", "future"),              # past the office's clock plus a day
    ("2020-01-01T00:00:00+08:00", "registered"),          # years before the gate existed (a Pi that lost its time)
])
def test_a_release_at_an_implausible_time_is_stored_flagged_and_its_slip_use_dated_on_arrival(
        office_now: OfficeServer, at: str, why: str) -> None:
    # A real gate whose clock was wrong (no RTC, before NTP) must not be stuck behind the row:
    # the row is stored as sent (its hash covers the time); what every other gate pulls is not.
    slip_id = office_now.issue_slip()
    rows = release_rows("north", slip_id, at)
    with client(office_now, office_now.add_gate("north")) as c:
        r = c.post("/events", json={"events": rows})
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
        r = c.post("/events", json={"events": rows})
        assert r.status_code == 200 and r.json()["duplicates"] == 1, r.text      # the resend is a duplicate, no new flag
    assert [e["at"] for e in office_now.events()] == [at]
    (flag,) = office_now.flags("bad_time")
    assert why in flag["message"] and flag["gate_id"] == "north" and flag["seq"] == 1
    with office_now.engine.connect() as conn:
        (used,) = conn.execute(select(schema.consumed_slips.c.at)).scalars()
    assert datetime.fromisoformat(used) == NOW                                  # dated when the office received it
    with signed_in(office_now) as c:
        for path in ("/console/slips", "/console/log", "/console/flags", "/console/yesterday"):
            assert c.get(path).status_code == 200, path
        assert "记录时间异常" in c.get("/console/flags").text


def test_a_release_at_a_real_time_is_accepted_and_listed(office_now: OfficeServer) -> None:
    slip_id = office_now.issue_slip()
    with client(office_now, office_now.add_gate("north")) as c:
        at = (NOW - timedelta(hours=3)).astimezone(CST).isoformat()
        r = c.post("/events", json={"events": release_rows("north", slip_id, at)})
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    with signed_in(office_now) as c:
        page = c.get("/console/slips").text
        assert "已放行" in page and "2026-12-01 01:00:00" in page


@pytest.mark.parametrize("name, value", [("card_uid", "04A1\x1b[2J"), ("guard_id", "g\r\n1"), ("slip_id", "S\x85"),
                                         ("permit_id", "P\x7f"), ("reasons", ["card.lost\t"])])
def test_control_characters_in_pushed_text_are_refused(office_now: OfficeServer, name: str, value: Any) -> None:
    from domain.chain import GENESIS, row_hash

    log = ExitLog.memory("north")
    log.append(LogEntry(EntryKind.CARD_PASS, NOW.astimezone(CST), card_uid="04A1"), clock_synced=True)
    row = dict(next(iter(log.rows())), **{name: value})
    row["hash"] = row_hash(GENESIS, row)
    with client(office_now, office_now.add_gate("north")) as c:
        r = c.post("/events", json={"events": [row]})
        assert r.status_code == 422, r.text
        assert [(p["seq"], p["field"]) for p in r.json()["detail"]] == [(1, name)]
        assert "控制字符" in r.json()["detail"][0]["msg"]
    assert office_now.events() == []


def test_an_oversized_detail_is_refused(office_now: OfficeServer) -> None:
    from domain.chain import GENESIS, row_hash

    log = ExitLog.memory("north")
    log.append(LogEntry(EntryKind.REPORT, NOW.astimezone(CST), detail={"note": "x" * 20_000}), clock_synced=True)
    row = dict(next(iter(log.rows())))
    row["hash"] = row_hash(GENESIS, row)
    with client(office_now, office_now.add_gate("north")) as c:
        r = c.post("/events", json={"events": [row]})
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "detail", r.text


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_push_or_heartbeat_with_a_non_finite_number_is_refused_and_the_export_stays_json(office_now: OfficeServer,
                                                                                           number: str) -> None:
    # Python's JSON reader takes NaN, Infinity and 1e999; once stored, the log's JSON export was no
    # longer JSON and a heartbeat answered 500 (issue 18). Such a body is refused whole, nothing stored.
    import json

    from domain.chain import GENESIS, row_hash

    log = ExitLog.memory("north")
    log.append(LogEntry(EntryKind.REPORT, NOW.astimezone(CST), detail={"reading": 1.5}), clock_synced=True)
    row = dict(next(iter(log.rows())))
    row["hash"] = row_hash(GENESIS, row)
    body = json.dumps({"events": [row]}).replace("1.5", number)
    assert number in body
    with client(office_now, office_now.add_gate("north")) as c:
        r = c.post("/events", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422 and "finite" in r.text, r.text
        beat = json.dumps({"reader": {"state": "online", "detail": "ok", "at": None}, "clock_offset_s": 0.25}).replace("0.25", number)
        r = c.post("/heartbeat", content=beat, headers={"content-type": "application/json"})
        assert r.status_code == 422 and "finite" in r.text, r.text
        ok = c.post("/events", json={"events": [row]})                   # the same row with a number: stored
        assert ok.status_code == 200 and ok.json()["accepted"] == 1, ok.text
    exported = office_now.events()
    assert len(exported) == 1
    json.loads(json.dumps(exported, default=str), parse_constant=lambda c: pytest.fail(f"{c} stored"))


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59-14:00", "garbage", "0001-01-01T00:00:00+14:00", ""])
def test_bad_times_already_in_the_database_render_as_unreadable_not_500(office_now: OfficeServer, at: str) -> None:
    """An office that took such rows before this check: the slips page, the log and the summary still open."""
    slip_id = office_now.issue_slip()
    row = release_rows("north", slip_id, at)[0]
    office_now.add_gate("north")
    with office_now.engine.begin() as conn:
        conn.execute(insert(schema.consumed_slips).values(estate="default", slip_id=slip_id, gate_id="north", at=at))
        conn.execute(insert(schema.events).values(
            **{k: v for k, v in row.items() if k not in ("reasons", "detail", "clock_synced")},
            estate="default", reasons="not json", detail="{", clock_synced=1, received_at=NOW.isoformat()))
    with signed_in(office_now) as c:
        slips = c.get("/console/slips")
        assert slips.status_code == 200 and "无法识别" in slips.text and "unreadable" in slips.text
        for path in ("/console/log", "/console/log?from=2026-11-30&to=2026-12-01", "/console/yesterday?day=2026-11-30",
                     "/console/log.csv?from=2026-11-30&to=2026-12-01", "/console/flags?all=1"):
            assert c.get(path).status_code == 200, path


def test_a_heartbeat_with_times_at_the_calendars_ends_does_not_break_the_gates_page(office_now: OfficeServer) -> None:
    edge = {"state": "online", "detail": "x", "at": "0001-01-01T00:00:00+14:00"}
    with client(office_now, office_now.add_gate("north")) as c:
        r = c.post("/heartbeat", json={"reader": edge, "camera": dict(edge, at="9999-12-31T23:59:59-14:00"),
                                       "sent_at": "9999-12-31T23:59:59-14:00", "clock_offset_s": -1e9})
        assert r.status_code in (200, 422), r.text
    with signed_in(office_now) as c:
        assert c.get("/console/gates").status_code == 200


times = (st.text(max_size=40) |
         st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                      timezones=st.timezones() | st.just(UTC)).map(lambda d: d.isoformat()) |
         st.datetimes(min_value=NOW.replace(tzinfo=None) - timedelta(days=3), max_value=NOW.replace(tzinfo=None) + timedelta(days=3),
                      timezones=st.just(CST)).map(lambda d: d.isoformat()))


@settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(at=times)
def test_whatever_time_a_gate_sends_the_push_is_stored_or_refused_and_the_console_still_opens(
        office_now: OfficeServer, at: str) -> None:
    gate_id = f"h{next(_gate_numbers)}"
    slip_id = _one_slip(office_now)
    with client(office_now, office_now.add_gate(gate_id)) as c:
        r = c.post("/events", json={"events": release_rows(gate_id, slip_id, at)})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        stored = datetime.fromisoformat(at)
        plausible = stored.tzinfo is not None and abs(stored - NOW) <= timedelta(days=1, seconds=1)
        flagged = any(f["gate_id"] == gate_id for f in office_now.flags("bad_time"))
        assert plausible != flagged, at                                         # an implausible time is flagged, only that
    with signed_in(office_now) as c:
        for path in ("/console/slips", "/console/log", "/console/flags", "/console/yesterday"):
            assert c.get(path).status_code == 200, (path, at)


_gate_numbers = itertools.count()
_slips: dict[int, str] = {}


def _one_slip(office: OfficeServer) -> str:
    if id(office) not in _slips:
        _slips[id(office)] = office.issue_slip()
    return _slips[id(office)]
