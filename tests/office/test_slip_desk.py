"""One slip from the application to the gate and the next morning's archive, in a real browser.

The front desk fills in the form with the carrier's photo (and is told what is wrong, next to the
field; the photo is kept); the butler head approves in their own account, seeing the carrier; the
clerk prints the slip; the next day the guard releases it on the real kiosk at a gate whose sync
daemon pulled it (the camera reads the QR off the printed page, tests/office/gate_walk.py; the
carrier's photo is on the guard's screen); its row reaches the office's log and the log's Excel
download; the clerk ticks the paper copy in the next morning's archive."""
from __future__ import annotations

import json
import re
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from domain.clock import FixedClock
from domain.exitrow import EntryKind, LogEntry
from domain.model import ApprovalRole, SlipItem, SlipKind
from domain.statusfiles import read_sync_status
from kiosk.exitlog import ExitLog
from kiosk.store import Replica
from office import schema
from office.console.auth import add_staff
from office.errors import Refused
from office.records import add_guard, set_rule
from office.slips import SlipRefused, SlipRequest, approve_slip, make_pending_slip
from tests.office.browser import chromium, keep, needs_chromium, shoot, signed_in  # noqa: F401  (chromium: fixture)
from tests.office.gate_walk import GUARD_BADGE, GUARD_ID, GUARD_NAME, GUARD_PIN, GateKiosk, wait_until
from tests.office.harness import CST, DaemonThread, GateSite, OfficeServer
from tests.office.test_permit_desk import portrait
from tests.office.test_print_view import PAPER_PX, decode_png

PASSWORD = "correct horse 1"
GOOD_ID, BAD_ID = "440101199001011233", "440101199001011234"
#: Large items any hour of any day: this test walks one slip through, on whatever day it runs.
ALL_HOURS = {"large_items_from": "00:00", "large_items_until": "23:59", "allow_non_working_days": True}


def estate(office: OfficeServer) -> None:
    office.add_gate("north")
    with office.engine.begin() as conn:
        set_rule(conn, "default", "large_item_hours", json.dumps(ALL_HOURS))
        add_staff(conn, "default", "qiantai", "前台小李", PASSWORD, "front_desk")
        add_staff(conn, "default", "guanjia", "管家王主管", PASSWORD, "butler")


def fill(page: Any, *, mover_id: str, item: str) -> None:
    page.select_option("select[name=kind]", "owner")
    page.fill("input[name=unit]", "3-2-1502")
    page.fill("input[name=applicant]", "张三")
    page.fill("input[name=phone]", "13800000000")
    page.fill("input[name=mover_id]", mover_id)
    page.locator("input[name=item_name]").nth(0).fill(item)
    page.locator("input[name=item_qty]").nth(0).fill("1")
    page.locator("input[name=item_spec]").nth(0).fill("180cm")
    page.fill("input[name=time_from]", "08:00")
    page.fill("input[name=time_until]", "20:00")


#: The clerk's morning: 07:40 in Shanghai, still the day before in UTC (the form's "tomorrow" is the estate's).
CLERK_AT = datetime(2026, 12, 2, 23, 40, tzinfo=UTC)


