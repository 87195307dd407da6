"""The slip on the resident's phone: a link the front desk makes, which opens the slip's QR code.

The clerk presses 手机出示 on a slip; the console shows the link and a QR code of it for the
resident to scan with their phone. The link's page shows the slip's signed QR code large, to
present at the gate instead of paper. Only a digest of the link's secret is stored. The first
phone that opens a link is bound to it (a cookie; only its digest is stored): a link forwarded to
someone else shows nothing but a message, and the clerk can make a new one. A link ends when the
slip's window ends; a cancelled slip's link says so and shows no code.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection, insert, select, update
from starlette.concurrency import run_in_threadpool

from domain.keyfiles import load_private
from domain.model import SlipKind, SlipStatus
from office import schema
from office.console import auth
from office.console.schema import phone_links
from office.console.templating import render
from office.console.web import HEADERS, Console, guarded
from office.errors import NotFound, OfficeError
from office.export import item_text
from office.slips import require_unused, slip_id_ok, slip_token, slip_use

#: Where a phone opens a link (outside /console: the resident has no account).
PHONE_PREFIX = "/p"
#: The phone's cookie that binds links to it.
DEVICE_COOKIE = "gatepass_phone"
SECRET_BYTES = 24


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_link(conn: Connection, estate: str, slip_id: str, username: str, *, now: datetime) -> str:
    """A new link to ``slip_id``'s QR code; returns its secret (shown once, kept only as a digest)."""
    sl = schema.slips
    slip = conn.execute(select(sl.c.valid_until, sl.c.status).where(sl.c.estate == estate, sl.c.slip_id == slip_id)
                        ).first() if slip_id_ok(slip_id) else None
    if slip is None:
        raise NotFound(f"no slip {slip_id!r}")
    if slip.status != SlipStatus.ISSUED.value:
        raise OfficeError(f"slip {slip_id} is {slip.status}: only an approved slip goes to a phone")
    require_unused(conn, estate, slip_id)                  # a released slip goes to no phone: SlipUsed
    if datetime.fromisoformat(slip.valid_until) <= now:
        raise OfficeError(f"slip {slip_id} has expired")
    secret = secrets.token_urlsafe(SECRET_BYTES)
    conn.execute(insert(phone_links).values(link_hash=digest(secret), estate=estate, slip_id=slip_id,
                                            created_at=now.isoformat(), created_by=username,
                                            expires_at=slip.valid_until, device_hash=None, opened_at=None, revoked=0))
    return secret


@dataclass(frozen=True)
class Opened:
    """What a phone sees: ``state`` is ok, unknown, expired, cancelled, used or other_phone."""

    state: str
    estate: str = ""
    slip_id: str = ""


def open_link(conn: Connection, secret: str, device: str, *, now: datetime) -> Opened:
    """Look a link up for the phone whose cookie is ``device``; the first phone to open it is bound."""
    if not secret or len(secret) > 64:
        return Opened("unknown")
    link = conn.execute(select(phone_links).where(phone_links.c.link_hash == digest(secret))).mappings().first()
    if link is None or link["revoked"]:
        return Opened("unknown")
    if datetime.fromisoformat(link["expires_at"]) <= now:
        return Opened("expired")
    if link["device_hash"] is None:
        # Bind to this phone; the WHERE makes two phones racing for a fresh link bind only one.
        done = conn.execute(update(phone_links).where(phone_links.c.link_hash == link["link_hash"],
                                                      phone_links.c.device_hash.is_(None))
                            .values(device_hash=digest(device), opened_at=now.isoformat()))
        if done.rowcount != 1:
            return Opened("other_phone")
    elif link["device_hash"] != digest(device):
        return Opened("other_phone")
    sl = schema.slips
    status = conn.execute(select(sl.c.status).where(sl.c.estate == link["estate"], sl.c.slip_id == link["slip_id"])).scalar()
    if status is None:
        return Opened("unknown")
    if status == SlipStatus.CANCELLED.value:
        return Opened("cancelled", link["estate"], link["slip_id"])
    if slip_use(conn, link["estate"], link["slip_id"]) is not None:
        return Opened("used", link["estate"], link["slip_id"])        # says so, shows no code
    if status != SlipStatus.ISSUED.value:
        return Opened("unknown")
    return Opened("ok", link["estate"], link["slip_id"])


