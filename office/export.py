"""Export the exit log the gates pushed: CSV for Excel (UTF-8 with BOM) or JSON.

Dates are the estate's calendar dates: an event belongs to the day its gate recorded
it on (the ``at`` text carries the gate's local offset).
"""
from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, select

from office import schema

COLUMNS = ("gate_id", "seq", "at", "kind", "guard_id", "card_uid", "permit_id", "slip_id", "reasons", "detail",
           "clock_synced", "event_id", "hash")


def log_rows(conn: Connection, estate: str, first: date, last: date, gate_id: str = "") -> list[dict[str, Any]]:
    e = schema.events
    q = (select(e).where(e.c.estate == estate, e.c.at >= first.isoformat(),
                         e.c.at < (last + timedelta(days=1)).isoformat())
         .order_by(e.c.at, e.c.gate_id, e.c.seq))
    if gate_id:
        q = q.where(e.c.gate_id == gate_id)
    out = []
    for r in conn.execute(q).mappings():
        d = {k: r[k] for k in COLUMNS}
        d["reasons"] = json.loads(d["reasons"])
        d["detail"] = json.loads(d["detail"])
        d["clock_synced"] = bool(d["clock_synced"])
        out.append(d)
    return out


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel shows Chinese names correctly."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([";".join(r["reasons"]) if k == "reasons" else
                    json.dumps(r["detail"], ensure_ascii=False, sort_keys=True) if k == "detail" else
                    int(r[k]) if k == "clock_synced" else r[k] for k in COLUMNS])
    return buf.getvalue().encode("utf-8-sig")


def to_json(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps(rows, ensure_ascii=False, indent=1).encode("utf-8")
