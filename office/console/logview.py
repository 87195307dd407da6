"""The exit log for staff: a day's (or a range's) events, filtered by gate and kind, with the
CSV export the CLI makes, and yesterday's counts for the 08:30 archive check."""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from domain.slip_token import GATE_ID
from office.console.auth import Session
from office.console.labels import FILTER_KINDS, KINDS, OUTCOMES, detail_labels, kind_label, outcome_of, reason_label
from office.console.web import HEADERS, PREFIX, Console, guarded
from office.export import (
    LogFilter,
    LogNames,
    filter_rows,
    log_names,
    log_rows,
    row_unit,
    stored_json,
    to_csv,
    to_xlsx,
    when,
)

#: Rows shown on one page; the CSV has them all.
MAX_ROWS = 2000
#: Longest range one page or CSV covers.
MAX_DAYS = 92


#: The days a page may show: a date beyond them (9999-12-31, 0001-01-01) is refused with a message,
#: as the calendar has no day after the last one to search up to.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)
OUT_OF_RANGE = f"日期超出范围({FIRST_DAY.isoformat()} 至 {LAST_DAY.isoformat()})/ Date out of range ({FIRST_DAY} to {LAST_DAY})"
BAD_DATE = "日期格式应为 2026-11-29 / Dates look like 2026-11-29"


