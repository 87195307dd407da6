"""Alerts (警报): overrides, guards' reports, double use and badge lock-outs, the moment the office learns them.

The security and butler roles keep /console/alerts open. The page holds one Server-Sent Events
connection; one watcher per office process looks at the flags table every couple of seconds and
tells every open page when a new alert arrives, so a hundred open pages make one query, not a
hundred (no polling storm). The page then reloads itself and its title blinks. Acknowledging an
alert resolves its flag (audited) for everyone. The JavaScript is one small file served from here
(EventSource is a browser API); nothing else on the console runs script.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from office import schema
from office.console import auth
from office.console.labels import flag_label
from office.console.web import HEADERS, PREFIX, Console, guarded
from office.ingest import resolve_flag

#: Flag kinds that are alerts: what a guard or a slip did that someone must look at now.
ALERT_KINDS = ("override", "report", "double_use", "pin_lockout")
#: Roles that acknowledge alerts (the front desk sees them, acknowledges nothing).
ACKNOWLEDGERS = frozenset({"security", "butler", "admin"})
#: How often the one watcher looks for new alerts, and how long one event stream lives (the browser reconnects).
WATCH_S, STREAM_S = 2.0, 20.0
SCRIPT = (Path(__file__).parent / "static" / "alerts.js").read_text(encoding="utf-8")
#: The alerts page runs exactly that one script.
PAGE_HEADERS = {**HEADERS, "Content-Security-Policy": HEADERS["Content-Security-Policy"].replace(
    "default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';")}


#: flags.flag_id is an INTEGER column (32 bits on PostgreSQL): a larger number in a URL names no flag.
MAX_FLAG_ID = 2**31 - 1


async def close_flag(c: Console, s: auth.Session, flag_id: int, action: str,
                     kinds: tuple[str, ...] | None = None) -> bool:
    """Resolve an open flag of the signed-in estate (of ``kinds`` only, when given) and audit it as
    ``action``; False when there is no such open flag. The flags page and the alerts page both close
    flags through here."""
    def run() -> bool:
        if not 0 < flag_id <= MAX_FLAG_ID:          # no such flag; the database would refuse the number
            return False
        with c.engine.begin() as conn:
            if kinds is not None:
                f = schema.flags
                kind = conn.execute(select(f.c.kind).where(f.c.estate == s.estate, f.c.flag_id == flag_id)).scalar()
                if kind not in kinds:
                    return False
            if not resolve_flag(conn, s.estate, flag_id, clock=c.clock):
                return False
            auth.audit(conn, s.estate, s.username, action, str(flag_id), clock=c.clock)
            return True

    return await run_in_threadpool(run)


def open_alerts(conn: Any, estate: str) -> list[dict[str, Any]]:
    f = schema.flags
    return [dict(r) for r in conn.execute(
        select(f).where(f.c.estate == estate, f.c.kind.in_(ALERT_KINDS), f.c.resolved_at.is_(None))
        .order_by(f.c.flag_id.desc()).limit(200)).mappings()]


def latest_alert(conn: Any) -> int:
    """The newest alert of any estate: one number for the one watcher (a page of another estate that
    hears of it reloads once and shows the same list; it never misses its own)."""
    f = schema.flags
    return int(conn.execute(select(func.coalesce(func.max(f.c.flag_id), 0)).where(f.c.kind.in_(ALERT_KINDS))).scalar_one())


class Watcher:
    """One per console: the newest alert id, refreshed by one task while anyone is listening."""

    def __init__(self, c: Console) -> None:
        self.c = c
        self.latest = -1
        self.changed: asyncio.Condition | None = None
        self.listeners = 0
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        assert self.changed is not None
        while self.listeners > 0:
            def read() -> int:
                with self.c.engine.connect() as conn:
                    return latest_alert(conn)
            try:
                latest = await run_in_threadpool(read)
            except Exception:                      # the database is away: keep the pages waiting, try again
                latest = self.latest
            if latest != self.latest:
                self.latest = latest
                async with self.changed:
                    self.changed.notify_all()
            await asyncio.sleep(WATCH_S)
        self.task = None

    async def stream(self, seen: int, request: Request) -> Any:
        if self.changed is None:
            self.changed = asyncio.Condition()
        self.listeners += 1
        if self.task is None:
            self.task = asyncio.create_task(self._run())
        loop = asyncio.get_running_loop()
        end = loop.time() + STREAM_S
        try:
            yield "retry: 3000\n\n"
            while loop.time() < end and not await request.is_disconnected():
                if self.latest > seen >= 0 or (seen < 0 <= self.latest):
                    seen = self.latest
                    yield f"event: alert\ndata: {self.latest}\n\n"
                async with self.changed:
                    try:
                        await asyncio.wait_for(self.changed.wait(), timeout=min(5.0, max(0.1, end - loop.time())))
                    except TimeoutError:
                        yield ": keep-alive\n\n"
        finally:
            self.listeners -= 1


def alert_rows(c: Console, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each open alert as the page lists it: when, its kind in words, the flag's message, the gate."""
    rows = []
    for f in alerts:
        zh, en, what_zh, what_en = flag_label(f["kind"])
        rows.append({"flag_id": int(f["flag_id"]), "kind": f["kind"], "raised": c.local(f["raised_at"]), "zh": zh, "en": en,
                     "what_zh": what_zh, "what_en": what_en, "message": f["message"], "gate_id": f["gate_id"]})
    return rows


def add_alert_routes(router: Any, c: Console) -> None:
    watcher = Watcher(c)

    @router.get("/alerts", response_class=HTMLResponse)
    @guarded
    def alerts_page(request: Request) -> Response:
        s = c.require(request)
        with c.engine.connect() as conn:
            alerts, latest = open_alerts(conn, s.estate), latest_alert(conn)
        done = request.query_params.get("done", "")
        notice = f"已确认警报 #{done} / Alert #{done} acknowledged" if done.isdigit() else ""
        response = c.page("alerts.html", "警报", "Alerts", s, "alerts", alerts=alert_rows(c, alerts), latest=latest,
                          notice=notice, can_ack=s.role in ACKNOWLEDGERS, csrf=s.csrf)
        response.headers.update(PAGE_HEADERS)
        return response

    @router.get("/alerts/stream")
    @guarded
    async def stream(request: Request, seen: int = -1) -> Response:
        c.require(request)
        return StreamingResponse(watcher.stream(max(-1, min(seen, 2**31)), request), media_type="text/event-stream",
                                 headers={**HEADERS, "X-Accel-Buffering": "no"})

    @router.get("/static/alerts.js")
    def script() -> Response:
        return Response(SCRIPT, media_type="text/javascript; charset=utf-8",
                        headers={**HEADERS, "Cache-Control": "max-age=3600"})

    @router.post("/alerts/{flag_id}/ack")
    @guarded
    async def ack(request: Request, flag_id: int) -> Response:
        s = c.require(request)
        await c.form(request, s)                   # with the role check of office/console/roles.py (ack_alert)
        if not await close_flag(c, s, flag_id, "ack_alert", ALERT_KINDS):
            return c.message("警报", "Alerts", s, f"没有待确认的警报 #{flag_id} / No open alert #{flag_id}", active="alerts",
                             status=404)
        return RedirectResponse(f"{PREFIX}/alerts?done={flag_id}", 303, headers=HEADERS)
