"""Property: whatever order, overlap and repetition a gate's batches arrive in, the office ends
with each row exactly once, in chain order, and no open flag."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from domain.clock import FixedClock
from domain.exitrow import EntryKind, LogEntry
from kiosk.exitlog import ExitLog
from office import schema
from office.db import open_office
from office.ingest import ingest, list_flags
from office.records import add_gate
from tests.office.harness import CST

LOG = ExitLog.memory("north")
for i in range(25):
    LOG.append(LogEntry(EntryKind.CARD_PASS, datetime(2026, 11, 29, 9, 0, i, tzinfo=CST), card_uid=f"C{i}"), clock_synced=True)
ROWS = list(LOG.rows())
#: The office's clock: the gate was registered the day before its rows.
OFFICE_CLOCK = FixedClock(datetime(2026, 11, 28, 12, tzinfo=CST))

batches = st.lists(st.lists(st.integers(0, len(ROWS) - 1), max_size=12), max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches)
def test_any_delivery_order_stores_each_row_once(tmp_path_factory, batches: list[list[int]]) -> None:  # type: ignore[no-untyped-def]
    path: Path = tmp_path_factory.mktemp("office") / "office.db"
    engine = open_office(f"sqlite:///{path}")
    with engine.begin() as conn:
        add_gate(conn, "default", "north", clock=OFFICE_CLOCK)
    gate = {"gate_id": "north", "estate": "default"}
    for batch in [*batches, list(range(len(ROWS)))]:   # the daemon's resend from its cursor ends every story
        with engine.begin() as conn:
            ingest(conn, gate, [ROWS[i] for i in batch], clock=OFFICE_CLOCK)
    with engine.connect() as conn:
        stored = conn.execute(select(schema.events.c.seq, schema.events.c.event_id).order_by(schema.events.c.seq)).all()
        open_flags = list_flags(conn, "default")
        head = conn.execute(select(schema.gates.c.head_seq)).scalar_one()
        held = conn.execute(select(schema.held_events.c.seq)).all()
    engine.dispose()
    assert [(s, e) for s, e in stored] == [(r["seq"], r["event_id"]) for r in ROWS]
    assert head == len(ROWS) and held == [] and open_flags == []
