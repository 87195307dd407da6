"""Staff accounts in the browser (administrators), one's own password (everyone), the audit trail.

/console/staff lists the accounts of the chosen estate and makes new ones; /console/staff/<username>
changes role and estates, resets the password, disables or enables; /console/account is where anyone
changes their own password; /console/audit shows the estate's console_audit rows, newest first.
Who may POST what is office/console/roles.py (checked for every POST in web.py); the pages an
administrator alone opens check the same table. Every action is audited.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from domain.staff import ROLES
from office.console import accounts, auth, lockout
from office.console.accounts import AccountRefused
from office.console.schema import console_audit, staff
from office.console.web import HEADERS, PREFIX, Console, guarded

#: Audit actions in words (Chinese, English); an action not listed shows as its code.
AUDIT_ACTIONS: dict[str, tuple[str, str]] = {
    "sign_in": ("登录", "Signed in"), "sign_in_refused": ("登录失败", "Sign-in refused"),
    "sign_in_locked": ("登录被锁定", "Sign-in locked"), "sign_out": ("退出", "Signed out"),
    "make_slip": ("开放行条", "Made a slip"), "approve_slip": ("审批放行条", "Approved a slip"),
    "cancel_slip": ("作废放行条", "Cancelled a slip"), "phone_link": ("手机出示链接", "Phone link"),
    "resolve_flag": ("处理异常", "Resolved a flag"), "ack_alert": ("确认警报", "Acknowledged an alert"),
    "archive_ticks": ("勾选纸质放行条", "Ticked paper slips"),
    "create_staff": ("新建账号", "Created an account"), "change_staff": ("更改角色/小区", "Changed role / estates"),
    "disable_staff": ("停用账号", "Disabled an account"), "enable_staff": ("启用账号", "Enabled an account"),
    "reset_password": ("重置密码", "Reset a password"), "change_own_password": ("修改自己的密码", "Changed own password"),
    "amend_slip": ("更正放行条", "Amended a slip"), "attach_slip": ("上传证明材料", "Attached proof to a slip"),
    "carry_attachments": ("更正时带过证明材料", "Carried attachments to the amended slip"),
    "issue_permit": ("办理住户证", "Issued a permit"), "renew_permit": ("住户证续期", "Renewed a permit"),
    "report_lost": ("住户证挂失", "Reported a permit lost"), "revoke_permit": ("注销住户证", "Revoked a permit"),
    "reissue_permit": ("补办住户证", "Re-issued a permit"), "replaced_by": ("旧证已补办", "Old permit replaced"),
    "register_memo": ("登记商户备忘表", "Registered a tenant memo"), "withdraw_memo": ("撤回商户备忘表", "Withdrew a tenant memo"),
}
LOCKED_ZH = f"密码错误次数过多,请{lockout.LOCK_SECONDS // 60}分钟后再试"
LOCKED_EN = f"too many wrong passwords; try again in {lockout.LOCK_SECONDS // 60} minutes"
#: Rows the audit page shows at most.
AUDIT_LIMIT = 1000


def refused_page(c: Console, s: auth.Session) -> None:
    """Only an administrator opens the staff and audit pages (403 with a page for anyone else)."""
    from office.console.web import Denied

    if s.role != "admin":
        raise Denied(c.role_refused(s, "manage_staff"))


@dataclass
class NewAccount:
    username: str = ""
    name: str = ""
    role: str = ""
    estates: list[str] = field(default_factory=list)


def _one(form: dict[str, list[str]], name: str, limit: int = 64) -> str:
    return (form.get(name) or [""])[0].strip()[:limit]


def _estate_choices(c: Console, s: auth.Session) -> list[tuple[str, str]]:
    with c.engine.connect() as conn:
        names = accounts.estate_names(conn, s.estates)
    return [(e, names.get(e, e)) for e in s.estates]


def _roles() -> list[tuple[str, str, str]]:
    return [(k, zh, en) for k, (zh, en) in ROLES.items()]


def list_page(c: Console, s: auth.Session, v: NewAccount | None = None, problems: list[AccountRefused] | None = None,
              notice: tuple[str, str] | None = None, shown_password: str = "", status: int = 200) -> HTMLResponse:
    estates = _estate_choices(c, s)
    names = dict(estates)
    with c.engine.connect() as conn:
        rows = accounts.list_staff(conn, s.estate)
    for r in rows:
        r["role_zh"], r["role_en"] = ROLES.get(r["role"], (r["role"], r["role"]))
        r["estate_names"] = ["全部 all"] if r["role"] == "admin" else [names.get(e, e) for e in r["estates"]]
        r["last_sign_in"] = c.local(r["last_sign_in"])[:16]
    problems = problems or []
    return c.page("staff_list.html", "员工账号", "Staff accounts", s, "staff", status, rows=rows, me=s.username, csrf=s.csrf,
                  v=v or NewAccount(estates=[s.estate]), problems=problems, bad={p.field for p in problems},
                  roles=_roles(), estates=estates, min_len=auth.PASSWORD_MIN, estate_label=names.get(s.estate, s.estate),
                  notice={"zh": notice[0], "en": notice[1]} if notice else None, shown_password=shown_password)


def edit_page(c: Console, s: auth.Session, username: str, problems: list[AccountRefused] | None = None,
              notice: tuple[str, str] | None = None, shown_password: str = "", status: int = 200,
              role: str = "", chosen: list[str] | None = None) -> HTMLResponse:
    with c.engine.connect() as conn:
        a = accounts.get(conn, username) if auth.USERNAME.match(username) else None
        last = conn.execute(select(console_audit.c.at).where(console_audit.c.username == username,
                                                             console_audit.c.action == "sign_in")
                            .order_by(console_audit.c.at.desc()).limit(1)).scalar() if a else None
    if a is None:
        return c.message("员工账号", "Staff accounts", s, "没有这个账号", "No such account", active="staff", status=404)
    problems = problems or []
    role_zh, role_en = ROLES.get(a["role"], (a["role"], a["role"]))
    return c.page("staff_edit.html", f"员工账号 {a['name']}", "Staff account", s, "staff", status, a=a, csrf=s.csrf,
                  roles=_roles(), role=role or a["role"],
                  estates=_estate_choices(c, s), chosen=chosen if chosen is not None else list(a["estates"]),
                  role_zh=role_zh, role_en=role_en, last_sign_in=c.local(last)[:16], min_len=auth.PASSWORD_MIN,
                  problems=problems, bad={p.field for p in problems},
                  notice={"zh": notice[0], "en": notice[1]} if notice else None, shown_password=shown_password)


def account_page(c: Console, s: auth.Session, problems: list[AccountRefused] | None = None,
                 notice: tuple[str, str] | None = None, status: int = 200) -> HTMLResponse:
    problems = problems or []
    role_zh, role_en = ROLES.get(s.role, (s.role, s.role))
    return c.page("account.html", "我的账号", "My account", s, "", status, person=s.name, username=s.username,
                  role_zh=role_zh, role_en=role_en, csrf=s.csrf, problems=problems, bad={p.field for p in problems},
                  min_len=auth.PASSWORD_MIN, notice={"zh": notice[0], "en": notice[1]} if notice else None)


@dataclass
class AuditFilter:
    user: str = ""
    action: str = ""
    day: str = ""
    error: str = ""


def audit_filter(request: Request) -> AuditFilter:
    q = request.query_params
    f = AuditFilter()
    user = q.get("user", "").strip().lower()
    f.user = user if auth.USERNAME.match(user) else ""
    action = q.get("action", "")
    f.action = action if action in AUDIT_ACTIONS else ""
    day = q.get("day", "")
    if day:
        try:
            if not date(2000, 1, 1) <= date.fromisoformat(day) <= date(2999, 12, 31):
                raise ValueError(day)
            f.day = day
        except ValueError:
            f.error = "日期格式应为 2026-11-29 / Dates look like 2026-11-29"
    return f


def audit_page(c: Console, s: auth.Session, f: AuditFilter) -> HTMLResponse:
    a = console_audit
    q = select(a).where(a.c.estate == s.estate)
    if f.user:
        q = q.where(a.c.username == f.user)
    if f.action:
        q = q.where(a.c.action == f.action)
    rows: list[dict[str, Any]] = []
    with c.engine.connect() as conn:
        if f.day:
            # the estate's day, as UTC instants (``at`` is stored in UTC ISO form)
            first = _day_start(c, date.fromisoformat(f.day))
            q = q.where(a.c.at >= first.isoformat(), a.c.at < (first + timedelta(days=1)).isoformat())
        found = [dict(r) for r in conn.execute(q.order_by(a.c.at.desc(), a.c.audit_id.desc()).limit(AUDIT_LIMIT + 1))
                 .mappings()]
        names = {r.username: r.name for r in conn.execute(select(staff.c.username, staff.c.name))}
        users = sorted({(r.username, names.get(r.username, r.username)) for r in conn.execute(
            select(a.c.username).where(a.c.estate == s.estate).distinct())}, key=lambda u: u[0])
    for r in found[:AUDIT_LIMIT]:
        zh, en = AUDIT_ACTIONS.get(r["action"], (r["action"], r["action"]))
        rows.append({"at": c.local(r["at"], required=True), "username": r["username"],
                     "name": names.get(r["username"], "" if r["username"] == "?" else r["username"]),
                     "action": r["action"], "action_zh": zh, "action_en": en, "target": r["target"]})
    return c.page("audit.html", "操作记录", "Audit trail", s, "audit", f=f, users=users, error=f.error, rows=rows,
                  limit=AUDIT_LIMIT, more=len(found) > AUDIT_LIMIT,
                  actions=[(k, zh, en) for k, (zh, en) in AUDIT_ACTIONS.items()])


def _day_start(c: Console, day: date) -> datetime:
    """Midnight starting ``day`` in the estate's zone, in UTC (console_audit.at is UTC ISO)."""
    return datetime.combine(day, time(0), c.zone).astimezone(UTC)


