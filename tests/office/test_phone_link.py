"""The slip on a resident's phone: the clerk makes a link, the resident scans it off the clerk's
screen, the phone shows the slip's QR code, and a gate decodes that from the phone's screen and
accepts it. The link works on the first phone only and shows no code once the slip is cancelled."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from office.console.auth import add_staff
from office.console.schema import phone_links
from tests.office.browser import chromium, needs_chromium, shoot, signed_in  # noqa: F401  (chromium: fixture)
from tests.office.harness import OfficeServer
from tests.office.test_print_view import PASSWORD, decode_png, gate_decides

pytestmark = needs_chromium
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def phone_page(browser: Any, url: str) -> Any:
    return browser.new_context(locale="zh-CN", **PHONE).new_page()


def test_a_resident_shows_the_slip_from_a_phone_and_the_gate_accepts_it(
        office: OfficeServer, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    issued = office.issued_slip()
    with office.engine.begin() as conn:
        add_staff(conn, "default", "wangli", "王丽", PASSWORD)
    desk = signed_in(chromium, office.url, "wangli", PASSWORD, viewport={"width": 1366, "height": 768})
    desk.goto("/console/slips")
    desk.locator(f"form[action$='/slips/{issued.slip_id}/phone'] button").click()
    url = desk.locator("code.phone-url").inner_text().strip()
    assert url.startswith(office.url + "/p/")
    assert decode_png(shoot(desk, tmp_path, "console-phone-link-1366x768")) == [url]   # the resident scans the screen
    with office.engine.connect() as conn:
        stored = conn.execute(select(phone_links)).mappings().one()
    assert url.rsplit("/", 1)[1] not in str(dict(stored))        # only a digest of the link is kept

    phone = phone_page(chromium, url)
    assert phone.goto(url).status == 200
    texts = decode_png(shoot(phone, tmp_path, "phone-slip-390x844"))
    assert texts == [issued.token]
    decision = gate_decides(office, tmp_path, texts[0])
    assert decision.allowed, decision.reasons
    assert phone.reload().status == 200                           # the same phone opens it again

    other = phone_page(chromium, url)                             # the link forwarded to someone else
    r = other.goto(url)
    assert r.status == 403 and "另一部手机" in other.inner_text("body")
    assert decode_png(shoot(other, tmp_path, "phone-other-390x844")) == []

    from office.slips import cancel_slip
    with office.engine.begin() as conn:
        cancel_slip(conn, "default", issued.slip_id)
    r = phone.reload()
    assert r.status == 410 and "已作废" in phone.inner_text("body")
    assert decode_png(shoot(phone, tmp_path, "phone-cancelled-390x844")) == []
    for page in (desk, phone, other):
        page.context.close()


@pytest.mark.parametrize("path", ["/p/", "/p/x", "/p/" + "A" * 300, "/p/%00%ff", "/p/..%2f..%2fconsole"])
def test_a_made_up_link_shows_a_message_not_a_slip(office: OfficeServer, path: str) -> None:
    import httpx

    office.issued_slip()
    r = httpx.get(office.url + path, timeout=10)
    assert r.status_code in (404, 405) and "<svg" not in r.text
    if r.status_code == 404 and "text/html" in r.headers.get("content-type", ""):
        assert "链接无效" in r.text
