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
from office import schema
from office.console import auth
from office.console.alerts import close_flag
from office.console.html import Safe, bi, esc, join, post_button, tag
from office.console.labels import flag_label
from office.console.phone import link_button
from office.console.printview import print_links
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


def flag_what(f: dict[str, Any]) -> Safe:
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
    return join([tag("div", bi(title_zh, title_en), style="font-weight:600"),
                 tag("div", bi(",".join(facts_zh), ", ".join(facts_en))) if facts_zh else "",
                 tag("div", bi(zh, en)),
                 tag("div", f["message"], class_="note")])


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
        notice = request.query_params.get("done")
        parts = [tag("div", f"已处理异常 #{notice} / Flag #{notice} resolved", class_="ok") if notice and notice.isdigit()
                 else "",
                 tag("p", join([esc(f"未处理 {open_n} 条 / {open_n} open  · "),
                                tag("a", "只看未处理 Open only", href=f"{PREFIX}/flags") if show_all else
                                tag("a", "包括已处理 Include resolved", href=f"{PREFIX}/flags?all=1")]), class_="summary")]
        if not flags:
            parts.append(tag("div", bi("没有未处理的异常", "No open flags"), class_="empty"))
        else:
            head = tag("tr", join(tag("th", bi(zh, en)) for zh, en in (
                ("编号", "No."), ("发现时间", "Raised"), ("发生了什么", "What happened"), ("状态", "State"), ("", ""))))
            body = []
            for f in flags:
                done = f["resolved_at"] is not None
                state = bi("已处理", c.local(f["resolved_at"]), "good") if done else bi("未处理", "Open", "bad")
                action = "" if done or not may(s.role, "resolve_flag") else post_button(f"{PREFIX}/flags/{int(f['flag_id'])}/resolve", s,
                                                      "标记已处理 Resolve")
                body.append(tag("tr", join([tag("td", f"#{f['flag_id']}"), tag("td", c.local(f["raised_at"]), class_="time"),
                                            tag("td", flag_what(f)), tag("td", state), tag("td", action)]),
                                class_="flag-done" if done else "flag-open"))
            parts.append(tag("table", join([tag("thead", head), tag("tbody", join(body))])))
        return c.html("异常", "Flags", join(parts), s, "flags")

    @router.post("/flags/{flag_id}/resolve")
    @guarded
    async def resolve(request: Request, flag_id: int) -> Response:
        s = c.require(request)
        await c.form(request, s)
        if not await close_flag(c, s, flag_id, "resolve_flag"):
            return c.html("异常", "Flags", tag("div", f"没有未处理的异常 #{flag_id} / No open flag #{flag_id}",
                                             class_="error"), s, "flags", status=404)
        return RedirectResponse(f"{PREFIX}/flags?done={flag_id}", 303, headers=HEADERS)

    @router.get("/gates", response_class=HTMLResponse)
    @guarded
    def gates_page(request: Request) -> Response:
        s = c.require(request)
        with c.engine.connect() as conn:
            gates = list_gates(conn, s.estate)
        return c.html("岗亭", "Gates", gates_table(c, gates), s, "gates")

    @router.get("/slips", response_class=HTMLResponse)
    @guarded
    def slips_page(request: Request) -> Response:
        s = c.require(request)
        notice = request.query_params.get("done", "")
        body = slips_table(c, s)
        if notice:
            body = join([tag("div", f"放行条 {notice} 已作废 / Slip {notice} cancelled", class_="ok"), body])
        return c.html("放行条", "Slips", body, s, "slips")

    @router.post("/slips/{slip_id}/cancel")
    @guarded
    async def cancel(request: Request, slip_id: str) -> Response:
        from office.slips import cancel_slip, slip_id_ok

        s = c.require(request)
        data = await c.form(request, s)

        def run() -> tuple[str, int]:
            try:
                with c.engine.begin() as conn:
                    cs = schema.consumed_slips
                    used = conn.execute(select(cs.c.gate_id, cs.c.at).where(cs.c.estate == s.estate, cs.c.slip_id == slip_id)
                                        .limit(1)).first() if slip_id_ok(slip_id) else None
                    if used is not None and data.get("confirm_released") != "1":
                        return (f"此放行条已于 {c.local(used.at)} 在 {used.gate_id} 放行;请在放行条页面勾选确认后再作废。 / "
                                f"Slip {slip_id} was already released at {used.gate_id}: confirm on its page to cancel it"), 409
                    cancel_slip(conn, s.estate, slip_id)
                    auth.audit(conn, s.estate, s.username, "cancel_slip", slip_id + (" (released)" if used else ""),
                               clock=c.clock)
            except OfficeError as exc:
                return str(exc), 404
            return "", 200

        error, status = await run_in_threadpool(run)
        if error:
            return c.html("放行条", "Slips", tag("div", error, class_="error"), s, "slips", status=status)
        return RedirectResponse(f"{PREFIX}/slips?done={slip_id}", 303, headers=HEADERS)


