"""The printed item-release slip (物品放行条, form R-KF001): A4 or A5, three copies.

As the paper form has it: every field the front desk filled in, the approvals, the signed QR
code large enough for a gate's camera at arm's length, and the columns the guard fills in at
the gate (departure time, signature). Three copies, one a page: 物业联 office, 保安联 security
(the guard keeps it), 住户联 resident. The QR is signed afresh from the stored slip with the
estate's key (Ed25519 signatures are deterministic: the same slip and key give the same code).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select

from domain.keyfiles import load_private
from domain.model import ApprovalRole, SlipKind, SlipStatus
from office import schema
from office.console.templating import macro, render
from office.console.web import HEADERS, PREFIX, Console, guarded
from office.errors import NotFound, OfficeError
from office.export import item_text
from office.slips import SlipUse, slip_in_url_ok, slip_token, slip_use

#: The copies of a slip, in print order: (Chinese, English, who keeps it).
COPIES = (("物业联", "Office copy", "物业服务中心存档 kept by the office"),
          ("保安联", "Security copy", "门岗留存 kept by the guard at the gate"),
          ("住户联", "Resident copy", "住户留存 kept by the resident"))
#: Paper sizes the print view knows, with the QR code's printed side in millimetres.
PAPERS = {"a4": 62, "a5": 46}


@dataclass(frozen=True)
class PrintedSlip:
    slip: dict[str, Any]
    items: list[dict[str, Any]]
    approvals: list[dict[str, str]]
    unit: dict[str, Any]
    exit_gate: str
    token: str
    use: SlipUse | None = None         # released at a gate: printed as used, with no code


def _approvals(text: str, zone_local: Any) -> list[dict[str, str]]:
    try:
        stored = json.loads(text)
    except ValueError:
        stored = []
    out = []
    for a in stored if isinstance(stored, list) else []:
        if not isinstance(a, dict):
            continue
        try:
            role = ApprovalRole(a.get("role"))
            label = role.label_zh
        except ValueError:
            label = str(a.get("role", ""))
        out.append({"role": label, "name": str(a.get("name", "")), "at": zone_local(a.get("at")) if a.get("at") else ""})
    return out


def load_printed(c: Console, estate: str, slip_id: str) -> PrintedSlip:
    if not slip_in_url_ok(slip_id):
        raise NotFound(f"no slip {slip_id!r}")
    sl, it, un, g = schema.slips, schema.slip_items, schema.units, schema.gates
    with c.engine.connect() as conn:
        slip = conn.execute(select(sl).where(sl.c.estate == estate, sl.c.slip_id == slip_id)).mappings().first()
        if slip is None:
            raise NotFound(f"no slip {slip_id!r}")
        items = [dict(r) for r in conn.execute(select(it).where(it.c.estate == estate, it.c.slip_id == slip_id)
                                               .order_by(it.c.line)).mappings()]
        unit = conn.execute(select(un).where(un.c.estate == estate, un.c.unit_id == slip["unit_id"])).mappings().first()
        gate = conn.execute(select(g.c.name).where(g.c.estate == estate, g.c.gate_id == slip["exit_gate_id"])).scalar()
        # A slip still waiting for approvals has no token yet: nothing is signed for it.
        use = slip_use(conn, estate, slip_id)
        token = (slip_token(conn, estate, dict(slip), len(items), load_private(c.keys(estate)))
                 if slip["status"] == SlipStatus.ISSUED.value and use is None else "")
    exit_gate = f"{gate}({slip['exit_gate_id']})" if gate and gate != slip["exit_gate_id"] else slip["exit_gate_id"]
    return PrintedSlip(dict(slip), items, _approvals(slip["approvals"], c.local), dict(unit or {}), exit_gate, token, use)


def qr_svg(token: str, size_mm: int) -> str:
    """The token as an inline SVG QR code of ``size_mm`` on paper (level Q, as issued)."""
    import segno

    qr = segno.make(token, error="q", boost_error=False)
    svg = qr.svg_inline(scale=1, border=4, omitsize=True)
    return svg.replace("<svg ", f'<svg style="width:{size_mm}mm;height:{size_mm}mm" role="img" aria-label="QR" ', 1)


def page_html(c: Console, p: PrintedSlip, paper: str) -> str:
    s = p.slip
    kind = SlipKind(s["kind"]) if s["kind"] in {k.value for k in SlipKind} else None
    cancelled = s["status"] == SlipStatus.CANCELLED.value
    pending = s["status"] == SlipStatus.PENDING.value
    return render(
        "slip_print.html", paper=paper, copies=COPIES, estate_name=c.estate_name, slip=s,
        kind_zh=kind.label_zh if kind else s["kind"], kind_en=s["kind"],
        items=[{"name": i["name"], "quantity": i["quantity"], "spec": i["spec"],
                "text": item_text(i["name"], i["quantity"], i["spec"])} for i in p.items],
        approvals=p.approvals, unit=p.unit, exit_gate=p.exit_gate,
        valid_from=c.local(s["valid_from"])[:16], valid_until=c.local(s["valid_until"])[:16],
        printed_at=c.local(c.now().isoformat())[:16], cancelled=cancelled, pending=pending, back=f"{PREFIX}/slips",
        used={"gate": p.use.gate_id, "at": c.local(p.use.at)[:16]} if p.use is not None else None,
        qr="" if cancelled or pending or p.use is not None else qr_svg(p.token, PAPERS[paper]))


def add_print_routes(router: Any, c: Console) -> None:
    @router.get("/slips/{slip_id}/print", response_class=HTMLResponse)
    @guarded
    def print_slip(request: Request, slip_id: str) -> Response:
        s = c.require(request)
        paper = request.query_params.get("paper", "a4")
        if paper not in PAPERS:
            paper = "a4"
        try:
            printed = load_printed(c, s.estate, slip_id)
        except NotFound:
            return c.message("放行条", "Slips", s, "没有这张放行条", f"No slip {slip_id[:12]!r}", active="slips", status=404)
        except OfficeError as exc:     # the key cannot be read: say so, keep the console up
            return c.message("放行条", "Slips", s, "无法签发二维码", str(exc), active="slips", status=503)
        return HTMLResponse(page_html(c, printed, paper), headers=HEADERS)


def print_links(slip_id: str) -> Markup:
    """Links to a slip's print view on A4 and A5 paper (macros.html print_links, as the slips list shows them)."""
    return macro("print_links", PREFIX, slip_id)