class BadDay(ValueError):
    """A date in a query string that no page can show; the message says why, in both languages."""


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def read_day(text: str) -> date:
    """A date typed into a query string, ``2026-11-29``; BadDay when it is none or out of range."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadDay(BAD_DATE) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadDay(OUT_OF_RANGE)
    return day


def today(c: Console) -> date:
    """The estate's date now, by the console's clock (not the machine's zone, not UTC)."""
    return c.time.today()


class Filters:
    """The query string of the log page, checked; ``error`` says what was wrong with it.
    Dates and gate narrow the query; kind, outcome, unit, guard and the search narrow its rows
    (office/export.py `filter_rows`, which the CSV and .xlsx downloads use too)."""

    def __init__(self, c: Console, request: Request) -> None:
        q = request.query_params
        self.error = ""
        t = today(c)
        try:
            self.first = read_day(q.get("from") or t.isoformat())
            self.last = read_day(q.get("to") or q.get("from") or t.isoformat())
        except BadDay as exc:
            self.error = str(exc)
            self.first = self.last = t
        if self.last < self.first:
            self.first, self.last = self.last, self.first
        if (self.last - self.first).days >= MAX_DAYS:
            self.error = f"最多查询 {MAX_DAYS} 天 / At most {MAX_DAYS} days at a time"
            self.first = self.last - timedelta(days=MAX_DAYS - 1)
        gate = q.get("gate", "")
        self.gate = gate if GATE_ID.fullmatch(gate) else ""
        kind = q.get("kind", "")
        self.kind = kind if kind in KINDS else ""
        outcome = q.get("outcome", "")
        self.outcome = outcome if outcome in OUTCOMES else ""
        self.unit = q.get("unit", "").strip()[:16]
        guard = q.get("guard", "").strip()
        self.guard = guard if len(guard) <= 32 and guard.isprintable() else ""
        self.search = q.get("q", "").strip()[:40]

    def query(self, **override: str) -> str:
        from urllib.parse import urlencode

        params = {"from": self.first.isoformat(), "to": self.last.isoformat(), "gate": self.gate, "kind": self.kind,
                  "outcome": self.outcome, "unit": self.unit, "guard": self.guard, "q": self.search}
        params.update(override)
        return urlencode({k: v for k, v in params.items() if v})

    def narrowing(self) -> LogFilter:
        kinds = frozenset(KINDS)
        if self.kind:
            kinds &= {self.kind}
        if self.outcome:
            kinds &= OUTCOMES[self.outcome][2]
        return LogFilter(kinds=kinds if (self.kind or self.outcome) else frozenset(), unit=self.unit,
                         guard=self.guard, search=self.search)

    def found(self, c: Console, s: Session) -> tuple[list[dict[str, Any]], LogNames]:
        """The rows the filters let through, and the names behind their ids."""
        with c.engine.connect() as conn:
            rows = log_rows(conn, s.estate, self.first, self.last, self.gate, zone=c.zone)
            found = log_names(conn, s.estate, rows)
        return filter_rows(rows, found, self.narrowing()), found

    def rows(self, c: Console, s: Session) -> list[dict[str, Any]]:
        return self.found(c, s)[0]

    def suffix(self) -> str:
        """What a download's file name says besides the dates: ASCII letters, digits, - and _ only, as an
        HTTP header carries Latin-1 only (a unit typed as 3栋 is 3 in the name, and all of it in the rows)."""
        parts = [self.gate, self.kind, self.outcome, self.unit, self.guard, self.search]
        return "".join("-" + "".join(ch for ch in p if ch.isascii() and (ch.isalnum() or ch in "-_")) for p in parts if p)


def choices(gates: dict[str, str], guards: dict[str, str]) -> dict[str, Any]:
    """The options of the filter form's lists besides 全部 All: (value, what the list shows)."""
    return {"gate_choices": [(gid, f"{gid} {label}" if label != gid else gid) for gid, label in sorted(gates.items())],
            "kind_choices": [(k, f"{KINDS[k][0]} {KINDS[k][1]}") for k in FILTER_KINDS],
            "outcome_choices": [(key, f"{zh} {en}") for key, (zh, en, _k) in OUTCOMES.items()],
            "guard_choices": [(gid, f"{name} ({gid})") for gid, name in sorted(guards.items(), key=lambda g: g[1])]}


def redated_by_label(source: str) -> tuple[str, str]:
    """What a row was re-dated from (``row 12`` | ``heartbeat``), in Chinese and English."""
    if source.startswith("row "):
        return f"同次开机的第 {source[4:]} 条已校准记录", f"synced row {source[4:]} of the same boot"
    if source == "heartbeat":
        return "同次开机的已校准心跳", "a synced heartbeat of the same boot"
    return source, source


def redating(c: Console, r: dict[str, Any]) -> dict[str, str] | None:
    """For a row recorded before its gate's clock was synced and corrected from its boot
    (domain/boottime.py): the gate's own time and what corrected it; None for any other row."""
    if not r["at_redated"]:
        return None
    said = c.local(r["at"], required=True)
    zh_by, en_by = redated_by_label(str(r["redated_by"] or ""))
    return {"zh": f"原时间 {said}(据{zh_by}校正)", "en": f"gate's clock said {said} (corrected from {en_by})",
            "title": f"at={r['at']} at_redated={r['at_redated']} boot={r['boot_id']}"}


def log_row(c: Console, r: dict[str, Any], guards: dict[str, str], permits: dict[str, dict[str, Any]],
            one_day: bool) -> dict[str, Any]:
    """One row as the log page shows it: its time (the re-dated one, with the gate's own under it; a
    row whose clock was not synced and that no anchor corrected is marked unverified), its kind,
    slip or card with the card's holder, the guard's name and the reasons in words."""
    shown = when(r)
    kind_zh, kind_en = kind_label(r["kind"])
    card = None
    if not r["slip_id"] and (r["card_uid"] or r["permit_id"]):
        holder = permits.get(r["permit_id"])
        who = f"{holder['holder_name']} · {holder['unit_id']}" if holder else (r["permit_id"] or "未登记 unregistered")
        card = {"uid": r["card_uid"], "who": who}
    return {"cls": "shift" if r["kind"].startswith("shift") else r["kind"], "kind": r["kind"], "kind_zh": kind_zh,
            "kind_en": kind_en, "time": c.local_time(shown) if one_day else c.local(shown, required=True),
            "href": f"{PREFIX}/log/{r['gate_id']}/{int(r['seq'])}", "redated": redating(c, r),
            "synced": bool(r["clock_synced"]), "gate_id": r["gate_id"], "slip_id": r["slip_id"], "card": card,
            "guard_id": r["guard_id"], "guard_name": guards.get(r["guard_id"], ""),
            "reasons": [reason_label(code) for code in r["reasons"]] + list(detail_labels(r["detail"], guards))}


def add_log_routes(router: Any, c: Console) -> None:
    @router.get("/log", response_class=HTMLResponse)
    @guarded
    def log_page(request: Request) -> Response:
        s = c.require(request)
        f = Filters(c, request)
        rows, found = f.found(c, s)
        gates, guards, permits = found.gates, found.guards, found.permits
        counts = Counter(r["kind"] for r in rows)
        span = f.first.isoformat() if f.first == f.last else f"{f.first.isoformat()} — {f.last.isoformat()}"
        one_day = f.first == f.last
        return c.page("log.html", "出入记录", "Exit log", s, "log", f=f, query=f.query(), span=span, total=len(rows),
                      counts=[(k, KINDS[k][0], counts[k]) for k in FILTER_KINDS if counts[k]], max_rows=MAX_ROWS,
                      rows=[log_row(c, r, guards, permits, one_day) for r in rows[:MAX_ROWS]], gates=gates,
                      **choices(gates, guards))

    @router.get("/log.csv")
    @guarded
    def log_csv(request: Request) -> Response:
        s = c.require(request)
        f = Filters(c, request)
        name = f"exit-log-{f.first.isoformat()}_{f.last.isoformat()}{f.suffix()}.csv"
        return Response(to_csv(f.rows(c, s)), media_type="text/csv; charset=utf-8",
                        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})

    @router.get("/log.xlsx")
    @guarded
    def log_xlsx(request: Request) -> Response:
        s = c.require(request)
        f = Filters(c, request)
        rows, found = f.found(c, s)
        name = f"exit-log-{f.first.isoformat()}_{f.last.isoformat()}{f.suffix()}.xlsx"
        return Response(to_xlsx(rows, found, zone=c.zone), media_type=XLSX_TYPE,
                        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})

    @router.get("/log/{gate_id}/{seq}", response_class=HTMLResponse)
    @guarded
    def event(request: Request, gate_id: str, seq: str) -> Response:
        s = c.require(request)
        return event_page(c, s, gate_id, seq)


