"""Permit cards (住户证) at the front desk, in a real browser, and what a gate then decides.

The clerk issues a permit with a photo (uploaded, or taken with a fake webcam), is told what is
wrong next to the field (a 5-day temporary pass, a forged image), sees the permit in the list and
its reminders; a gate that pulls from the office shows the stored photo byte for byte and lets the card
through; report lost, then re-issue on a new card: the gate refuses the old card and passes the new.
"""
from __future__ import annotations

import re
import struct
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from domain.model import LargeItemHours, PermitKind
from domain.rules import decide_card
from domain.secrets import mask_id
from kiosk.resolve import Resolver
from kiosk.store import Replica
from office import photos, schema
from office.console.auth import add_staff
from office.console.schema import console_audit
from office.photos import PhotoRefused, check_photo, downscale_photo
from tests.office.browser import ARGS, CHROMIUM, chromium, needs_chromium, shoot, signed_in  # noqa: F401
from tests.office.harness import CST, GateSite, OfficeServer

PASSWORD = "correct horse 1"
ID_NUMBER = "440101199001011233"
VIEW = {"width": 1366, "height": 768}


def staff(office: OfficeServer) -> None:
    with office.engine.begin() as conn:
        add_staff(conn, "default", "qiantai", "前台小李", PASSWORD, "front_desk")
        add_staff(conn, "default", "baoan", "保安老周", PASSWORD, "security")


def portrait(path: Path) -> bytes:
    """A small PNG portrait (a face-ish oval on blue), as a desk scanner might save one."""
    img = np.full((160, 120, 3), (200, 140, 60), np.uint8)
    cv2.ellipse(img, (60, 70), (34, 44), 0, 0, 360, (170, 200, 235), -1)
    cv2.rectangle(img, (20, 120), (100, 160), (60, 60, 60), -1)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    path.write_bytes(buf.tobytes())
    return buf.tobytes()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width×height: a few hundred bytes that would decode to gigabytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
            + bytes(300))


def fill(page: Any, *, card: str, kind: str = "resident", until: str = "") -> None:
    page.fill("input[name=holder]", "张三")
    page.fill("input[name=unit]", "3-2-1502")
    page.fill("input[name=phone]", "13800000000")
    page.fill("input[name=id_number]", ID_NUMBER)
    page.select_option("select[name=kind]", kind)
    page.fill("input[name=valid_until]", until)
    page.fill("input[name=card_uid]", card)


def photo_change(office: OfficeServer) -> int:
    """The change number under which the gates were last sent a photo."""
    ch = schema.changes
    with office.engine.connect() as conn:
        return int(conn.execute(select(ch.c.seq).where(ch.c.tbl == "photos")).scalar_one())


def card_decision(site: GateSite, daemon: Any, uid: str) -> Any:
    """A gate pulls from the office, then decides on the card ``uid`` presented to its reader."""
    assert daemon.run_once()
    replica = Replica.open(site.replica_path)
    presented = Resolver(replica, site.log, LargeItemHours()).card(uid)
    return replica, presented, decide_card(presented.permit, datetime.now(CST), presented.bad_record)


