"""Rows a gate recorded before its clock was synced are re-dated by the office from the first synced row or
heartbeat of the same boot, whichever order they arrive in; the gate's own time is kept beside it.

The story: a Pi without an RTC loses power, boots with the time it saved three days ago and records two
card passes; 120 s into the boot NTP answers and the next row is synced. A second boot never syncs.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from domain.boottime import BootStamp
from domain.clock import FixedClock
from domain.contracts import DeviceHealth, HeartbeatBody
from domain.exitrow import EntryKind, LogEntry
from kiosk.exitlog import ExitLog
from office import schema
from office.console.auth import add_staff
from office.export import XLSX_COLUMNS, log_names, log_rows, to_csv, to_xlsx
from tests.office.harness import CST, OfficeServer

BOOT_A = "0b6a1f4c-6f2e-4d0e-9c55-2f0c4a9b1e01"
BOOT_B = "7d2c9e11-0a3b-4f6c-8e1d-5b4a3c2d1e02"
#: When the first card really passed; the restored clock said three days earlier.
TRUE = datetime.now(CST).replace(microsecond=0) - timedelta(minutes=30)
RESTORED = TRUE - timedelta(days=3)
PASSWORD = "correct horse 1"
#: The office's clock: when the story's heartbeats arrive (a heartbeat is received as it is sent, within
#: domain.boottime.HEARTBEAT_CLOCK_TOLERANCE), whenever in a long run this module's tests happen to run.
OFFICE_NOW = TRUE + timedelta(seconds=181)


@pytest.fixture
def office(db_url: str, tmp_path: Path) -> Iterator[OfficeServer]:
    server = OfficeServer(tmp_path / "office", db_url=db_url, clock=FixedClock(OFFICE_NOW.astimezone(UTC)))
    server.add_unit()
    yield server
    server.stop()
    server.engine.dispose()


def gate_rows(gate_id: str = "north", *, synced_at: datetime = TRUE + timedelta(seconds=100)) -> list[dict[str, Any]]:
    """Boot A: two rows on the restored clock (20 s and 60 s into the boot), then a synced one at 120 s.
    Boot B: one row on a restored clock, never synced."""
    log = ExitLog.memory(gate_id)
    log.append(LogEntry(EntryKind.CARD_PASS, RESTORED, card_uid="04A1"), clock_synced=False, boot=BootStamp(BOOT_A, 20_000))
    log.append(LogEntry(EntryKind.CARD_PASS, RESTORED + timedelta(seconds=40), card_uid="04A2"), clock_synced=False,
               boot=BootStamp(BOOT_A, 60_000))
    log.append(LogEntry(EntryKind.CARD_PASS, synced_at, card_uid="04A3"), clock_synced=True, boot=BootStamp(BOOT_A, 120_000))
    log.append(LogEntry(EntryKind.CARD_PASS, RESTORED + timedelta(hours=1), card_uid="04A4"), clock_synced=False,
               boot=BootStamp(BOOT_B, 15_000))
    return list(log.rows())


def api(office: OfficeServer, credential: str) -> httpx.Client:
    return httpx.Client(base_url=office.url + "/api/v1", headers={"Authorization": f"Bearer {credential}"}, timeout=10)


def push(c: httpx.Client, rows: list[dict[str, Any]]) -> None:
    r = c.post("/events", json={"events": rows})
    assert r.status_code == 200 and not r.json()["rejected"], r.text


def beat(c: httpx.Client, boot_id: str, boottime_ms: int, sent_at: datetime, synced: bool | None) -> None:
    health = DeviceHealth.unknown("test")
    body = HeartbeatBody(health, health, sent_at=sent_at.astimezone(UTC), boot_id=boot_id, boottime_ms=boottime_ms,
                         clock_synced=synced)                 # the daemon's clock reads UTC
    assert c.post("/heartbeat", json=body.to_json()).status_code == 200


@pytest.mark.parametrize("claim", [datetime(2999, 1, 1, tzinfo=UTC), datetime(1971, 1, 1, tzinfo=UTC),
                                   OFFICE_NOW + timedelta(minutes=6)])
def test_a_synced_heartbeat_far_from_the_offices_clock_anchors_nothing_is_flagged_and_can_be_corrected(
        office: OfficeServer, claim: datetime) -> None:
    # A gate claiming 2999 became its boot's anchor: that boot's rows, a release among them, moved into
    # 2999, out of the day's log and the archive, unflagged, for good (the first anchor wins). Issue 18.
    rows = gate_rows()
    with api(office, office.add_gate("north")) as c:
        push(c, rows[:2])
        beat(c, BOOT_A, 200_000, claim, True)
        assert [d[1] for d in dates(office).values()] == [None, None]        # not believed
        (flag,) = office.flags("clock_disagrees")
        assert flag["gate_id"] == "north" and "synced" in flag["message"] and flag["resolved_at"] is None
        beat(c, BOOT_A, 200_000, TRUE + timedelta(seconds=180), True)        # a true one still anchors
    got = dates(office)
    assert [instant(got[s][1]) for s in (1, 2)] == [TRUE, TRUE + timedelta(seconds=40)]


def test_a_synced_row_later_than_its_arrival_anchors_nothing_and_no_row_is_put_after_the_office_received_it(
        office: OfficeServer) -> None:
    # 20 hours ahead is within the slack for a row's time, but a row cannot have been recorded after the
    # office received it: its claim to a synced clock is refused and flagged, the boot stays unanchored.
    rows = gate_rows(synced_at=OFFICE_NOW + timedelta(hours=20))
    with api(office, office.add_gate("north")) as c:
        push(c, rows)
    assert [d[1] for d in dates(office).values()] == [None, None, None, None]
    (flag,) = office.flags("clock_disagrees")
    assert flag["seq"] == 3 and "after the office's receipt" in flag["message"]


def dates(office: OfficeServer) -> dict[int, tuple[str, str | None, str | None]]:
    """seq -> (the gate's at, the re-dated time, what re-dated it)."""
    return {e["seq"]: (e["at"], e["at_redated"], e["redated_by"]) for e in office.events("north")}


def instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def test_rows_stored_before_the_synced_row_arrives_are_re_dated_when_it_does(office: OfficeServer) -> None:
    rows = gate_rows()
    with api(office, office.add_gate("north")) as c:
        push(c, rows[:2])
        assert [d[1] for d in dates(office).values()] == [None, None]     # no anchor yet: as recorded
        flagged = office.flags("bad_time")
        assert len(flagged) == 2 and all(f["resolved_at"] is None for f in flagged)   # three days before registration
        push(c, rows[2:])
    got = dates(office)
    assert got[1][0] == rows[0]["at"] and got[2][0] == rows[1]["at"]       # the gate's time is kept as sent
    assert instant(got[1][1]) == TRUE and instant(got[2][1]) == TRUE + timedelta(seconds=40)
    assert got[1][2] == got[2][2] == "row 3"
    assert got[3][1] is None                                               # the synced row needs nothing
    assert got[4][1] is None                                               # another boot: never synced, as recorded
    # the rows' bad-time flags are kept, resolved: their time is known now; boot B's stays open
    assert {f["seq"]: f["resolved_at"] is not None for f in office.flags("bad_time")} == {1: True, 2: True, 4: False}


def test_a_push_holding_the_synced_row_re_dates_the_rows_before_it(office: OfficeServer) -> None:
    with api(office, office.add_gate("north")) as c:
        push(c, gate_rows())
    got = dates(office)
    assert [instant(got[s][1]) for s in (1, 2)] == [TRUE, TRUE + timedelta(seconds=40)]
    assert got[4][1] is None
    assert {f["seq"]: f["resolved_at"] is not None for f in office.flags("bad_time")} == {1: True, 2: True, 4: False}


def test_rows_arriving_after_a_synced_heartbeat_of_their_boot_are_re_dated_on_arrival(office: OfficeServer) -> None:
    rows = gate_rows()
    with api(office, office.add_gate("north")) as c:
        beat(c, BOOT_A, 200_000, TRUE + timedelta(seconds=180), True)
        push(c, [rows[0], rows[1]])
    got = dates(office)
    assert [instant(got[s][1]) for s in (1, 2)] == [TRUE, TRUE + timedelta(seconds=40)]
    assert got[1][2] == "heartbeat"
    assert got[1][1].endswith("+08:00")             # the anchor was sent in UTC; written as the row's own offset
    assert office.flags("bad_time") == []           # its corrected time is plausible: nothing for staff to chase


def test_a_synced_heartbeat_re_dates_rows_already_stored_and_an_unsynced_one_does_not(office: OfficeServer) -> None:
    rows = gate_rows()
    with api(office, office.add_gate("north")) as c:
        push(c, [rows[0], rows[1]])
        beat(c, BOOT_A, 200_000, RESTORED + timedelta(seconds=180), False)   # still on the restored clock
        beat(c, BOOT_A, 200_000, RESTORED + timedelta(seconds=180), None)    # an older daemon: does not say
        assert [d[1] for d in dates(office).values()] == [None, None]
        beat(c, BOOT_B, 200_000, TRUE + timedelta(seconds=180), True)        # another boot's anchor
        assert [d[1] for d in dates(office).values()] == [None, None]
        beat(c, BOOT_A, 200_000, TRUE + timedelta(seconds=180), True)
    got = dates(office)
    assert [instant(got[s][1]) for s in (1, 2)] == [TRUE, TRUE + timedelta(seconds=40)]


def test_a_slip_released_before_the_sync_is_used_up_at_its_corrected_time(office: OfficeServer) -> None:
    slip_id = office.issue_slip()
    log = ExitLog.memory("north")
    log.append(LogEntry(EntryKind.RELEASE, RESTORED, guard_id="g1", slip_id=slip_id), clock_synced=False,
               boot=BootStamp(BOOT_A, 20_000))
    with api(office, office.add_gate("north")) as c:
        beat(c, BOOT_A, 200_000, TRUE + timedelta(seconds=180), True)
        push(c, list(log.rows()))
    with office.engine.connect() as conn:
        used = conn.execute(select(schema.consumed_slips.c.at).where(schema.consumed_slips.c.slip_id == slip_id)).scalar_one()
    assert instant(used) == TRUE                     # what every gate pulls: when it really went out


def test_the_first_anchor_of_a_boot_is_kept(office: OfficeServer) -> None:
    with api(office, office.add_gate("north")) as c:
        beat(c, BOOT_A, 200_000, TRUE + timedelta(seconds=180), True)
        push(c, gate_rows(synced_at=TRUE + timedelta(seconds=102)))         # NTP slewed 2 s since: ignored
    assert instant(dates(office)[1][1]) == TRUE
    with office.engine.connect() as conn:
        anchors = conn.execute(select(schema.boot_anchors)).mappings().all()
    assert [(a["gate_id"], a["boot_id"], a["source"]) for a in anchors] == [("north", BOOT_A, "heartbeat")]


def test_another_gates_anchor_re_dates_nothing_of_this_gate(office: OfficeServer) -> None:
    north, south = office.add_gate("north"), office.add_gate("south")
    with api(office, north) as c:
        push(c, gate_rows()[:2])
    with api(office, south) as c:                                            # same boot id, another machine
        beat(c, BOOT_A, 200_000, TRUE + timedelta(seconds=180), True)
    assert [d[1] for d in dates(office).values()] == [None, None]


def test_the_export_files_a_re_dated_row_under_its_real_day_with_the_gates_time_beside_it(office: OfficeServer) -> None:
    with api(office, office.add_gate("north")) as c:
        push(c, gate_rows())
    with office.engine.connect() as conn:
        real_day = log_rows(conn, "default", TRUE.date(), (TRUE + timedelta(seconds=100)).date())
        restored_day = log_rows(conn, "default", RESTORED.date(), (RESTORED + timedelta(hours=1)).date())
    assert [r["seq"] for r in real_day] == [1, 2, 3]
    assert [r["seq"] for r in restored_day] == [4]                            # boot B: where its clock put it
    table = list(csv.DictReader(io.StringIO(to_csv(real_day).decode("utf-8-sig"))))
    assert table[0]["at"] == RESTORED.isoformat() and instant(table[0]["at_redated"]) == TRUE
    assert table[0]["redated_by"] == "row 3" and table[0]["boot_id"] == BOOT_A and table[0]["boottime_ms"] == "20000"
    assert table[2]["at_redated"] == ""
    # the workbook people read: the real time in the Time column, the gate's beside it in Clock
    with office.engine.connect() as conn:
        sheets = [load_workbook(io.BytesIO(to_xlsx(rows, log_names(conn, "default", rows)))).active
                  for rows in (real_day, restored_day)]
    real, restored = ([[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)] for sheet in sheets)
    clock = [zh for zh, _en, _w in XLSX_COLUMNS].index("时钟")
    assert real[0][0] == TRUE.strftime("%Y-%m-%d %H:%M:%S")
    assert real[0][clock] == f"已校正 re-dated\n原时间 {RESTORED.strftime('%Y-%m-%d %H:%M:%S')}"
    assert real[2][clock] == "已校准"
    assert restored[0][clock] == "未校准 not synced · unverified"


def test_the_console_shows_re_dated_rows_as_such_and_unanchored_ones_as_unverified(office: OfficeServer) -> None:
    with api(office, office.add_gate("north")) as c:
        push(c, gate_rows())
    with office.engine.begin() as conn:
        add_staff(conn, "default", "wangli", "王丽", PASSWORD, "front_desk")
    with httpx.Client(base_url=office.url, timeout=10) as clerk:
        assert clerk.post("/console/login", data={"username": "wangli", "password": PASSWORD,
                                                  "next": "/console/log"}).status_code == 303
        real = clerk.get("/console/log", params={"from": TRUE.date().isoformat()}).text
        restored = clerk.get("/console/log", params={"from": RESTORED.date().isoformat(),
                                                     "to": (RESTORED + timedelta(hours=1)).date().isoformat()}).text
    assert real.count("已校正 re-dated") == 2
    assert f"原时间 {RESTORED.strftime('%Y-%m-%d %H:%M:%S')}" in real                    # the gate's time, in the detail
    assert TRUE.strftime("%H:%M:%S") in real
    assert "04A4" not in real and "04A4" in restored
    assert "时钟未校准 clock not synced · unverified" in restored and "已校正" not in restored
