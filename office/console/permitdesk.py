"""Permit cards (住户证) at the front desk: issue, renew, report lost, revoke, re-issue; the list with reminders.

The clerk (前台) fills in the application form (《住户证登记表》) at /console/permits/new: holder, unit,
phone, ID number (kept as mask and HMAC only), kind and its period, the card's UID (a desk reader
types it like a keyboard) and the holder's photo, uploaded or taken with the office webcam (the
page's one script, static/camera.js (office/console/camera.py), puts the picture into the same file field: the form
works without it). The office's rules are office/records.py `issue_permit`; the photo's are
office/photos.py. Gates refuse or accept the card from their next pull.

Renewal extends the same permit's valid_until by a year (records.renew_permit): the gates' replicas
get one upsert of the row they hold, never two permits for one card. A lost or revoked card is
re-issued as a replacement (`replaces`): a new permit on the new card, the old one stays refused.
Only ISSUERS act; every role reads. Every action is written to console_audit, which is also the
permit's history on its page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from domain.errors import KeyStoreError
from domain.idnumber import id_number_problem
from domain.issuing import Problem
from domain.keyfiles import load_hmac_key
from domain.model import PERMIT_YEAR_DAYS, RENOVATION_PASS_MAX_DAYS, TEMPORARY_PASS_MAX_DAYS, Permit, PermitKind, PermitStatus, Person
from domain.rules import effective_until
from domain.staff import ISSUERS
from office import schema
from office.changes import get_row
from office.console import auth
from office.console.camera import FORM_CSP, SCRIPT_URL
from office.console.kept import keep, preview_src, upload_or_kept
from office.console.schema import console_audit
from office.console.templating import render
from office.console.web import HEADERS, PREFIX, Console, Denied, guarded
from office.errors import OfficeError
from office.photos import PHOTO_MAX_BYTES, PhotoRefused, check_photo
from office.records import PermitRefused, issue_permit, renew_permit, set_permit_status

#: Active cards ending within this many days are listed at the top of the permits page to renew.
REMINDER_DAYS = 30
#: At most this many permits on the list page (search narrows it).
LIST_LIMIT = 500
#: A card UID as the desk's reader types it (hex, decimal, or a demo name), after spaces and colons go.
CARD_UID = re.compile(r"^[0-9A-Z_-]{2,32}$")
PERMIT_ID = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
KINDS = (PermitKind.RESIDENT, PermitKind.TEMPORARY, PermitKind.RENOVATION, PermitKind.STANDING_RELEASE)
STATUS_WORDS = {"active": ("生效", "active"), "lost": ("挂失", "reported lost"), "revoked": ("注销", "revoked"),
                "expired": ("已过期", "expired"), "not_yet": ("未生效", "not yet valid"),
                "expiring": ("即将到期", "expiring")}
ACTIONS = {"issue_permit": ("发证", "issued"), "renew_permit": ("续期一年", "renewed for a year"),
           "report_lost": ("挂失", "reported lost"), "revoke_permit": ("注销", "revoked"),
           "reissue_permit": ("补办新卡", "re-issued on a new card"), "replaced_by": ("已补办为", "replaced by")}


def bilingual(exc: Exception) -> tuple[str, str]:
    """An office error's message as (Chinese, English): records writes them 'Chinese\\nEnglish'."""
    zh, _, en = str(exc).partition("\n")
    return zh, en or zh


def normal_uid(text: str) -> str:
    return re.sub(r"[\s:]", "", text).upper()


@dataclass
class FormValues:
    holder: str = ""
    unit: str = ""
    phone: str = ""
    id_number: str = ""
    kind: str = PermitKind.RESIDENT.value
    valid_from: str = ""
    valid_until: str = ""
    card_uid: str = ""
    photo_kept: str = ""           # a valid photo sent with a form that was refused: not asked for again

    @classmethod
    def from_form(cls, form: dict[str, list[str]]) -> FormValues:
        def one(name: str, limit: int = 60) -> str:
            return (form.get(name) or [""])[0].strip()[:limit]

        return cls(holder=one("holder", 40), unit=one("unit", 10), phone=one("phone", 20),
                   id_number=one("id_number", 18), kind=one("kind", 16), valid_from=one("valid_from", 10),
                   valid_until=one("valid_until", 10), card_uid=one("card_uid", 40),
                   photo_kept=one("photo_kept", PHOTO_MAX_BYTES * 2))


@dataclass
class Asked:
    """A permit the form asks for, checked as far as the form can be (the office checks the rest)."""

    kind: PermitKind
    card_uid: str
    valid_from: datetime
    valid_until: datetime | None
    photo: tuple[bytes, str] | None


