"""Export the exit log the gates pushed: Excel (.xlsx, for people), CSV (UTF-8 with BOM) or JSON.

The .xlsx is what the office reads: Chinese column headers with English beneath, the estate's
wall-clock times, names instead of ids (gate, guard, card holder), the slip's unit, carrier and
items, and the reasons in words. CSV and JSON keep the raw row for other programs.

Dates are the estate's calendar dates: an event belongs to the day its instant falls on
in the estate's zone, whatever offset its gate wrote into ``at`` (a gate whose clock runs
in UTC still files its 03:00 Shanghai release under the Shanghai date). An ``at`` without
an offset is taken as the estate's wall-clock time already.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, or_, select

from domain.clock import ESTATE_ZONE
from office import schema

COLUMNS = ("gate_id", "seq", "at", "kind", "guard_id", "card_uid", "permit_id", "slip_id", "reasons", "detail",
           "clock_synced", "event_id", "hash", "at_redated", "redated_by", "boot_id", "boottime_ms")
#: ``at`` is always the time the gate sent (its hash covers it). A row recorded before the gate's clock
#: was synced and re-dated from its boot (domain/boottime.py) has ``at_redated``, the time it really
#: happened, and ``redated_by``, what that came from; the row is filed and sorted by that time.

#: Columns a row from before re-dating existed (a JSON export, a caller's own rows) may lack: exported empty.
LATER_COLUMNS = frozenset({"at_redated", "redated_by", "boot_id", "boottime_ms"})


def when(row: Any) -> str:
    """The time a row is filed and sorted under: the re-dated time when there is one, else the gate's."""
    return str(row.get("at_redated") or row["at"])


def _instant(at: str, zone: ZoneInfo) -> datetime | None:
    """``at`` as an instant; None when it is none, or too near year 1 or 9999 to be read in UTC or the
    estate's zone (a bad value stored before pushes were checked must not break a whole export)."""
    try:
        dt = datetime.fromisoformat(at)
        dt = dt.replace(tzinfo=zone) if dt.tzinfo is None else dt
        dt.astimezone(UTC), dt.astimezone(zone)
    except (ValueError, TypeError, OverflowError):
        return None
    return dt


def stored_json(text: Any, empty: Any) -> Any:
    """A stored JSON column; ``empty`` when it is unreadable (shown as nothing rather than a failed page)."""
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        return empty
    return value if isinstance(value, type(empty)) else empty


def estate_day(at: str, zone: ZoneInfo) -> date | None:
    """The estate's calendar date of an event's ``at``; the date it starts with when it is no ISO
    time (an export must not lose a row over its spelling); None when it has no date at all."""
    instant = _instant(at, zone)
    if instant is not None:
        return instant.astimezone(zone).date()
    try:
        return date.fromisoformat(str(at)[:10])
    except ValueError:
        return None


def log_rows(conn: Connection, estate: str, first: date, last: date, gate_id: str = "", *,
             zone: ZoneInfo | str = ESTATE_ZONE) -> list[dict[str, Any]]:
    """The estate's events of the days ``first`` to ``last`` (estate dates), oldest instant first."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    e = schema.events
    # ``at`` starts with the date in the gate's offset, at most one day off the estate's date:
    # the database narrows by that text (or by the re-dated time's), the estate's date decides.
    low, high = (first - timedelta(days=1)).isoformat(), (last + timedelta(days=2)).isoformat()
    q = select(e).where(e.c.estate == estate, or_(and_(e.c.at >= low, e.c.at < high),
                                                  and_(e.c.at_redated >= low, e.c.at_redated < high)))
    if gate_id:
        q = q.where(e.c.gate_id == gate_id)
    found = []
    for r in conn.execute(q).mappings():
        day = estate_day(when(r), zone)
        if day is None or not first <= day <= last:
            continue
        d = {k: r[k] for k in COLUMNS}
        d["reasons"] = [str(x) for x in stored_json(d["reasons"], [])]
        d["detail"] = stored_json(d["detail"], {})
        d["clock_synced"] = bool(d["clock_synced"])
        d["at_redated"], d["redated_by"] = d["at_redated"] or "", d["redated_by"] or ""
        instant = _instant(when(r), zone)
        found.append(((instant.astimezone(UTC).isoformat() if instant else when(r), d["gate_id"], d["seq"]), d))
    found.sort(key=lambda pair: pair[0])
    return [d for _key, d in found]


#: What a spreadsheet reads as the start of a formula (or of a cell that moves to one: tab, CR).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """A value for a spreadsheet cell: text that Excel or LibreOffice would run as a formula
    (``=HYPERLINK(...)``, ``+cmd|...``) gets a leading single quote, as OWASP advises, so that it
    shows as the text the gate sent. The CSV writes every cell through this function; the .xlsx
    (`to_xlsx`) writes text as string cells and marks those starting with FORMULA_STARTS quote-prefixed."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel shows Chinese names correctly; cells neutralised."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([neutralise_cell(";".join(r["reasons"]) if k == "reasons" else
                                    json.dumps(r["detail"], ensure_ascii=False, sort_keys=True) if k == "detail" else
                                    int(r[k]) if k == "clock_synced" else r.get(k, "") if k in LATER_COLUMNS else r[k])
                    for k in COLUMNS])
    return buf.getvalue().encode("utf-8-sig")


