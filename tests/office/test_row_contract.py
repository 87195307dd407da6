"""What a gate appends is what the office accepts, hashes and stores: one row definition
(domain/exitrow.py) on both sides, with the limits and table the office has always had."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

from domain.chain import GENESIS, first_break, row_hash
from domain.exitrow import MAX_SEQ, EntryKind, ExitRow, LogEntry, consumes_slip
from kiosk.exitlog import ExitLog
from office import schema
from office.api import EventRow
from tests.office.harness import CST, OfficeServer
from tests.office.test_api import client
from tests.office.test_ingest import push

#: An hour ago: the office refuses rows dated before their gate was registered (domain.exitrow.AT_SLACK).
AT = datetime.now(CST).replace(microsecond=0) - timedelta(hours=1)


def gate_log(path: Path, gate_id: str = "north", slip_id: str = "") -> list[dict[str, Any]]:
    """A real exit-log file with a row of every kind, odd text and both clock flags; its rows as read back."""
    log = ExitLog.open(path, gate_id)
    for i, kind in enumerate(EntryKind):
        log.append(LogEntry(kind, AT + timedelta(seconds=i), guard_id="G001", card_uid=f"04A1B2C3{i:02X}",
                            permit_id="P7F3A9C21" if i % 2 else "", slip_id=slip_id or f"S2611250{i:02d}",
                            reasons=("card.lost", "slip.expired")[: i % 3],
                            detail={"名": "欧阳建国", "scanned": "a\x00b", "n": i, "nested": {"x": [1, 2.5, None]}}),
                   clock_synced=i % 2 == 0)
    return list(ExitLog.open_readonly(path).rows())


def test_every_row_the_gate_appends_is_accepted_unchanged_and_hashes_identically(tmp_path: Path) -> None:
    rows = gate_log(tmp_path / "log.db")
    received = [EventRow.model_validate_json(json.dumps(r, ensure_ascii=False)).model_dump() for r in rows]
    assert received == rows
    prev = GENESIS
    for r in received:
        assert row_hash(prev, r) == r["hash"]
        prev = r["hash"]
    assert first_break(received) is None


def test_the_office_stores_the_row_the_gate_hashed(office: OfficeServer, tmp_path: Path) -> None:
    rows = gate_log(tmp_path / "log.db")
    with client(office, office.add_gate("north")) as c:
        reply = push(c, rows)
    assert (reply["accepted"], reply["rejected"]) == (len(rows), [])
    stored = office.events("north")
    assert [ExitRow.decode(s) for s in stored] == [ExitRow.from_dict(r) for r in rows]
    assert first_break(ExitRow.decode(s).to_dict() for s in stored) is None


@pytest.mark.parametrize("kind", list(EntryKind))
def test_the_office_counts_a_slip_as_used_exactly_when_the_gate_does(office: OfficeServer, tmp_path: Path,
                                                                    kind: EntryKind) -> None:
    slip_id = office.issue_slip()
    log = ExitLog.open(tmp_path / "log.db", "north")
    log.append(LogEntry(kind, AT, guard_id="G001", slip_id=slip_id), clock_synced=True)
    log.append(LogEntry(kind, AT, guard_id="G001", slip_id=slip_id), clock_synced=True)
    with client(office, office.add_gate("north")) as c:
        push(c, list(log.rows()))
        used = [ch for ch in c.get("/replica").json()["changes"] if ch["table"] == "consumed_slips"]
    gate_says_used = bool(log.releases_of(slip_id))
    assert gate_says_used is consumes_slip(kind)
    assert [u["row"]["slip_id"] for u in used] == ([slip_id] if gate_says_used else [])
    assert len(office.flags("double_use")) == (1 if gate_says_used else 0)


# The push API's limits per field, as the office has always enforced them (422 beyond).
TEXT_LIMITS = {"event_id": 64, "gate_id": 6, "kind": 16, "at": 40, "guard_id": 64, "card_uid": 64,
               "permit_id": 32, "slip_id": 64}


@pytest.fixture(scope="module")
def row(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return gate_log(tmp_path_factory.mktemp("gate") / "log.db")[0]


@pytest.mark.parametrize("name, limit", TEXT_LIMITS.items())
def test_each_text_field_takes_its_limit_and_not_one_character_more(row: dict[str, Any], name: str, limit: int) -> None:
    EventRow.model_validate(dict(row, **{name: "x" * limit}))
    with pytest.raises(ValidationError, match=name):
        EventRow.model_validate(dict(row, **{name: "x" * (limit + 1)}))


@pytest.mark.parametrize("bad", [
    {"seq": 0}, {"seq": MAX_SEQ + 1}, {"seq": "1"}, {"seq": 1.0}, {"clock_synced": 1}, {"clock_synced": "true"},
    {"event_id": ""}, {"gate_id": ""}, {"kind": ""}, {"at": ""},
    {"reasons": ["r"] * 33}, {"reasons": ["r" * 65]}, {"reasons": "card.lost"}, {"detail": []},
    {"prev_hash": "A" * 64}, {"hash": "0" * 63}, {"hash": "0" * 65},
    {"card_uid": "04\x00A1"}, {"reasons": ["a\x00"]}, {"surprise": 1},
])
def test_a_row_outside_the_limits_is_refused(row: dict[str, Any], bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        EventRow.model_validate(dict(row, **bad))


def test_optional_fields_may_be_left_out_and_detail_may_hold_any_text(row: dict[str, Any]) -> None:
    EventRow.model_validate(dict(row, seq=MAX_SEQ, reasons=["r" * 64] * 32, detail={"scanned": "\x00"}))
    bare = {k: v for k, v in row.items() if k not in ("guard_id", "card_uid", "permit_id", "slip_id", "reasons", "detail")}
    got = EventRow.model_validate(bare).model_dump()
    assert {k: got[k] for k in ("guard_id", "slip_id", "reasons", "detail")} == {
        "guard_id": "", "slip_id": "", "reasons": [], "detail": {}}
    with pytest.raises(ValidationError):
        EventRow.model_validate({k: v for k, v in row.items() if k != "at"})


#: The events table as the office has always created it (its first migration), with the boot columns
#: revision 0006 adds (the row's boot id and boot time, the office's re-dated time), on both databases.
EVENTS_DDL = " ".join("""
CREATE TABLE events (
    gate_id VARCHAR(6) NOT NULL, seq BIGINT NOT NULL, event_id VARCHAR(64) NOT NULL, estate VARCHAR(32) NOT NULL,
    kind VARCHAR(16) NOT NULL, at VARCHAR(40) NOT NULL, clock_synced INTEGER NOT NULL,
    guard_id TEXT NOT NULL, card_uid TEXT NOT NULL, permit_id TEXT NOT NULL, slip_id TEXT NOT NULL,
    reasons TEXT NOT NULL, detail TEXT NOT NULL, prev_hash VARCHAR(64) NOT NULL, hash VARCHAR(64) NOT NULL,
    boot_id TEXT NOT NULL, boottime_ms BIGINT NOT NULL,
    received_at VARCHAR(40) NOT NULL, at_redated VARCHAR(40), redated_by VARCHAR(40),
    CONSTRAINT events_pkey PRIMARY KEY (estate, gate_id, seq), UNIQUE (event_id)
)""".split())


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])
def test_the_events_table_built_from_the_row_is_the_table_the_office_always_had(dialect: Any) -> None:
    assert " ".join(str(CreateTable(schema.events).compile(dialect=dialect)).split()) == EVENTS_DDL
    defaults = {c.name: c.default.arg for c in schema.events.c if c.default is not None}
    assert defaults == {"guard_id": "", "card_uid": "", "permit_id": "", "slip_id": "", "reasons": "[]", "detail": "{}",
                        "boot_id": "", "boottime_ms": 0}
    assert sorted(i.name for i in schema.events.indexes) == ["events_by_boot", "events_by_estate_at", "events_by_estate_redated"]
    assert not schema.events.c.seq.autoincrement
