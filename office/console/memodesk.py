"""Commercial tenants' release memos (租户室内物品放行备忘表, R-WK-033) at the front desk, in the browser.

/console/memos lists the memos on file and the commercial units with no memo in force (their slips
are refused); the front desk (ISSUERS) registers a memo at /console/memos/new: unit, tenant
company, the people it authorises to apply, its specimen seal and signature images (PNG or JPEG,
checked as permit photos are: office/photos.py), the date signed and an optional last day; and
withdraws it when the tenant moves out. Every role reads. The rules are office/memos.py and
domain/issuing.py `memo_problems`; the slip form's tick and the slip page's memo box come from here
too (`memo_for_form`, `slip_memo_view`). Images are served only for the chosen estate's memos.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from domain.exitrow import without_controls
from domain.issuing import MEMO_FORM, UNIT_ID, Problem, memo_in_force
from domain.staff import ISSUERS
from office import schema
from office.changes import get_row
from office.console import auth
from office.console.kept import keep, preview_src, upload_or_kept
from office.console.permitdesk import bilingual
from office.console.templating import render
from office.console.web import HEADERS, PREFIX, Console, Denied, guarded
from office.errors import NotFound, OfficeError
from office.memos import (
    IMAGE_MAX_BYTES,
    MAX_PEOPLE,
    MAX_SIGNATURES,
    Person,
    as_memo,
    is_commercial,
    memo_row,
    people_of,
    register_memo,
    unit_memos,
    withdraw_memo,
)
from office.photos import PhotoRefused, check_photo

#: Memo and image ids in a URL: digits, and not so many that a database integer overflows.
NUMBER = re.compile(r"^[0-9]{1,9}$")
LIST_LIMIT = 500
STATES = {"in_force": ("有效", "in force"), "not_yet": ("未生效", "not yet in force"), "expired": ("已过期", "expired"),
          "withdrawn": ("已撤回", "withdrawn")}
PHONE = re.compile(r"^[0-9+\- ]{5,20}$")
#: The image fields of the form: the seal, then the signatures.
IMAGE_FIELDS = ("seal", *(f"signature{n}" for n in range(1, MAX_SIGNATURES + 1)))
#: The form's body: its images, each possibly sent twice (the file and the kept copy in base64), and text.
FORM_MAX_BYTES = len(IMAGE_FIELDS) * (IMAGE_MAX_BYTES + 4 * IMAGE_MAX_BYTES // 3) + 256 * 1024


@dataclass
class FormValues:
    unit: str = ""
    company: str = ""
    names: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    signed_on: str = ""
    valid_until: str = ""
    kept: dict[str, str] = field(default_factory=dict)     # image field -> base64 of a valid image already sent

    @classmethod
    def from_form(cls, form: dict[str, list[str]]) -> FormValues:
        """The form as typed, with control characters (a NUL no keyboard types, which PostgreSQL refuses) dropped."""
        def clean(text: str, limit: int) -> str:
            return without_controls(text).strip()[:limit]

        def one(name: str, limit: int = 60) -> str:
            return clean((form.get(name) or [""])[0], limit)

        names = [clean(n, 40) for n in form.get("person_name", [])[:MAX_PEOPLE]]
        phones = [clean(p, 20) for p in form.get("person_phone", [])[:MAX_PEOPLE]]
        kept = {f: one(f"{f}_kept", 2 * IMAGE_MAX_BYTES) for f in IMAGE_FIELDS}
        return cls(unit=one("unit", 10), company=one("company", 80), names=names, phones=phones,
                   signed_on=one("signed_on", 10), valid_until=one("valid_until", 10),
                   kept={k: v for k, v in kept.items() if v})

    def people_rows(self) -> list[tuple[str, str]]:
        rows = [(self.names[i] if i < len(self.names) else "", self.phones[i] if i < len(self.phones) else "")
                for i in range(MAX_PEOPLE)]
        return rows


def image_label(name: str) -> tuple[str, str]:
    if name == "seal":
        return "印章", "seal"
    return f"签名样本 {name[-1]}", f"signature {name[-1]}"


def read_images(v: FormValues, files: dict[str, bytes]) -> tuple[dict[str, tuple[bytes, str]], list[Problem]]:
    """The form's images that are good (an upload, else the copy kept from a refused form) and the problems."""
    good: dict[str, tuple[bytes, str]] = {}
    problems: list[Problem] = []
    for name in IMAGE_FIELDS:
        data = upload_or_kept(files.get(name), v.kept.get(name, ""))
        if data is None:
            continue
        zh, en = image_label(name)
        try:
            good[name] = (data, check_photo(data, en, IMAGE_MAX_BYTES))
        except PhotoRefused as exc:
            problems.append(Problem(name, f"{zh}:{exc.zh.replace('照片', '图片')}", exc.en))
    if "seal" not in good and not any(p.field == "seal" for p in problems):
        problems.append(Problem("seal", "请上传印章样本(公章或放行专用章)的扫描件",
                                "upload the specimen seal (company seal or release seal), scanned"))
    return good, problems


