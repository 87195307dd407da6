"""The console and the API read time from the injected clock, and dates a clerk sees are the
estate's: at 2026-11-30 20:00 UTC it is already 1 December in Shanghai, so "today" is 1 December
and "yesterday" is 30 November, whatever zone the office machine runs in."""
from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from domain.clock import FixedClock
from domain.exitrow import EntryKind, LogEntry
from kiosk.exitlog import ExitLog
from office.console.auth import add_staff
from tests.office.harness import CST, OfficeServer
from tests.office.test_console import PASSWORD, push, rows_of

#: 04:00 on 1 December in Shanghai; still 30 November in UTC.
INSTANT = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)


@pytest.fixture(params=["Etc/GMT+12", "Etc/GMT-14"])
def machine_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The office machine's own zone: twelve hours behind UTC, or fourteen ahead (neither is the estate's)."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def office_at(db_url: str, tmp_path: Path, machine_zone: str) -> Iterator[tuple[OfficeServer, FixedClock]]:
    clock = FixedClock(INSTANT)
    office = OfficeServer(tmp_path / "office", db_url=db_url, clock=clock)
    north = office.add_gate("north")
    with office.engine.begin() as conn:
        add_staff(conn, "default", "wangli", "王丽", PASSWORD, clock=clock)
    log = ExitLog.memory("north")
    utc = UTC
    for entry in (
        # 10:00 on 30 November in Shanghai: yesterday
        LogEntry(EntryKind.RELEASE, datetime(2026, 11, 30, 10, 0, tzinfo=CST), guard_id="g1", slip_id="S000000011"),
        # written by a gate whose clock is in UTC: 30 November there, 03:30 on 1 December in Shanghai: today
        LogEntry(EntryKind.RELEASE, datetime(2026, 11, 30, 19, 30, tzinfo=utc), guard_id="g1", slip_id="S000000012"),
        LogEntry(EntryKind.REFUSAL, datetime(2026, 12, 1, 3, 50, tzinfo=CST), guard_id="g1", slip_id="S000000013",
                 reasons=("slip.outside_hours",)),
    ):
        log.append(entry, clock_synced=True)
    push(office, north, log)
    yield office, clock
    office.stop()
    office.engine.dispose()


@contextmanager
def sign_in(office: OfficeServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=office.url, timeout=10, follow_redirects=False) as c:
        r = c.post("/console/login", data={"username": "wangli", "password": PASSWORD, "next": "/console/log"})
        assert r.status_code == 303, r.text
        yield c


def test_today_and_yesterday_are_the_estates_dates(office_at: tuple[OfficeServer, FixedClock]) -> None:
    office, _clock = office_at
    with sign_in(office) as c:
        today = c.get("/console/log").text
        assert 'name="from" value="2026-12-01"' in today
        body = rows_of(today)[1:]
        assert [r for r in body if "S000000012" in r] and [r for r in body if "S000000013" in r]
        assert "S000000011" not in today
        assert ">03:30:00<" in today                     # the UTC gate's row in Shanghai's wall-clock time
        yesterday = c.get("/console/yesterday").text
        assert "日期 2026-11-30" in yesterday
        assert "S000000011" in yesterday and "S000000012" not in yesterday and "S000000013" not in yesterday


def test_the_log_day_filter_and_csv_follow_the_estates_date(office_at: tuple[OfficeServer, FixedClock]) -> None:
    office, _clock = office_at
    with sign_in(office) as c:
        nov30 = c.get("/console/log", params={"from": "2026-11-30", "to": "2026-11-30"}).text
        assert "S000000011" in nov30 and "S000000012" not in nov30
        r = c.get("/console/log.csv", params={"from": "2026-12-01", "to": "2026-12-01"})
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["slip_id"] for row in rows] == ["S000000012", "S000000013"]       # in the order they happened


def test_sessions_and_server_time_run_on_the_injected_clock(office_at: tuple[OfficeServer, FixedClock]) -> None:
    office, clock = office_at
    assert datetime.fromisoformat(httpx.get(f"{office.url}/api/v1/health").json()["server_time"]) == INSTANT
    with sign_in(office) as c:
        clock.advance(hours=11)                           # 15:00 in Shanghai: same shift, same day
        page = c.get("/console/log")
        assert page.status_code == 200 and 'name="from" value="2026-12-01"' in page.text
        clock.advance(hours=2)                            # past the 12-hour session
        r = c.get("/console/log")
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