def read_form(c: Console, v: FormValues, upload: bytes | None) -> tuple[Asked | None, list[Problem], str]:
    """What the form asks for, or its problems; and the photo to keep in the form (base64) when it is refused."""
    problems: list[Problem] = []
    try:
        kind = PermitKind(v.kind)
    except ValueError:
        kind = PermitKind.RESIDENT
        problems.append(Problem("kind", "请选择证件类型", "choose the permit's kind"))
    if not v.holder:
        problems.append(Problem("holder", "请填写持证人姓名", "fill in the holder's name"))
    if not v.unit:
        problems.append(Problem("unit", "请填写单元号", "fill in the unit"))
    if v.phone and not re.fullmatch(r"[0-9+\- ]{5,20}", v.phone):
        problems.append(Problem("phone", "电话号码只能含数字、+ 和 -", "a phone number has digits, + and - only"))
    if not v.id_number:
        problems.append(Problem("id_number", "请填写身份证号(登记表须附身份证复印件)",
                                "fill in the ID number (the application needs the ID copy)"))
    elif (wrong := id_number_problem(v.id_number)) is not None:       # domain/idnumber.py: the one GB 11643 rule
        problems.append(Problem("id_number", wrong.text.zh, wrong.text.en))
    card = normal_uid(v.card_uid)
    if not CARD_UID.fullmatch(card):
        problems.append(Problem("card_uid", "请刷卡或输入卡号(字母、数字,2-32 位)",
                                "present the card to the desk reader or type its UID (2-32 letters and digits)"))
    today = c.now().date()
    start: datetime | None = None
    end: datetime | None = None
    try:
        first = date.fromisoformat(v.valid_from) if v.valid_from else today
        if first < today:
            problems.append(Problem("valid_from", "开始日期不能早于今天", "the permit cannot start before today"))
        start = datetime.combine(first, time(0, 0), c.zone)
    except ValueError:
        problems.append(Problem("valid_from", "开始日期格式不对", "the start date is not a date"))
    if kind in (PermitKind.TEMPORARY, PermitKind.RENOVATION):
        # The last day typed is a whole day: a pass "12-01 to 12-03" is good until 12-04 00:00, three days.
        try:
            end = datetime.combine(date.fromisoformat(v.valid_until) + timedelta(days=1), time(0, 0), c.zone)
        except ValueError:
            problems.append(Problem("valid_until", f"{kind.label_zh}须填写截止日期", f"a {kind.label_en.lower()} needs its last day"))
    photo: tuple[bytes, str] | None = None
    data = upload_or_kept(upload, v.photo_kept)
    if data is not None:
        try:
            photo = (data, check_photo(data))
        except PhotoRefused as exc:
            problems.append(Problem("photo", exc.zh, exc.en))
    else:
        problems.append(Problem("photo", "请上传或拍摄持证人照片", "upload or take the holder's photo"))
    kept = keep(photo[0]) if photo is not None else ""
    if problems or start is None:
        return None, problems, kept
    return Asked(kind, card, start, end, photo), [], kept