def gates_table(c: Console, gates: list[dict[str, Any]]) -> Safe:
    if not gates:
        return tag("div", bi("尚无岗亭(用 gatepass office add-gate 添加)", "No gates yet (gatepass office add-gate)"),
                   class_="empty")
    now = c.clock.now()
    head = tag("tr", join(tag("th", bi(zh, en), class_=cls) for zh, en, cls in (
        ("岗亭", "Gate", None), ("最后联系", "Last heard", None), ("已收记录", "Rows received", "num"),
        ("待发送", "Outbox", "num"), ("时钟偏差", "Clock offset", "num"), ("读卡器", "Card reader", None),
        ("摄像头", "Camera", None), ("版本", "Versions", None))))
    body = []
    for g in gates:
        beat: HeartbeatBody | None = g["heartbeat"]
        seen = datetime.fromisoformat(g["last_seen"]) if g["last_seen"] else None
        stale = seen is None or now - seen > STALE_AFTER or beat is None
        if seen is None:
            seen_cell = bi("从未联系", "never heard from")
        elif not beat:
            seen_cell = bi(f"从未发送心跳(最后联系 {c.local(g['last_seen'])})", "NO HEARTBEAT ever: device health unknown")
        else:
            mins = int((now - seen).total_seconds() // 60)
            ago_zh = "刚刚" if mins < 1 else f"{mins} 分钟前" if mins < 120 else f"{mins // 60} 小时前"
            ago_en = "just now" if mins < 1 else f"{mins} min ago" if mins < 120 else f"{mins // 60} h ago"
            seen_cell = bi(f"{c.local(g['last_seen'])}({ago_zh})", ("SILENT · " if stale else "") + ago_en)
        offset = beat.clock_offset_s if beat else None
        off_cell = "—" if offset is None else tag("span", f"{offset:+.1f} 秒 s",
                                                  class_="bad" if abs(float(offset)) > 30 else None)
        depth = beat.outbox_depth if beat else None
        devices = beat.as_of(now) if beat else {}
        body.append(tag("tr", join([
            tag("td", bi(g["gate_id"], g["name"] if g["name"] != g["gate_id"] else "")),
            tag("td", seen_cell, class_="seen"),
            tag("td", str(g["head_seq"]), class_="num"),
            tag("td", "—" if depth is None else tag("span", str(depth), class_="bad" if int(depth) > 100 else None),
                class_="num"),
            tag("td", off_cell, class_="num"),
            tag("td", health(c, devices.get("reader")), class_="device"),
            tag("td", health(c, devices.get("camera")), class_="device"),
            tag("td", ", ".join(f"{k} {v}" for k, v in sorted((beat.versions if beat else {}).items())),
                class_="note"),
        ]), class_="stale" if stale else None))
    return join([tag("p", f"超过 {int(STALE_AFTER.total_seconds() // 60)} 分钟没有心跳的岗亭显示为红色。"
                          f" A gate not heard from for {int(STALE_AFTER.total_seconds() // 60)} minutes is red.",
                     class_="summary"),
                 tag("table", join([tag("thead", head), tag("tbody", join(body))]))])


def health(c: Console, device: DeviceHealth | None) -> Safe:
    """正常 in green when the device is online; offline or fault in red; stale or unknown in grey,
    with the time of the last report in the estate's zone (the kiosk stopped reporting, or never did)."""
    if device is None:
        device = DeviceHealth.unknown("no heartbeat")
    state = device.state
    if state.known:
        en = f"{state.en}: {device.detail}" if device.detail else state.en
        return tag("span", bi(state.zh, en), class_="good" if state.healthy else "bad")
    when = c.local(device.at.isoformat()) if device.at else ""
    zh = f"{state.zh}(最后报告 {when})" if when else state.zh
    en = state.en + (f" · last report {when}" if when else "") + (f" · {device.detail}" if device.detail else "")
    return tag("span", bi(zh, en), class_="quiet note")


def slips_table(c: Console, s: auth.Session) -> Safe:
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
    new = (tag("p", tag("a", "＋ 开放行条 New slip", href=f"{PREFIX}/slips/new", class_="button"))
           if s.role in auth.ISSUERS else Safe(""))
    if not slips:
        return join([new, tag("div", bi(f"近 {SLIP_DAYS} 天没有放行条", f"No slips in the last {SLIP_DAYS} days"),
                                  class_="empty")])
    head = tag("tr", join(tag("th", bi(zh, en)) for zh, en in (
        ("放行条", "Slip"), ("单元 / 申请人", "Unit / applicant"), ("搬运人", "Carrier"), ("物品", "Items"),
        ("有效时间", "Valid"), ("状态", "Status"), ("", ""))))
    body = []
    for x in slips:
        cancelled = x["status"] == "cancelled"
        issued = x["status"] == "issued"
        uses = used.get(x["slip_id"], [])
        status = (bi("已作废", "cancelled", "bad") if cancelled else
                  bi("已放行", "released: " + "; ".join(uses), "good") if uses else
                  bi("有效", "issued") if issued else bi("待审批", "waiting for approval", "bad"))
        action = join([print_links(x["slip_id"]) if issued else "",
                       link_button(x["slip_id"], s) if issued and may(s.role, "phone_link") else "",
                       "" if cancelled or uses or not may(s.role, "cancel_slip") else
                       post_button(f"{PREFIX}/slips/{x['slip_id']}/cancel", s, "作废 Cancel", "danger")])
        body.append(tag("tr", join([
            tag("td", bi(tag("a", tag("code", x["slip_id"]), href=f"{PREFIX}/slips/{x['slip_id']}"),
                         KIND_ZH.get(x["kind"], x["kind"]) + " " + x["kind"])),
            tag("td", bi(x["unit_id"], x["applicant_name"])),
            tag("td", bi(x["mover_name"], x["mover_id_masked"])),
            tag("td", ";".join(items.get(x["slip_id"], []))),
            tag("td", bi(c.local(x["valid_from"])[:16], "至 " + c.local(x["valid_until"])[:16]), class_="time"),
            tag("td", status), tag("td", action)]), class_="flag-done" if cancelled else None))
    return join([new, tag("p", f"近 {SLIP_DAYS} 天有效的放行条 / Slips valid within the last {SLIP_DAYS} days", class_="summary"),
                 tag("table", join([tag("thead", head), tag("tbody", join(body))]))])
