"""The exit log a clerk can search: filters, search by slip or card, the full event, downloads that follow.

A real office on loopback (SQLite, and PostgreSQL with GATEPASS_PG_URL); the rows arrive through the
real gate API from a kiosk's ExitLog. Before: the log filtered by date, gate and kind only, a row could
not be opened, and the override's two people showed as ids.
"""
from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from domain.exitrow import EntryKind, LogEntry
from domain.model import Role
from kiosk.exitlog import ExitLog
from office import schema
from office.console.auth import add_staff
from office.records import add_guard
from tests.office.browser import chromium, needs_chromium, shoot, signed_in  # noqa: F401  (chromium: fixture)
from tests.office.harness import CST, OfficeServer
from tests.office.test_console import push

PASSWORD = "correct horse 1"


@dataclass
class Log:
    office: OfficeServer
    today: str
    slip_a: str          # unit 3-2-1502: refused at north, then released by override (supervisor 王主管, guard 刘保安)
    slip_b: str          # unit 5-1-0302: released at south by 陈保安


@pytest.fixture
def log(office: OfficeServer) -> Iterator[Log]:
    office.add_unit("5-1-0302")
    north, south = office.add_gate("north"), office.add_gate("south")
    with office.engine.begin() as conn:
        conn.execute(update(schema.gates).where(schema.gates.c.gate_id == "north").values(name="北门"))
        conn.execute(update(schema.gates).where(schema.gates.c.gate_id == "south").values(name="南门"))
        add_guard(conn, "default", "g1", "刘保安", "B1", "1234")
        add_guard(conn, "default", "g2", "王主管", "B2", "1234", Role.SUPERVISOR)
        add_guard(conn, "default", "g3", "陈保安", "B3", "1234")
        add_staff(conn, "default", "wangli", "王丽", PASSWORD, "front_desk")
    permit = office.issue_permit("04A1B2C3", holder_name="赵六", unit_id="5-1-0302")
    slip_a, slip_b = office.issue_slip("3-2-1502"), office.issue_slip("5-1-0302")
    now = datetime.now(CST).replace(microsecond=0)
    early = now - timedelta(minutes=30) if now.hour or now.minute >= 30 else now
    n = ExitLog.memory("north")
    for entry in (
        LogEntry(EntryKind.REFUSAL, early, guard_id="g1", slip_id=slip_a, reasons=("slip.outside_hours",)),
        LogEntry(EntryKind.OVERRIDE, now, guard_id="g2", slip_id=slip_a, reasons=("slip.outside_hours",),
                 detail={"supervisor_id": "g2", "guard_on_shift": "g1", "override_reason": "emergency"}),
        LogEntry(EntryKind.CARD_DENIED, now, guard_id="g1", card_uid="FFEE0101", reasons=("card.unknown",)),
    ):
        n.append(entry, clock_synced=True)
    push(office, north, n)
    s = ExitLog.memory("south")
    s.append(LogEntry(EntryKind.RELEASE, now, guard_id="g3", slip_id=slip_b, reasons=("slip.valid",)), clock_synced=False)
    s.append(LogEntry(EntryKind.CARD_PASS, now, guard_id="g3", card_uid="04A1B2C3", permit_id=permit["permit_id"],
                      reasons=("card.valid",)), clock_synced=True)
    push(office, south, s)
    yield Log(office, now.date().isoformat(), slip_a, slip_b)


@contextmanager
def clerk(log: Log) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=log.office.url, timeout=20, follow_redirects=False) as c:
        r = c.post("/console/login", data={"username": "wangli", "password": PASSWORD, "next": "/console/log"})
        assert r.status_code == 303
        yield c


def body_rows(html: str) -> list[str]:
    return re.findall(r"<tr class=[^>]*>.*?</tr>", html.split("<tbody>")[1], re.S) if "<tbody>" in html else []


def kinds(html: str) -> list[str]:
    return sorted(re.findall(r'badge k-([a-z_]+)', "".join(body_rows(html))))


def test_filters_and_search_narrow_the_rows(log: Log) -> None:
    with clerk(log) as c:
        everything = c.get("/console/log").text
        assert kinds(everything) == ["card_denied", "card_pass", "override", "refusal", "release"]
        assert kinds(c.get("/console/log", params={"outcome": "released"}).text) == ["override", "release"]
        assert kinds(c.get("/console/log", params={"outcome": "refused"}).text) == ["refusal"]
        assert kinds(c.get("/console/log", params={"outcome": "card_passed"}).text) == ["card_pass"]
        assert kinds(c.get("/console/log", params={"outcome": "denied"}).text) == ["card_denied"]
        assert kinds(c.get("/console/log", params={"unit": "5-1-0302"}).text) == ["card_pass", "release"]
        assert kinds(c.get("/console/log", params={"unit": "3-2"}).text) == ["override", "refusal"]      # a building
        assert kinds(c.get("/console/log", params={"guard": "g3"}).text) == ["card_pass", "release"]
        assert kinds(c.get("/console/log", params={"gate": "north", "outcome": "released"}).text) == ["override"]
        assert kinds(c.get("/console/log", params={"q": log.slip_a.lower()}).text) == ["override", "refusal"]
        assert kinds(c.get("/console/log", params={"q": "04:a1:b2"}).text) == ["card_pass"]   # a UID as a reader prints it
        none = c.get("/console/log", params={"q": "S999999999"}).text
        assert kinds(none) == [] and "没有符合条件的记录" in none
        kept = c.get("/console/log", params={"unit": "3-2", "outcome": "refused"}).text
        assert 'value="3-2"' in kept and 'value="refused" selected' in kept          # the form keeps what was asked