@needs_chromium
def test_a_permit_issued_in_the_browser_reaches_the_gate_then_is_lost_and_reissued(
        office: OfficeServer, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    staff(office)
    png = portrait(tmp_path / "zhangsan.png")
    desk = signed_in(chromium, office.url, "qiantai", PASSWORD, viewport=VIEW)
    desk.goto("/console/permits")
    desk.click("text=办理住户证 New permit")

    # A temporary pass of five days: refused on its field, nothing typed is lost, the photo is kept.
    today = datetime.now(CST).date()
    fill(desk, card="04 a1 b2 c3", kind="temporary", until=(today + timedelta(days=4)).isoformat())
    desk.set_input_files("input[name=photo]", str(tmp_path / "zhangsan.png"))
    desk.click("text=发证 Issue permit")
    alert = desk.locator("[role=alert]").inner_text()
    assert "临时通行证最长 3 天" in alert and "at most 3 days" in alert
    assert "bad-field" in (desk.locator("input[name=valid_until]").locator("xpath=..").get_attribute("class") or "")
    assert desk.input_value("input[name=holder]") == "张三" and desk.input_value("input[name=card_uid]") == "04 a1 b2 c3"
    assert "已收到照片" in desk.inner_text("main")                    # the photo need not be uploaded again
    shoot(desk, tmp_path, "console-permit-form-refused-1366x768", full_page=True)
    assert office.count(schema.permits) == 0

    desk.select_option("select[name=kind]", "resident")
    desk.click("text=发证 Issue permit")
    desk.wait_for_url("**/console/permits/P*?done=issue_permit")
    permit_id = desk.url.split("/permits/")[1].split("?")[0]
    main = desk.inner_text("main")
    assert "04A1B2C3" in main and "生效" in main and mask_id(ID_NUMBER) in main and ID_NUMBER not in main
    assert desk.locator("#holder-photo").evaluate("img => img.naturalWidth") == 120   # the photo shows
    shoot(desk, tmp_path, "console-permit-issued-1366x768", full_page=True)

    desk.goto("/console/permits?q=3-2-1502")
    row = desk.locator("table.permits tbody tr").filter(has_text=permit_id)
    assert row.count() == 1 and "张三" in row.inner_text() and "住户证" in row.inner_text()
    shoot(desk, tmp_path, "console-permits-list-1366x768", full_page=True)

    site = GateSite(tmp_path, "north", office)
    daemon = site.daemon()
    try:
        replica, presented, decision = card_decision(site, daemon, "04a1b2c3")
        assert decision.allowed and presented.permit.permit_id == permit_id
        stored = downscale_photo(png)[0]        # the office keeps the photo re-encoded small (office/photos.py)
        assert replica.photo(presented.permit.holder.photo) == stored       # byte for byte
        assert 360 <= decision.days_left <= 365                             # a year

        desk.goto(f"/console/permits/{permit_id}")
        desk.click("text=挂失 Report lost")
        desk.wait_for_url("**done=report_lost")
        assert "挂失" in desk.inner_text("#permit-state")
        _, _, decision = card_decision(site, daemon, "04A1B2C3")
        assert not decision.allowed and decision.reason.value == "card.lost"

        photo_sent = photo_change(office)
        desk.click("text=补办新卡 Re-issue on a new card")                # no card presented: said so, nothing issued
        assert "新卡" in desk.locator("[role=alert]").inner_text() and office.count(schema.permits) == 1
        desk.fill("form.reissue input[name=card_uid]", "04D4E5F6")
        desk.click("text=补办新卡 Re-issue on a new card")
        desk.wait_for_url("**done=reissue_permit")
        new_id = desk.url.split("/permits/")[1].split("?")[0]
        assert new_id != permit_id and permit_id in desk.inner_text("main")  # it names the permit it replaces
        shoot(desk, tmp_path, "console-permit-reissued-1366x768", full_page=True)

        _, presented, decision = card_decision(site, daemon, "04D4E5F6")
        assert decision.allowed and presented.permit.replaces == permit_id
        assert presented.permit.holder.id_masked == mask_id(ID_NUMBER)     # the holder's ID carried over
        assert replica.photo(presented.permit.holder.photo) == stored
        assert photo_change(office) == photo_sent                          # the same photo is not sent again
        _, _, decision = card_decision(site, daemon, "04A1B2C3")
        assert not decision.allowed and decision.reason.value == "card.lost"
    finally:
        daemon.close()

    desk.goto(f"/console/permits/{permit_id}")
    history = desk.locator("table.history").inner_text()
    assert "发证" in history and "挂失" in history and new_id in history and "qiantai" in history
    with office.engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(console_audit.c.action).order_by(console_audit.c.audit_id))]
    assert [a for a in actions if a != "sign_in"] == ["issue_permit", "report_lost", "reissue_permit", "replaced_by"]
    desk.context.close()


