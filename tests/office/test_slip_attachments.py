"""Issue 12 on the slip form: the carrier's photo or permit, and the proof attached to a slip.

The front desk attaches a receipt PDF and an invoice photo and takes (here: uploads) the carrier's
photo; a refused form keeps what was typed and what was valid; a corrupt PDF, a renamed program and a
file over the limit are refused in words next to their row; the approver sees the photo and the files,
and a download gives back the exact bytes; another estate sees nothing (404); a company-assets slip
without its authorisation letter is refused; the photo reaches the gate small; an amended slip keeps
its carrier photo and attachments."""
from __future__ import annotations

import io
import re
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from domain.issuing import carrier_problems, proof_problems
from domain.model import PermitKind, PermitStatus, SlipKind
from kiosk.store import Replica
from office import schema
from office.attachments import ATTACHMENT_MAX_BYTES
from office.console.auth import add_staff
from office.console.schema import console_audit
from office.photos import PHOTO_SIDE, check_photo, downscale_photo
from office.records import set_permit_status
from tests.office.browser import ARGS, CHROMIUM, chromium, needs_chromium, shoot, signed_in  # noqa: F401
from tests.office.harness import CST, GateSite, OfficeServer
from tests.office.test_slip_desk import GOOD_ID, PASSWORD, estate

VIEW = {"width": 1366, "height": 768}


def pdf(text: str = "收据 No. 0042") -> bytes:
    """A small well-formed PDF: header, one object, a cross-reference table, startxref, %%EOF."""
    body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>",
            b"<< /Title (" + text.encode("utf-8").hex().encode() + b") >>"]
    offsets = []
    for i, o in enumerate(objs, start=1):
        offsets.append(len(body))
        body += f"{i} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(body)
    body += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    body += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return body


