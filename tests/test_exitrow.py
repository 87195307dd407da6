"""The exit-log row is defined once (domain/exitrow.py): the gate's table, the chain, the
kinds' words and the slip-consuming rule all follow from it."""
from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.chain import CHAIN_FIELDS, first_break, row_hash
from domain.exitrow import (
    CONSUMING_KINDS,
    FIELD,
    MAX_DETAIL_JSON,
    ROW_FIELDS,
    ROW_NAMES,
    BadTime,
    EntryKind,
    ExitRow,
    LogEntry,
    consumes_slip,
    kind_label,
    parse_at,
    row_problems,
)
from kiosk.exitlog import ExitLog
from tests.factories import NOW


def every_kind(log: ExitLog, slip_id: str = "S261125001") -> list[dict]:
    return [log.append(LogEntry(k, NOW + timedelta(seconds=i), guard_id="G1", slip_id=slip_id, reasons=("card.lost",),
                                detail={"名": "张伟", "n": i}), clock_synced=i % 2 == 0)
            for i, k in enumerate(EntryKind)]


def test_the_gates_frozen_table_holds_exactly_the_rows_fields(tmp_path):
    ExitLog.open(tmp_path / "log.db", "north")
    conn = sqlite3.connect(tmp_path / "log.db")
    cols = conn.execute("pragma table_info(exit_log)").fetchall()
    assert tuple(c[1] for c in cols) == ROW_NAMES
    sqlite_type = {"bigint": "INTEGER", "flag": "INTEGER", "varchar": "TEXT", "text": "TEXT", "json": "TEXT"}
    assert {c[1]: c[2].upper() for c in cols} == {f.name: sqlite_type[f.sql] for f in ROW_FIELDS}
    assert all(c[3] or c[5] for c in cols)     # not null (seq: the primary key)


def test_the_chain_hashes_every_field_of_the_row_but_the_chains_own():
    assert set(CHAIN_FIELDS) == set(ROW_NAMES) - {"prev_hash", "hash"}


@pytest.mark.parametrize("name", [f.name for f in ROW_FIELDS if f.hashed and f.name != "seq"])
def test_changing_any_hashed_field_of_a_stored_row_breaks_the_chain_there(name):
    log = ExitLog.memory("north")
    rows = every_kind(log)
    assert first_break(rows) is None
    changed = {"clock_synced": not rows[2]["clock_synced"], "reasons": ["card.valid"], "detail": {"名": "李四"}}
    rows[2] = dict(rows[2], **{name: changed.get(name, "X")})
    assert first_break(rows) == (3, "hash does not match the row's contents (row edited)")


def test_an_appended_row_reads_back_as_the_row_it_returned(tmp_path):
    log = ExitLog.open(tmp_path / "log.db", "north")
    written = every_kind(log)
    again = list(ExitLog.open_readonly(tmp_path / "log.db").rows())
    assert again == written
    assert [ExitRow.from_dict(r) for r in again] == [ExitRow.decode(ExitRow.from_dict(r).encode()) for r in written]
    for r in again:
        assert row_hash(r["prev_hash"], r) == r["hash"]


@pytest.mark.parametrize("kind, consumes", [
    (EntryKind.RELEASE, True), (EntryKind.OVERRIDE, True),
    (EntryKind.REFUSAL, False), (EntryKind.CARD_PASS, False), (EntryKind.CARD_DENIED, False),
    (EntryKind.REPORT, False), (EntryKind.SHIFT_START, False), (EntryKind.SHIFT_END, False),
    (EntryKind.EXIT_REQUEST, False),
])
def test_a_release_or_an_override_consumes_the_slip_and_nothing_else_does(kind, consumes):
    assert consumes_slip(kind) is consumes and consumes_slip(kind.value) is consumes
    assert kind.consumes_slip is consumes
    log = ExitLog.memory("north")
    log.append(LogEntry(kind, NOW, slip_id="S261125001"), clock_synced=True)
    log.append(LogEntry(kind, NOW, slip_id="S261125002"), clock_synced=True)
    assert [r["kind"] for r in log.releases_of("S261125001")] == ([kind.value] if consumes else [])


def test_an_unknown_kind_consumes_nothing_and_is_shown_as_itself():
    assert not consumes_slip("teleport") and kind_label("teleport") == ("teleport", "teleport")
    assert CONSUMING_KINDS == {k for k in EntryKind if consumes_slip(k)}


def test_every_kind_has_its_own_words_in_chinese_and_english():
    zh = [k.label_zh for k in EntryKind]
    en = [k.label_en for k in EntryKind]
    assert all(zh) and all(en) and len(set(zh)) == len(zh) and len(set(en)) == len(en)
    assert kind_label("override") == ("主管强制放行", "Override")


def test_a_row_without_a_slip_consumes_nothing():
    row = ExitRow(1, "e", "north", "release", NOW.isoformat(), True)
    assert not row.consumes_slip and replace(row, slip_id="S1").consumes_slip
    assert FIELD["gate_id"].max_length == 6


# ------------------------------------------------------------------ what a row may say (row_problems)


def _gate_row(**changes):
    entry = LogEntry(EntryKind.RELEASE, datetime(2026, 11, 30, 20, 0, tzinfo=UTC), guard_id="g1", slip_id="S000000001")
    row = ExitRow.of_entry(entry, event_id="e1", gate_id="north", seq=7, clock_synced=True, prev_hash="0" * 64).to_dict()
    return {**row, **changes}


def test_a_row_as_the_gate_writes_it_has_no_problems():
    now = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    assert row_problems(_gate_row(), earliest=now - timedelta(days=1), latest=now + timedelta(days=1)) == []


def test_parse_at_takes_an_iso_instant_with_its_offset_and_nothing_else():
    assert parse_at("2026-11-29T14:03:07+08:00").utcoffset().total_seconds() == 8 * 3600
    for bad in ("garbage", "", "2026-11-29", "2026-11-29T14:03:07", "9999-12-31T23:59:59-14:00",
                "0001-01-01T00:00:00+14:00", "2026-11-29T14:03:07+08:00" + " " * 20, None, 1732860187):
        with pytest.raises(BadTime):
            parse_at(bad)


def test_row_problems_name_the_seq_and_field_in_both_languages():
    now = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    assert [(p.seq, p.field) for p in row_problems(_gate_row(at="2026-12-05T00:00:00+00:00"), latest=now)] == [(7, "at")]
    assert [(p.seq, p.field) for p in row_problems(_gate_row(at="2026-11-01T00:00:00+00:00"), earliest=now)] == [(7, "at")]
    found = row_problems(_gate_row(card_uid="04\x1bA1", reasons=["ok", "bad\u0085"], detail={"x": "y" * MAX_DETAIL_JSON}))
    assert [p.field for p in found] == ["card_uid", "reasons", "detail"]
    assert all(p.zh and p.en and p.zh != p.en for p in found)
