"""The printed slip (R-KF001) in a real browser: three copies, every field, and a QR code that a
gate's camera reads off the printed page and the gate accepts."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from domain.model import Gate, LargeItemHours
from domain.rules import decide_slip
from drivers.qr import decode_frame, make_decoder
from kiosk.resolve import Resolver
from kiosk.store import Replica
from office.console.auth import add_staff
from tests.office.browser import chromium, needs_chromium, shoot, signed_in  # noqa: F401  (chromium: fixture)
from tests.office.harness import CST, GateSite, OfficeServer

pytestmark = needs_chromium
PASSWORD = "correct horse 1"
#: Paper sizes at 96 dpi, as Chromium lays out a page in CSS pixels.
PAPER_PX = {"a4": (794, 1123), "a5": (559, 794)}


def decode_png(png: Path) -> list[str]:
    frame = cv2.imdecode(np.frombuffer(png.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    return decode_frame(make_decoder("zxing"), frame)


def gate_decides(office: OfficeServer, tmp: Path, text: str) -> Any:
    """What a gate that has synced with the office decides for ``text`` read by its camera."""
    site = GateSite(tmp, "north", office)
    daemon = site.daemon()
    try:
        assert daemon.run_once()                               # one pull, as the sync daemon does
    finally:
        daemon.close()
    replica = Replica.open(site.replica_path)
    # Any hour of any day: this test is about the printed code, not the estate's large-item hours.
    all_day = LargeItemHours(start=time(0, 0), end=time(23, 59, 59, 999999), allow_non_working_days=True)
    soon = datetime.now(CST) + timedelta(seconds=30)            # the slip is valid from its issue
    return decide_slip(Resolver(replica, site.log, all_day).slip(text), Gate("north", "北门", designated_exit=True), soon)


@pytest.mark.parametrize("paper", ["a4", "a5"])
def test_the_printed_slip_has_three_copies_and_its_qr_is_accepted_at_the_gate(
        office: OfficeServer, tmp_path: Path, chromium: Any, paper: str) -> None:  # noqa: F811
    issued = office.issued_slip()
    with office.engine.begin() as conn:
        add_staff(conn, "default", "wangli", "王丽", PASSWORD)
    width, height = PAPER_PX[paper]
    page = signed_in(chromium, office.url, "wangli", PASSWORD, viewport={"width": width, "height": height})
    page.goto("/console/slips")
    link = page.locator(f"a[href$='/slips/{issued.slip_id}/print?paper={paper}']")
    assert link.count() == 1                                  # the slips page offers the print view
    page.goto(link.get_attribute("href"))
    page.emulate_media(media="print")
    sheets = page.locator("section.sheet")
    assert sheets.count() == 3
    assert [sheets.nth(i).get_attribute("data-copy") for i in range(3)] == ["物业联", "保安联", "住户联"]
    first = sheets.nth(0).inner_text()
    for text in ("物品放行条", "R-KF001", issued.slip_id, "张三", "3-2-1502", "冰箱", "180cm", "出门时间", "保安签名",
                 "经办人", "管家部负责人"):
        assert text in first, text
    pdf = page.pdf(format=paper.upper(), print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 3     # one copy a printed page, nothing spills over
    png = shoot(page, tmp_path, f"slip-print-{paper}", clip={"x": 0, "y": 0, "width": width, "height": height})
    texts = decode_png(png)
    assert texts == [issued.token]                             # the printed code is the slip's signed token
    decision = gate_decides(office, tmp_path, texts[0])
    assert decision.allowed, decision.reasons
    page.context.close()


def test_a_cancelled_slip_prints_without_a_code(office: OfficeServer, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    from office.slips import cancel_slip

    issued = office.issued_slip()
    with office.engine.begin() as conn:
        add_staff(conn, "default", "wangli", "王丽", PASSWORD)
        cancel_slip(conn, "default", issued.slip_id)
    page = signed_in(chromium, office.url, "wangli", PASSWORD, viewport={"width": 794, "height": 1123})
    page.goto(f"/console/slips/{issued.slip_id}/print")
    assert page.locator("section.sheet svg").count() == 0 and "已作废" in page.locator("section.sheet").first.inner_text()
    assert decode_png(shoot(page, tmp_path, "slip-print-cancelled")) == []
    assert page.goto("/console/slips/S0000000099/print").status == 404
    page.context.close()


@needs_chromium
def test_a_used_slip_prints_as_used_with_where_and_when_and_no_code(office: OfficeServer, tmp_path: Path,
                                                                   chromium: Any) -> None:  # noqa: F811
    # Used means used (issue 18): the paper of a released slip says so and carries no code to use again.
    from domain.exitrow import EntryKind

    issued = office.issued_slip()
    gate = GateSite(tmp_path, "east", office)
    gate.record(EntryKind.RELEASE, slip_id=issued.slip_id, guard_id="g1", reasons=("slip.valid",))
    daemon = gate.daemon()
    try:
        assert daemon.run_once(), daemon.status.last_error
    finally:
        daemon.close()
    with office.engine.begin() as conn:
        add_staff(conn, "default", "wangli", "王丽", PASSWORD)
    page = signed_in(chromium, office.url, "wangli", PASSWORD, viewport={"width": 794, "height": 1123})
    page.goto(f"/console/slips/{issued.slip_id}/print")
    sheet = page.locator("section.sheet").first.inner_text()
    assert page.locator("section.sheet svg").count() == 0 and "已使用" in sheet and "east" in sheet
    assert decode_png(shoot(page, tmp_path, "slip-print-used")) == []
    page.context.close()
