"""Flags (anomalies the office raised) with a resolve button, the gates' health, recent slips."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from domain.contracts import DeviceHealth, HeartbeatBody
from domain.model import SlipKind
from domain.staff import ISSUERS
from office import schema
from office.console import auth
from office.console.alerts import close_flag
from office.console.labels import flag_label
from office.console.roles import may
from office.console.web import HEADERS, PREFIX, Console, guarded
from office.errors import OfficeError
from office.export import item_text
from office.ingest import list_flags, list_gates

#: A gate that has not been heard from for this long is shown in red (3 missed heartbeats at the default 60 s).
STALE_AFTER = timedelta(minutes=3)
#: Slips listed: valid within the last ... days, or later.
SLIP_DAYS = 14
#: Slip kinds in Chinese: SlipKind.label_zh, the words the gate shows for the same slip.
KIND_ZH = {k.value: k.label_zh for k in SlipKind}


def use_text(use: Any) -> str:
    """One use of a slip as a flag's detail records it, ``north 2026-11-29 14:03:07`` (the gate's own text)."""
    if not isinstance(use, dict):
        return str(use)[:60]
    return f"{str(use.get('gate_id', ''))[:6]} {str(use.get('at', ''))[:19].replace('T', ' ')}"


def flag_what(f: dict[str, Any]) -> dict[str, str]:
    """What happened, in words a clerk can act on: the kind's meaning, then the specifics."""
    title_zh, title_en, zh, en = flag_label(f["kind"])
    facts_zh, facts_en = [], []
    if f["gate_id"]:
        facts_zh.append(f"岗亭 {f['gate_id']}")
        facts_en.append(f"gate {f['gate_id']}")
    if f["seq"] is not None:
        facts_zh.append(f"第 {f['seq']} 条记录")
        facts_en.append(f"row {f['seq']}")
    if f["slip_id"]:
        facts_zh.append(f"放行条 {f['slip_id']}")
        facts_en.append(f"slip {f['slip_id']}")
    uses = f["detail"].get("uses") if isinstance(f["detail"], dict) else None
    uses = uses if isinstance(uses, list) else None
    if uses:
        facts_zh.append("使用记录:" + ";".join(use_text(u) for u in uses))
        facts_en.append("used at " + "; ".join(use_text(u) for u in uses))
    return {"title_zh": title_zh, "title_en": title_en, "facts_zh": ",".join(facts_zh), "facts_en": ", ".join(facts_en),
            "what_zh": zh, "what_en": en, "message": f["message"]}


