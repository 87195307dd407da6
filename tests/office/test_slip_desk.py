"""One slip from the application to the gate and the next morning's archive, in a real browser.

The front desk fills in the form (and is told what is wrong, next to the field); the butler head
approves in their own account; the clerk prints the slip; a gate that synced with the office reads
the QR off the printed page and releases; its row reaches the office; the clerk ticks the paper copy
in the morning archive."""
from __future__ import annotations

import json
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.exitrow import EntryKind, LogEntry
from domain.model import ApprovalRole, Gate, LargeItemHours, SlipItem, SlipKind
from domain.rules import decide_slip
from kiosk.resolve import Resolver
from kiosk.store import Replica
from office.console.auth import add_staff
from office.errors import Refused
from office.records import set_rule
from office.slips import SlipRefused, SlipRequest, approve_slip, make_pending_slip
from tests.office.browser import chromium, needs_chromium, shoot, signed_in  # noqa: F401  (chromium: fixture)
from tests.office.harness import CST, GateSite, OfficeServer
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


@needs_chromium
def test_a_slip_goes_from_the_front_desk_through_approval_and_the_gate_to_the_archive(
        office: OfficeServer, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    estate(office)
    desk = signed_in(chromium, office.url, "qiantai", PASSWORD, viewport={"width": 1366, "height": 768})
    desk.goto("/console/slips")
    desk.click("text=开放行条 New slip")
    fill(desk, mover_id=BAD_ID, item="汽油桶")
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

    butler = signed_in(chromium, office.url, "guanjia", PASSWORD, viewport={"width": 1366, "height": 768})
    butler.goto(f"/console/slips/{slip_id}")
    butler.click("text=Approve as butler")
    butler.wait_for_url("**?approved=1")
    assert "已开出" in butler.inner_text("main") and "管家王主管" in butler.inner_text("main")
    shoot(butler, tmp_path, "console-slip-approved-1366x768", full_page=True)

    width, height = PAPER_PX["a4"]
    desk.set_viewport_size({"width": width, "height": height})
    desk.goto(f"/console/slips/{slip_id}/print?paper=a4")
    desk.emulate_media(media="print")
    texts = decode_png(shoot(desk, tmp_path, "slip-desk-print-a4", clip={"x": 0, "y": 0, "width": width, "height": height}))
    assert len(texts) == 1

    site = GateSite(tmp_path, "north2", office)
    daemon = site.daemon()
    try:
        assert daemon.run_once()
        replica = Replica.open(site.replica_path)
        tomorrow_10 = (datetime.now(CST) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        decision = decide_slip(Resolver(replica, site.log, LargeItemHours()).slip(texts[0]),
                               Gate("north2", "北门", designated_exit=True), tomorrow_10)
        assert decision.allowed, decision.reasons
        site.log.append(LogEntry(EntryKind.RELEASE, tomorrow_10, guard_id="g1", slip_id=slip_id,
                                 reasons=("slip.valid",)), clock_synced=True)
        assert daemon.run_once()                                      # the release reaches the office
    finally:
        daemon.close()

    desk.emulate_media(media="screen")
    desk.set_viewport_size({"width": 1366, "height": 768})
    desk.goto(f"/console/yesterday?day={tomorrow_10.date().isoformat()}")
    row = desk.locator("table.ticks tbody tr").filter(has_text=slip_id)
    assert row.count() == 1 and "未收" in row.inner_text()
    row.locator("input[type=checkbox]").check()
    desk.click("text=保存勾选 Save ticks")
    desk.wait_for_url("**saved=*")
    assert "qiantai 已收" in desk.locator("table.ticks tbody tr").filter(has_text=slip_id).inner_text()
    for page in (desk, butler):
        page.context.close()


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


def test_cancelling_a_released_slip_needs_a_confirmation(office: OfficeServer) -> None:
    estate(office)
    issued = office.issued_slip()
    credential = office.add_gate("east")
    _push(office, credential, [LogEntry(EntryKind.RELEASE, datetime.now(CST), guard_id="g1", slip_id=issued.slip_id,
                                        reasons=("slip.valid",))])
    c, csrf = _signed_in(office, "qiantai")
    with closing(c):
        page = c.get(f"/console/slips/{issued.slip_id}").text
        assert "已于" in page and "不会追回" in page and "confirm_released" in page
        r = c.post(f"/console/slips/{issued.slip_id}/cancel", data={"csrf": csrf})
        assert r.status_code == 409 and "已于" in r.text
        r = c.post(f"/console/slips/{issued.slip_id}/cancel", data={"csrf": csrf, "confirm_released": "1"})
        assert r.status_code == 303
        assert "已作废" in c.get(f"/console/slips/{issued.slip_id}").text