@needs_chromium
def test_a_slip_goes_from_the_front_desk_through_approval_and_the_gate_to_the_archive(
        db_url: str, tmp_path: Path, chromium: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """Issue 12's walk, with no terminal: the clerk's form, the butler head's approval, the printed
    page, the guard's release on the real kiosk at the gate the next day, the release in the office's
    log, the archive the morning after. One clock for office, gate daemon and kiosk, moved as the days go."""
    clock = FixedClock(CLERK_AT)
    office = OfficeServer(tmp_path / "office", db_url=db_url, clock=clock)
    try:
        _walk(office, clock, tmp_path, chromium, monkeypatch)
    finally:
        office.stop()
        office.engine.dispose()


def _walk(office: OfficeServer, clock: FixedClock, tmp_path: Path, chromium: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    office.add_unit()
    estate(office)
    with office.engine.begin() as conn:
        add_staff(conn, "default", "baoan", "保安部赵队长", PASSWORD, "security", clock=clock)
        add_guard(conn, "default", GUARD_ID, GUARD_NAME, GUARD_BADGE, GUARD_PIN)
    site = GateSite(tmp_path, "east", office)                  # (estate() registered "north", a gate not in this walk)

    # -- day 1: the front desk fills in the form; the butler head approves; the clerk prints
    desk = signed_in(chromium, office.url, "qiantai", PASSWORD, viewport={"width": 1366, "height": 768})
    desk.goto("/console/slips")
    desk.click("text=开放行条 New slip")
    assert desk.input_value("input[name=date]") == "2026-12-04"        # tomorrow in Shanghai (in UTC, the 3rd)
    fill(desk, mover_id=BAD_ID, item="汽油桶")
    carrier = portrait(tmp_path / "carrier.png")                       # the carrier's photo, from the desk's scanner
    desk.set_input_files("input[name=mover_photo]", str(tmp_path / "carrier.png"))
    desk.click("text=提交审批 Submit for approval")
    alert = desk.locator("[role=alert]").inner_text()
    assert "校验位不符" in alert and "禁止携带" in alert                   # both problems, in words
    assert desk.input_value("input[name=unit]") == "3-2-1502"          # nothing typed is lost
    assert "bad-field" in (desk.locator("input[name=mover_id]").locator("xpath=..").get_attribute("class") or "")
    shoot(desk, tmp_path, "console-slip-form-refused-1366x768", full_page=True)

    desk.fill("input[name=mover_id]", GOOD_ID)
    desk.locator("input[name=item_name]").nth(0).fill("冰箱")
    desk.click("text=提交审批 Submit for approval")
    desk.wait_for_url("**/console/slips/S*?made=1")
    slip_id = desk.url.split("/slips/")[1].split("?")[0]
    assert "待审批" in desk.inner_text("main") and "前台小李" in desk.inner_text("main")
    assert desk.locator("text=Approve as").count() == 0                # the clerk cannot approve for the butler head
    shoot(desk, tmp_path, "console-slip-pending-1366x768", full_page=True)
    desk.goto(f"/console/slips/{slip_id}/print")
    assert desk.locator("section.sheet svg").count() == 0 and "待审批" in desk.inner_text("body")

    clock.advance(minutes=25)                                          # the butler head gets to it
    butler = signed_in(chromium, office.url, "guanjia", PASSWORD, viewport={"width": 1366, "height": 768})
    butler.goto(f"/console/slips/{slip_id}")
    butler.click("text=Approve as butler")
    butler.wait_for_url("**?approved=1")
    assert "已开出" in butler.inner_text("main") and "管家王主管" in butler.inner_text("main")
    photo = butler.locator("img[src$='/carrier-photo']")              # the photo the refused form kept, for the approver
    assert photo.count() == 1 and butler.evaluate("i => i.naturalWidth", photo.element_handle()) > 0
    shoot(butler, tmp_path, "console-slip-approved-1366x768", full_page=True)

    clock.advance(minutes=5)
    width, height = PAPER_PX["a4"]
    desk.set_viewport_size({"width": width, "height": height})
    desk.goto(f"/console/slips/{slip_id}/print?paper=a4")
    desk.emulate_media(media="print")
    printed = shoot(desk, tmp_path, "slip-desk-print-a4", clip={"x": 0, "y": 0, "width": width, "height": height})
    assert len(decode_png(printed)) == 1
    for page in (desk, butler):
        page.context.close()

    # -- the gate syncs (the slip, the guard, the office's key) the same day ...
    gate = GateKiosk(site, office, clock, tmp_path / "gate", "东门 East gate")
    daemon = DaemonThread(site, wall=clock, clock_synced=lambda: True)
    try:
        replica = Replica.open(site.replica_path)             # the daemon's: made when it started
        wait_until("the slip and the guard at the gate",
                   lambda: replica.slip(slip_id) is not None and replica.guard(GUARD_ID) is not None)
        held = replica.slip(slip_id)
        assert held is not None
        carrier_at_gate = replica.photo(held[0].mover.photo)          # the guard sees the carrier's face on the kiosk
        assert carrier_at_gate and len(carrier_at_gate) < len(carrier) * 4
        # ... and the next day, at ten in Shanghai, inside the slip's window, the guard releases it on the kiosk
        released_at = datetime(2026, 12, 4, 10, 0, tzinfo=CST)
        clock.at = released_at
        # the daemon pulls on through the night: the gate's data is fresh when the kiosk starts
        wait_until("a pull at the new day", lambda: _last_pull(site) == released_at)
        monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")         # what the command sets for a headless run, undone after
        monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
        monkeypatch.setenv("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        gate.start()
        gate.wait_screen("idle")
        gate.reader_online()
        gate.badge()                                           # the badge on the reader; the script types the PIN
        gate.wait_screen("idle", 2)                            # signed in: the waiting screen again
        gate.show(printed)                                     # the printed page held to the camera
        gate.wait_screen("released")
        gate.finish()
        released = wait_until("the release at the office", lambda: [
            e for e in office.events("east") if e["kind"] == "release" and e["slip_id"] == slip_id])
    finally:
        gate.close()
        daemon.stop()
    assert len(released) == 1
    assert [f["kind"] for f in office.flags()] == []                   # nothing for anyone to look into (no bad_time)

    # What the guard saw, step by step (the PNGs the kiosk wrote at each scene).
    scenes = [p.stem.split("_", 1)[1] for p in sorted(gate.shots.glob("[0-9][0-9]_*.png"))]
    assert scenes == ["idle", "sign_in_pin", "idle", "slip_items", "slip_identity", "sign_off", "released"], scenes
    for png in sorted(gate.shots.glob("[0-9][0-9]_*.png")):
        keep(png, f"gate-walk-{png.name}")
    import pygame

    screen = pygame.image.load(str(gate.screens("released")[0]))
    r, g, b, _ = screen.get_at((screen.get_width() // 2, screen.get_height() // 10))
    assert g > 120 and r < 90 and b < 120, (r, g, b)           # the green title bar of a release
    # What the gate recorded: the guard, the slip and the departure time, in a chain that verifies.
    log = ExitLog.open_readonly(site.exit_log_path)
    log.verify()
    rows = [r for r in log.rows() if r["kind"] == "release"]
    assert [(r["slip_id"], r["guard_id"], datetime.fromisoformat(r["at"])) for r in rows] == \
        [(slip_id, GUARD_ID, released_at)]

    # -- that day, in the office: the release in the exit log, with the guard's name, and its event page
    clock.at = released_at + timedelta(minutes=30)
    security = signed_in(chromium, office.url, "baoan", PASSWORD, viewport={"width": 1366, "height": 768})
    row = security.locator("table tbody tr").filter(has_text=slip_id)
    assert row.count() == 1
    text = row.inner_text()
    assert "10:00:00" in text and GUARD_NAME in text and "放行" in text and "未校准" not in text, text
    shoot(security, tmp_path, "console-log-release-1366x768", full_page=True)
    with security.expect_download() as download:                       # the day's log as Excel, from the page's link
        security.click("text=下载 Excel")
    assert download.value.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    sheet = load_workbook(saved).active
    assert sheet is not None
    header, *lines = list(sheet.iter_rows(values_only=True))
    assert "时间" in str(header[0]) and any("保安" in str(h) for h in header), header
    mine = [line for line in lines if slip_id in line]
    assert len(mine) == 1, lines
    cells = dict(zip((str(h).split("\n")[0] for h in header), mine[0], strict=True))
    assert cells["类型"] == "放行" and cells["单元"] == "3-2-1502" and GUARD_NAME in cells["值班保安"], cells
    assert "冰箱" in cells["物品"] and cells["时间"] == "2026-12-04 10:00:00", cells     # words, not codes
    row.locator("td.time a").click()
    security.wait_for_url(f"**/console/log/east/{released[0]['seq']}")
    event = security.inner_text("main")
    assert GUARD_NAME in event and slip_id in event and "2026-12-04 10:00:00" in event, event
    shoot(security, tmp_path, "console-log-release-event-1366x768", full_page=True)
    security.context.close()

    # -- the next morning: the clerk ticks the paper copy in the archive of the day of the release
    clock.at = datetime(2026, 12, 5, 8, 30, tzinfo=CST)
    desk = signed_in(chromium, office.url, "qiantai", PASSWORD, viewport={"width": 1366, "height": 768})
    desk.goto("/console/yesterday")                                    # "yesterday" is the day of the release
    assert "日期 2026-12-04" in desk.inner_text("main")
    row = desk.locator("table.ticks tbody tr").filter(has_text=slip_id)
    assert row.count() == 1
    text = row.inner_text()
    assert "未收" in text and "2026-12-04 10:00:00" in text and GUARD_NAME in text, text
    row.locator("input[type=checkbox]").check()
    desk.click("text=保存勾选 Save ticks")
    desk.wait_for_url("**saved=*")
    assert "qiantai 已收" in desk.locator("table.ticks tbody tr").filter(has_text=slip_id).inner_text()
    shoot(desk, tmp_path, "console-archive-ticked-1366x768", full_page=True)
    desk.context.close()


def _last_pull(site: GateSite) -> datetime | None:
    status = read_sync_status(site.status_path)
    return status.last_pull_at if status else None


def _request(**kw: Any) -> SlipRequest:
    now = datetime.now(CST)
    base: dict[str, Any] = {"kind": SlipKind.TENANT, "unit_id": "3-2-1502", "applicant_name": "李四", "mover_name": "李四",
                            "items": [SlipItem("沙发", 1, "2m")], "valid_from": now + timedelta(hours=1),
                            "valid_until": now + timedelta(hours=5), "approvals": []}
    base.update(kw)
    return SlipRequest(**base)


def test_approvals_come_in_the_roles_a_kind_needs_and_the_last_one_issues(office: OfficeServer) -> None:
    from domain.model import Approval

    estate(office)
    now = datetime.now(CST)
    with office.engine.begin() as conn:
        slip_id = make_pending_slip(conn, "default", _request(approvals=[Approval(ApprovalRole.HANDLER, "小李", now)]),
                                    hmac_key=b"k" * 32, now=now)
    with office.engine.begin() as conn:
        with pytest.raises(Refused, match="does not need"):
            approve_slip(conn, "default", slip_id, ApprovalRole.SECURITY, "保安", now=now)   # not a tenant's approver
        row = approve_slip(conn, "default", slip_id, ApprovalRole.BUTLER_HEAD, "王", now=now)
        assert row["status"] == "pending"                             # the owner's consent is still missing
        row = approve_slip(conn, "default", slip_id, ApprovalRole.OWNER_CONSENT, "业主赵", now=now)
        assert row["status"] == "issued"
        with pytest.raises(Refused, match="not waiting"):
            approve_slip(conn, "default", slip_id, ApprovalRole.BUTLER_HEAD, "王", now=now)


def test_issue_time_checks_name_each_problem(office: OfficeServer) -> None:
    estate(office)
    now = datetime.now(CST)
    with office.engine.begin() as conn:
        set_rule(conn, "default", "max_item_size_cm", "150")
        with pytest.raises(SlipRefused) as refused:
            make_pending_slip(conn, "default", _request(
                kind=SlipKind.MOVE_OUT, exit_gate_id="west", mover_id_number=BAD_ID,
                valid_from=now - timedelta(days=2), valid_until=now - timedelta(days=1),
                items=[SlipItem("沙发", 1, "2m"), SlipItem("烟花", 2, "")]), hmac_key=b"k" * 32, now=now)
    fields = [p.field for p in refused.value.problems]
    assert fields == ["exit_gate", "mover_id", "valid_until", "valid_from", "item1", "item2"]
    text = str(refused.value)
    assert "没有出口 west" in text and "已过" in text and "提前 3 个工作日" in text and "150cm" in text and "烟花" in text


def _signed_in(office: OfficeServer, username: str) -> Any:
    import re

    import httpx
    c = httpx.Client(base_url=office.url, timeout=20)
    assert c.post("/console/login", data={"username": username, "password": PASSWORD}).status_code == 303
    page = c.get("/console/slips").text
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m
    return c, m.group(1)


def _push(office: OfficeServer, gate_credential: str, entries: list[LogEntry]) -> None:
    from kiosk.exitlog import ExitLog
    from tests.office.test_api import client
    from tests.office.test_ingest import push

    log = ExitLog.memory(gate_credential.split("/", 1)[-1].split(".", 1)[0])
    for e in entries:
        log.append(e, clock_synced=True)
    with client(office, gate_credential) as c:
        assert push(c, list(log.rows()))["accepted"] == len(entries)


def test_after_a_mismatch_at_the_gate_the_clerk_amends_the_slip(office: OfficeServer) -> None:
    estate(office)
    issued = office.issued_slip()
    credential = office.add_gate("east")
    _push(office, credential, [LogEntry(EntryKind.REFUSAL, datetime.now(CST), guard_id="g1", slip_id=issued.slip_id,
                                        reasons=("slip.items_mismatch",), detail={"mismatch": "extra_items"})])
    c, csrf = _signed_in(office, "qiantai")
    with closing(c):
        page = c.get(f"/console/slips/{issued.slip_id}").text
        assert "物品与放行条不符" in page and "更正放行条" in page          # the gate's refusal, and the way out
        form = c.get(f"/console/slips/{issued.slip_id}/amend").text
        assert 'value="冰箱"' in form and 'value="3-2-1502"' in form        # the slip's own values, to correct
        data = [("csrf", csrf), ("kind", "owner"), ("unit", "3-2-1502"), ("applicant", "张三"), ("mover_id", GOOD_ID),
                ("date", (datetime.now(CST) + timedelta(days=1)).date().isoformat()), ("time_from", "09:00"),
                ("time_until", "18:00"), ("item_name", "冰箱"), ("item_qty", "1"), ("item_spec", "180cm"),
                ("item_name", "洗衣机"), ("item_qty", "1"), ("item_spec", "")]
        from urllib.parse import urlencode
        r = c.post(f"/console/slips/{issued.slip_id}/amend", content=urlencode(data),
                   headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 303, r.text
        new_id = r.headers["location"].split("/slips/")[1].split("?")[0]
        new = c.get(f"/console/slips/{new_id}").text
        assert "待审批" in new and f"更正 {issued.slip_id}" in new and "洗衣机" in new
        assert "已作废" in c.get(f"/console/slips/{issued.slip_id}").text


def test_used_means_used_a_released_slip_is_neither_cancelled_amended_printed_nor_shown_on_a_phone(office: OfficeServer) -> None:
    # Issue 18: a released slip could be amended (the used one "cancelled", a new one with other items made),
    # cancelled (after a tick box; the CLI without one), given a phone link, and printed with its code.
    estate(office)
    issued = office.issued_slip()
    c, csrf = _signed_in(office, "qiantai")
    with closing(c):
        made = c.post(f"/console/slips/{issued.slip_id}/phone", data={"csrf": csrf})   # made while still unused
        assert made.status_code == 200, made.text
        link = re.search(r"(/p/[A-Za-z0-9_-]+)", made.text)
        assert link is not None
        _push(office, office.add_gate("east"), [LogEntry(EntryKind.RELEASE, datetime.now(CST), guard_id="g1",
                                                         slip_id=issued.slip_id, reasons=("slip.valid",))])
        page = c.get(f"/console/slips/{issued.slip_id}").text
        assert "已使用" in page and "east" in page and "作废 Cancel the slip" not in page
        r = c.post(f"/console/slips/{issued.slip_id}/cancel", data={"csrf": csrf})
        assert r.status_code == 409 and "已使用" in r.text and "east" in r.text
        r = c.post(f"/console/slips/{issued.slip_id}/phone", data={"csrf": csrf})
        assert r.status_code == 409 and "used slip" in r.text
        data = [("csrf", csrf), ("kind", "owner"), ("unit", "3-2-1502"), ("applicant", "张三"), ("mover_id", GOOD_ID),
                ("date", (datetime.now(CST) + timedelta(days=1)).date().isoformat()), ("time_from", "09:00"),
                ("time_until", "18:00"), ("item_name", "钢琴"), ("item_qty", "1"), ("item_spec", "")]
        from urllib.parse import urlencode
        r = c.post(f"/console/slips/{issued.slip_id}/amend", content=urlencode(data),
                   headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 422 and "used slip" in r.text
        printed = c.get(f"/console/slips/{issued.slip_id}/print").text
        assert "已使用" in printed and "<svg" not in printed
        phone = c.get(link.group(1))
        assert phone.status_code == 410 and "已使用" in phone.text and "<svg" not in phone.text
    with office.engine.connect() as conn:
        status = conn.execute(select(schema.slips.c.status).where(schema.slips.c.slip_id == issued.slip_id)).scalar()
        count = conn.execute(select(func.count()).select_from(schema.slips)).scalar()
    assert status == "issued" and count == 1                     # nothing cancelled, no new slip made
    from office.slips import cancel_slip
    with office.engine.begin() as conn, pytest.raises(Refused, match="used slip"):
        cancel_slip(conn, "default", issued.slip_id)             # what `gatepass office cancel-slip` runs