@needs_chromium
def test_forged_or_damaged_photos_are_refused_with_a_message(
        office: OfficeServer, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    staff(office)
    desk = signed_in(chromium, office.url, "qiantai", PASSWORD, viewport=VIEW)
    for name, data, words in (("bomb.png", png_declaring(50_000, 50_000), "尺寸过大"),
                              ("broken.png", png_declaring(120, 160), "已损坏"),
                              ("note.png", "这不是图片".encode(), "无法识别")):
        desk.goto("/console/permits/new")
        fill(desk, card="CARD-X")
        desk.set_input_files("input[name=photo]", files=[{"name": name, "mimeType": "image/png", "buffer": data}])
        with desk.expect_response(lambda r: r.request.method == "POST") as sent:
            desk.click("text=发证 Issue permit")
        assert sent.value.status == 422
        assert words in desk.locator("[role=alert]").inner_text(), name
        assert desk.input_value("input[name=holder]") == "张三"
    shoot(desk, tmp_path, "console-permit-photo-refused-1366x768", full_page=True)
    assert office.count(schema.permits) == 0 and office.count(schema.photos) == 0
    desk.context.close()


@needs_chromium
def test_security_reads_permits_but_cannot_issue_or_change_them(
        office: OfficeServer, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    staff(office)
    permit = office.issue_permit("CARD-S")
    guard = signed_in(chromium, office.url, "baoan", PASSWORD, viewport=VIEW)
    assert guard.goto("/console/permits/new").status == 403
    assert "只有前台" in guard.inner_text("main")
    guard.goto(f"/console/permits/{permit['permit_id']}")
    assert guard.locator("text=挂失 Report lost").count() == 0 and "张三" in guard.inner_text("main")
    csrf = guard.locator("form input[name=csrf]").first.get_attribute("value")   # the sign-out form's token
    answer = guard.request.post(f"/console/permits/{permit['permit_id']}/revoke", form={"csrf": csrf})
    assert answer.status == 403 and "不能办理住户证" in answer.text()    # refused for the role (roles.py), not the form
    with office.engine.connect() as conn:
        assert conn.execute(select(schema.permits.c.status)).scalar_one() == "active"
    guard.context.close()


@needs_chromium
def test_renewal_reminders_and_renewing_for_a_year(office: OfficeServer, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    staff(office)
    now = datetime.now(CST)
    ending = office.issue_permit("CARD-R", holder_name="李四", valid_from=now - timedelta(days=355))
    office.issue_permit("CARD-Q", holder_name="王五")                     # a fresh one: no reminder
    desk = signed_in(chromium, office.url, "qiantai", PASSWORD, viewport=VIEW)
    desk.goto("/console/permits")
    assert desk.locator("#expiring-count b").inner_text() == "1"
    reminders = desk.locator("table.expiring").inner_text()
    assert "李四" in reminders and "王五" not in reminders
    shoot(desk, tmp_path, "console-permits-reminders-1366x768", full_page=True)

    desk.click(f"table.expiring a:text('{ending['permit_id']}')")
    desk.click("text=续期一年 Renew for a year")
    desk.wait_for_url("**done=renew_permit")
    with office.engine.connect() as conn:
        until = conn.execute(select(schema.permits.c.valid_until).where(
            schema.permits.c.permit_id == ending["permit_id"])).scalar_one()
    assert datetime.fromisoformat(until) == datetime.fromisoformat(ending["valid_until"]) + timedelta(days=365)
    desk.goto("/console/permits")
    assert desk.locator("#expiring-count b").inner_text() == "0"

    site = GateSite(tmp_path, "north", office)                        # a gate sees the renewal as the same permit
    daemon = site.daemon()
    try:
        replica, presented, decision = card_decision(site, daemon, "CARD-R")
    finally:
        daemon.close()
    assert decision.allowed and decision.days_left >= 365 and presented.permit.permit_id == ending["permit_id"]
    assert len(list(replica.db.query("select permit_id from permits where card_uid = 'CARD-R'"))) == 1
    desk.context.close()


@needs_chromium
def test_a_photo_taken_with_the_webcam_is_stored_with_the_permit(
        office: OfficeServer, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    staff(office)
    # A browser of its own: Chromium's fake camera (a test pattern) and no permission prompt.
    browser = chromium.browser_type.launch(executable_path=str(CHROMIUM), args=[
        *ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
    try:
        desk = signed_in(browser, office.url, "qiantai", PASSWORD, viewport=VIEW)
        desk.goto("/console/permits/new")
        fill(desk, card="CAM-1")
        desk.click("text=打开摄像头 Start webcam")
        desk.wait_for_selector("#camera-take:visible")                       # the camera's picture has its size
        desk.click("text=拍照 Take photo")
        desk.wait_for_selector("body[data-photo-taken='1']")
        shoot(desk, tmp_path, "console-permit-webcam-1366x768", full_page=True)
        desk.click("text=发证 Issue permit")
        desk.wait_for_url("**done=issue_permit")
    finally:
        browser.close()
    with office.engine.connect() as conn:
        stored = conn.execute(select(schema.photos.c.mime, schema.photos.c.data)).one()
        on_permit = conn.execute(select(schema.permits.c.photo)).scalar_one()
    assert stored.mime == "image/jpeg" and on_permit
    frame = cv2.imdecode(np.frombuffer(bytes(stored.data), np.uint8), cv2.IMREAD_COLOR)
    assert frame is not None and frame.shape[1] >= 320                  # a picture from the camera


def test_check_photo_refuses_what_a_gate_could_not_show(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    good = portrait(tmp_path / "p.png")
    assert check_photo(good) == "image/png"
    ok, jpeg = cv2.imencode(".jpg", np.zeros((40, 30, 3), np.uint8))
    assert check_photo(jpeg.tobytes()) == "image/jpeg"
    ok, bmp = cv2.imencode(".bmp", np.zeros((40, 30, 3), np.uint8))
    with pytest.raises(PhotoRefused, match="PNG 或 JPEG"):
        check_photo(bmp.tobytes())
    monkeypatch.setattr(photos, "PHOTO_MAX_BYTES", len(good) - 1)
    with pytest.raises(PhotoRefused, match="照片过大"):
        check_photo(good)


def test_temporary_and_renovation_passes_are_bounded_at_the_office(office: OfficeServer) -> None:
    from office.records import PermitRefused

    now = datetime.now(CST)
    with pytest.raises(PermitRefused, match="at most 90 days") as refused:
        office.issue_permit("CARD-RN", kind=PermitKind.RENOVATION, valid_from=now, valid_until=now + timedelta(days=91))
    assert refused.value.field == "valid_until"
    assert office.issue_permit("CARD-RN", kind=PermitKind.RENOVATION, valid_from=now,
                               valid_until=now + timedelta(days=60))["kind"] == "renovation"
    with pytest.raises(PermitRefused, match="at most 3 days"):
        office.issue_permit("CARD-T", kind=PermitKind.TEMPORARY, valid_from=now, valid_until=now + timedelta(days=4))


FUZZ = settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
FIELDS = ["holder", "unit", "phone", "id_number", "kind", "valid_from", "valid_until", "card_uid", "photo_kept", "csrf",
          "q", "status"]


@FUZZ
@given(form=st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=30), max_size=8),
       photo=st.one_of(st.none(), st.binary(max_size=200), st.sampled_from([png_declaring(9, 9), png_declaring(0, 5)])),
       body=st.binary(max_size=80), path=st.sampled_from(["new", "P0/renew", "P0/lost", "P0/revoke", "P0/reissue"]),
       query=st.dictionaries(st.sampled_from(["q", "status", "kind", "done"]), st.text(max_size=20), max_size=3),
       permit=st.text(max_size=20))
def test_permit_pages_and_forms_never_answer_5xx(office: OfficeServer, form: dict[str, str], photo: bytes | None,
                                                 body: bytes, path: str, query: dict[str, str], permit: str) -> None:
    """Any fields, any file bytes, any raw body, any id and query, signed in as the front desk: a message, never a 5xx."""
    import httpx

    if not office.count(console_audit):
        staff(office)
    with httpx.Client(base_url=office.url, timeout=10) as c:
        assert c.post("/console/login", data={"username": "qiantai", "password": PASSWORD}).status_code == 303
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/console/permits").text)
        assert csrf
        fields = dict(form, csrf=csrf.group(1))
        files = {"photo": ("p.png", photo, "image/png")} if photo is not None else {"x": ("x", b"", "text/plain")}
        answers = [c.post(f"/console/permits/{path}", data=fields, files=files),
                   c.post(f"/console/permits/{path}", content=body,
                          headers={"content-type": "multipart/form-data; boundary=zz"}),
                   c.post(f"/console/permits/{path}", content=body,
                          headers={"content-type": "application/x-www-form-urlencoded"}),
                   c.get("/console/permits", params=query),
                   c.get(f"/console/permits/{quote(permit, safe='')}"),
                   c.get(f"/console/permits/{quote(permit, safe='')}/photo")]
    assert all(r.status_code < 500 for r in answers), [(r.request.url, r.status_code) for r in answers]


def test_a_clerk_of_another_estate_neither_sees_nor_changes_a_permit(office: OfficeServer, tmp_path: Path) -> None:
    import httpx

    from domain.keyfiles import new_keys
    from office.db import ensure_estate
    from office.records import add_unit

    permit = office.issue_permit("CARD-D", photo=(portrait(tmp_path / "d.png"), "image/png"))
    new_keys(Path(office.cfg.keys) / "west")
    with office.engine.begin() as conn:
        ensure_estate(conn, "west", "西区")
        add_unit(conn, "west", "3-2-1502")
        add_staff(conn, "west", "zhaomin", "赵敏", PASSWORD, "front_desk")
    with httpx.Client(base_url=office.url, timeout=10) as c:
        assert c.post("/console/login", data={"username": "zhaomin", "password": PASSWORD}).status_code == 303
        listing = c.get("/console/permits").text
        assert "CARD-D" not in listing and permit["permit_id"] not in listing
        assert c.get(f"/console/permits/{permit['permit_id']}").status_code == 404
        assert c.get(f"/console/permits/{permit['permit_id']}/photo").status_code == 404
        assert c.get(f"/console/permits/{permit['permit_id']}?estate=default").status_code == 403
        csrf = re.search(r'name="csrf" value="([^"]+)"', listing)
        assert csrf
        r = c.post(f"/console/permits/{permit['permit_id']}/revoke", data={"csrf": csrf.group(1)})
        assert r.status_code == 404 and "没有这张证" in r.text
        r = c.post("/console/permits/new", data={"csrf": csrf.group(1), "holder": "赵六", "unit": "3-2-1502",
                                                 "id_number": ID_NUMBER, "kind": "resident", "card_uid": "CARD-D"},
                   files={"photo": ("d.png", (tmp_path / "d.png").read_bytes(), "image/png")})
        assert r.status_code == 303                       # the same card UID is free in west: its own estate
    with office.engine.connect() as conn:
        rows = {(r.estate, r.status) for r in conn.execute(select(schema.permits.c.estate, schema.permits.c.status))}
    assert rows == {("default", "active"), ("west", "active")}


@needs_chromium
def test_the_form_works_without_javascript(office: OfficeServer, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    staff(office)
    png = portrait(tmp_path / "p.png")
    desk = signed_in(chromium, office.url, "qiantai", PASSWORD, viewport=VIEW, java_script_enabled=False)
    desk.goto("/console/permits/new")
    assert not desk.locator("#camera-start").is_visible()              # no webcam button that could do nothing
    fill(desk, card="NOJS-1", kind="renovation", until=(datetime.now(CST).date() + timedelta(days=59)).isoformat())
    desk.set_input_files("input[name=photo]", str(tmp_path / "p.png"))
    desk.click("text=发证 Issue permit")
    desk.wait_for_url("**done=issue_permit")
    assert "装修出入证" in desk.inner_text("main")
    with office.engine.connect() as conn:
        row = conn.execute(select(schema.permits)).mappings().one()
        data = conn.execute(select(schema.photos.c.data)).scalar_one()
    assert row["kind"] == "renovation" and bytes(data) == downscale_photo(png)[0]
    assert datetime.fromisoformat(row["valid_until"]) - datetime.fromisoformat(row["valid_from"]) == timedelta(days=60)
    desk.context.close()
