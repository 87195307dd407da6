"""Export the exit log the gates pushed: CSV for Excel (UTF-8 with BOM) or JSON.

Dates are the estate's calendar dates: an event belongs to the day its instant falls on
in the estate's zone, whatever offset its gate wrote into ``at`` (a gate whose clock runs
in UTC still files its 03:00 Shanghai release under the Shanghai date). An ``at`` without
an offset is taken as the estate's wall-clock time already.
"""
from __future__ import annotations

import csv
import io
import json
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


def _json(text: Any, empty: Any) -> Any:
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
        d["reasons"] = [str(x) for x in _json(d["reasons"], [])]
        d["detail"] = _json(d["detail"], {})
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
    shows as the text the gate sent. Every exporter writes its cells through this one function."""
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