def to_json(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps(rows, ensure_ascii=False, indent=1).encode("utf-8")


@dataclass(frozen=True)
class LogNames:
    """What the ids in exit-log rows stand for, in one estate: gate labels, guard names, card holders
    (name and unit) and slips (unit, applicant, carrier, items). Names come from people: escape them
    where they are shown, neutralise them where they are exported."""

    gates: dict[str, str] = field(default_factory=dict)
    guards: dict[str, str] = field(default_factory=dict)
    permits: dict[str, dict[str, Any]] = field(default_factory=dict)
    slips: dict[str, dict[str, Any]] = field(default_factory=dict)


def _chunks(ids: Iterable[str], size: int = 500) -> Iterable[list[str]]:
    ids = sorted({i for i in ids if i})
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def item_text(name: str, quantity: int, spec: str) -> str:
    """One item line of a slip as people write it: ``冰箱×1(180cm)``."""
    return f"{name}×{quantity}" + (f"({spec})" if spec else "")


def log_names(conn: Connection, estate: str, rows: list[dict[str, Any]]) -> LogNames:
    """The names behind the rows' gate, guard, permit and slip ids."""
    g, gu, p, sl, it = schema.gates, schema.guards, schema.permits, schema.slips, schema.slip_items
    names = LogNames(
        gates={r.gate_id: r.name for r in conn.execute(select(g.c.gate_id, g.c.name).where(g.c.estate == estate))},
        guards={r.guard_id: r.name for r in conn.execute(select(gu.c.guard_id, gu.c.name).where(gu.c.estate == estate))},
    )
    for ids in _chunks(r["permit_id"] for r in rows):
        for m in conn.execute(select(p.c.permit_id, p.c.holder_name, p.c.unit_id).where(
                p.c.estate == estate, p.c.permit_id.in_(ids))).mappings():
            names.permits[m["permit_id"]] = dict(m)
    for ids in _chunks(r["slip_id"] for r in rows):
        for m in conn.execute(select(sl.c.slip_id, sl.c.unit_id, sl.c.applicant_name, sl.c.mover_name).where(
                sl.c.estate == estate, sl.c.slip_id.in_(ids))).mappings():
            names.slips[m["slip_id"]] = dict(m, items=[])
        for m in conn.execute(select(it).where(it.c.estate == estate, it.c.slip_id.in_(ids))
                              .order_by(it.c.slip_id, it.c.line)).mappings():
            if m["slip_id"] in names.slips:
                names.slips[m["slip_id"]]["items"].append(item_text(m["name"], m["quantity"], m["spec"]))
    return names


@dataclass(frozen=True)
class LogFilter:
    """What a clerk narrows the exit log to, besides dates and gate (which `log_rows` reads):
    kinds (empty: all), a unit (``3-2-1502``, or ``3-2`` for its building's units), a guard id,
    and a search for a slip number or card UID (any part of it, any case, ``:`` and spaces ignored)."""

    kinds: frozenset[str] = frozenset()
    unit: str = ""
    guard: str = ""
    search: str = ""


def _bare(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch not in ": -")


def row_unit(r: dict[str, Any], names: LogNames) -> str:
    """The unit a row is about: the card holder's, else the slip's."""
    holder = names.permits.get(r["permit_id"] or "", {})
    slip = names.slips.get(r["slip_id"] or "", {})
    return str(holder.get("unit_id") or slip.get("unit_id") or "")


def filter_rows(rows: list[dict[str, Any]], names: LogNames, f: LogFilter) -> list[dict[str, Any]]:
    """The rows ``f`` lets through, in their order (the page, the CSV and the .xlsx all use this)."""
    found = []
    search = _bare(f.search)
    for r in rows:
        if f.kinds and r["kind"] not in f.kinds:
            continue
        if f.guard and r["guard_id"] != f.guard:
            continue
        if f.unit:
            unit = row_unit(r, names)
            if unit != f.unit and not unit.startswith(f.unit + "-"):
                continue
        if search and search not in _bare(r["slip_id"] or "") and search not in _bare(r["card_uid"] or ""):
            continue
        found.append(r)
    return found


#: The .xlsx columns: (Chinese header, English header, width in characters).
XLSX_COLUMNS = (
    ("时间", "Time", 20), ("岗亭", "Gate", 14), ("类型", "Kind", 12), ("放行条", "Slip", 12),
    ("卡号", "Card", 14), ("持证人 / 申请人", "Holder / applicant", 14), ("单元", "Unit", 10),
    ("搬运人", "Carrier", 10), ("物品", "Items", 30), ("值班保安", "Guard", 12), ("原因 / 说明", "Reasons / notes", 40),
    ("时钟", "Clock", 24), ("序号", "Seq", 8), ("事件编号", "Event id", 20),
)


def _local(at: str, zone: ZoneInfo) -> str:
    instant = _instant(at, zone)
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if instant else f"无法识别 unreadable: {at}"


def clock_cell(r: dict[str, Any], zone: ZoneInfo) -> str:
    """The .xlsx's Clock column: synced; re-dated, with the time the gate's clock said; or not synced and unverified."""
    if r["clock_synced"]:
        return "已校准"
    if r.get("at_redated"):
        return f"已校正 re-dated\n原时间 {_local(r['at'], zone)}"
    return "未校准 not synced · unverified"


def xlsx_cells(r: dict[str, Any], names: LogNames, zone: ZoneInfo) -> list[Any]:
    """One exit-log row as the .xlsx shows it (names, labels, the estate's time), before neutralising."""
    from office.console.labels import detail_labels, kind_label, reason_label

    slip = names.slips.get(r["slip_id"] or "", {})
    holder = names.permits.get(r["permit_id"] or "", {})
    gate = names.gates.get(r["gate_id"], "")
    guard = names.guards.get(r["guard_id"] or "", "")
    notes = [reason_label(code)[0] for code in r["reasons"]] + [zh for zh, _en in detail_labels(r["detail"], names.guards)]
    return [
        _local(when(r), zone),
        f"{gate}({r['gate_id']})" if gate and gate != r["gate_id"] else r["gate_id"],
        kind_label(r["kind"])[0],
        r["slip_id"] or "",
        r["card_uid"] or "",
        holder.get("holder_name") or slip.get("applicant_name") or "",
        holder.get("unit_id") or slip.get("unit_id") or "",
        slip.get("mover_name", ""),
        ";".join(slip.get("items", [])),
        f"{guard}({r['guard_id']})" if guard else (r["guard_id"] or ""),
        "\n".join(notes),
        clock_cell(r, zone),
        r["seq"],
        r["event_id"],
    ]


def to_xlsx(rows: list[dict[str, Any]], names: LogNames, *, zone: ZoneInfo | str = ESTATE_ZONE,
            title: str = "出入记录") -> bytes:
    """The exit log as an Excel workbook. Every text cell is a string cell marked quote-prefixed, so
    Excel shows what the gate sent and never runs it as a formula, not even after the cell is edited."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]
    for col, (zh, en, width) in enumerate(XLSX_COLUMNS, start=1):
        cell = ws.cell(row=1, column=col, value=f"{zh}\n{en}")
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[cell.column_letter].width = width
    for i, r in enumerate(rows, start=2):
        for col, value in enumerate(xlsx_cells(r, names, zone), start=1):
            cell = ws.cell(row=i, column=col)
            if isinstance(value, str):
                cell.value = value          # assigned as a string: openpyxl would read "=..." as a formula
                cell.data_type = "s"
                cell.quotePrefix = value.startswith(FORMULA_STARTS) or cell.quotePrefix
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            else:
                cell.value = value
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