#: What the phone shows for each state that is not ok: (Chinese, English).
MESSAGES = {
    "unknown": ("链接无效", "This link is not valid. Ask the front desk for a new one."),
    "expired": ("放行条已过期", "The slip's time window has ended."),
    "cancelled": ("放行条已作废", "This slip was cancelled by the office."),
    "used": ("放行条已使用", "This slip has been used: the items were released at a gate."),
    "other_phone": ("此链接已在另一部手机上打开", "This link was opened on another phone. Ask the front desk for a new link."),
}


def qr_svg(text: str, style: str) -> str:
    import segno

    svg = segno.make(text, error="q" if len(text) > 60 else "m", boost_error=False).svg_inline(scale=1, border=4,
                                                                                               omitsize=True)
    return svg.replace("<svg ", f'<svg style="{style}" role="img" aria-label="QR" ', 1)


def slip_page(c: Console, opened: Opened) -> str:
    """The phone's page for an open link: the slip's QR, big, with what the guard will check."""
    sl, it = schema.slips, schema.slip_items
    with c.engine.connect() as conn:
        slip = dict(conn.execute(select(sl).where(sl.c.estate == opened.estate, sl.c.slip_id == opened.slip_id))
                    .mappings().one())
        items = [item_text(r.name, r.quantity, r.spec) for r in conn.execute(
            select(it.c.name, it.c.quantity, it.c.spec).where(it.c.estate == opened.estate, it.c.slip_id == opened.slip_id)
            .order_by(it.c.line))]
        token = slip_token(conn, opened.estate, slip, len(items), load_private(c.keys(opened.estate)))
    kind = SlipKind(slip["kind"]).label_zh if slip["kind"] in {k.value for k in SlipKind} else slip["kind"]
    return render("phone_slip.html", slip=slip, kind=kind, items=items, estate_name=c.estate_name,
                  valid_from=c.local(slip["valid_from"])[:16], valid_until=c.local(slip["valid_until"])[:16],
                  qr=qr_svg(token, "width:100%;height:auto;max-width:92vmin"))


def message_page(c: Console, state: str) -> str:
    zh, en = MESSAGES[state]
    return render("phone_message.html", zh=zh, en=en, estate_name=c.estate_name)


def add_phone_routes(console_router: Any, public_router: Any, c: Console) -> None:
    @console_router.post("/slips/{slip_id}/phone", response_class=HTMLResponse)
    @guarded
    async def make_link(request: Request, slip_id: str) -> Response:
        s = c.require(request)
        await c.form(request, s)

        def run() -> tuple[str, str]:
            try:
                with c.engine.begin() as conn:
                    secret = create_link(conn, s.estate, slip_id, s.username, now=c.now())
                    auth.audit(conn, s.estate, s.username, "phone_link", slip_id, clock=c.clock)
                return secret, ""
            except OfficeError as exc:
                return "", str(exc)

        secret, error = await run_in_threadpool(run)
        if error:
            return c.message("放行条", "Slips", s, "无法生成手机链接", error, active="slips",
                             status=404 if error.startswith("no slip") else 409)
        url = f"{str(request.base_url).rstrip('/')}{PHONE_PREFIX}/{secret}"
        # the QR is segno's drawing of the link made here, nothing a person typed
        return c.page("phone_link.html", "手机出示", "Slip on a phone", s, "slips", slip_id=slip_id, url=url,
                      qr=qr_svg(url, "width:320px;height:320px"))

    @public_router.get(PHONE_PREFIX + "/{secret}", response_class=HTMLResponse)
    def phone(request: Request, secret: str) -> Response:
        device = request.cookies.get(DEVICE_COOKIE, "")
        new_device = "" if 16 <= len(device) <= 64 else secrets.token_urlsafe(SECRET_BYTES)
        device = device if not new_device else new_device

        def run() -> Opened:
            with c.engine.begin() as conn:
                return open_link(conn, secret, device, now=c.now())

        opened = run()
        try:
            page = slip_page(c, opened) if opened.state == "ok" else message_page(c, opened.state)
        except OfficeError:                      # the estate's key cannot sign: say so, keep serving
            page = message_page(c, "unknown")
        status = {"ok": 200, "other_phone": 403, "unknown": 404}.get(opened.state, 410)
        response = HTMLResponse(page, status, headers={**HEADERS, "Cache-Control": "no-store"})
        if new_device:
            response.set_cookie(DEVICE_COOKIE, new_device, max_age=400 * 24 * 3600, path=PHONE_PREFIX + "/",
                                httponly=True, samesite="lax", secure=request.url.scheme == "https")
        return response
