"""Accepting a gate's exit-log rows: exactly once, in chain order, anomalies flagged.

The office keeps each gate's head (last accepted seq and hash). A pushed row is
accepted only if it is the next one and continues the chain (domain/chain.py), so
replays are recognised by (gate, seq) and event id and answered as duplicates, rows
ahead of a gap are held until the gap fills, and a row that was edited, or that
contradicts what the office already holds (a fork), is refused and flagged. Nothing
is silently dropped: the gate keeps every row, and the ack tells it where to resume.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from domain.boottime import BootAnchor, anchor_of, anchor_problem, can_redate, redate, redate_within, redated_text
from domain.chain import row_hash
from domain.clock import Clock
from domain.contracts import HeartbeatBody
from domain.exitrow import AT_SLACK, BadTime, EntryKind, ExitRow, parse_at, time_out_of_bounds
from domain.slip_token import MAX_SLIP_ID
from office import schema
from office.changes import lock_estate, put_rows
from office.db import utcnow


@dataclass
class PushResult:
    acked_seq: int
    accepted: int = 0
    duplicates: int = 0
    held: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


def raise_flag(conn: Connection, estate: str, kind: str, dedupe_key: str, message: str, *, now: str,
               gate_id: str = "", seq: int | None = None, slip_id: str = "", detail: Mapping[str, Any] | None = None) -> bool:
    """Record an anomaly once (by ``dedupe_key`` within ``estate``: the stored key begins with the
    estate, so a gate "north" of one estate never silences another estate's); return whether it is new."""
    f = schema.flags
    dedupe_key = f"{estate}:{dedupe_key}"[:200]
    if conn.execute(select(f.c.flag_id).where(f.c.dedupe_key == dedupe_key)).first():
        return False
    conn.execute(insert(f).values(
        estate=estate, gate_id=gate_id, kind=kind, seq=seq, slip_id=slip_id, message=message,
        detail=json.dumps(dict(detail or {}), ensure_ascii=False, default=str), dedupe_key=dedupe_key,
        raised_at=now, resolved_at=None))
    return True


def flag_for_row(row: ExitRow) -> tuple[str, str]:
    """(flag kind, message) for an accepted row staff must act on, ("", "") for any other.
    Kinds are labelled in office/console/labels.py FLAG_KINDS."""
    d = row.detail
    what = row.slip_id and f"slip {row.slip_id}" or row.card_uid and f"card {row.card_uid}" or "no slip or card"
    if row.kind == EntryKind.OVERRIDE.value:
        return "override", (f"override of {what} ({', '.join(row.reasons) or 'no reason code'}) by supervisor "
                            f"{d.get('supervisor_id', '?')}, guard on shift {row.guard_id or '-'}, "
                            f"reason {d.get('override_reason', '?')}")
    if row.kind == EntryKind.REPORT.value:
        return "report", (f"guard {row.guard_id or '-'} reported {d.get('report', '?')} "
                          f"({what}, screen {d.get('scene', '?')})")
    if row.kind == EntryKind.PIN_FAILURE.value and d.get("locked_until"):
        return "pin_lockout", (f"badge of {d.get('badge_guard_id', '?')} locked until {d['locked_until']} after "
                               f"{d.get('failures', '?')} wrong PINs (screen {d.get('scene', '?')}, "
                               f"guard on shift {row.guard_id or '-'})")
    return "", ""


def _stored(row: ExitRow, estate: str, now: str) -> dict[str, Any]:
    """The events table's columns for an accepted row: the row's own (domain/exitrow.py) plus where and when."""
    return {**row.encode(), "estate": estate, "received_at": now, "at_redated": None, "redated_by": None}


# ------------------------------------------------------------------ re-dating (domain/boottime.py)


def boot_anchor(conn: Connection, estate: str, gate_id: str, boot_id: str) -> BootAnchor | None:
    """The anchor the office holds for this boot of this gate (gates are named within their estate), if any."""
    b = schema.boot_anchors
    r = conn.execute(select(b.c.boottime_ms, b.c.at, b.c.source).where(
        b.c.estate == estate, b.c.gate_id == gate_id, b.c.boot_id == boot_id)).first()
    if r is None:
        return None
    return anchor_of(boot_id=boot_id, boottime_ms=int(r.boottime_ms), at=str(r.at), clock_synced=True, source=str(r.source))


def registered_earliest(created_at: object) -> datetime | None:
    """The earliest time a row of a gate registered at ``created_at`` can carry: less the slack for clock error."""
    try:
        return datetime.fromisoformat(str(created_at)) - AT_SLACK
    except ValueError:
        return None


def gate_earliest(conn: Connection, estate: str, gate_id: str) -> datetime | None:
    g = schema.gates
    return registered_earliest(conn.execute(select(g.c.created_at).where(g.c.estate == estate, g.c.gate_id == gate_id)).scalar())


def add_anchor(conn: Connection, estate: str, gate_id: str, anchor: BootAnchor, *, now: str,
               pending: Mapping[int, dict[str, Any]] | None = None, earliest: datetime | None = None) -> int:
    """Keep ``anchor`` if it is the first of its boot, and re-date the rows of that boot the office
    already holds that were recorded before the clock was synced (and the rows of this push not yet
    written, ``pending``). Returns how many rows were re-dated; 0 when the boot had an anchor already."""
    b, e = schema.boot_anchors, schema.events
    if conn.execute(select(b.c.boot_id).where(b.c.estate == estate, b.c.gate_id == gate_id,
                                              b.c.boot_id == anchor.boot_id)).first() is not None:
        return 0
    conn.execute(insert(b).values(estate=estate, gate_id=gate_id, boot_id=anchor.boot_id, boottime_ms=anchor.boottime_ms,
                                  at=anchor.at.isoformat(), source=anchor.source[:40], recorded_at=now))
    redated: list[int] = []
    for row in (pending or {}).values():
        if row["boot_id"] == anchor.boot_id and _redate_stored(row, anchor, earliest):
            redated.append(int(row["seq"]))
    waiting = conn.execute(select(e.c.seq, e.c.at, e.c.boottime_ms, e.c.received_at).where(
        e.c.estate == estate, e.c.gate_id == gate_id, e.c.boot_id == anchor.boot_id, e.c.clock_synced == 0,
        e.c.at_redated.is_(None))).all()
    for r in waiting:
        row = {"boot_id": anchor.boot_id, "boottime_ms": int(r.boottime_ms), "clock_synced": 0, "at": str(r.at),
               "received_at": str(r.received_at)}
        if _redate_stored(row, anchor, earliest):
            conn.execute(update(e).where(e.c.estate == estate, e.c.gate_id == gate_id, e.c.seq == r.seq).values(
                at_redated=row["at_redated"], redated_by=row["redated_by"]))
            redated.append(int(r.seq))
    # A re-dated row's time was wrong only because the clock was not synced yet, and is now known: its
    # bad_time flag (kept, with the time the gate sent) needs nobody's attention any more.
    f = schema.flags
    for i in range(0, len(redated), 1000):
        conn.execute(update(f).where(f.c.estate == estate, f.c.gate_id == gate_id, f.c.kind == "bad_time", f.c.seq.in_(redated[i:i + 1000]),
                                     f.c.resolved_at.is_(None)).values(resolved_at=now))
    return len(redated)


def _redate_stored(row: dict[str, Any], anchor: BootAnchor, earliest: datetime | None) -> bool:
    """Set a stored row's (the events table's columns) re-dated time from ``anchor``; whether it was re-dated.
    Never to a time the office cannot vouch for: before the gate was registered (``earliest``) or after
    the office received the row (domain.boottime.redate_within)."""
    if not can_redate(clock_synced=bool(row["clock_synced"]), boot_id=str(row["boot_id"]), boottime_ms=int(row["boottime_ms"])):
        return False
    when = redate(str(row["boot_id"]), int(row["boottime_ms"]), anchor)
    try:
        received = datetime.fromisoformat(str(row["received_at"]))
    except ValueError:
        return False
    if when is None or not redate_within(when, earliest=earliest, received=received):
        return False
    text = redated_text(str(row["boot_id"]), int(row["boottime_ms"]), anchor, like=str(row["at"]))
    if text is None:
        return False
    row["at_redated"], row["redated_by"] = text, anchor.source[:40]
    return True


class _Gate:
    """One push's view of a gate's chain head, locked for the length of the transaction."""

    def __init__(self, conn: Connection, gate: Mapping[str, Any], clock: Clock) -> None:
        g = schema.gates
        self.conn, self.gate_id, self.estate = conn, str(gate["gate_id"]), str(gate["estate"])
        #: One instant for the whole push: when the office received it.
        self.now = utcnow(clock)
        #: The times a row of this gate can plausibly carry (domain.exitrow.time_out_of_bounds).
        self.received = clock.now()
        self.latest = self.received + AT_SLACK
        self.earliest = registered_earliest(gate.get("created_at"))
        # Writing first takes the lock (SQLite: the write lock; PostgreSQL: the gate's row).
        conn.execute(update(g).where(self.mine(g)).values(last_seen=self.now))
        head = conn.execute(select(g.c.head_seq, g.c.head_hash).where(self.mine(g))).one()
        self.seq, self.hash = int(head.head_seq), str(head.head_hash)
        self.result = PushResult(acked_seq=self.seq)
        #: Rows accepted in this push, inserted together at the end (one executemany, not one statement each).
        self.accepted: dict[int, dict[str, Any]] = {}
        self.known_ids: set[str] = set()
        #: Each boot's anchor as this push found it (None: none yet), so a long push asks once per boot.
        self.anchors: dict[str, BootAnchor | None] = {}

    def mine(self, table: Any) -> Any:
        """Rows of ``table`` that are this gate's: gates are named within their estate."""
        return and_(table.c.estate == self.estate, table.c.gate_id == self.gate_id)

    def prefetch(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Which offered event ids the office already holds, in one query per thousand rows."""
        e = schema.events
        ids = [str(r["event_id"]) for r in rows]
        for i in range(0, len(ids), 1000):
            self.known_ids.update(self.conn.execute(select(e.c.event_id).where(e.c.event_id.in_(ids[i:i + 1000]))).scalars())

    def stored(self, seq: int) -> tuple[str, str, str] | None:
        """(event_id, hash, prev_hash) the office holds at ``seq``, counting rows accepted in this push."""
        if seq in self.accepted:
            return self.accepted[seq]["event_id"], self.accepted[seq]["hash"], self.accepted[seq]["prev_hash"]
        e = schema.events
        have = self.conn.execute(select(e.c.event_id, e.c.hash, e.c.prev_hash).where(self.mine(e), e.c.seq == seq)).first()
        return (have.event_id, have.hash, have.prev_hash) if have is not None else None

    def reject(self, row: Mapping[str, Any], kind: str, why: str) -> None:
        seq = int(row["seq"])
        self.result.rejected.append({"seq": seq, "reason": kind, "detail": why})
        raise_flag(self.conn, self.estate, kind, f"{kind}:{self.gate_id}:{seq}:{row.get('hash')}",
                   f"gate {self.gate_id} row {seq}: {why}", now=self.now, gate_id=self.gate_id, seq=seq,
                   slip_id=str(row.get("slip_id") or "")[:10], detail={"offered": dict(row)})

    def offer(self, row: Mapping[str, Any]) -> bool:
        """Try to accept ``row`` as the next one; return whether it was accepted."""
        seq = int(row["seq"])
        if row["prev_hash"] != self.hash:
            self.reject(row, "fork", "does not continue the chain the office holds (prev_hash differs)")
            return False
        if row_hash(self.hash, row) != row["hash"]:
            self.reject(row, "edited", "hash does not match the row's contents (row edited)")
            return False
        if row["event_id"] in self.known_ids:
            self.reject(row, "foreign_event_id", "event id already recorded under another sequence number")
            return False
        accepted = ExitRow.from_dict(row)
        stored = self.accepted[seq] = _stored(accepted, self.estate, self.now)
        self.known_ids.add(accepted.event_id)
        self.seq, self.hash = seq, accepted.hash
        self.result.accepted += 1
        self._redate(accepted, stored)
        # a re-dated row's slip use is dated by its corrected time, and that is what must be plausible
        at = self._plausible_at({**row, "at": stored["at_redated"]} if stored["at_redated"] else row)
        if accepted.consumes_slip:
            self._consume(row, at)
        self._flag_for_office(accepted)
        return True

    def _redate(self, row: ExitRow, stored: dict[str, Any]) -> None:
        """A synced row anchors its boot (re-dating that boot's earlier rows); an unsynced one is
        re-dated at once when its boot has an anchor already."""
        if not row.boot_id:
            return
        if row.boot_id not in self.anchors:
            self.anchors[row.boot_id] = boot_anchor(self.conn, self.estate, self.gate_id, row.boot_id)
        known = self.anchors[row.boot_id]
        anchor = anchor_of(boot_id=row.boot_id, boottime_ms=row.boottime_ms, at=row.at, clock_synced=row.clock_synced,
                           source=f"row {row.seq}")
        if anchor is not None and time_out_of_bounds(anchor.at, earliest=self.earliest, latest=self.latest) is not None:
            anchor = None              # a synced row at an impossible time anchors nothing (it is flagged bad_time)
        elif anchor is not None and (problem := anchor_problem(anchor, self.received, live=False)) is not None:
            _clock_disagrees(self.conn, self.estate, self.gate_id, anchor, problem, self.now, seq=row.seq)
            anchor = None
        if anchor is not None:
            if known is None:          # the first synced row of this boot
                add_anchor(self.conn, self.estate, self.gate_id, anchor, now=self.now, pending=self.accepted,
                           earliest=self.earliest)
                self.anchors[row.boot_id] = anchor
        elif known is not None:
            _redate_stored(stored, known, self.earliest)

    def _flag_for_office(self, row: ExitRow) -> None:
        """Rows the gate's screen says the office was told of: each raises a flag once (by event id)."""
        kind, message = flag_for_row(row)
        if not kind:
            return
        raise_flag(self.conn, self.estate, kind, f"{kind}:{row.event_id}", f"gate {self.gate_id} row {row.seq}: {message}",
                   now=self.now, gate_id=self.gate_id, seq=row.seq, slip_id=row.slip_id[:10],
                   detail={"event_id": row.event_id, "at": row.at, "guard_id": row.guard_id, "card_uid": row.card_uid,
                           "permit_id": row.permit_id, "reasons": list(row.reasons), **row.detail})

    def _plausible_at(self, row: Mapping[str, Any]) -> str:
        """The row's time if it can be right, else the office's (and the row is flagged)."""
        try:
            why = time_out_of_bounds(parse_at(row["at"]), earliest=self.earliest, latest=self.latest)
        except BadTime as exc:        # the push API refuses these; a held row stored before that check
            why = ("时间无法识别", f"time {str(row['at'])[:40]!r}: {exc}")
        if why is None:
            return str(row["at"])
        raise_flag(self.conn, self.estate, "bad_time", f"bad_time:{self.gate_id}:{row['seq']}:{row['event_id']}",
                   f"gate {self.gate_id} row {row['seq']}: {why[1]}; stored as sent, its slip use dated on arrival",
                   now=self.now, gate_id=self.gate_id, seq=int(row["seq"]), detail={"zh": why[0], "at": str(row["at"])[:40]})
        return self.now

    def _consume(self, row: Mapping[str, Any], at: str) -> None:
        """Record a slip's use at ``at`` (the row's time when plausible); a second use anywhere is flagged."""
        c = schema.consumed_slips
        slip_id = str(row["slip_id"])
        if len(slip_id) > MAX_SLIP_ID:
            raise_flag(self.conn, self.estate, "bad_slip_id", f"bad_slip_id:{row['event_id']}",
                       f"gate {self.gate_id} row {row['seq']}: released against {slip_id[:20]!r}, not a slip id",
                       now=self.now, gate_id=self.gate_id, seq=int(row["seq"]))
            return
        lock_estate(self.conn, self.estate)  # so that two gates' releases of one slip see each other
        earlier = self.conn.execute(select(c.c.gate_id, c.c.at).where(
            and_(c.c.estate == self.estate, c.c.slip_id == slip_id))).all()
        if not any(r.gate_id == self.gate_id for r in earlier):
            put_rows(self.conn, self.estate, c, [{"slip_id": slip_id, "gate_id": self.gate_id, "at": at}])
        if earlier:
            uses = [{"gate_id": r.gate_id, "at": r.at} for r in earlier] + [{"gate_id": self.gate_id, "at": at}]
            gates = ", ".join(u["gate_id"] for u in uses)
            raise_flag(self.conn, self.estate, "double_use", f"double_use:{slip_id}:{row['event_id']}",
                       f"slip {slip_id} released more than once (gates {gates})", now=self.now, gate_id=self.gate_id,
                       seq=int(row["seq"]), slip_id=slip_id[:10], detail={"uses": uses, "event_id": row["event_id"]})

    def hold(self, row: Mapping[str, Any]) -> None:
        h = schema.held_events
        key = and_(self.mine(h), h.c.seq == int(row["seq"]))
        if self.conn.execute(select(h.c.seq).where(key)).first() is None:
            self.conn.execute(insert(h).values(estate=self.estate, gate_id=self.gate_id, seq=int(row["seq"]),
                                               body=json.dumps(dict(row), ensure_ascii=False), received_at=self.now))
        self.result.held += 1
        missing = self.seq + 1
        raise_flag(self.conn, self.estate, "gap", f"gap:{self.gate_id}:{missing}",
                   f"gate {self.gate_id}: row {row['seq']} arrived but row {missing} has not", now=self.now, gate_id=self.gate_id,
                   seq=missing)

    def drain_held(self) -> None:
        """Accept held rows that now continue the chain; resolve the gaps they close."""
        h = schema.held_events
        while True:
            held = self.conn.execute(select(h.c.body).where(self.mine(h), h.c.seq == self.seq + 1)).first()
            if held is None:
                break
            row = json.loads(held.body)
            self.prefetch([row])
            if not self.offer(row):
                break
            self.conn.execute(delete(h).where(self.mine(h), h.c.seq == self.seq))
        self.conn.execute(delete(h).where(self.mine(h), h.c.seq <= self.seq))
        f = schema.flags
        self.conn.execute(update(f).where(self.mine(f), f.c.kind == "gap", f.c.resolved_at.is_(None),
                                          f.c.seq <= self.seq).values(resolved_at=self.now))

    def save(self) -> PushResult:
        g = schema.gates
        if self.accepted:
            self.conn.execute(insert(schema.events), list(self.accepted.values()))
        self.conn.execute(update(g).where(self.mine(g)).values(head_seq=self.seq, head_hash=self.hash))
        self.result.acked_seq = self.seq
        return self.result


def ingest(conn: Connection, gate: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], *, clock: Clock) -> PushResult:
    """Apply one pushed batch (rows of the authenticated gate only) inside the caller's transaction."""
    g = _Gate(conn, gate, clock)
    g.prefetch(rows)
    for row in sorted(rows, key=lambda r: int(r["seq"])):
        seq = int(row["seq"])
        if seq <= g.seq:
            have = g.stored(seq)
            if have is not None and have[:2] == (row["event_id"], row["hash"]):
                # A resend: its contents must still be what the hash covers, or it is evidence rewritten.
                if row["prev_hash"] == have[2] and row_hash(have[2], row) == row["hash"]:
                    g.result.duplicates += 1
                else:
                    g.reject(row, "edited", "re-sent with other contents than the row the office holds (hash does not match)")
            else:
                g.reject(row, "fork", "differs from the row the office already accepted at this sequence number")
        elif seq == g.seq + 1:
            g.offer(row)
        else:
            g.hold(row)
    g.drain_held()
    return g.save()


def _clock_disagrees(conn: Connection, estate: str, gate_id: str, anchor: BootAnchor, problem: tuple[str, str], now: str,
                     seq: int | None = None) -> None:
    """A synced time the office does not believe: no anchor (its boot's rows are not re-dated by it); staff are told."""
    raise_flag(conn, estate, "clock_disagrees", f"clock_disagrees:{gate_id}:{anchor.boot_id}:{anchor.source}",
               f"gate {gate_id}: {problem[1]}; no row is re-dated by it", now=now, gate_id=gate_id, seq=seq,
               detail={"zh": problem[0], "boot_id": anchor.boot_id, "at": anchor.at.isoformat(), "source": anchor.source})


def heartbeat(conn: Connection, estate: str, gate_id: str, body: HeartbeatBody, *, clock: Clock) -> int:
    """Store a gate's heartbeat (the contract's JSON form) and note that it was heard from. A heartbeat
    sent with the clock synced anchors its boot: returns how many of that boot's rows it re-dated."""
    g = schema.gates
    now = utcnow(clock)
    conn.execute(update(g).where(g.c.estate == estate, g.c.gate_id == gate_id).values(
        last_seen=now, heartbeat=json.dumps(body.to_json(), ensure_ascii=False)))
    anchor = anchor_of(boot_id=body.boot_id, boottime_ms=body.boottime_ms, at=body.sent_at, clock_synced=body.clock_synced,
                       source="heartbeat")
    if anchor is None:
        return 0
    problem = anchor_problem(anchor, clock.now(), live=True)
    if problem is not None:
        _clock_disagrees(conn, estate, gate_id, anchor, problem, now)
        return 0
    return add_anchor(conn, estate, gate_id, anchor, now=now, earliest=gate_earliest(conn, estate, gate_id))


def list_gates(conn: Connection, estate: str) -> list[dict[str, Any]]:
    """Gates of an estate with their chain head and last heartbeat (never the credential hash).

    ``heartbeat`` is a `HeartbeatBody` (None if the gate never sent one); a stored one that
    is damaged or from an older gate parses anyway, its unreadable parts UNKNOWN.
    """
    g = schema.gates
    rows = conn.execute(select(g.c.gate_id, g.c.name, g.c.created_at, g.c.head_seq, g.c.last_seen, g.c.heartbeat)
                        .where(g.c.estate == estate).order_by(g.c.gate_id)).mappings()
    return [dict(r, heartbeat=_stored_heartbeat(r["heartbeat"])) for r in rows]


def _stored_heartbeat(text: str | None) -> HeartbeatBody | None:
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    return HeartbeatBody.from_json(data)


def list_flags(conn: Connection, estate: str, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    f = schema.flags
    q = select(f).where(f.c.estate == estate).order_by(f.c.flag_id)
    if not include_resolved:
        q = q.where(f.c.resolved_at.is_(None))
    out = []
    for r in conn.execute(q).mappings():
        d = dict(r)
        d["detail"] = json.loads(d["detail"] or "{}")
        out.append(d)
    return out


def resolve_flag(conn: Connection, estate: str, flag_id: int, *, clock: Clock) -> bool:
    f = schema.flags
    done = conn.execute(update(f).where(f.c.estate == estate, f.c.flag_id == flag_id, f.c.resolved_at.is_(None))
                        .values(resolved_at=utcnow(clock)))
    return done.rowcount == 1