#: Columns of an events row the event page shows under their own heading; any other column (one a later
#: revision adds, such as a re-dating of rows written before the gate's clock was set) is listed as it is.
SHOWN_COLUMNS = frozenset({"gate_id", "seq", "at", "kind", "guard_id", "card_uid", "permit_id", "slip_id", "reasons",
                           "detail", "clock_synced", "event_id", "hash", "prev_hash", "estate", "received_at"})
MAX_SEQ = 2**63 - 1


def _person(guards: dict[str, str], guard_id: Any) -> dict[str, str]:
    gid = str(guard_id or "")
    return {"id": gid, "name": guards.get(gid, "")}


def event_page(c: Console, s: Session, gate_id: str, seq_text: str) -> HTMLResponse:
    """One exit-log row in full: what was checked, who signed off and when, the clock, the override's
    two people, the reasons in words and the raw detail (collapsed). 404 for a row the estate has not."""
    import json

    from sqlalchemy import select

    from office import schema
    from office.export import estate_day

    e = schema.events
    row: dict[str, Any] | None = None
    if GATE_ID.fullmatch(gate_id) and seq_text.isascii() and seq_text.isdigit() and 0 <= int(seq_text) <= MAX_SEQ:
        with c.engine.connect() as conn:
            got = conn.execute(select(e).where(e.c.estate == s.estate, e.c.gate_id == gate_id,
                                               e.c.seq == int(seq_text))).mappings().first()
            row = dict(got) if got else None
    if row is None:
        return c.message("出入记录", "Exit log", s, "没有这条记录", "No such event in this estate", active="log", status=404)
    as_row = dict(row)
    reasons = [str(x) for x in stored_json(row["reasons"], [])]
    detail = stored_json(row["detail"], {})
    as_row.update(reasons=reasons, detail=detail)
    sl, it = schema.slips, schema.slip_items
    with c.engine.connect() as conn:
        found = log_names(conn, s.estate, [as_row])
        slip = (conn.execute(select(sl).where(sl.c.estate == s.estate, sl.c.slip_id == row["slip_id"])).mappings().first()
                if row["slip_id"] else None)
        items = [{"name": m.name, "qty": m.quantity, "spec": m.spec} for m in conn.execute(
            select(it.c.name, it.c.quantity, it.c.spec).where(it.c.estate == s.estate, it.c.slip_id == row["slip_id"])
            .order_by(it.c.line))] if slip else []
    kind_zh, kind_en = kind_label(row["kind"])
    outcome = outcome_of(row["kind"])
    holder = found.permits.get(row["permit_id"] or "")
    extra = {k: v for k, v in row.items() if k not in SHOWN_COLUMNS and v not in (None, "")}
    redated = {k: v for k, v in {**extra, **detail}.items() if "redat" in k.lower() or "re_dat" in k.lower()}
    day = estate_day(str(row["at"]), c.zone)
    back = f"{PREFIX}/log?from={day.isoformat()}&to={day.isoformat()}" if day else f"{PREFIX}/log"
    return c.page(
        "event.html", f"出入记录 {row['gate_id']} #{row['seq']}", "Exit-log event", s, "log", row=row, kind=row["kind"],
        kind_zh=kind_zh, kind_en=kind_en,
        outcome=OUTCOMES[outcome][:2] if outcome else None, at=c.local(row["at"], required=True),
        received=c.local(row["received_at"]), gate_label=found.gates.get(row["gate_id"], ""),
        guard=_person(found.guards, row["guard_id"]),
        supervisor=_person(found.guards, detail.get("supervisor_id")) if detail.get("supervisor_id") else None,
        on_shift=_person(found.guards, detail.get("guard_on_shift")) if detail.get("guard_on_shift") else None,
        reasons=[reason_label(code) for code in reasons], notes=detail_labels(detail, found.guards),
        slip=dict(slip) if slip else None, items=items, holder=holder, unit=row_unit(as_row, found),
        departs=row["kind"] in OUTCOMES["released"][2], redated=redated, extra=extra,
        raw=json.dumps(detail, ensure_ascii=False, indent=1, sort_keys=True), back=back)