def picture(size: tuple[int, int], fmt: str = "PNG", *, orientation: int = 0) -> bytes:
    """A picture with a face-ish oval (and, for a JPEG, EXIF orientation and a GPS-like maker note)."""
    img = Image.new("RGB", size, (60, 140, 200))
    d = ImageDraw.Draw(img)
    w, h = size
    d.ellipse((w // 4, h // 6, 3 * w // 4, 2 * h // 3), fill=(235, 200, 170))
    d.rectangle((0, 3 * h // 4, w, h), fill=(60, 60, 60))
    out = io.BytesIO()
    if fmt == "JPEG":
        exif = Image.Exif()
        if orientation:
            exif[0x0112] = orientation
        exif[0x010F] = "PhoneMaker"                     # Make: metadata that must not reach the gates
        img.save(out, "JPEG", quality=80, exif=exif.tobytes())
    else:
        img.save(out, fmt)
    return out.getvalue()


def client(office: OfficeServer, username: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=office.url, timeout=60)
    assert c.post("/console/login", data={"username": username, "password": PASSWORD}).status_code == 303
    m = re.search(r'name="csrf" value="([^"]+)"', c.get("/console/slips/new").text)
    assert m
    return c, m.group(1)


def form(csrf: str, **kw: str) -> dict[str, Any]:
    day = (datetime.now(CST) + timedelta(days=1)).date().isoformat()
    base: dict[str, Any] = {"csrf": csrf, "kind": "owner", "unit": "3-2-1502", "applicant": "张三", "phone": "13800000000",
                            "mover": "陈师傅", "date": day, "time_from": "08:00", "time_until": "20:00",
                            "item_name": ["冰箱"], "item_qty": ["1"], "item_spec": ["180cm"]}
    base.update(kw)
    return base


def post(c: httpx.Client, data: dict[str, Any], files: list[tuple[str, Any]] | None = None,
         url: str = "/console/slips/new") -> httpx.Response:
    # a multipart form as the browser sends it: an empty photo input and the rows without a file too
    parts = list(files or [])
    if not any(name == "mover_photo" for name, _ in parts):
        parts.append(("mover_photo", ("", b"", "application/octet-stream")))
    return c.post(url, data=data, files=parts)


def slip_of(r: httpx.Response) -> str:
    assert r.status_code == 303, r.text[-3000:]
    return r.headers["location"].split("/slips/")[1].split("?")[0]


def test_the_rules_are_domain_issuing_ones() -> None:
    assert carrier_problems(id_number=False, photo=False, permit=False)[0].field == "mover"
    assert carrier_problems(id_number=False, photo=True, permit=False) == []
    assert [p.zh for p in proof_problems(SlipKind.COMPANY_ASSETS, ["receipt"])] == ["公司财产须附授权书"]
    assert proof_problems(SlipKind.COMPANY_ASSETS, ["authorisation"]) == []
    assert proof_problems(SlipKind.OWNER, []) == []


def test_an_accepted_photo_is_stored_upright_small_and_without_metadata() -> None:
    big = picture((3000, 4000), "JPEG", orientation=6)          # a phone's portrait, turned by its EXIF
    assert check_photo(big) == "image/jpeg"
    small, mime = downscale_photo(big)
    with Image.open(io.BytesIO(small)) as img:
        assert mime == "image/jpeg" and img.format == "JPEG"
        assert img.size == (PHOTO_SIDE, 360)                     # orientation 6: the 3000x4000 stands on its side
        assert not img.getexif() and "exif" not in img.info
    assert len(small) < 60_000 < len(big)
    assert downscale_photo(small) == (small, "image/jpeg")      # stored once: the same bytes, the same photo id


def fill(page: Any) -> None:
    """The form's text as a clerk types it, with no carrier ID number."""
    page.fill("input[name=unit]", "3-2-1502")
    page.fill("input[name=applicant]", "张三")
    page.fill("input[name=mover]", "陈师傅")
    page.locator("input[name=item_name]").nth(0).fill("冰箱")
    page.locator("input[name=item_qty]").nth(0).fill("1")
    page.fill("input[name=time_from]", "08:00")
    page.fill("input[name=time_until]", "20:00")


@needs_chromium
def test_a_slip_with_a_carrier_photo_and_proof_goes_to_its_approver_and_the_gate(
        office: OfficeServer, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    estate(office)
    face = picture((3000, 4000), "JPEG")
    receipt, invoice, corrupt = pdf(), picture((600, 800)), pdf()[:-40]
    for name, data in (("face.jpg", face), ("receipt.pdf", receipt), ("invoice.png", invoice), ("broken.pdf", corrupt)):
        (tmp_path / name).write_bytes(data)
    desk = signed_in(chromium, office.url, "qiantai", PASSWORD, viewport=VIEW)
    desk.goto("/console/slips/new")
    fill(desk)
    desk.set_input_files("input[name=mover_photo]", str(tmp_path / "face.jpg"))
    rows = desk.locator("input[name=attachment]")
    kinds = desk.locator("select[name=attachment_kind]")
    kinds.nth(0).select_option("receipt")
    rows.nth(0).set_input_files(str(tmp_path / "receipt.pdf"))
    kinds.nth(1).select_option("invoice")
    rows.nth(1).set_input_files(str(tmp_path / "invoice.png"))
    kinds.nth(2).select_option("other")
    rows.nth(2).set_input_files(str(tmp_path / "broken.pdf"))
    desk.click("text=提交审批 Submit for approval")

    alert = desk.locator("[role=alert]").inner_text()
    assert "第 3 个附件 broken.pdf:PDF 文件不完整或已损坏" in alert and "truncated or damaged" in alert
    assert desk.input_value("input[name=mover]") == "陈师傅"              # nothing typed is lost
    assert desk.locator("input[name=item_name]").nth(0).input_value() == "冰箱"
    main = desk.inner_text("main")
    assert "已收到照片" in main and main.count("已收到,无需再传") == 2     # the photo and the two good files kept
    assert desk.locator("#photo-preview").evaluate("img => img.naturalWidth") == 3000
    shoot(desk, tmp_path, "console-slip-attachments-refused-1366x768", full_page=True)
    assert office.count(schema.slips) == 0 and office.count(schema.slip_attachments) == 0

    desk.click("text=提交审批 Submit for approval")
    desk.wait_for_url("**/console/slips/S*?made=1")
    slip_id = desk.url.split("/slips/")[1].split("?")[0]
    desk.context.close()

    butler = signed_in(chromium, office.url, "guanjia", PASSWORD, viewport=VIEW)
    butler.goto(f"/console/slips/{slip_id}")
    assert 0 < butler.locator("#carrier-photo").evaluate("img => img.naturalWidth") <= PHOTO_SIDE
    files = butler.locator("table.attachments tbody tr")
    assert files.count() == 2 and "收据" in files.nth(0).inner_text() and "发票" in files.nth(1).inner_text()
    shoot(butler, tmp_path, "console-slip-attachments-detail-1366x768", full_page=True)
    href = files.nth(0).locator("a").get_attribute("href")
    got = butler.context.request.get(href)
    assert got.status == 200 and got.body() == receipt                  # the exact bytes
    assert got.headers["content-type"] == "application/pdf" and got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")
    got = butler.context.request.get(files.nth(1).locator("a").get_attribute("href"))
    assert got.body() == invoice and got.headers["content-type"] == "image/png"
    butler.context.close()

    with office.engine.connect() as conn:
        audit = [r.target for r in conn.execute(select(console_audit.c.target).where(
            console_audit.c.action == "attach_slip").order_by(console_audit.c.audit_id))]
    assert len(audit) == 2 and audit[0].startswith(f"{slip_id} #1 receipt receipt.pdf sha256:")

    site = GateSite(tmp_path, "east", office)
    daemon = site.daemon()
    try:
        assert daemon.run_once()
    finally:
        daemon.close()
    replica = Replica.open(site.replica_path)
    found = replica.slip(slip_id)
    assert found is not None
    photo = replica.photo(found[0].mover.photo)
    assert photo is not None and len(photo) < 60_000 < len(face)            # the gate gets a small photo
    with Image.open(io.BytesIO(photo)) as img:
        assert max(img.size) <= PHOTO_SIDE
    tables = {r["name"] for r in replica.db.query("select name from sqlite_master where type = 'table'")}
    with office.engine.connect() as conn:
        sent = set(conn.execute(select(schema.changes.c.tbl).distinct()).scalars())
    assert "slips" in sent and "slip_attachments" not in sent | tables          # proof stays at the office


def test_bad_files_are_refused_next_to_their_row_and_nothing_typed_is_lost(office: OfficeServer) -> None:
    estate(office)
    c, csrf = client(office, "qiantai")
    with closing(c):
        exe = b"MZ\x90\x00" + bytes(2000)
        big = b"%PDF-1.4\n" + bytes(ATTACHMENT_MAX_BYTES) + b"\nstartxref\n0\n%%EOF\n"
        r = post(c, form(csrf, mover_id=GOOD_ID, purpose="搬家", attachment_kind=["receipt", "invoice", "other"]), [
            ("attachment", ("收据.pdf", pdf(), "application/pdf")),
            ("attachment", ("invoice.pdf", exe, "application/pdf")),        # a renamed program
            ("attachment", ("scan.pdf", big, "application/pdf"))])
        assert r.status_code == 422
        assert "第 2 个附件 invoice.pdf:只收 PDF、PNG 或 JPEG 文件" in r.text and "only PDF, PNG or JPEG" in r.text
        assert "第 3 个附件 scan.pdf:文件过大" in r.text and "at most 5 MB a file" in r.text
        assert 'value="搬家"' in r.text and f'value="{GOOD_ID}"' in r.text      # nothing typed is lost
        assert r.text.count('name="attachment_kept"') == 1 and "receipt:收据.pdf:" in r.text
        assert office.count(schema.slips) == 0 and office.count(schema.slip_attachments) == 0
        # the larger body is the slip form's only: another form still meets the server's limit (64 KB here)
        assert c.post("/console/permits/new", content=bytes(70 * 1024)).status_code == 413

        r = post(c, form(csrf, attachment_kind=[""]), [("attachment", ("a.pdf", pdf(), "application/pdf"))])
        assert r.status_code == 422 and "请填写搬运人身份证号,或拍摄/上传搬运人照片,或填写搬运人的住户证" in r.text
        assert "第 1 个附件:请选择类型" in r.text                             # no ID, photo, permit; a file of no kind


def test_company_assets_need_the_authorisation_letter(office: OfficeServer) -> None:
    estate(office)
    c, csrf = client(office, "qiantai")
    with closing(c):
        r = post(c, form(csrf, kind="company", mover_id=GOOD_ID, attachment_kind=["receipt"]),
                 [("attachment", ("r.pdf", pdf(), "application/pdf"))])
        assert r.status_code == 422 and "公司财产须附授权书" in r.text and "authorisation letter" in r.text
        r = post(c, form(csrf, kind="company", mover_id=GOOD_ID, attachment_kind=["authorisation"]),
                 [("attachment", ("授权书.pdf", pdf("授权"), "application/pdf"))])
        slip_id = slip_of(r)
        assert "授权书.pdf" in c.get(f"/console/slips/{slip_id}").text


def test_the_carriers_permit_must_be_this_estates_active_and_in_date(office: OfficeServer) -> None:
    estate(office)
    now = datetime.now(CST)
    good = office.issue_permit("CARD-M", holder_name="陈师傅", photo=(picture((120, 160)), "image/png"))
    lost = office.issue_permit("CARD-L")
    ended = office.issue_permit("CARD-E", kind=PermitKind.TEMPORARY, valid_from=now - timedelta(days=10),
                                valid_until=now - timedelta(days=8))
    with office.engine.begin() as conn:
        set_permit_status(conn, "default", lost["permit_id"], PermitStatus.LOST)
    c, csrf = client(office, "qiantai")
    with closing(c):
        for typed, said in ((lost["permit_id"], "已挂失"), (ended["permit_id"], "不在有效期内"), ("P0000NONE", "没有住户证")):
            r = post(c, form(csrf, mover_permit=typed))
            assert r.status_code == 422 and said in r.text and f'value="{typed}"' in r.text, typed
        slip_id = slip_of(post(c, form(csrf, mover_permit="card-m")))       # the card, as the desk reader types it
        page = c.get(f"/console/slips/{slip_id}").text
        assert good["permit_id"] in page and "陈师傅" in page and f"/console/permits/{good['permit_id']}/photo" in page
        with office.engine.connect() as conn:
            assert conn.execute(select(schema.slips.c.mover_permit_id)).scalar_one() == good["permit_id"]


def test_another_estate_sees_no_photo_and_no_attachment_and_an_amendment_keeps_them(office: OfficeServer) -> None:
    from domain.keyfiles import new_keys
    from office.db import ensure_estate
    from office.records import add_unit

    estate(office)
    new_keys(Path(office.cfg.keys) / "west")
    with office.engine.begin() as conn:
        ensure_estate(conn, "west", "西区")
        add_unit(conn, "west", "3-2-1502")
        add_staff(conn, "west", "zhaomin", "赵敏", PASSWORD, "front_desk")
    c, csrf = client(office, "qiantai")
    other, _ = client(office, "zhaomin")
    with closing(c), closing(other):
        face = picture((300, 400), "JPEG")
        slip_id = slip_of(post(c, form(csrf, attachment_kind=["receipt"]), [
            ("mover_photo", ("face.jpg", face, "image/jpeg")), ("attachment", ("r.pdf", pdf(), "application/pdf"))]))
        mine = c.get(f"/console/slips/{slip_id}/attachments/1")
        assert mine.status_code == 200 and mine.content == pdf()
        assert c.get(f"/console/slips/{slip_id}/carrier-photo").headers["content-type"] == "image/jpeg"
        for url in (f"/console/slips/{slip_id}/attachments/1", f"/console/slips/{slip_id}/carrier-photo"):
            assert other.get(url).status_code == 404                        # another estate: nothing there
        for url in (f"/console/slips/{slip_id}/attachments/2", f"/console/slips/{slip_id}/attachments/x",
                    f"/console/slips/{slip_id}/attachments/99999999999", "/console/slips/S%00/carrier-photo",
                    "/console/slips/S999999/attachments/1"):
            assert c.get(url).status_code == 404, url

        amend = c.get(f"/console/slips/{slip_id}/amend").text
        assert f"沿用 {slip_id} 的搬运人照片" in amend and f"沿用 {slip_id} 的附件" in amend and "r.pdf" in amend
        r = post(c, form(csrf, item_name=["冰箱", "洗衣机"], item_qty=["1", "1"], item_spec=["180cm", ""]),
                 url=f"/console/slips/{slip_id}/amend")                      # no ID typed: the carried photo counts
        new_id = slip_of(r)
        page = c.get(f"/console/slips/{new_id}").text
        assert "r.pdf" in page and f"/console/slips/{new_id}/carrier-photo" in page
        assert c.get(f"/console/slips/{new_id}/attachments/1").content == pdf()
        with office.engine.connect() as conn:
            photos = dict(conn.execute(select(schema.slips.c.slip_id, schema.slips.c.mover_photo)).all())
        assert photos[new_id] == photos[slip_id] != ""


@needs_chromium
@pytest.mark.parametrize("office", ["sqlite"], indirect=True)         # the page's script: one backend is enough
def test_the_carrier_photo_is_taken_with_the_permit_forms_webcam_script(
        office: OfficeServer, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    estate(office)
    browser = chromium.browser_type.launch(executable_path=str(CHROMIUM), args=[
        *ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
    try:
        desk = signed_in(browser, office.url, "qiantai", PASSWORD, viewport=VIEW)
        desk.goto("/console/slips/new")
        fill(desk)
        desk.click("text=打开摄像头 Start webcam")
        desk.wait_for_selector("#camera-take:visible")
        assert "对准搬运人" in desk.inner_text("#camera-note")                # it says whom to frame
        desk.click("text=拍照 Take photo")
        desk.wait_for_selector("body[data-photo-taken='1']")
        shoot(desk, tmp_path, "console-slip-webcam-1366x768", full_page=True)
        desk.click("text=提交审批 Submit for approval")
        desk.wait_for_url("**/console/slips/S*?made=1")
        assert 0 < desk.locator("#carrier-photo").evaluate("img => img.naturalWidth") <= PHOTO_SIDE
    finally:
        browser.close()
