"""The morning archive in a real browser: the clerk ticks off yesterday's paper slips as they
arrive; the ticks are saved, and the copies still missing are listed by gate and guard."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from office.console.schema import archive_ticks, console_audit
from tests.office.browser import chromium, needs_chromium, shoot, signed_in  # noqa: F401  (chromium: fixture)
from tests.office.harness import OfficeServer
from tests.office.test_console import PASSWORD, Desk, csrf_of, desk, make_desk  # noqa: F401  (desk: fixture)

pytestmark = needs_chromium
FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_the_clerk_ticks_paper_slips_and_the_missing_ones_are_listed_by_gate_and_guard(
        office: OfficeServer, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    desk = make_desk(office)
    page = signed_in(chromium, office.url, "wangli", PASSWORD, viewport={"width": 1366, "height": 768})
    page.goto("/console/yesterday")
    assert f"日期 {desk.yesterday}" in page.inner_text("main")
    rows = page.locator("table.ticks tbody tr")
    assert rows.count() == 2                                       # S000000001 left through north and south
    chase = page.locator("ul.chase").inner_text()
    assert "北门" in chase and "south" in chase and "刘保安(g1)" in chase and chase.count("S000000001") == 2
    cards = page.locator(".cards").inner_text()
    assert re.search(r"2\s*张纸质联未收到", cards) and re.search(r"1\s*次物品不符", cards)
    assert re.search(r"1\s*次重复使用", cards) and "S000000001" in page.locator("ul.double").inner_text()
    shoot(page, tmp_path, "console-archive-before-1366x768", full_page=True)

    north_row = rows.filter(has_text="北门")
    north_row.locator("input[type=checkbox]").check()
    page.click("text=保存勾选 Save ticks")
    page.wait_for_url("**/console/yesterday?day=*")
    assert "已保存" in page.inner_text("main")
    page.reload()                                                   # kept in the database, not in the page
    assert page.locator("table.ticks tbody tr").filter(has_text="北门").locator("input[type=checkbox]").is_checked()
    assert "wangli 已收" in page.locator("table.ticks tbody tr").filter(has_text="北门").inner_text()
    chase = page.locator("ul.chase").inner_text()
    assert "北门" not in chase and "south" in chase
    shoot(page, tmp_path, "console-archive-1366x768", full_page=True)

    with office.engine.connect() as conn:
        ticks = conn.execute(select(archive_ticks.c.gate_id, archive_ticks.c.slip_id, archive_ticks.c.ticked_by)).all()
        actions = conn.execute(select(console_audit.c.action).where(console_audit.c.action == "archive_ticks")).all()
    assert [tuple(t) for t in ticks] == [("north", "S000000001", "wangli")] and len(actions) == 1

    page.locator("table.ticks tbody tr").filter(has_text="北门").locator("input[type=checkbox]").uncheck()   # a tick by mistake
    page.click("text=保存勾选 Save ticks")
    page.wait_for_url("**/console/yesterday?day=*")
    assert page.locator("ul.chase").inner_text().count("S000000001") == 2
    page.context.close()


def test_a_tick_form_cannot_tick_what_is_not_a_release(desk: Desk) -> None:  # noqa: F811
    """Only a release row the gates pushed can be ticked: a hand-made form changes nothing."""
    with desk.signed_in() as c:
        html = c.get("/console/yesterday").text
        shown = re.findall(r'name="shown" value="([^"]+)"', html)
        refusal = "north:3:S000000002"                              # a refusal row of that day, not a release
        forged = [("csrf", csrf_of(html)), ("day", desk.yesterday), ("shown", refusal), ("tick", "north:3"),
                  ("shown", "north:999:S000000001"), ("tick", "north:999"), ("shown", "x" * 500), ("tick", "../../:1")]
        r = c.post("/console/yesterday/ticks", content=urlencode(forged), headers=FORM)
        assert r.status_code == 303 and "%2B0" in r.headers["location"]
        r = c.post("/console/yesterday/ticks", content=urlencode([("day", desk.yesterday), ("shown", shown[0]),
                                                                  ("tick", shown[0].rsplit(":", 1)[0])]), headers=FORM)
        assert r.status_code == 403                                 # no CSRF token
    with desk.office.engine.connect() as conn:
        assert conn.execute(select(archive_ticks)).all() == []


def test_a_slip_issued_and_not_used_is_listed_on_its_day(office: OfficeServer) -> None:
    import httpx

    from office.console.auth import add_staff
    issued = office.issued_slip()
    day = "20" + issued.slip_id[1:3] + "-" + issued.slip_id[3:5] + "-" + issued.slip_id[5:7]
    with office.engine.begin() as conn:
        add_staff(conn, "default", "wangli", "王丽", PASSWORD)
    with httpx.Client(base_url=office.url, timeout=10) as c:
        assert c.post("/console/login", data={"username": "wangli", "password": PASSWORD}).status_code == 303
        html = c.get("/console/yesterday", params={"day": day}).text
    unused = html.split("当日开出、未使用的放行条", 1)
    assert len(unused) == 2 and issued.slip_id in unused[1] and "3-2-1502" in unused[1]