def add_pages(router: Any, c: Console) -> None:
    @router.get("/flags", response_class=HTMLResponse)
    @guarded
    def flags_page(request: Request) -> Response:
        s = c.require(request)
        show_all = request.query_params.get("all") == "1"
        with c.engine.connect() as conn:
            flags = list_flags(conn, s.estate, include_resolved=show_all)
        flags.sort(key=lambda f: (f["resolved_at"] is not None, -int(f["flag_id"])))
        open_n = sum(1 for f in flags if f["resolved_at"] is None)
        notice = request.query_params.get("done") or ""
        can_resolve = may(s.role, "resolve_flag")
        shown = [{**flag_what(f), "flag_id": int(f["flag_id"]), "raised": c.local(f["raised_at"]),
                  "done": f["resolved_at"] is not None, "resolved": c.local(f["resolved_at"]),
                  "can_resolve": f["resolved_at"] is None and can_resolve} for f in flags]
        return c.page("flags.html", "异常", "Flags", s, "flags", flags=shown, open_n=open_n, show_all=show_all,
                      notice=notice if notice.isdigit() else "", csrf=s.csrf)

    @router.post("/flags/{flag_id}/resolve")
    @guarded
    async def resolve(request: Request, flag_id: int) -> Response:
        s = c.require(request)
        await c.form(request, s)
        if not await close_flag(c, s, flag_id, "resolve_flag"):
            return c.message("异常", "Flags", s, f"没有未处理的异常 #{flag_id} / No open flag #{flag_id}", active="flags",
                             status=404)
        return RedirectResponse(f"{PREFIX}/flags?done={flag_id}", 303, headers=HEADERS)

    @router.get("/gates", response_class=HTMLResponse)
    @guarded
    def gates_page(request: Request) -> Response:
        s = c.require(request)
        with c.engine.connect() as conn:
            gates = list_gates(conn, s.estate)
        return c.page("gates.html", "岗亭", "Gates", s, "gates", gates=gate_rows(c, gates),
                      stale_minutes=int(STALE_AFTER.total_seconds() // 60))

    @router.get("/slips", response_class=HTMLResponse)
    @guarded
    def slips_page(request: Request) -> Response:
        s = c.require(request)
        return c.page("slips.html", "放行条", "Slips", s, "slips", slips=slip_rows(c, s), days=SLIP_DAYS,
                      notice=request.query_params.get("done", ""), can_issue=s.role in ISSUERS,
                      may_phone=may(s.role, "phone_link"), may_cancel=may(s.role, "cancel_slip"), csrf=s.csrf)

    @router.post("/slips/{slip_id}/cancel")
    @guarded
    async def cancel(request: Request, slip_id: str) -> Response:
        from office.slips import SlipUsed, cancel_slip

        s = c.require(request)
        await c.form(request, s)                  # checks the CSRF token

        def run() -> tuple[str, int]:
            try:
                with c.engine.begin() as conn:
                    cancel_slip(conn, s.estate, slip_id)          # a released slip is refused: SlipUsed
                    auth.audit(conn, s.estate, s.username, "cancel_slip", slip_id, clock=c.clock)
            except SlipUsed as exc:
                return exc.said(c.local(exc.use.at)), 409
            except OfficeError as exc:
                return str(exc), 404
            return "", 200

        error, status = await run_in_threadpool(run)
        if error:
            return c.message("放行条", "Slips", s, error, active="slips", status=status)
        return RedirectResponse(f"{PREFIX}/slips?done={slip_id}", 303, headers=HEADERS)


def gate_rows(c: Console, gates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each gate as the gates page shows it: when it was last heard from (red when silent), its outbox,
    clock offset, devices and versions, from its last heartbeat."""
    now = c.clock.now()
    out = []
    for g in gates:
        beat: HeartbeatBody | None = g["heartbeat"]
        seen = datetime.fromisoformat(g["last_seen"]) if g["last_seen"] else None
        stale = seen is None or now - seen > STALE_AFTER or beat is None
        if seen is None:
            seen_zh, seen_en = "从未联系", "never heard from"
        elif not beat:
            seen_zh, seen_en = f"从未发送心跳(最后联系 {c.local(g['last_seen'])})", "NO HEARTBEAT ever: device health unknown"
        else:
            mins = int((now - seen).total_seconds() // 60)
            ago_zh = "刚刚" if mins < 1 else f"{mins} 分钟前" if mins < 120 else f"{mins // 60} 小时前"
            ago_en = "just now" if mins < 1 else f"{mins} min ago" if mins < 120 else f"{mins // 60} h ago"
            seen_zh, seen_en = f"{c.local(g['last_seen'])}({ago_zh})", ("SILENT · " if stale else "") + ago_en
        devices = beat.as_of(now) if beat else {}
        out.append({"gate_id": g["gate_id"], "name": g["name"] if g["name"] != g["gate_id"] else "", "stale": stale,
                    "seen_zh": seen_zh, "seen_en": seen_en, "head_seq": str(g["head_seq"]),
                    "depth": None if not beat or beat.outbox_depth is None else int(beat.outbox_depth),
                    "offset": None if not beat or beat.clock_offset_s is None else float(beat.clock_offset_s),
                    "reader": health(c, devices.get("reader")), "camera": health(c, devices.get("camera")),
                    "versions": ", ".join(f"{k} {v}" for k, v in sorted((beat.versions if beat else {}).items()))})
    return out


def health(c: Console, device: DeviceHealth | None) -> dict[str, str]:
    """正常 in green when the device is online; offline or fault in red; stale or unknown in grey,
    with the time of the last report in the estate's zone (the kiosk stopped reporting, or never did)."""
    if device is None:
        device = DeviceHealth.unknown("no heartbeat")
    state = device.state
    if state.known:
        en = f"{state.en}: {device.detail}" if device.detail else state.en
        return {"zh": state.zh, "en": en, "cls": "good" if state.healthy else "bad"}
    when = c.local(device.at.isoformat()) if device.at else ""
    zh = f"{state.zh}(最后报告 {when})" if when else state.zh
    en = state.en + (f" · last report {when}" if when else "") + (f" · {device.detail}" if device.detail else "")
    return {"zh": zh, "en": en, "cls": "quiet note"}


def slip_rows(c: Console, s: auth.Session) -> list[dict[str, Any]]:
    """The estate's slips valid within the last SLIP_DAYS days or later, newest first, with their items
    and where each was already released."""
    sl, cs = schema.slips, schema.consumed_slips
    since = (c.now() - timedelta(days=SLIP_DAYS)).isoformat()
    with c.engine.connect() as conn:
        slips = [dict(r) for r in conn.execute(select(sl).where(sl.c.estate == s.estate, sl.c.valid_until >= since)
                                               .order_by(sl.c.slip_id.desc()).limit(500)).mappings()]
        used: dict[str, list[str]] = {}
        for r in conn.execute(select(cs.c.slip_id, cs.c.gate_id, cs.c.at).where(cs.c.estate == s.estate)):
            used.setdefault(r.slip_id, []).append(f"{r.gate_id} {c.local(r.at, required=True)}")
        items: dict[str, list[str]] = {}
        ids = [x["slip_id"] for x in slips]
        it = schema.slip_items
        for i in range(0, len(ids), 500):
            for m in conn.execute(select(it).where(it.c.estate == s.estate, it.c.slip_id.in_(ids[i:i + 500]))
                                  .order_by(it.c.slip_id, it.c.line)).mappings():
                items.setdefault(m["slip_id"], []).append(item_text(m["name"], m["quantity"], m["spec"]))
    return [{**x, "kind_zh": KIND_ZH.get(x["kind"], x["kind"]), "uses": used.get(x["slip_id"], []),
             "item_texts": items.get(x["slip_id"], []), "valid_from": c.local(x["valid_from"])[:16],
             "valid_until": c.local(x["valid_until"])[:16]} for x in slips]