def test_rows_show_names_and_open_the_full_event(log: Log) -> None:
    with clerk(log) as c:
        page = c.get("/console/log").text
        assert "北门" in page and "陈保安" in page and "赵六" in page
        assert "授权主管:王主管(g2)" in page and "值班保安:刘保安(g1)" in page         # the override's people, named
        links = re.findall(r'href="(/console/log/north/\d+)"', page)
        assert len(links) == 3
        override = [c.get(link).text for link in links if "主管强制放行" in c.get(link).text][0]
    assert "授权主管 <b>王主管</b>" in override and "<b>刘保安</b>" in override          # the override's two people, by name
    assert "紧急情况" in override and "夜间及非工作日不得搬出大件物品" in override       # reason and choice in words
    assert "冰箱" in override and "180cm" in override                                 # the items checked (the slip's)
    assert "张三" in override                                                         # the carrier
    assert "签字放行" in override and "已校准" in override
    assert "<details>" in override and "supervisor_id" in override                    # the raw detail, collapsed


def test_the_event_page_shows_an_unsynced_clock_and_a_card_holder(log: Log) -> None:
    with clerk(log) as c:
        page = c.get("/console/log").text
        south = re.findall(r'href="(/console/log/south/\d+)"', page)
        pages = [c.get(link).text for link in south]
    release = [p for p in pages if "badge k-release" in p][0]
    card = [p for p in pages if "badge k-card_pass" in p][0]
    assert "未校准" in release and "陈保安" in release
    assert "赵六" in card and "5-1-0302" in card


@pytest.mark.parametrize("path", ["/console/log/north/999999", "/console/log/nope!!/1", "/console/log/north/-1",
                                  "/console/log/north/99999999999999999999999", "/console/log/north/1%00",
                                  "/console/log/NORTH/1", "/console/log/north/abc"])
def test_unknown_or_forged_ids_answer_a_404_page(log: Log, path: str) -> None:
    with clerk(log) as c:
        r = c.get(path)
    assert r.status_code == 404 and "没有这条记录" in r.text


def test_the_xlsx_download_follows_the_filter(log: Log) -> None:
    from openpyxl import load_workbook

    with clerk(log) as c:
        r = c.get("/console/log.xlsx", params={"outcome": "released", "unit": "3-2-1502"})
        csv = c.get("/console/log.csv", params={"guard": "g3"}).content.decode("utf-8-sig")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 1
    row = rows[0]
    assert row[2] == "主管强制放行" and row[3] == log.slip_a and row[6] == "3-2-1502"
    assert "released" in r.headers["content-disposition"]
    lines = csv.strip().splitlines()[1:]
    assert len(lines) == 2 and all(",g3," in line for line in lines)


def test_a_download_filtered_by_chinese_text_is_served(log: Log) -> None:
    """A unit or search typed in Chinese (3栋) once made the CSV and Excel downloads answer 500: the text went
    into the file name, and an HTTP header carries Latin-1 only. The file name keeps ASCII; the rows follow the filter."""
    with clerk(log) as c:
        for path in ("/console/log.csv", "/console/log.xlsx"):
            r = c.get(path, params={"unit": "3栋", "q": "卡Ā"})
            assert r.status_code == 200, (path, r.status_code)
            assert r.headers["content-disposition"].isascii() and "exit-log-" in r.headers["content-disposition"]
        assert c.get("/console/log.csv", params={"unit": "3栋"}).content.decode("utf-8-sig").strip().count("\n") == 0


@needs_chromium
def test_a_clerk_searches_the_log_and_opens_an_override(log: Log, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    page = signed_in(chromium, log.office.url, "wangli", PASSWORD, viewport={"width": 1366, "height": 768})
    shoot(page, tmp_path, "console-log-filters-1366x768", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.select_option("select[name=outcome]", "released")
    page.fill("input[name=unit]", "3-2-1502")
    page.click("text=查询 Show")
    page.wait_for_url("**/console/log?*outcome=released*")
    assert page.locator("tbody tr").count() == 1
    page.locator("tbody tr a").first.click()
    page.wait_for_url("**/console/log/north/*")
    text = page.inner_text("main")
    assert "王主管" in text and "刘保安" in text and "冰箱" in text
    assert not page.locator("details pre").is_visible()                               # the raw detail is collapsed
    shoot(page, tmp_path, "console-log-event-1366x768", full_page=True)
