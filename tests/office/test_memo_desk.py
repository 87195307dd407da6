"""Commercial tenants' release memo (租户室内物品放行备忘表, R-WK-033) at the front desk, in a real browser.

The clerk registers a memo with its specimen seal (a damaged signature scan is refused with everything
typed kept); a slip for that unit is refused for an applicant the memo does not authorise, refused
without the seal-check tick, and pending with it; the butler head sees the seal and the company on the
slip page; a residential unit's slip needs none of it; once the memo is withdrawn the unit's slips are
refused; another estate's memo and its images are 404."""
from __future__ import annotations

import json
import re
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
from sqlalchemy import select

from domain.keyfiles import new_keys
from office import schema
from office.console.auth import add_staff
from office.console.schema import console_audit
from office.db import ensure_estate
from office.records import add_unit, set_rule
from tests.office.browser import chromium, needs_chromium, shoot, signed_in  # noqa: F401  (chromium: fixture)
from tests.office.harness import CST, OfficeServer

PASSWORD = "correct horse 1"
VIEW = {"width": 1366, "height": 768}
SHOP = "12-0801"
ALL_HOURS = {"large_items_from": "00:00", "large_items_until": "23:59", "allow_non_working_days": True}


def estate(office: OfficeServer) -> None:
    office.add_unit(SHOP)
    with office.engine.begin() as conn:
        set_rule(conn, "default", "large_item_hours", json.dumps(ALL_HOURS))
        add_staff(conn, "default", "qiantai", "前台小李", PASSWORD, "front_desk")
        add_staff(conn, "default", "guanjia", "管家王主管", PASSWORD, "butler")


def seal_png(path: Path) -> Path:
    """A red round company seal with a star, as a desk scanner might save one."""
    img = np.full((200, 200, 3), 255, np.uint8)
    cv2.circle(img, (100, 100), 80, (40, 40, 210), 6)
    star = np.array([[100, 50], [112, 88], [150, 88], [119, 110], [131, 148], [100, 125], [69, 148], [81, 110],
                     [50, 88], [88, 88]], np.int32)
    cv2.fillPoly(img, [star], (40, 40, 210))
    path.write_bytes(cv2.imencode(".png", img)[1].tobytes())
    return path


def signature_png(path: Path) -> Path:
    img = np.full((90, 260, 3), 255, np.uint8)
    cv2.polylines(img, [np.array([[20, 60], [60, 20], [90, 70], [140, 25], [180, 65], [240, 30]], np.int32)], False,
                  (30, 30, 30), 3)
    path.write_bytes(cv2.imencode(".png", img)[1].tobytes())
    return path


def slip(page: Any, unit: str, applicant: str, *, tick: bool) -> str:
    """Fill the slip form and submit it; the refusal's text, or "" when the slip was made."""
    page.goto("/console/slips/new")
    page.select_option("select[name=kind]", "owner")
    page.fill("input[name=unit]", unit)
    page.fill("input[name=applicant]", applicant)
    page.fill("input[name=mover_id]", "440101199001011233")      # the carrier (issue-time rule: ID, photo or permit)
    page.locator("input[name=item_name]").nth(0).fill("办公桌")
    page.locator("input[name=item_qty]").nth(0).fill("2")
    page.fill("input[name=time_from]", "08:00")
    page.fill("input[name=time_until]", "20:00")
    page.locator("input[name=seal_checked]").set_checked(tick)
    page.click("text=提交审批 Submit for approval")
    page.wait_for_load_state()
    if "?made=1" in page.url:
        return ""
    return page.locator("[role=alert]").inner_text()