def read_form(c: Console, v: FormValues) -> tuple[list[Person], date | None, date | None, list[Problem]]:
    problems: list[Problem] = []
    if not v.unit:
        problems.append(Problem("unit", "请填写单元号", "fill in the unit"))
    elif not UNIT_ID.fullmatch(v.unit):
        problems.append(Problem("unit", f"单元号格式不对:{v.unit}(应如 12-0801)", f"unit {v.unit!r} should look like 12-0801"))
    if not v.company:
        problems.append(Problem("company", "请填写租户公司名称", "fill in the tenant company's name"))
    people = [Person(n, p) for n, p in v.people_rows() if n or p]
    for n, person in enumerate(people, start=1):
        if not person.name:
            problems.append(Problem("people", f"第 {n} 位授权人:请填写姓名", f"authorised person {n}: give the name"))
        if person.phone and not PHONE.fullmatch(person.phone):
            problems.append(Problem("people", f"第 {n} 位授权人:电话号码只能含数字、+ 和 -",
                                    f"authorised person {n}: a phone number has digits, + and - only"))
    if not people:
        problems.append(Problem("people", "请至少填写一名授权申请人", "name at least one person authorised to apply"))
    signed = until = None
    try:
        signed = date.fromisoformat(v.signed_on)
    except ValueError:
        problems.append(Problem("signed_on", "请填写签署日期", "fill in the date the memo was signed"))
    if v.valid_until:
        try:
            until = date.fromisoformat(v.valid_until)
        except ValueError:
            problems.append(Problem("valid_until", "有效期格式不对", "the last day is not a date"))
    if signed and until and until < signed:
        problems.append(Problem("valid_until", "有效期不能早于签署日期", "the last day cannot be before the signing date"))
    return people, signed, until, problems


def require_issuer(c: Console, s: auth.Session) -> None:
    if s.role not in ISSUERS:
        raise Denied(c.message("商户备忘表", "Tenant memos", s, "只有前台可以登记和撤回备忘表",
                               "Only the front desk registers and withdraws memos", "memos", status=403))


