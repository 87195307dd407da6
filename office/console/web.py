"""The console's plumbing: who is signed in, CSRF on every form, sign-in and sign-out.

Pages are plain GETs that need a session (no session: 303 to the sign-in page);
every state change is a POST form carrying the session's CSRF token, refused with 403
without it or from another origin. The gate API under /api/v1 is not touched.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool

from domain.clock import Clock, EstateTime
from domain.staff import ROLES
from office import schema
from office.config import OfficeConfig, estate_keys_dir
from office.console import auth, lockout
from office.console.templating import render

PREFIX = "/console"
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
#: What a page shows for a stored time it cannot read, followed by the stored text.
UNREADABLE = "无法识别的时间 unreadable time"
#: Wrong passwords per username before sign-in is refused for LOCK_SECONDS (office/console/lockout.py).
MAX_FAILURES, LOCK_SECONDS = lockout.MAX_FAILURES, lockout.LOCK_SECONDS
#: The estate a staff member who works for several last chose to see (`/console/estate?to=ID`).
ESTATE_COOKIE = "gatepass_estate"
LOCKED = (f"账号已锁定:密码错误次数过多,请{LOCK_SECONDS // 60}分钟后再试。",
          f"Locked: too many wrong passwords; try again in {LOCK_SECONDS // 60} minutes.")
#: The console's navigation: (path under PREFIX, Chinese, English), in the header of every page.
NAV = (("log", "出入记录", "Exit log"), ("yesterday", "昨日汇总", "Yesterday"), ("alerts", "警报", "Alerts"),
       ("flags", "异常", "Flags"),
       ("gates", "岗亭", "Gates"), ("slips", "放行条", "Slips"), ("permits", "住户证", "Permits"),
       ("memos", "商户备忘表", "Tenant memos"), ("staff", "员工", "Staff"),
       ("audit", "操作记录", "Audit"))
#: Pages only an administrator opens: their links are shown to administrators only.
ADMIN_NAV = frozenset({"staff", "audit"})


class Denied(Exception):
    """A request the console refuses; carries the response to send."""

    def __init__(self, response: Response) -> None:
        self.response = response


@dataclass
class Console:
    """What every console page works with; ``time`` is the injected clock read in the estate's zone,
    the only place the console learns the time (what "today" is, when a session expires)."""

    cfg: OfficeConfig
    engine: Engine
    secret: bytes
    time: EstateTime
    estate_name: str = ""

    @property
    def zone(self) -> ZoneInfo:
        return self.time.zone

    @property
    def clock(self) -> Clock:
        return self.time.clock

    def keys(self, estate: str) -> Path:
        """The key folder of ``estate`` (its signing key and ID-HMAC key): office/config.py estate_keys_dir."""
        return estate_keys_dir(self.cfg.keys, estate, home=self.cfg.estate)

    def now(self) -> datetime:
        """Now, in the estate's zone."""
        return self.time.now()

    def timestamp(self) -> float:
        return self.time.clock.now().timestamp()

    # ------------------------------------------------------------ sessions

    def session(self, request: Request) -> auth.Session | None:
        """The signed-in staff member, showing the estate they were added in."""
        with self.engine.connect() as conn:
            return auth.read_session(conn, self.secret, "", request.cookies.get(auth.COOKIE), self.timestamp())

    def require(self, request: Request) -> auth.Session:
        """The signed-in staff member, showing the estate asked for (``?estate=ID``, else the one they
        chose last, else their own); or Denied: a redirect to sign-in for pages, 401 for the rest, and
        403 for an estate they do not work for. Every page reads and writes only ``session.estate``."""
        s = self.session(request)
        if s is not None:
            asked = request.query_params.get("estate", "")
            if asked:
                if asked not in s.estates:
                    raise Denied(self.not_yours(s))
                return replace(s, estate=asked)
            kept = request.cookies.get(ESTATE_COOKIE, "")
            return replace(s, estate=kept) if kept in s.estates else s
        if request.method == "GET" and not request.url.path.endswith(".csv"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise Denied(RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}", 303, headers=HEADERS))
        raise Denied(self.message("请先登录", "Sign in first", None, link=(f"{PREFIX}/login", "登录 Sign in"), status=401))

    async def form(self, request: Request, session: auth.Session | None) -> dict[str, str]:
        """A POSTed form, after the same-origin and CSRF checks (session None: the sign-in form)."""
        return {k: v[0] for k, v in (await self.form_lists(request, session)).items()}

    async def form_lists(self, request: Request, session: auth.Session | None,
                         max_bytes: int = 16 * 1024) -> dict[str, list[str]]:
        """A POSTed form with every value of each field (checkbox lists), after the same checks as `form`."""
        self.same_origin(request)
        body = await request.body()
        if len(body) > max_bytes:
            raise Denied(Response("form too large", 413))
        data = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        if session is not None and not auth.same_token(data.get("csrf", [""])[0], session.csrf):
            raise Denied(self.forbidden())
        if session is not None:
            self.require_role(request, session)
        return data

    def same_origin(self, request: Request) -> None:
        """Refuse (403) a POST another site's page sent."""
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
            raise Denied(self.forbidden())
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            raise Denied(self.forbidden())

    async def form_upload(self, request: Request, session: auth.Session,
                          max_bytes: int) -> tuple[dict[str, list[str]], dict[str, bytes]]:
        """A POSTed multipart form (a file input) after the same checks as `form`: its text fields
        (every value) and its files' bytes by field name (an empty file input is left out). A body
        over ``max_bytes`` is 413; a body that is no multipart form reads as an empty form."""
        from starlette.datastructures import UploadFile
        from starlette.formparsers import MultiPartException

        self.same_origin(request)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return await self.form_lists(request, session), {}
        body = await request.body()           # read whole first: the file parts cannot spill past the limit
        if len(body) > max_bytes:
            raise Denied(Response("form too large", 413))
        try:
            parsed = await request.form(max_files=4, max_fields=200, max_part_size=max_bytes)
        except (MultiPartException, ValueError, KeyError):
            parsed = None
        fields: dict[str, list[str]] = {}
        files: dict[str, bytes] = {}
        if parsed is not None:
            for key, value in parsed.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read()
                    if data:
                        files[key] = data
                else:
                    fields.setdefault(key, []).append(value)
            await parsed.close()
        if not auth.same_token((fields.get("csrf") or [""])[0], session.csrf):
            raise Denied(self.forbidden())
        self.require_role(request, session)           # office/console/roles.py, as for every POST
        return fields, files

    def require_role(self, request: Request, s: auth.Session, action: str = "") -> None:
        """403 with a page when the signed-in role may not do ``action`` (default: the POST route's own,
        office/console/roles.py)."""
        from office.console import roles

        if not action:
            route = request.scope.get("route")
            action = roles.action_of(getattr(route, "path", "")) or ""
        if action and not roles.may(s.role, action):
            raise Denied(self.role_refused(s, action))

    def role_refused(self, s: auth.Session, action: str) -> HTMLResponse:
        from office.console import roles

        zh, en, allowed = roles.ACTIONS[action]
        role_zh, role_en = ROLES.get(s.role, (s.role, s.role))
        who_zh = "、".join(ROLES[r][0] for r in ROLES if r in allowed)
        who_en = ", ".join(ROLES[r][1].lower() for r in ROLES if r in allowed)
        return self.message("无权操作", "Not allowed", s, f"您的账号({role_zh})不能{zh}。可以{zh}的是:{who_zh}。",
                            f"Your account ({role_en}) may not {en}; {who_en} may.", status=403)

    def not_yours(self, s: auth.Session) -> HTMLResponse:
        return self.message("无权查看", "Not your estate", s, "您不负责这个小区,不能查看或更改它的数据。",
                            "You do not work for that estate: its data is not shown or changed here.", box="", status=403)

    def forbidden(self) -> HTMLResponse:
        return self.message("请求被拒绝", "Request refused", None, "表单已过期或来源不明,请返回页面重新操作。",
                            "The form expired or came from elsewhere; go back, reload and try again.", box="", status=403)

    # ------------------------------------------------------------ rendering

    def html(self, title_zh: str, title_en: str, body: Any, session: auth.Session | None, active: str = "",
             status: int = 200) -> HTMLResponse:
        """A page around ready ``body`` markup (a rendered template, as markupsafe.Markup); plain text is escaped."""
        return self.page("layout.html", title_zh, title_en, session, active, status, body=body)

    def page(self, template: str, title_zh: str, title_en: str, session: auth.Session | None, active: str = "",
             status: int = 200, **context: Any) -> HTMLResponse:
        """``template`` (one that extends layout.html) rendered with ``context`` and what the layout shows:
        the navigation with the open-flag count, the estate's name and the staff member's other estates."""
        open_flags, names = 0, {}
        if session is not None:
            from sqlalchemy import func

            f, e = schema.flags, schema.estates
            with self.engine.connect() as conn:
                open_flags = int(conn.execute(select(func.count()).select_from(f).where(
                    f.c.estate == session.estate, f.c.resolved_at.is_(None))).scalar_one())
                names = {r.estate_id: r.name or r.estate_id for r in conn.execute(
                    select(e.c.estate_id, e.c.name).where(e.c.estate_id.in_(session.estates)))}
        nav = [n for n in NAV if session is not None and (n[0] not in ADMIN_NAV or session.role == "admin")]
        return HTMLResponse(render(template, title_zh=title_zh, title_en=title_en, session=session, active=active,
                                   prefix=PREFIX, nav=nav, open_flags=open_flags, estate_names=names,
                                   estate_name=names.get(session.estate, "") if session else "", **context),
                            status, headers=HEADERS)

    def message(self, title_zh: str, title_en: str, session: auth.Session | None, zh: str = "", en: str | None = None,
                active: str = "", status: int = 200, box: str = "error",
                link: tuple[str, str] | None = None) -> HTMLResponse:
        """A page that says one thing: ``zh`` (and ``en`` beneath it, when given) in a ``box`` ("error",
        "ok"; "" for a plain paragraph), or only a ``link`` to follow."""
        return self.page("message.html", title_zh, title_en, session, active, status, zh=zh, en=en, box=box, link=link)

    def local(self, iso: str | None, *, required: bool = False) -> str:
        """An ISO instant as the estate's wall-clock time, ``2026-11-29 14:03:07``; empty when there is none
        (unless ``required``), and said to be unreadable when it is no instant (a bad value already stored)."""
        if not iso and not required:
            return ""
        try:
            return self.time.local(datetime.fromisoformat(str(iso))).strftime("%Y-%m-%d %H:%M:%S")
        except (ValueError, TypeError, OverflowError):
            return f"{UNREADABLE} {str(iso)[:40]!r}"

    def local_time(self, iso: str | None) -> str:
        """Only the wall-clock time of day, ``14:03:07`` (a page of one day's rows); unreadable as in `local`."""
        text = self.local(iso, required=True)
        return text if text.startswith(UNREADABLE) else text[11:]


def make_console(cfg: OfficeConfig, engine: Engine, clock: Clock | None = None) -> Console:
    """The console of ``cfg.estate``, reading time from ``clock`` (the system's by default) in ``cfg.timezone``."""
    with engine.connect() as conn:
        name = conn.execute(select(schema.estates.c.name).where(schema.estates.c.estate_id == cfg.estate)).scalar()
    when = EstateTime.of(cfg.timezone, clock)
    return Console(cfg, engine, auth.session_secret(engine, when.clock), when, name or cfg.estate)


def guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Turn Denied into its response, so handlers read straight through."""
    import functools
    import inspect

    if inspect.iscoroutinefunction(handler):
        @functools.wraps(handler)
        async def run_async(*a: Any, **kw: Any) -> Any:
            try:
                return await handler(*a, **kw)
            except Denied as d:
                return d.response
        return run_async

    @functools.wraps(handler)
    def run(*a: Any, **kw: Any) -> Any:
        try:
            return handler(*a, **kw)
        except Denied as d:
            return d.response
    return run


def safe_next(target: str) -> str:
    """Only a console path may follow sign-in (no open redirect)."""
    if target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{PREFIX}/log"


def login_form(c: Console, next_: str, error: tuple[str, str] | None = None, status: int = 200) -> HTMLResponse:
    return c.page("login.html", "员工登录", "Staff sign-in", None, status=status, next=next_, error=error)


def add_auth_routes(router: Any, c: Console) -> None:
    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "") -> Response:
        if c.session(request) is not None:
            return RedirectResponse(safe_next(next), 303, headers=HEADERS)
        return login_form(c, safe_next(next))

    @router.post("/login", response_class=HTMLResponse)
    @guarded
    async def login(request: Request) -> Response:
        data = await c.form(request, None)
        username = data.get("username", "").strip().lower()
        who = username if auth.USERNAME.match(username) else "?"       # what the audit trail records
        next_ = safe_next(data.get("next", ""))

        def attempt() -> bool:
            # Its own transaction, committed before any hashing: parallel tries see each other's count.
            with c.engine.begin() as conn:
                allowed = lockout.take_try(conn, username, c.clock)
                if not allowed:
                    auth.audit(conn, c.cfg.estate, who, "sign_in_locked", clock=c.clock)
                return allowed

        if not await run_in_threadpool(attempt):
            return login_form(c, next_, LOCKED, 429)

        def check() -> dict[str, Any] | None:
            with c.engine.begin() as conn:
                staff = auth.check_password(conn, "", username, data.get("password", ""))
                auth.audit(conn, c.cfg.estate, who, "sign_in" if staff else "sign_in_refused", clock=c.clock)
                if staff:
                    lockout.clear(conn, username)
                return staff

        staff = await run_in_threadpool(check)
        if staff is None:
            return login_form(c, next_, ("用户名或密码错误", "Wrong username or password"), 401)
        response = RedirectResponse(next_, 303, headers=HEADERS)
        response.set_cookie(auth.COOKIE, auth.make_cookie(c.secret, staff["username"], c.timestamp()),
                            max_age=auth.SESSION_SECONDS,
                            path=PREFIX, httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return response

    @router.post("/logout")
    @guarded
    async def logout(request: Request) -> Response:
        s = c.require(request)
        await c.form(request, s)

        def end() -> None:
            with c.engine.begin() as conn:
                auth.end_sessions(conn, s.username, c.clock)
                auth.audit(conn, c.cfg.estate, s.username, "sign_out", clock=c.clock)

        await run_in_threadpool(end)
        response = RedirectResponse(f"{PREFIX}/login", 303, headers=HEADERS)
        response.delete_cookie(auth.COOKIE, path=PREFIX, httponly=True, samesite="strict")
        return response

    @router.get("/estate")
    @guarded
    def choose_estate(request: Request, to: str = "") -> Response:
        """Show another of the staff member's estates from now on (kept in a cookie)."""
        s = c.require(request)
        if to not in s.estates:
            return c.not_yours(s)
        response = RedirectResponse(f"{PREFIX}/log", 303, headers=HEADERS)
        response.set_cookie(ESTATE_COOKIE, to, path=PREFIX, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    @router.get("/")
    def root() -> Response:
        return RedirectResponse(f"{PREFIX}/log", 303, headers=HEADERS)