def image_loaded(page: Any, selector: str) -> bool:
    return bool(page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0"))


@needs_chromium
def test_a_commercial_tenants_slips_are_checked_against_its_memo(
        office: OfficeServer, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    estate(office)
    desk = signed_in(chromium, office.url, "qiantai", PASSWORD, viewport=VIEW)
    desk.goto("/console/memos")
    desk.click("text=登记备忘表 Register a memo")
    desk.fill("input[name=unit]", SHOP)
    desk.fill("input[name=company]", "深圳市星河贸易有限公司")
    desk.locator("input[name=person_name]").nth(0).fill("王建国")
    desk.locator("input[name=person_phone]").nth(0).fill("13800000001")
    desk.locator("input[name=person_name]").nth(1).fill("李娜")
    desk.set_input_files("input[name=seal]", str(seal_png(tmp_path / "seal.png")))
    broken = tmp_path / "broken.png"
    broken.write_bytes(signature_png(tmp_path / "sig.png").read_bytes()[:200])
    desk.set_input_files("input[name=signature1]", str(broken))
    desk.click("text=登记备忘表 Register the memo")
    alert = desk.locator("[role=alert]").inner_text()
    assert "签名样本 1" in alert and "损坏" in alert and "signature 1" in alert      # a damaged scan, in words
    assert desk.input_value("input[name=company]") == "深圳市星河贸易有限公司"         # nothing typed is lost
    assert desk.locator("input[name=person_name]").nth(1).input_value() == "李娜"
    assert "已收到" in desk.inner_text("main")                                    # the good seal is kept
    shoot(desk, tmp_path, "console-memo-form-refused-1366x768", full_page=True)
    desk.set_input_files("input[name=signature1]", str(tmp_path / "sig.png"))
    desk.click("text=登记备忘表 Register the memo")
    desk.wait_for_url("**/console/memos/*?done=register")
    memo_url = desk.url.split("?")[0]
    memo_id = memo_url.rsplit("/", 1)[1]
    assert "有效" in desk.inner_text("main") and "王建国" in desk.inner_text("main")
    assert image_loaded(desk, "img.seal") and image_loaded(desk, "img.signature")
    with office.engine.connect() as conn:
        seal = conn.execute(select(schema.memo_images.c.data).where(schema.memo_images.c.kind == "seal")).scalar_one()
    assert bytes(seal) == (tmp_path / "seal.png").read_bytes()                  # kept byte for byte
    shoot(desk, tmp_path, "console-memo-1366x768", full_page=True)

    refused = slip(desk, SHOP, "赵六", tick=True)
    assert "不是深圳市星河贸易有限公司备忘表授权的申请人" in refused and "not authorised" in refused
    assert desk.input_value("input[name=applicant]") == "赵六"
    assert "bad-field" in (desk.locator("input[name=applicant]").locator("xpath=..").get_attribute("class") or "")
    assert image_loaded(desk, "fieldset img.seal")                    # the specimen to compare against, on the form
    shoot(desk, tmp_path, "console-slip-form-memo-1366x768", full_page=True)
    refused = slip(desk, SHOP, "王建国", tick=False)
    assert "印鉴已与备忘表核对" in refused and "seal checked" in refused
    assert slip(desk, SHOP, "王 建国", tick=True) == ""
    slip_id = desk.url.split("/slips/")[1].split("?")[0]
    assert "待审批" in desk.inner_text("main")

    butler = signed_in(chromium, office.url, "guanjia", PASSWORD, viewport=VIEW)
    butler.goto(f"/console/slips/{slip_id}")
    box = butler.locator("section.slip-memo").inner_text()
    assert "深圳市星河贸易有限公司" in box and "王建国" in box and "前台小李" in box and "与备忘表核对" in box
    assert image_loaded(butler, "section.slip-memo img.seal")
    shoot(butler, tmp_path, "console-slip-memo-1366x768", full_page=True)
    butler.click("text=Approve as butler")
    butler.wait_for_url("**?approved=1")
    assert "已开出" in butler.inner_text("main")
    butler.goto(memo_url)
    assert butler.locator("text=撤回备忘表 Withdraw the memo").count() == 0       # the butler reads, never withdraws
    assert slip_id in butler.inner_text("main")                                # the slips checked against it

    assert slip(desk, "3-2-1502", "张三", tick=False) == ""                      # a residential unit: unaffected
    assert desk.locator("section.slip-memo").count() == 0
    assert slip(desk, SHOP, "李娜", tick=True) == ""                              # a second one, still pending ...
    waiting = desk.url.split("/slips/")[1].split("?")[0]

    desk.goto(memo_url)
    desk.click("text=撤回备忘表 Withdraw the memo")
    desk.wait_for_url("**done=withdraw")
    assert "已撤回" in desk.inner_text("main")
    refused = slip(desk, SHOP, "王建国", tick=True)
    assert "R-WK-033" in refused and "商户未在前台存档" in refused
    butler.goto(f"/console/slips/{waiting}")                                   # ... when the memo is withdrawn:
    butler.click("text=Approve as butler")                                     # the tenant no longer authorises it
    assert "商户未在前台存档" in butler.locator(".error").first.inner_text()
    assert "待审批" in butler.inner_text("main") and "已开出" not in butler.inner_text("main")
    desk.goto("/console/memos")
    assert SHOP in desk.locator("#without-memo").inner_text()                 # the unit to chase for a new memo
    shoot(desk, tmp_path, "console-memo-list-1366x768", full_page=True)
    desk.goto(f"/console/slips/{slip_id}")
    assert "此备忘表现状:已撤回" in desk.locator("section.slip-memo").inner_text()       # checked then, withdrawn since
    with office.engine.connect() as conn:
        actions = conn.execute(select(console_audit.c.action, console_audit.c.target)
                               .where(console_audit.c.action.like("%memo"))).all()
        check = conn.execute(select(schema.slip_memo_checks)).mappings().all()
    assert [a.action for a in actions] == ["register_memo", "withdraw_memo"] and f"#{memo_id}" in actions[0].target
    assert sorted((c["slip_id"], c["memo_id"], c["checked_by"]) for c in check) == \
        [(slip_id, int(memo_id), "前台小李"), (waiting, int(memo_id), "前台小李")]
    for page in (desk, butler):
        page.context.close()


def test_another_estates_memo_and_its_images_are_404(office: OfficeServer, tmp_path: Path) -> None:
    estate(office)
    seal = seal_png(tmp_path / "seal.png").read_bytes()
    new_keys(Path(office.cfg.keys) / "west")
    with office.engine.begin() as conn:
        ensure_estate(conn, "west", "西区")
        add_unit(conn, "west", SHOP)
        add_staff(conn, "west", "zhaomin", "赵敏", PASSWORD, "front_desk")

    def client(username: str) -> tuple[httpx.Client, str]:
        c = httpx.Client(base_url=office.url, timeout=20)
        assert c.post("/console/login", data={"username": username, "password": PASSWORD}).status_code == 303
        found = re.search(r'name="csrf" value="([^"]+)"', c.get("/console/memos").text)
        assert found
        return c, found.group(1)

    desk, csrf = client("qiantai")
    with closing(desk):
        r = desk.post("/console/memos/new", data={"csrf": csrf, "unit": SHOP, "company": "星河贸易", "person_name": "王建国",
                                                  "signed_on": datetime.now(CST).date().isoformat()},
                      files={"seal": ("seal.png", seal, "image/png")})
        assert r.status_code == 303, r.text
        memo = r.headers["location"].split("/memos/")[1].split("?")[0]
        page = desk.get(f"/console/memos/{memo}").text
        image = re.search(r'src="(/console/memos/\d+/images/\d+)"', page)
        assert image and desk.get(image.group(1)).content == seal
        again = desk.post("/console/memos/new", data={"csrf": csrf, "unit": SHOP, "company": "别家", "person_name": "钱七",
                                                      "signed_on": datetime.now(CST).date().isoformat()},
                          files={"seal": ("seal.png", seal, "image/png")})
        assert again.status_code == 422 and "已有有效的备忘表" in again.text and 'value="别家"' in again.text
    west, west_csrf = client("zhaomin")
    with closing(west):
        assert "星河贸易" not in west.get("/console/memos").text
        for path in (f"/console/memos/{memo}", image.group(1), "/console/memos/abc", "/console/memos/99999999999",
                     f"/console/memos/{memo}/images/x", "/console/memos/%00/images/1"):
            assert west.get(path).status_code == 404, path
        r = west.post(f"/console/memos/{memo}/withdraw", data={"csrf": west_csrf})
        assert r.status_code == 404
        # west's unit of the same number is not commercial: default's memo marks default's unit only
        tomorrow = (datetime.now(CST) + timedelta(days=1)).date().isoformat()
        with office.engine.begin() as conn:
            set_rule(conn, "west", "large_item_hours", json.dumps(ALL_HOURS))
        r = west.post("/console/slips/new", data={"csrf": west_csrf, "kind": "owner", "unit": SHOP, "applicant": "孙八",
                                                  "date": tomorrow, "time_from": "09:00", "time_until": "18:00",
                                                  "item_name": "椅子", "item_qty": "1", "mover_id": "440101199001011233"})
        assert r.status_code == 303, r.text


def test_memo_forms_and_pages_never_answer_5xx(office: OfficeServer, tmp_path: Path) -> None:
    """Whatever is posted (no multipart, a NUL, a junk image or kept copy, too many files, odd ids): a page, never 5xx."""
    estate(office)
    seal = seal_png(tmp_path / "seal.png").read_bytes()
    c = httpx.Client(base_url=office.url, timeout=20)
    with closing(c):
        assert c.post("/console/login", data={"username": "qiantai", "password": PASSWORD}).status_code == 303
        found = re.search(r'name="csrf" value="([^"]+)"', c.get("/console/memos/new").text)
        assert found
        csrf = found.group(1)
        base = {"csrf": csrf, "unit": SHOP, "company": "星河贸易", "person_name": "王建国", "signed_on": "2026-01-01"}
        cases: list[tuple[dict[str, Any], dict[str, Any] | None]] = [
            (base, None),                                                  # urlencoded: no seal
            ({**base, "unit": "12-08\x00", "company": "星\x00河"}, {"seal": ("s.png", seal, "image/png")}),
            ({**base, "unit": "../../etc"}, {"seal": ("s.png", seal, "image/png")}),
            ({**base, "seal_kept": "!!not base64!!"}, {"seal": ("s.png", b"", "image/png")}),
            ({**base, "seal_kept": "iVBORw0KGgo="}, None),
            ({**base, "signed_on": "2026-13-45", "valid_until": "yesterday"}, {"seal": ("s.png", seal, "image/png")}),
            ({**base, "signed_on": "2026-06-01", "valid_until": "2026-05-01"}, {"seal": ("s.png", seal, "image/png")}),
            ({**base, "person_name": "", "person_phone": "call me"}, {"seal": ("s.png", b"GIF89a" + bytes(50), "image/gif")}),
            (base, {f"f{n}": (f"{n}.png", seal, "image/png") for n in range(6)}),      # more files than the form has
            ({**base, "unit": "9-9-9999"}, {"seal": ("s.png", seal, "image/png")}),     # no such unit
        ]
        for data, files in cases:
            r = c.post("/console/memos/new", data=data, files=files) if files else c.post("/console/memos/new", data=data)
            assert r.status_code < 500, (data, r.status_code)
            assert r.status_code != 303, data
        r = c.post("/console/memos/new", data={**base, "unit": "9-9-9999"}, files={"seal": ("s.png", seal, "image/png")})
        assert r.status_code == 422 and "没有单元 9-9-9999" in r.text and 'value="星河贸易"' in r.text
        for path in ("/console/memos/0", "/console/memos/-1", "/console/memos/1%00", "/console/memos/1/images/1",
                     "/console/memos/1e3", "/console/memos/1/images/99999999999"):
            assert c.get(path).status_code == 404, path
        for path in ("/console/memos/1/withdraw", "/console/memos/%00/withdraw", "/console/memos/99999999999/withdraw"):
            assert c.post(path, data={"csrf": csrf}).status_code == 404, path
        # the slip form (which now looks the unit's memo up) with a NUL in the unit or the applicant: PostgreSQL
        # refused it mid-request (a 500, a dropped connection) before the form dropped control characters
        for unit, applicant in (("3-2\x001502", "张三"), ("3-2-1502", "张\x00三")):
            r = c.post("/console/slips/new", data={"csrf": csrf, "kind": "owner", "unit": unit, "applicant": applicant,
                                                   "date": "2026-01-01", "time_from": "09:00", "time_until": "18:00",
                                                   "item_name": "椅子", "item_qty": "1"})
            assert r.status_code == 422 and "张三" in r.text, (unit, applicant)
    with office.engine.connect() as conn:
        assert conn.execute(select(schema.tenant_memos)).first() is None       # nothing half-registered