def add_staff_routes(router: Any, c: Console) -> None:
    @router.get("/staff", response_class=HTMLResponse)
    @guarded
    def staff_list(request: Request) -> Response:
        s = c.require(request)
        refused_page(c, s)
        return list_page(c, s)

    @router.post("/staff/new", response_class=HTMLResponse)
    @guarded
    async def create(request: Request) -> Response:
        s = c.require(request)
        form = await c.form_lists(request, s)
        v = NewAccount(username=_one(form, "username", 40).lower(), name=_one(form, "name", 40), role=_one(form, "role", 20),
                       estates=[e[:32] for e in form.get("estates", [])[:50]])
        typed = (form.get("password") or [""])[0][:200]
        password = typed or accounts.new_password()

        def run() -> AccountRefused | None:
            try:
                with c.engine.begin() as conn:
                    accounts.create(conn, username=v.username, name=v.name, role=v.role, estates=v.estates,
                                    password=password, allowed=s.estates, clock=c.clock)
                    auth.audit(conn, s.estate, s.username, "create_staff",
                               f"{v.username} {v.role} {','.join(sorted(v.estates))}", clock=c.clock)
            except AccountRefused as exc:
                return exc
            return None

        problem = await run_in_threadpool(run)
        if problem:
            return list_page(c, s, v, [problem], status=422)
        return list_page(c, s, notice=(f"账号 {v.username} 已创建", f"Account {v.username} made"),
                         shown_password="" if typed else password)

    @router.get("/staff/{username}", response_class=HTMLResponse)
    @guarded
    def staff_edit(request: Request, username: str) -> Response:
        s = c.require(request)
        refused_page(c, s)
        done = request.query_params.get("done", "")
        notice = {"saved": ("已保存", "Saved"), "disabled": ("账号已停用,此人已退出登录", "Disabled; they are signed out"),
                  "enabled": ("账号已启用", "Enabled")}.get(done)
        return edit_page(c, s, username, notice=notice)

    @router.post("/staff/{username}", response_class=HTMLResponse)
    @guarded
    async def change(request: Request, username: str) -> Response:
        s = c.require(request)
        form = await c.form_lists(request, s)
        role, chosen = _one(form, "role", 20), [e[:32] for e in form.get("estates", [])[:50]]

        def run() -> AccountRefused | None:
            try:
                with c.engine.begin() as conn:
                    accounts.set_role_and_estates(conn, s.username, username, role, chosen, s.estates)
                    auth.audit(conn, s.estate, s.username, "change_staff", f"{username} {role} {','.join(sorted(chosen))}",
                               clock=c.clock)
            except AccountRefused as exc:
                return exc
            return None

        problem = await run_in_threadpool(run) if auth.USERNAME.match(username) else AccountRefused("没有这个账号", "no such account")
        if problem:
            return edit_page(c, s, username, [problem], status=404 if not problem.field else 422, role=role, chosen=chosen)
        return RedirectResponse(f"{PREFIX}/staff/{username}?done=saved", 303, headers=HEADERS)

    @router.post("/staff/{username}/active", response_class=HTMLResponse)
    @guarded
    async def active(request: Request, username: str) -> Response:
        s = c.require(request)
        form = await c.form(request, s)
        on = form.get("active") == "1"

        def run() -> AccountRefused | None:
            try:
                with c.engine.begin() as conn:
                    accounts.set_active(conn, s.username, username, on, clock=c.clock)
                    auth.audit(conn, s.estate, s.username, "enable_staff" if on else "disable_staff", username, clock=c.clock)
            except AccountRefused as exc:
                return exc
            return None

        problem = await run_in_threadpool(run) if auth.USERNAME.match(username) else AccountRefused("没有这个账号", "no such account")
        if problem:
            missing = problem.en == "no such account"
            return edit_page(c, s, username, [problem], status=404 if missing else 409)
        return RedirectResponse(f"{PREFIX}/staff/{username}?done={'enabled' if on else 'disabled'}", 303, headers=HEADERS)

    @router.post("/staff/{username}/password", response_class=HTMLResponse)
    @guarded
    async def reset(request: Request, username: str) -> Response:
        s = c.require(request)
        form = await c.form(request, s)
        typed = form.get("password", "")[:200]
        password = typed or accounts.new_password()

        def run() -> AccountRefused | None:
            try:
                with c.engine.begin() as conn:
                    accounts.set_password(conn, username, password, clock=c.clock)
                    auth.audit(conn, s.estate, s.username, "reset_password", username, clock=c.clock)
            except AccountRefused as exc:
                return exc
            return None

        problem = await run_in_threadpool(run) if auth.USERNAME.match(username) else AccountRefused("没有这个账号", "no such account")
        if problem:
            return edit_page(c, s, username, [problem], status=422 if problem.field else 404)
        response = edit_page(c, s, username, notice=(f"{username} 的密码已重置,此人已在所有电脑上退出",
                                                      f"{username}'s password is reset; they are signed out everywhere"),
                             shown_password="" if typed else password)
        if username == s.username:        # their own: this browser stays signed in
            _renew(c, request, response, s.username)
        return response

    @router.get("/account", response_class=HTMLResponse)
    @guarded
    def account(request: Request) -> Response:
        s = c.require(request)
        return account_page(c, s)

    @router.post("/account", response_class=HTMLResponse)
    @guarded
    async def own_password(request: Request) -> Response:
        s = c.require(request)
        form = await c.form(request, s)
        current, new, repeat = (form.get(k, "")[:200] for k in ("current", "password", "repeat"))

        def run() -> AccountRefused | None:
            # wrong current passwords count as wrong sign-ins (office/console/lockout.py): a session left open
            # on a front-desk PC does not let someone try password after password here
            with c.engine.begin() as conn:
                if not lockout.take_try(conn, s.username, c.clock):
                    return AccountRefused(LOCKED_ZH, LOCKED_EN, "current")
            try:
                with c.engine.begin() as conn:
                    if auth.check_password(conn, "", s.username, current) is None:
                        raise AccountRefused("当前密码不对", "the current password is wrong", "current")
                    lockout.clear(conn, s.username)
                    if new != repeat:
                        raise AccountRefused("两次输入的新密码不一样", "the two new passwords differ", "repeat")
                    accounts.set_password(conn, s.username, new, clock=c.clock)
                    auth.audit(conn, s.estate, s.username, "change_own_password", s.username, clock=c.clock)
            except AccountRefused as exc:
                return exc
            return None

        problem = await run_in_threadpool(run)
        if problem:
            return account_page(c, s, [problem], status=422)
        response = account_page(c, s, notice=("密码已修改,其他电脑上的登录已退出", "Password changed; your other sessions ended"))
        _renew(c, request, response, s.username)
        return response

    @router.get("/audit", response_class=HTMLResponse)
    @guarded
    def audit(request: Request) -> Response:
        s = c.require(request)
        refused_page(c, s)
        return audit_page(c, s, audit_filter(request))


def _renew(c: Console, request: Request, response: Response, username: str) -> None:
    """A fresh session cookie for this browser after its own password changed (the change voided the old one)."""
    response.set_cookie(auth.COOKIE, auth.make_cookie(c.secret, username, c.timestamp()), max_age=auth.SESSION_SECONDS,
                        path=PREFIX, httponly=True, samesite="strict", secure=request.url.scheme == "https")
