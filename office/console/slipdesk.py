"""The front desk's slips in the browser: make a slip, take it through its approvals, print it.

The clerk (前台) fills in form R-KF001 at /console/slips/new; the office runs every issue-time
check (office/slips.py `check`, domain/issuing.py) and says what is wrong next to the field. A
slip that passes waits as 待审批 pending with the clerk's approval as handler (经办人); each
approver its kind needs (domain REQUIRED_APPROVALS) approves in their own account on the slip's
page, and the last approval issues it. Only then has it a QR code to print or send to a phone;
a gate refuses a slip that is not fully approved.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from domain.exitrow import consumes_slip, without_controls
from domain.issuing import Problem
from domain.keyfiles import load_hmac_key
from domain.model import REQUIRED_APPROVALS, Approval, ApprovalRole, SlipItem, SlipKind, SlipStatus
from domain.reasons import Reason
from domain.staff import APPROVES, ISSUERS, ROLES
from office import schema
from office.changes import get_row
from office.console import auth, slipdocs
from office.console.camera import FORM_CSP
from office.console.labels import detail_labels, kind_label, reason_label
from office.console.memodesk import memo_for_form, slip_memo_view
from office.console.printview import print_links
from office.console.templating import render
from office.console.web import HEADERS, PREFIX, Console, Denied, guarded
from office.errors import OfficeError
from office.export import item_text, stored_json
from office.slips import (
    SlipRefused,
    SlipRequest,
    approve_slip,
    cancel_slip,
    make_pending_slip,
    require_unused,
    slip_id_ok,
    slip_in_url_ok,
    stored_approvals,
)

#: Item lines the form offers (a slip lists what one move takes; more lines: a second slip).
ITEM_LINES = 8
STATUS_ZH = {SlipStatus.PENDING.value: "待审批", SlipStatus.ISSUED.value: "已开出", SlipStatus.CANCELLED.value: "已作废"}


@dataclass
class FormValues:
    kind: str = SlipKind.OWNER.value
    unit: str = ""
    applicant: str = ""
    phone: str = ""
    purpose: str = ""
    mover: str = ""
    mover_id: str = ""
    date: str = ""
    time_from: str = "09:00"
    time_until: str = "18:00"
    exit_gate: str = ""
    owner_consent: bool = False
    owner_name: str = ""
    items: list[dict[str, str]] = field(default_factory=list)
    seal_checked: bool = False          # 印鉴已与备忘表核对 (commercial tenants: office/console/memodesk.py)

    @classmethod
    def from_form(cls, form: dict[str, list[str]]) -> FormValues:
        form = {k: [without_controls(x) for x in v] for k, v in form.items()}    # a NUL would reach PostgreSQL

        def one(name: str, limit: int = 60) -> str:
            return (form.get(name) or [""])[0].strip()[:limit]

        names, qtys, specs = (form.get(k, []) for k in ("item_name", "item_qty", "item_spec"))
        items = [{"name": n.strip()[:40], "qty": (qtys[i] if i < len(qtys) else "").strip()[:6],
                  "spec": (specs[i] if i < len(specs) else "").strip()[:40]} for i, n in enumerate(names[:ITEM_LINES])]
        return cls(kind=one("kind", 16), unit=one("unit", 10), applicant=one("applicant", 40), phone=one("phone", 20),
                   purpose=one("purpose", 80), mover=one("mover", 40), mover_id=one("mover_id", 18),
                   date=one("date", 10), time_from=one("time_from", 5), time_until=one("time_until", 5),
                   exit_gate=one("exit_gate", 6), owner_consent=one("owner_consent") == "1",
                   owner_name=one("owner_name", 40), items=items, seal_checked=one("seal_checked") == "1")

    def padded(self) -> FormValues:
        items = self.items + [{"name": "", "qty": "", "spec": ""}] * (ITEM_LINES - len(self.items))
        return FormValues(**{**self.__dict__, "items": items[:ITEM_LINES]})


def request_of(c: Console, v: FormValues, clerk: str) -> tuple[SlipRequest | None, list[Problem]]:
    """The slip the form asks for, or what is wrong with the form itself (before the office's checks)."""
    problems = []
    try:
        kind = SlipKind(v.kind)
    except ValueError:
        kind = SlipKind.OWNER
        problems.append(Problem("kind", "请选择放行条类型", "choose the slip's kind"))
    if not v.unit:
        problems.append(Problem("unit", "请填写单元号", "fill in the unit"))
    if not v.applicant:
        problems.append(Problem("applicant", "请填写申请人", "fill in the applicant"))
    items: list[SlipItem] = []
    for n, it in enumerate(v.items, start=1):
        if not it["name"] and not it["qty"] and not it["spec"]:
            continue
        if not it["name"] or not it["qty"].isdigit() or not 1 <= int(it["qty"]) <= 999:
            problems.append(Problem(f"item{n}", f"第 {n} 项:请填写物品名称和数量(1-999)",
                                    f"item {n}: give a name and a quantity (1-999)"))
            continue
        items.append(SlipItem(it["name"], int(it["qty"]), it["spec"]))
    if not items and not any(p.field.startswith("item") for p in problems):
        problems.append(Problem("item1", "请至少填写一项物品", "list at least one item"))
    start: datetime | None
    end: datetime | None
    try:
        day = date.fromisoformat(v.date)
        start = datetime.combine(day, time.fromisoformat(v.time_from), c.zone)
        end = datetime.combine(day, time.fromisoformat(v.time_until), c.zone)
    except ValueError:
        problems.append(Problem("valid_from", "请填写日期和时间", "fill in the date and the times"))
        start = end = None
    approvals = [Approval(ApprovalRole.HANDLER, clerk, c.now())]
    if v.owner_consent:
        if not v.owner_name:
            problems.append(Problem("owner", "请填写同意的业主姓名", "give the consenting owner's name"))
        approvals.append(Approval(ApprovalRole.OWNER_CONSENT, v.owner_name, c.now()))
    elif ApprovalRole.OWNER_CONSENT in REQUIRED_APPROVALS[kind]:
        problems.append(Problem("owner", "租户或非业主搬出须记录业主同意", "a tenant's or non-owner's slip needs the owner's consent on file"))
    if problems or start is None or end is None:
        return None, problems
    return SlipRequest(kind=kind, unit_id=v.unit, applicant_name=v.applicant, mover_name=v.mover or v.applicant,
                       items=items, valid_from=start, valid_until=end, approvals=approvals, applicant_phone=v.phone,
                       mover_id_number=v.mover_id, purpose=v.purpose, exit_gate_id=v.exit_gate,
                       seal_checked=v.seal_checked), []


def form_page(c: Console, s: auth.Session, v: FormValues, problems: list[Problem], status: int = 200,
              amends: str = "", docs: slipdocs.SlipDocs | None = None) -> HTMLResponse:
    g = schema.gates
    with c.engine.connect() as conn:
        gates = [(r.gate_id, r.name) for r in conn.execute(select(g.c.gate_id, g.c.name).where(g.c.estate == s.estate)
                                                           .order_by(g.c.gate_id))]
    body = render("slip_form.html", action=f"{PREFIX}/slips/{amends}/amend" if amends else f"{PREFIX}/slips/new",
                  csrf=s.csrf, amends=amends, v=v.padded(), problems=problems,
                  bad={p.field for p in problems} | ({"owner"} if any(p.field == "owner" for p in problems) else set()),
                  kinds=[(k.value, k.label_zh) for k in SlipKind], gates=gates, clerk=s.name,
                  memo=memo_for_form(c, s.estate, v.unit), memos_href=f"{PREFIX}/memos",
                  **slipdocs.form_context(docs or slipdocs.SlipDocs(), slipdocs.carried_of(c, s.estate, amends)))
    if amends:
        response = c.html(f"更正放行条 {amends}", "Amend a slip", Markup(body), s, "slips", status=status)
    else:
        response = c.html("开放行条", "New slip", Markup(body), s, "slips", status=status)
    response.headers["Content-Security-Policy"] = FORM_CSP          # the carrier's webcam (camera.js)
    return response


def values_of(conn: Any, estate: str, slip: dict[str, Any], zone: Any) -> FormValues:
    """A stored slip as the form shows it, to amend: everything but the ID number (kept only masked)."""
    it = schema.slip_items
    items = [{"name": r.name, "qty": str(r.quantity), "spec": r.spec} for r in conn.execute(
        select(it.c.name, it.c.quantity, it.c.spec).where(it.c.estate == estate, it.c.slip_id == slip["slip_id"])
        .order_by(it.c.line))]
    start = datetime.fromisoformat(slip["valid_from"]).astimezone(zone)
    end = datetime.fromisoformat(slip["valid_until"]).astimezone(zone)
    consent = {a.role: a.name for a in stored_approvals(slip["approvals"])}.get(ApprovalRole.OWNER_CONSENT, "")
    return FormValues(kind=slip["kind"], unit=slip["unit_id"], applicant=slip["applicant_name"],
                      phone=slip["applicant_phone"], purpose=slip["purpose"], mover=slip["mover_name"], mover_id="",
                      date=start.date().isoformat(), time_from=start.strftime("%H:%M"), time_until=end.strftime("%H:%M"),
                      exit_gate=slip["exit_gate_id"], owner_consent=bool(consent), owner_name=consent, items=items)


def require_issuer(c: Console, s: auth.Session) -> None:
    if s.role not in ISSUERS:
        raise Denied(c.message("放行条", "Slips", s, "只有前台可以开放行条", "Only the front desk makes slips", "slips",
                               status=403))


def detail_page(c: Console, s: auth.Session, slip_id: str, notice: str = "", error: str = "",
                status: int = 200) -> HTMLResponse:
    sl, it = schema.slips, schema.slip_items
    if not slip_id_ok(slip_id):                     # a NUL in a URL: nothing to look up (PostgreSQL refuses it)
        slip_id = ""
    with c.engine.connect() as conn:
        slip = conn.execute(select(sl).where(sl.c.estate == s.estate, sl.c.slip_id == slip_id)).mappings().first()
        items = [item_text(r.name, r.quantity, r.spec) for r in conn.execute(
            select(it.c.name, it.c.quantity, it.c.spec).where(it.c.estate == s.estate, it.c.slip_id == slip_id)
            .order_by(it.c.line))] if slip else []
        e = schema.events
        at_gates = [dict(r) for r in conn.execute(
            select(e.c.gate_id, e.c.seq, e.c.at, e.c.kind, e.c.reasons, e.c.detail, e.c.guard_id)
            .where(e.c.estate == s.estate, e.c.slip_id == slip_id).order_by(e.c.at).limit(100)).mappings()] if slip else []
    if slip is None:
        return c.message("放行条", "Slips", s, "没有这张放行条", f"No slip {slip_id[:12]!r}", "slips", status=404)
    kind = SlipKind(slip["kind"])
    have = {a.role: a for a in stored_approvals(slip["approvals"])}
    approvals = [{"role": r.value, "role_zh": r.label_zh, "name": have[r].name if r in have else "",
                  "at": c.local(at.isoformat())[:16] if r in have and (at := have[r].at) is not None else ""}
                 for r in REQUIRED_APPROVALS[kind]]
    mine = APPROVES.get(s.role)
    can = slip["status"] == SlipStatus.PENDING.value and mine is not None and mine in REQUIRED_APPROVALS[kind] and mine not in have
    history = [{"at": c.local(r["at"], required=True), "gate": r["gate_id"], "kind": kind_label(r["kind"]),
                "reasons": [reason_label(str(x)) for x in stored_json(r["reasons"], [])], "guard": r["guard_id"],
                "notes": detail_labels(stored_json(r["detail"], {}))} for r in at_gates]
    released = [h for h, r in zip(history, at_gates, strict=True) if consumes_slip(r["kind"])]
    mismatch = any(Reason.SLIP_ITEMS_MISMATCH.value in stored_json(r["reasons"], []) for r in at_gates)
    issuer = s.role in ISSUERS
    body = render("slip_detail.html", slip=dict(slip), history=history, released=released,
                  can_amend=issuer and mismatch and slip["status"] != SlipStatus.CANCELLED.value and not released,
                  can_cancel=issuer and slip["status"] != SlipStatus.CANCELLED.value and not released,
                  amend_action=f"{PREFIX}/slips/{slip_id}/amend", cancel_action=f"{PREFIX}/slips/{slip_id}/cancel",
                  kind_zh=kind.label_zh, status_zh=STATUS_ZH.get(slip["status"], ""),
                  items=items, approvals=approvals, valid_from=c.local(slip["valid_from"])[:16],
                  valid_until=c.local(slip["valid_until"])[:16], can_approve=can, csrf=s.csrf,
                  approve_action=f"{PREFIX}/slips/{slip_id}/approve", my_role=s.role,
                  my_role_zh=ROLES.get(s.role, (s.role, ""))[0], print_links=Markup(print_links(slip_id)),
                  back=f"{PREFIX}/slips", notice=notice, error=error, memo=slip_memo_view(c, s.estate, dict(slip)),
                  **slipdocs.detail_context(c, s.estate, dict(slip)))
    return c.html(f"放行条 {slip_id}", "Slip", Markup(body), s, "slips", status=status)


async def submit(c: Console, s: auth.Session, v: FormValues, docs: slipdocs.SlipDocs, amends: str = "") -> Response:
    """Make the slip the form asks for, pending its approvals; amending, the slip ``amends`` is cancelled
    in the same transaction. The form comes back with its problems, or the new slip's page opens."""
    req, problems = request_of(c, v, s.name)
    carried = slipdocs.carried_of(c, s.estate, amends)
    problems += docs.check(SlipKind(v.kind) if v.kind in {k.value for k in SlipKind} else None, bool(v.mover_id),
                           carried)
    if req is None or problems:
        return form_page(c, s, v, problems, 422, amends=amends, docs=docs)
    if amends:
        purpose = f"更正 {amends}" + (f" {req.purpose}" if req.purpose and not req.purpose.startswith("更正") else "")
        req = replace(req, purpose=purpose[:80])

    def run() -> tuple[str, list[Problem]]:
        try:
            with c.engine.begin() as conn:
                old = get_row(conn, s.estate, schema.slips, {"slip_id": amends}) if amends else None
                if amends and (old is None or old["status"] == SlipStatus.CANCELLED.value):
                    return "", [Problem("form", f"放行条 {amends} 已作废", f"slip {amends} is cancelled")]
                if amends:
                    require_unused(conn, s.estate, amends)        # used means used: SlipUsed, before anything is made
                with_carrier, wrong = docs.apply(conn, s.estate, req, carried)
                if wrong:
                    raise SlipRefused(wrong)
                new_id = make_pending_slip(conn, s.estate, with_carrier, hmac_key=load_hmac_key(c.keys(s.estate)),
                                           now=c.now())
                docs.store(conn, s, new_id, carried, at=c.now().isoformat(), c=c)
                if amends:
                    cancel_slip(conn, s.estate, amends)
                auth.audit(conn, s.estate, s.username, "amend_slip" if amends else "make_slip",
                           f"{amends} -> {new_id}" if amends else new_id, clock=c.clock)
            return new_id, []
        except SlipRefused as exc:
            return "", exc.problems
        except OfficeError as exc:
            return "", [Problem("form", str(exc), str(exc))]

    new_id, problems = await run_in_threadpool(run)
    if not new_id:
        docs.problems = problems
        return form_page(c, s, v, problems, 422, amends=amends, docs=docs)
    return RedirectResponse(f"{PREFIX}/slips/{new_id}?made=1", 303, headers=HEADERS)


def add_slipdesk_routes(router: Any, c: Console) -> None:
    @router.get("/slips/new", response_class=HTMLResponse)
    @guarded
    def new_slip(request: Request) -> Response:
        s = c.require(request)
        require_issuer(c, s)
        tomorrow = (c.now() + timedelta(days=1)).date().isoformat()
        return form_page(c, s, FormValues(date=tomorrow), [])

    @router.post("/slips/new", response_class=HTMLResponse)
    @guarded
    async def make_slip(request: Request) -> Response:
        s = c.require(request)
        require_issuer(c, s)
        fields, uploads = await slipdocs.read_form(c, request, s)
        return await submit(c, s, FormValues.from_form(fields), slipdocs.SlipDocs.from_form(fields, uploads))

    @router.get("/slips/{slip_id}", response_class=HTMLResponse)
    @guarded
    def slip_page(request: Request, slip_id: str) -> Response:
        s = c.require(request)
        if not slip_in_url_ok(slip_id):
            return detail_page(c, s, "", status=404)
        notice = ""
        if request.query_params.get("made"):
            notice = f"放行条 {slip_id} 已提交审批 / Slip {slip_id} made; it waits for its approvals"
        elif request.query_params.get("approved"):
            notice = "已批准 / Approved"
        return detail_page(c, s, slip_id, notice)

    @router.post("/slips/{slip_id}/approve", response_class=HTMLResponse)
    @guarded
    async def approve(request: Request, slip_id: str) -> Response:
        s = c.require(request)
        await c.form(request, s)
        role = APPROVES.get(s.role)
        if role is None:
            return detail_page(c, s, slip_id, error="您的账号不能审批放行条 / Your account approves no slips", status=403)

        def run() -> str:
            try:
                with c.engine.begin() as conn:
                    approve_slip(conn, s.estate, slip_id, role, s.name, now=c.now())
                    auth.audit(conn, s.estate, s.username, "approve_slip", f"{slip_id} {role.value}", clock=c.clock)
            except OfficeError as exc:
                return str(exc)
            return ""

        error = await run_in_threadpool(run)
        if error:
            return detail_page(c, s, slip_id, error=error, status=409)
        return RedirectResponse(f"{PREFIX}/slips/{slip_id}?approved=1", 303, headers=HEADERS)


def add_amend_routes(router: Any, c: Console) -> None:
    """更正: after a mismatch at the gate, the clerk amends the slip: a new slip with the corrected items, which
    goes through its approvals again; the old one is cancelled in the same transaction."""

    def stored(s: auth.Session, slip_id: str) -> dict[str, Any] | None:
        if not slip_in_url_ok(slip_id):
            return None
        sl = schema.slips
        with c.engine.connect() as conn:
            row = conn.execute(select(sl).where(sl.c.estate == s.estate, sl.c.slip_id == slip_id)).mappings().first()
        return dict(row) if row else None

    @router.get("/slips/{slip_id}/amend", response_class=HTMLResponse)
    @guarded
    def amend_form(request: Request, slip_id: str) -> Response:
        s = c.require(request)
        require_issuer(c, s)
        slip = stored(s, slip_id)
        if slip is None:
            return detail_page(c, s, slip_id if slip_in_url_ok(slip_id) else "", status=404)
        with c.engine.connect() as conn:
            v = values_of(conn, s.estate, slip, c.zone)
        return form_page(c, s, v, [], amends=slip_id, docs=slipdocs.SlipDocs(mover_permit=slip["mover_permit_id"]))

    @router.post("/slips/{slip_id}/amend", response_class=HTMLResponse)
    @guarded
    async def amend(request: Request, slip_id: str) -> Response:
        s = c.require(request)
        require_issuer(c, s)
        old = stored(s, slip_id)
        if old is None:
            return detail_page(c, s, "", status=404)
        fields, uploads = await slipdocs.read_form(c, request, s)
        return await submit(c, s, FormValues.from_form(fields), slipdocs.SlipDocs.from_form(fields, uploads),
                            amends=slip_id)
