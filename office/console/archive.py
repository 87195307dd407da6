"""The morning archive (晨间归档): yesterday's report, and the paper slips ticked off as they arrive.

By 08:30 each morning the gates hand the front desk the paper slips they kept (保安联) the day
before. The page for a day (yesterday by default) is computed from what the gates pushed, so it is
ready whenever the clerk opens it: counts per gate and kind; releases, refusals, mismatches,
overrides, reports, double use; slips issued that day and not used, slips whose window ended that
day unused. The clerk ticks each released slip's paper copy; the ticks are saved, and the copies
still missing are listed by gate and guard, to chase. The page prints without the console's chrome.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection, and_, delete, insert, select
from starlette.concurrency import run_in_threadpool

from domain.exitrow import consumes_slip
from domain.reasons import Reason
from domain.slip_token import GATE_ID, MAX_SLIP_ID
from office import schema
from office.console import auth
from office.console.labels import FILTER_KINDS, KINDS, kind_label
from office.console.logview import BadDay, read_day, today
from office.console.schema import archive_ticks
from office.console.web import HEADERS, PREFIX, Console, guarded
from office.export import LogNames, estate_day, log_names, log_rows, when

#: Most release rows one tick form may carry (a day of a busy estate is far fewer).
MAX_TICKS = 5000


@dataclass(frozen=True)
class Release:
    gate_id: str
    seq: int
    slip_id: str
    at: str
    kind: str
    guard_id: str
    ticked_by: str = ""
    ticked_at: str = ""

    @property
    def key(self) -> str:
        return f"{self.gate_id}:{self.seq}"


@dataclass
class ArchiveDay:
    day: date
    rows: list[dict[str, Any]]
    names: LogNames
    releases: list[Release] = field(default_factory=list)
    double_use: list[dict[str, Any]] = field(default_factory=list)
    unused_issued: list[dict[str, Any]] = field(default_factory=list)
    expired_unused: list[dict[str, Any]] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["kind"] == kind]

    @property
    def mismatches(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if Reason.SLIP_ITEMS_MISMATCH.value in r["reasons"]]

    @property
    def missing(self) -> list[Release]:
        return [r for r in self.releases if not r.ticked_by]


def archive_day(conn: Connection, estate: str, day: date, zone: ZoneInfo) -> ArchiveDay:
    rows = log_rows(conn, estate, day, day, zone=zone)
    t = archive_ticks
    ticks = {(r.gate_id, int(r.seq)): r for r in conn.execute(
        select(t.c.gate_id, t.c.seq, t.c.ticked_by, t.c.ticked_at).where(t.c.estate == estate))} if rows else {}
    out = ArchiveDay(day, rows, log_names(conn, estate, rows))
    for r in rows:
        if consumes_slip(r["kind"]) and r["slip_id"]:
            tick = ticks.get((r["gate_id"], int(r["seq"])))
            out.releases.append(Release(r["gate_id"], int(r["seq"]), r["slip_id"], when(r), r["kind"], r["guard_id"] or "",
                                        tick.ticked_by if tick else "", tick.ticked_at if tick else ""))
    # A double-use flag names the release that used the slip again (office/ingest.py): that row's day counts it.
    day_events = {r["event_id"] for r in rows}
    f = schema.flags
    for flag in conn.execute(select(f).where(f.c.estate == estate, f.c.kind == "double_use")).mappings():
        if flag["dedupe_key"].rsplit(":", 1)[-1] in day_events:
            out.double_use.append(dict(flag))
    sl, cs = schema.slips, schema.consumed_slips
    used = set(conn.execute(select(cs.c.slip_id).where(cs.c.estate == estate)).scalars())
    used |= {r["slip_id"] for r in rows if consumes_slip(r["kind"])}
    prefix = "S" + day.strftime("%y%m%d")
    window = (day - timedelta(days=1)).isoformat(), (day + timedelta(days=2)).isoformat()
    for s in conn.execute(select(sl.c.slip_id, sl.c.unit_id, sl.c.applicant_name, sl.c.status, sl.c.valid_until)
                          .where(sl.c.estate == estate,
                                 (sl.c.slip_id.like(prefix + "%")) | and_(sl.c.valid_until >= window[0],
                                                                           sl.c.valid_until < window[1]))).mappings():
        if s["slip_id"] in used or s["status"] == "cancelled":
            continue
        if s["slip_id"].startswith(prefix):
            out.unused_issued.append(dict(s))
        if estate_day(s["valid_until"], zone) == day:
            out.expired_unused.append(dict(s))
    return out


def save_ticks(conn: Connection, estate: str, shown: list[tuple[str, int, str]], ticked: set[tuple[str, int]],
               username: str, now: str) -> tuple[int, int]:
    """Tick the ``ticked`` releases among ``shown`` (gate, seq, slip) and untick the rest; returns (ticked, unticked).
    Only rows that are releases in the events table are ticked: a form cannot invent one."""
    t, e = archive_ticks, schema.events
    done = undone = 0
    for gate_id, seq, slip_id in shown:
        real = conn.execute(select(e.c.kind, e.c.slip_id).where(e.c.estate == estate, e.c.gate_id == gate_id,
                                                               e.c.seq == seq)).first()
        if real is None or not consumes_slip(real.kind) or real.slip_id != slip_id:
            continue
        where = and_(t.c.estate == estate, t.c.gate_id == gate_id, t.c.seq == seq)
        exists = conn.execute(select(t.c.seq).where(where)).first() is not None
        if (gate_id, seq) in ticked and not exists:
            conn.execute(insert(t).values(estate=estate, gate_id=gate_id, seq=seq, slip_id=slip_id, ticked_by=username,
                                          ticked_at=now))
            done += 1
        elif (gate_id, seq) not in ticked and exists:
            conn.execute(delete(t).where(where))
            undone += 1
    return done, undone


def _key(text: str) -> tuple[str, int] | None:
    gate_id, _, seq = text.partition(":")
    if not GATE_ID.fullmatch(gate_id) or not seq.isdigit() or len(seq) > 18:
        return None
    return gate_id, int(seq)


def _guard(a: ArchiveDay, guard_id: str) -> str:
    name = a.names.guards.get(guard_id, "")
    return f"{name}({guard_id})" if name else (guard_id or "—")


def report(c: Console, a: ArchiveDay, s: auth.Session) -> dict[str, Any]:
    """What the morning archive page shows of ``a``: counts per gate and kind (each linked to those rows of
    the log), the cards, the paper copies to chase by gate and guard, the releases to tick, double use,
    and the slips of that day not used."""
    day, rows = a.day, a.rows
    gates = a.names.gates
    q = f"from={day.isoformat()}&to={day.isoformat()}"
    counts = Counter((r["gate_id"], r["kind"]) for r in rows)
    count_rows = []
    for gid in sorted(set(gates) | {r["gate_id"] for r in rows}) + ["__all__"]:
        everywhere = gid == "__all__"
        cells = []
        for k in FILTER_KINDS:
            n = sum(v for (g, kk), v in counts.items() if kk == k and (everywhere or g == gid))
            link = f"{PREFIX}/log?{q}&kind={k}" + ("" if everywhere else f"&gate={gid}")
            cells.append((n, link, bool(n) and k in ("override", "report", "refusal", "card_denied")))
        total = sum(v for (g, kk), v in counts.items() if kk in FILTER_KINDS and (everywhere or g == gid))
        count_rows.append({"all": everywhere, "gate_id": gid, "cells": cells, "total": total})
    cards = [
        (len(a.releases), "张放行条应于08:30前交前台", "paper slips due by 08:30", ""),
        (len(a.missing), "张纸质联未收到", "paper copies missing", "alert"),
        (len(a.of_kind("refusal")), "次拒绝放行", "refusals", "warn"),
        (len(a.mismatches), "次物品不符", "mismatches", "warn"),
        (len(a.of_kind("override")), "次主管强制放行", "overrides", "warn"),
        (len(a.of_kind("report")), "次上报", "reports", "alert"),
        (len(a.double_use), "次重复使用", "double use", "alert"),
        (len(a.unused_issued), "张当日开出未使用", "issued, not used", ""),
        (len(a.expired_unused), "张当日到期未使用", "expired unused", ""),
    ]
    chase: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in a.missing:
        chase[(r.gate_id, r.guard_id)].append(r.slip_id)
    releases = [{"key": r.key, "slip_id": r.slip_id, "at": c.local(r.at, required=True), "gate_id": r.gate_id,
                 "kind": r.kind, "kind_zh": kind_label(r.kind)[0], "kind_en": kind_label(r.kind)[1],
                 "guard": _guard(a, r.guard_id), "ticked_by": r.ticked_by, "ticked_at": c.local(r.ticked_at)}
                for r in a.releases]

    def slips(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**x, "until": c.local(x["valid_until"])[:16]} for x in items]

    return {"day": day.isoformat(), "prev": (day - timedelta(days=1)).isoformat(),
            "next": (day + timedelta(days=1)).isoformat(), "q": q, "gates": gates, "cards": cards,
            "kind_heads": [(*KINDS[k], "num") for k in FILTER_KINDS], "count_rows": count_rows,
            "chase": [(g, _guard(a, guard), ids) for (g, guard), ids in sorted(chase.items())], "releases": releases,
            "csrf": s.csrf, "double_use": [f["message"] for f in a.double_use],
            "unused_issued": slips(a.unused_issued), "expired_unused": slips(a.expired_unused)}


def add_archive_routes(router: Any, c: Console) -> None:
    @router.get("/yesterday", response_class=HTMLResponse)
    @guarded
    def yesterday(request: Request) -> Response:
        s = c.require(request)
        asked, error = request.query_params.get("day", ""), ""
        try:
            day = read_day(asked)
        except BadDay as exc:
            day, error = today(c) - timedelta(days=1), str(exc) if asked else ""
        with c.engine.connect() as conn:
            a = archive_day(conn, s.estate, day, c.zone)
        saved = request.query_params.get("saved", "")
        return c.page("archive.html", "昨日汇总与归档", "Yesterday & archive", s, "yesterday", error=error,
                      saved=saved if len(saved) < 40 else "", **report(c, a, s))

    @router.post("/yesterday/ticks")
    @guarded
    async def ticks(request: Request) -> Response:
        s = c.require(request)
        form = await c.form_lists(request, s, max_bytes=MAX_TICKS * 64)
        try:
            day = read_day((form.get("day") or [""])[0])
        except BadDay as exc:
            return c.message("昨日汇总与归档", "Yesterday & archive", s, str(exc), active="yesterday", status=400)
        shown: list[tuple[str, int, str]] = []
        for value in form.get("shown", [])[:MAX_TICKS]:
            gate_seq, _, slip_id = str(value).rpartition(":")
            key = _key(gate_seq)
            if key and 0 < len(slip_id) <= MAX_SLIP_ID:
                shown.append((key[0], key[1], slip_id))
        ticked = {k for k in (_key(str(v)) for v in form.get("tick", [])[:MAX_TICKS]) if k}

        def run() -> tuple[int, int]:
            with c.engine.begin() as conn:
                n = save_ticks(conn, s.estate, shown, ticked, s.username, c.clock.now().isoformat())
                auth.audit(conn, s.estate, s.username, "archive_ticks", f"{day.isoformat()} +{n[0]} -{n[1]}",
                           clock=c.clock)
                return n

        done, undone = await run_in_threadpool(run)
        return RedirectResponse(f"{PREFIX}/yesterday?day={day.isoformat()}&saved=%2B{done}%20-{undone}", 303,
                                headers=HEADERS)