def form_page(c: Console, s: auth.Session, v: FormValues, problems: list[Problem], status: int = 200) -> HTMLResponse:
    kept = {name: preview_src(b64) for name, b64 in v.kept.items()}
    body = render("memo_form.html", action=f"{PREFIX}/memos/new", csrf=s.csrf, v=v, problems=problems,
                  bad={p.field for p in problems}, people=v.people_rows(), kept=kept, form=MEMO_FORM,
                  images=[(f, *image_label(f)) for f in IMAGE_FIELDS], max_kb=IMAGE_MAX_BYTES // 1024, clerk=s.name)
    response = c.html("登记租户放行备忘表", "Register a tenant release memo", Markup(body), s, "memos", status=status)
    # the images kept from a refused form preview as data: URLs
    response.headers["Content-Security-Policy"] = HEADERS["Content-Security-Policy"].replace(
        "img-src 'self';", "img-src 'self' data:;")
    return response


def state_of(row: dict[str, Any], today: date) -> str:
    memo = as_memo(row)
    if memo.withdrawn:
        return "withdrawn"
    if memo.in_force(today):
        return "in_force"
    return "not_yet" if memo.signed_on > today else "expired"


def memo_view(c: Console, conn: Any, row: dict[str, Any], images: bool = True) -> dict[str, Any]:
    """A stored memo as the pages show it: its state today, its people and (``images``) its images' addresses."""
    mi = schema.memo_images
    found = conn.execute(select(mi.c.image_id, mi.c.kind).where(mi.c.estate == row["estate"],
                                                                mi.c.memo_id == row["memo_id"])
                         .order_by(mi.c.image_id)).all() if images else []
    base = f"{PREFIX}/memos/{row['memo_id']}"
    state = state_of(row, c.now().date())
    return {**row, "people": people_of(row["people"]), "state": state, "state_zh": STATES[state][0],
            "state_en": STATES[state][1], "href": base,
            "seals": [f"{base}/images/{i.image_id}" for i in found if i.kind == "seal"],
            "signatures": [f"{base}/images/{i.image_id}" for i in found if i.kind == "signature"],
            "created": c.local(row["created_at"])[:16], "withdrawn": c.local(row["withdrawn_at"])[:16]}


def slip_memo_view(c: Console, estate: str, slip: dict[str, Any]) -> dict[str, Any] | None:
    """What the slip page shows of a commercial tenant's memo: the memo its seal was checked against at the
    front desk, and who checked it; for a commercial unit's slip with no check recorded, the memo in force
    (or that there is none). None for a residential unit's slip."""
    ck = schema.slip_memo_checks
    with c.engine.connect() as conn:
        check = conn.execute(select(ck).where(ck.c.estate == estate, ck.c.slip_id == slip["slip_id"])).mappings().first()
        if check is not None:
            row = memo_row(conn, estate, int(check["memo_id"]))
        elif is_commercial(conn, estate, slip["unit_id"]):
            memo = memo_in_force(unit_memos(conn, estate, slip["unit_id"]), c.now().date())
            row = memo_row(conn, estate, memo.memo_id) if memo else None
        else:
            return None
        view = memo_view(c, conn, row) if row else None
    return {"memo": view, "form": MEMO_FORM, "unit": slip["unit_id"],
            "checked_by": check["checked_by"] if check else "",
            "checked_at": c.local(check["checked_at"])[:16] if check else ""}


def memo_for_form(c: Console, estate: str, unit_id: str) -> dict[str, Any] | None:
    """The memo in force for the unit the slip form names, to compare the application's seal against."""
    if not UNIT_ID.fullmatch(unit_id):
        return None
    with c.engine.connect() as conn:
        if not is_commercial(conn, estate, unit_id):
            return None
        memo = memo_in_force(unit_memos(conn, estate, unit_id), c.now().date())
        row = memo_row(conn, estate, memo.memo_id) if memo else None
        return {"memo": memo_view(c, conn, row) if row else None, "unit": unit_id, "form": MEMO_FORM}


def list_page(c: Console, s: auth.Session) -> HTMLResponse:
    m, cu = schema.tenant_memos, schema.commercial_units
    today = c.now().date()
    with c.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(m).where(m.c.estate == s.estate)
                                              .order_by(m.c.unit_id, m.c.memo_id.desc())).mappings()]
        units = [r.unit_id for r in conn.execute(select(cu.c.unit_id).where(cu.c.estate == s.estate)
                                                 .order_by(cu.c.unit_id))]
        shown = [memo_view(c, conn, r, images=False) for r in rows[:LIST_LIMIT]]
    by_unit: dict[str, list[Any]] = {}
    for r in rows:
        by_unit.setdefault(r["unit_id"], []).append(as_memo(r))
    without = [u for u in units if memo_in_force(by_unit.get(u, []), today) is None]
    body = render("memo_list.html", rows=shown, without=without, can_issue=s.role in ISSUERS, prefix=PREFIX,
                  form=MEMO_FORM, limit=LIST_LIMIT)
    return c.html("商户放行备忘表", "Tenant release memos", Markup(body), s, "memos")


def detail_page(c: Console, s: auth.Session, memo_id: str, notice: str = "", error: str = "",
                status: int = 200) -> HTMLResponse:
    ck, sl = schema.slip_memo_checks, schema.slips
    with c.engine.connect() as conn:
        row = memo_row(conn, s.estate, int(memo_id)) if NUMBER.fullmatch(memo_id) else None
        view = memo_view(c, conn, row) if row else None
        slips = [dict(r) for r in conn.execute(
            select(ck.c.slip_id, ck.c.checked_by, ck.c.checked_at, sl.c.applicant_name, sl.c.status)
            .join(sl, (sl.c.estate == ck.c.estate) & (sl.c.slip_id == ck.c.slip_id))
            .where(ck.c.estate == s.estate, ck.c.memo_id == int(memo_id)).order_by(ck.c.slip_id.desc()).limit(50)
        ).mappings()] if row else []
    if view is None:
        return c.message("商户备忘表", "Tenant memo", s, "没有这份备忘表", f"No memo {memo_id[:12]!r}", "memos", status=404)
    for x in slips:
        x["checked_at"] = c.local(x["checked_at"])[:16]
    body = render("memo_detail.html", m=view, slips=slips, form=MEMO_FORM, csrf=s.csrf, prefix=PREFIX,
                  can_withdraw=s.role in ISSUERS and view["state"] != "withdrawn",
                  withdraw_action=f"{view['href']}/withdraw", notice=notice, error=error)
    return c.html(f"备忘表 #{view['memo_id']} · {view['company']}", "Tenant release memo", Markup(body), s, "memos",
                  status=status)