def form_page(c: Console, s: auth.Session, v: FormValues, problems: list[Problem], status: int = 200) -> HTMLResponse:
    body = render("permit_form.html", action=f"{PREFIX}/permits/new", csrf=s.csrf, v=v, problems=problems,
                  bad={p.field for p in problems}, kinds=[(k.value, k.label_zh, k.label_en) for k in KINDS],
                  kept_src=preview_src(v.photo_kept), clerk=s.name, script=SCRIPT_URL,
                  year=PERMIT_YEAR_DAYS, temp_days=TEMPORARY_PASS_MAX_DAYS, reno_days=RENOVATION_PASS_MAX_DAYS,
                  max_kb=PHOTO_MAX_BYTES // 1024)
    response = c.html("办理住户证", "New permit", Markup(body), s, "permits", status=status)
    response.headers["Content-Security-Policy"] = FORM_CSP
    return response


def require_issuer(c: Console, s: auth.Session) -> None:
    if s.role not in ISSUERS:
        raise Denied(c.message("住户证", "Permits", s, "只有前台可以办理和更改住户证",
                               "Only the front desk issues and changes permits", "permits", status=403))


def as_permit(r: Any) -> Permit | None:
    try:
        return Permit(r["permit_id"], r["card_uid"], PermitKind(r["kind"]), Person(r["holder_name"]), r["unit_id"],
                      datetime.fromisoformat(r["valid_from"]), datetime.fromisoformat(r["valid_until"]),
                      PermitStatus(r["status"]), r["replaces"] or "")
    except (ValueError, TypeError):
        return None


def state_of(p: Permit | None, now: datetime) -> tuple[str, int | None]:
    """The word for where a permit stands now (STATUS_WORDS key) and its whole days left, if it is in force."""
    if p is None:
        return "revoked", None
    if p.status is not PermitStatus.ACTIVE:
        return p.status.value, None
    if now < p.valid_from:
        return "not_yet", None
    until = effective_until(p)
    if now >= until:
        return "expired", None
    left = (until - now).days
    return ("expiring" if until - now <= timedelta(days=REMINDER_DAYS) else "active"), left


def rows_of(c: Console, estate: str) -> list[dict[str, Any]]:
    p = schema.permits
    now = c.now()
    with c.engine.connect() as conn:
        found = [dict(r) for r in conn.execute(select(p).where(p.c.estate == estate)).mappings()]
    out = []
    for r in found:
        permit = as_permit(r)
        state, left = state_of(permit, now)
        until = effective_until(permit) if permit else None
        out.append({**r, "state": state, "state_zh": STATUS_WORDS[state][0], "state_en": STATUS_WORDS[state][1],
                    "left": left, "until": c.time.local(until).strftime("%Y-%m-%d") if until else r["valid_until"][:10],
                    "from": r["valid_from"][:10], "kind_zh": kind_zh(r["kind"]), "sort_until": until})
    return out


def kind_zh(kind: str) -> str:
    try:
        return PermitKind(kind).label_zh
    except ValueError:
        return kind


def list_page(c: Console, s: auth.Session, q: str, status: str, kind: str) -> HTMLResponse:
    rows = rows_of(c, s.estate)
    expiring = sorted((r for r in rows if r["state"] == "expiring"), key=lambda r: r["sort_until"])
    needle = q.strip().lower()
    shown = [r for r in rows
             if (not needle or any(needle in str(r[k]).lower() for k in ("holder_name", "unit_id", "card_uid", "permit_id")))
             and (not status or r["state"] == status or (status == "active" and r["state"] == "expiring"))
             and (not kind or r["kind"] == kind)]
    shown.sort(key=lambda r: (r["unit_id"], r["holder_name"], r["permit_id"]))
    body = render("permit_list.html", rows=shown[:LIST_LIMIT], total=len(shown), limit=LIST_LIMIT, all=len(rows),
                  expiring=expiring, reminder_days=REMINDER_DAYS, q=q, status=status, kind=kind,
                  statuses=[(k, zh, en) for k, (zh, en) in STATUS_WORDS.items()],
                  kinds=[(k.value, k.label_zh, k.label_en) for k in KINDS], can_issue=s.role in ISSUERS,
                  prefix=PREFIX)
    return c.html("住户证", "Permits", Markup(body), s, "permits")


def history(c: Console, estate: str, permit_id: str) -> list[dict[str, str]]:
    a = console_audit
    with c.engine.connect() as conn:
        rows = conn.execute(select(a.c.at, a.c.username, a.c.action, a.c.target).where(
            a.c.estate == estate, a.c.action.in_(list(ACTIONS)),
            (a.c.target == permit_id) | a.c.target.startswith(permit_id + " ", autoescape=True))
            .order_by(a.c.audit_id)).all()
    return [{"at": c.local(r.at)[:16], "who": r.username, "zh": ACTIONS[r.action][0], "en": ACTIONS[r.action][1],
             "detail": r.target[len(permit_id):].strip()} for r in rows]


def detail_page(c: Console, s: auth.Session, permit_id: str, notice: str = "", error: str = "",
                status: int = 200, card_value: str = "") -> HTMLResponse:
    p = schema.permits
    with c.engine.connect() as conn:
        row = conn.execute(select(p).where(p.c.estate == s.estate, p.c.permit_id == permit_id)).mappings().first()
        successors = [r.permit_id for r in conn.execute(
            select(p.c.permit_id).where(p.c.estate == s.estate, p.c.replaces == permit_id))] if row else []
    if row is None:
        return c.message("住户证", "Permit", s, "没有这张证", f"No permit {permit_id[:32]!r}", "permits", status=404)
    permit = as_permit(row)
    state, left = state_of(permit, c.now())
    until = effective_until(permit) if permit else None
    can = s.role in ISSUERS
    body = render(
        "permit_detail.html", p=dict(row), kind_zh=kind_zh(row["kind"]), state=state, state_zh=STATUS_WORDS[state][0],
        state_en=STATUS_WORDS[state][1], left=left, valid_from=c.local(row["valid_from"])[:16],
        valid_until=c.local(until.isoformat())[:16] if until else c.local(row["valid_until"])[:16],
        photo_src=f"{PREFIX}/permits/{permit_id}/photo" if row["photo"] else "", history=history(c, s.estate, permit_id),
        successors=successors, csrf=s.csrf, base=f"{PREFIX}/permits/{permit_id}", prefix=PREFIX,
        can_renew=can and row["status"] == "active" and row["kind"] in (PermitKind.RESIDENT.value,
                                                                        PermitKind.STANDING_RELEASE.value),
        can_lose=can and row["status"] == "active", can_revoke=can and row["status"] != "revoked",
        can_reissue=can and row["status"] != "active" and not successors, card_value=card_value,
        reader_only=not can, notice=notice, error=error)
    return c.html(f"住户证 {permit_id}", "Permit", Markup(body), s, "permits", status=status)


def add_permit_routes(router: Any, c: Console) -> None:
    @router.get("/permits", response_class=HTMLResponse)
    @guarded
    def permits(request: Request) -> Response:
        s = c.require(request)
        qp = request.query_params
        status = qp.get("status", "")
        kind = qp.get("kind", "")
        return list_page(c, s, qp.get("q", "")[:40], status if status in STATUS_WORDS else "",
                         kind if kind in {k.value for k in PermitKind} else "")

    @router.get("/permits/new", response_class=HTMLResponse)
    @guarded
    def new_permit(request: Request) -> Response:
        s = c.require(request)
        require_issuer(c, s)
        return form_page(c, s, FormValues(valid_from=c.now().date().isoformat()), [])

    @router.post("/permits/new", response_class=HTMLResponse)
    @guarded
    async def make_permit(request: Request) -> Response:
        s = c.require(request)
        require_issuer(c, s)
        fields, files = await c.form_upload(request, s, PHOTO_MAX_BYTES + 256 * 1024 + 4 * PHOTO_MAX_BYTES // 3)
        v = FormValues.from_form(fields)

        def run() -> tuple[str, list[Problem], str]:
            asked, problems, kept = read_form(c, v, files.get("photo"))
            if asked is None:
                return "", problems, kept
            try:
                with c.engine.begin() as conn:
                    if get_row(conn, s.estate, schema.units, {"unit_id": v.unit}) is None:
                        return "", [Problem("unit", f"没有单元 {v.unit}", f"no unit {v.unit!r} in this estate")], kept
                    row = issue_permit(conn, s.estate, card_uid=asked.card_uid, kind=asked.kind, holder_name=v.holder,
                                       unit_id=v.unit, id_number=v.id_number.upper(),
                                       hmac_key=load_hmac_key(c.keys(s.estate)), valid_from=asked.valid_from,
                                       valid_until=asked.valid_until, phone=v.phone, photo=asked.photo)
                    auth.audit(conn, s.estate, s.username, "issue_permit",
                               f"{row['permit_id']} card {row['card_uid']} {row['kind']} until {row['valid_until'][:10]}",
                               clock=c.clock)
                return row["permit_id"], [], kept
            except PermitRefused as exc:
                return "", [Problem(exc.field, *bilingual(exc))], kept
            except KeyStoreError as exc:      # the estate's ID key is missing: the office must be set up
                return "", [Problem("form", "本小区的身份证号密钥缺失,请管理员运行 gatepass office init",
                                    f"this estate's ID-number key is missing ({exc}): run gatepass office init")], kept
            except OfficeError as exc:
                return "", [Problem("form", *bilingual(exc))], kept

        permit_id, problems, kept = await run_in_threadpool(run)
        if not permit_id:
            v.photo_kept = kept
            return form_page(c, s, v, problems, 422)
        return RedirectResponse(f"{PREFIX}/permits/{permit_id}?done=issue_permit", 303, headers=HEADERS)

    @router.get("/permits/{permit_id}", response_class=HTMLResponse)
    @guarded
    def permit_page(request: Request, permit_id: str) -> Response:
        s = c.require(request)
        if not PERMIT_ID.fullmatch(permit_id):
            return detail_page(c, s, "", status=404)
        done = request.query_params.get("done", "")
        notice = "已{} / {}".format(*ACTIONS[done]).replace("已发证", "已发证,岗亭下次同步后生效") if done in ACTIONS else ""
        return detail_page(c, s, permit_id, notice)

    @router.get("/permits/{permit_id}/photo")
    @guarded
    def photo(request: Request, permit_id: str) -> Response:
        s = c.require(request)
        p, ph = schema.permits, schema.photos
        with c.engine.connect() as conn:
            found = conn.execute(select(ph.c.mime, ph.c.data).join(
                p, (p.c.estate == ph.c.estate) & (p.c.photo == ph.c.photo_id)).where(
                p.c.estate == s.estate, p.c.permit_id == permit_id)).first() if PERMIT_ID.fullmatch(permit_id) else None
        if found is None:
            return Response("no photo", 404, headers=HEADERS)
        mime = found.mime if found.mime in ("image/png", "image/jpeg") else "application/octet-stream"
        return Response(bytes(found.data), media_type=mime, headers={**HEADERS, "Cache-Control": "private, max-age=300"})

    def action(name: str, verb: Any) -> None:
        @router.post(f"/permits/{{permit_id}}/{name}", response_class=HTMLResponse, name=f"permit_{name}")
        @guarded
        async def act(request: Request, permit_id: str) -> Response:
            s = c.require(request)
            form = await c.form(request, s)
            require_issuer(c, s)
            if not PERMIT_ID.fullmatch(permit_id):
                return detail_page(c, s, "", status=404)

            def run() -> tuple[str, str, str]:
                try:
                    with c.engine.begin() as conn:
                        done, shown = verb(conn, s, permit_id, form)
                        return done, shown, ""
                except OfficeError as exc:
                    return "", "", "{} / {}".format(*bilingual(exc))

            done, shown, error = await run_in_threadpool(run)
            if error:
                return detail_page(c, s, permit_id, error=error, status=409,
                                   card_value=form.get("card_uid", "")[:40])
            return RedirectResponse(f"{PREFIX}/permits/{shown}?done={done}", 303, headers=HEADERS)

    def current(conn: Any, s: auth.Session, permit_id: str) -> dict[str, Any]:
        row = get_row(conn, s.estate, schema.permits, {"permit_id": permit_id})
        if row is None:
            raise OfficeError(f"没有证 {permit_id}\nno permit {permit_id!r}")
        return row

    def renew(conn: Any, s: auth.Session, permit_id: str, form: dict[str, str]) -> tuple[str, str]:
        row = renew_permit(conn, s.estate, permit_id, c.now())
        auth.audit(conn, s.estate, s.username, "renew_permit", f"{permit_id} until {row['valid_until'][:10]}", clock=c.clock)
        return "renew_permit", permit_id

    def lost(conn: Any, s: auth.Session, permit_id: str, form: dict[str, str]) -> tuple[str, str]:
        if current(conn, s, permit_id)["status"] != PermitStatus.ACTIVE.value:
            raise OfficeError("只有生效的证可以挂失\nonly an active permit is reported lost")
        set_permit_status(conn, s.estate, permit_id, PermitStatus.LOST)
        auth.audit(conn, s.estate, s.username, "report_lost", permit_id, clock=c.clock)
        return "report_lost", permit_id

    def revoke(conn: Any, s: auth.Session, permit_id: str, form: dict[str, str]) -> tuple[str, str]:
        if current(conn, s, permit_id)["status"] == PermitStatus.REVOKED.value:
            raise OfficeError("这张证已注销\nthis permit is already revoked")
        set_permit_status(conn, s.estate, permit_id, PermitStatus.REVOKED)
        auth.audit(conn, s.estate, s.username, "revoke_permit", permit_id, clock=c.clock)
        return "revoke_permit", permit_id

    def reissue(conn: Any, s: auth.Session, permit_id: str, form: dict[str, str]) -> tuple[str, str]:
        old = current(conn, s, permit_id)
        card = normal_uid(form.get("card_uid", ""))
        if not CARD_UID.fullmatch(card):
            raise OfficeError("请刷新卡或输入新卡号\npresent the new card to the desk reader or type its UID")
        now = c.now()
        until = datetime.fromisoformat(old["valid_until"])
        photo = None
        if old["photo"]:
            ph = get_row(conn, s.estate, schema.photos, {"photo_id": old["photo"]})
            photo = (bytes(ph["data"]), ph["mime"]) if ph else None
        row = issue_permit(conn, s.estate, card_uid=card, kind=PermitKind(old["kind"]), holder_name=old["holder_name"],
                           unit_id=old["unit_id"], id_number="", holder_id=(old["id_masked"], old["id_hash"]),
                           hmac_key=b"", valid_from=now, valid_until=until if until > now else None,
                           phone=old["phone"], photo=photo, replaces=permit_id)
        auth.audit(conn, s.estate, s.username, "reissue_permit", f"{row['permit_id']} card {card} replaces {permit_id}",
                   clock=c.clock)
        auth.audit(conn, s.estate, s.username, "replaced_by", f"{permit_id} {row['permit_id']} card {card}",
                   clock=c.clock)
        return "reissue_permit", row["permit_id"]

    action("renew", renew)
    action("lost", lost)
    action("revoke", revoke)
    action("reissue", reissue)