def add_memo_routes(router: Any, c: Console) -> None:
    @router.get("/memos", response_class=HTMLResponse)
    @guarded
    def memos(request: Request) -> Response:
        return list_page(c, c.require(request))

    @router.get("/memos/new", response_class=HTMLResponse)
    @guarded
    def new_memo(request: Request) -> Response:
        s = c.require(request)
        require_issuer(c, s)
        return form_page(c, s, FormValues(unit=request.query_params.get("unit", "")[:10],
                                          signed_on=c.now().date().isoformat()), [])

    @router.post("/memos/new", response_class=HTMLResponse)
    @guarded
    async def make_memo(request: Request) -> Response:
        s = c.require(request)
        require_issuer(c, s)
        fields, files = await c.form_upload(request, s, FORM_MAX_BYTES)
        v = FormValues.from_form(fields)

        def run() -> tuple[int, list[Problem], dict[str, str]]:
            images, problems = read_images(v, files)
            kept = {k: keep(data) for k, (data, _) in images.items()}
            people, signed, until, more = read_form(c, v)
            problems = more + problems
            if problems or signed is None:
                return 0, problems, kept
            try:
                with c.engine.begin() as conn:
                    if get_row(conn, s.estate, schema.units, {"unit_id": v.unit}) is None:
                        return 0, [Problem("unit", f"没有单元 {v.unit}", f"no unit {v.unit!r} in this estate")], kept
                    memo_id = register_memo(
                        conn, s.estate, unit_id=v.unit, company=v.company, people=people, seal=images["seal"],
                        signatures=[images[f] for f in IMAGE_FIELDS[1:] if f in images], signed_on=signed,
                        valid_until=until, by=s.username, today=c.now().date(), clock=c.clock)
                    auth.audit(conn, s.estate, s.username, "register_memo",
                               f"#{memo_id} {v.unit} {v.company} ({len(people)} authorised)", clock=c.clock)
                return memo_id, [], kept
            except OfficeError as exc:
                return 0, [Problem("form", *bilingual(exc))], kept

        memo_id, problems, kept = await run_in_threadpool(run)
        if not memo_id:
            v.kept = kept
            return form_page(c, s, v, problems, 422)
        return RedirectResponse(f"{PREFIX}/memos/{memo_id}?done=register", 303, headers=HEADERS)

    @router.get("/memos/{memo_id}", response_class=HTMLResponse)
    @guarded
    def memo_page(request: Request, memo_id: str) -> Response:
        s = c.require(request)
        done = request.query_params.get("done", "")
        notice = {"register": "备忘表已登记:该单元的放行条须按此核对 / Memo registered: this unit's slips are checked "
                              "against it",
                  "withdraw": "备忘表已撤回 / Memo withdrawn"}.get(done, "")
        return detail_page(c, s, memo_id, notice)

    @router.get("/memos/{memo_id}/images/{image_id}")
    @guarded
    def image(request: Request, memo_id: str, image_id: str) -> Response:
        s = c.require(request)
        found = None
        if NUMBER.fullmatch(memo_id) and NUMBER.fullmatch(image_id):
            mi = schema.memo_images
            with c.engine.connect() as conn:
                found = conn.execute(select(mi.c.mime, mi.c.data).where(
                    mi.c.estate == s.estate, mi.c.memo_id == int(memo_id), mi.c.image_id == int(image_id))).first()
        if found is None:
            return Response("no such image", 404, headers=HEADERS)
        mime = found.mime if found.mime in ("image/png", "image/jpeg") else "application/octet-stream"
        return Response(bytes(found.data), media_type=mime, headers={**HEADERS, "Cache-Control": "private, max-age=300"})

    @router.post("/memos/{memo_id}/withdraw", response_class=HTMLResponse)
    @guarded
    async def withdraw(request: Request, memo_id: str) -> Response:
        s = c.require(request)
        form = await c.form(request, s)
        require_issuer(c, s)
        if not NUMBER.fullmatch(memo_id):
            return detail_page(c, s, "", status=404)
        residential = form.get("residential") == "1"

        def run() -> tuple[str, int]:
            try:
                with c.engine.begin() as conn:
                    row = withdraw_memo(conn, s.estate, int(memo_id), by=s.username, residential=residential,
                                        clock=c.clock)
                    auth.audit(conn, s.estate, s.username, "withdraw_memo",
                               f"#{memo_id} {row['unit_id']} {row['company']}" + (" residential" if residential else ""),
                               clock=c.clock)
            except NotFound:
                return "", 404
            except OfficeError as exc:
                return "{} / {}".format(*bilingual(exc)), 409
            return "", 0

        error, status = await run_in_threadpool(run)
        if status == 404:
            return detail_page(c, s, "", status=404)
        if error:
            return detail_page(c, s, memo_id, error=error, status=status)
        return RedirectResponse(f"{PREFIX}/memos/{memo_id}?done=withdraw", 303, headers=HEADERS)
