"""Issue 11: nothing a gate pulls can take it out of service.

Each test writes one hostile row into the real replica file the way a broken sync
would (plain SQLite, bypassing every check), then plays the real controller and
resolver against it and draws the real screen: the card or slip that row speaks for is
refused with its own reason, on screen and in the exit log, and the gate stays in
service for the next person.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pygame
import pytest

from domain import slip_token
from drivers.events import CardRead, SlipScanned
from kiosk.app import SimClock, assemble, demo_config
from kiosk.config import KioskConfig
from kiosk.core.events import Action, Press
from kiosk.core.flow import Scene
from kiosk.ui.loop import make_session

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


@pytest.fixture()
def estate(demo, tmp_path: Path) -> Path:
    d = tmp_path / "estate"
    shutil.copytree(demo.data_dir, d)
    for suffix in ("", "-wal", "-shm"):
        (d / f"exitlog.db{suffix}").unlink(missing_ok=True)
    return d


def _write(estate: Path, sql: str, args: tuple = ()) -> None:
    """What a buggy or hostile sync could leave in the replica."""
    con = sqlite3.connect(estate / "replica.db")
    con.execute(sql, args)
    con.commit()
    con.close()


def _kiosk(demo, estate: Path):
    k = assemble(demo_config(KioskConfig(), estate), demo=demo, monitor_thread=False)
    clock = SimClock(demo.now)
    badge, pin, _, _ = demo.guards[0]
    c = k.controller
    c.handle_raw(CardRead(badge), clock.now())
    for d in pin:
        c.press(Press(Action.DIGIT, d), clock.now())
    c.press(Press(Action.PIN_SUBMIT), clock.now())
    assert c.state.guard is not None
    return k, clock


def _screen(k, clock) -> list[str]:
    pygame.init()
    session = make_session(k, (800, 480))
    session.update(clock.now())
    return list(session.draw(pygame.Surface((800, 480)), clock.now()).drawn)


def _slip_id(demo, label: str) -> str:
    verdict = slip_token.verify(demo.slips[label], demo.public_keys, estate="demo")
    assert verdict.claims is not None
    return verdict.claims.slip_id


def _still_in_service(k, demo, clock) -> None:
    """The next resident's card is decided as usual."""
    c = k.controller
    c.press(Press(Action.CANCEL), clock.now())
    clock.advance(30)
    c.tick(clock.now())
    c.handle_raw(CardRead(demo.cards["valid"]), clock.now())
    assert c.state.scene is Scene.CARD_RESULT, c.state.fault
    assert k.exit_log.recent(1)[0]["kind"] == "card_pass"


SLIP_ROWS = {
    "consumed at the end of time": "insert into consumed_slips values (:id, 'south', '9999-12-31T23:59:59-14:00')",
    "consumed at garbage": "insert into consumed_slips values (:id, 'south', 'garbage')",
    "consumed at a naive time": "insert into consumed_slips values (:id, 'south', '2026-11-25T09:00:00')",
    "slip valid_until garbage": "update slips set valid_until = 'tomorrow' where slip_id = :id",
    "slip status unknown": "update slips set status = 'approved-ish' where slip_id = :id",
    "slip approvals not json": "update slips set approvals = '{[' where slip_id = :id",
    "slip approvals a number": "update slips set approvals = '42' where slip_id = :id",
    "slip item quantity text": "update slip_items set quantity = 'many' where slip_id = :id",
    "unit fees flag text": "update units set unpaid_fees = 'no' where unit_id = (select unit_id from slips where slip_id = :id)",
}


@pytest.mark.parametrize("row", SLIP_ROWS, ids=list(SLIP_ROWS))
def test_a_bad_replica_row_refuses_that_slip_and_keeps_the_gate_in_service(row, demo, estate):
    slip_id = _slip_id(demo, "owner")
    _write(estate, SLIP_ROWS[row].replace(":id", "?"), (slip_id,))
    k, clock = _kiosk(demo, estate)
    try:
        gate_calls = len(k.devices.gate_io.calls)
        k.controller.handle_raw(SlipScanned(demo.slips["owner"]), clock.now())
        state = k.controller.state
        assert state.scene is Scene.REFUSED, state.fault
        assert state.refusal[0].value == "slip.record_invalid"
        drawn = _screen(k, clock)
        assert any("数据有误" in t for t in drawn) and any("record at the gate is damaged" in t for t in drawn), drawn
        assert k.controller.state.scene is Scene.REFUSED          # drawing did not fault
        logged = k.exit_log.recent(1)[0]
        assert logged["kind"] == "refusal" and logged["slip_id"] == slip_id
        assert "slip.record_invalid" in logged["reasons"]
        assert "replica" in logged["detail"]["record_problem"]
        assert not any(w == "open_gate" for _, w in k.devices.gate_io.calls[gate_calls:])
        _still_in_service(k, demo, clock)
    finally:
        k.close()


CARD_ROWS = {
    "permit valid_until garbage": "update permits set valid_until = 'garbage' where card_uid = ?",
    "permit valid_until past the calendar": "update permits set valid_until = '9999-12-31T23:59:59-14:00' where card_uid = ?",
    "permit status unknown": "update permits set status = 'sort-of' where card_uid = ?",
    "permit holder not text": "update permits set holder_name = x'00ff' where card_uid = ?",
}


@pytest.mark.parametrize("row", CARD_ROWS, ids=list(CARD_ROWS))
def test_a_bad_permit_row_refuses_that_card_and_keeps_the_gate_in_service(row, demo, estate):
    uid = demo.cards["valid"]
    other = demo.cards["expired"] if "expired" in demo.cards else None
    _write(estate, CARD_ROWS[row], (uid,))
    k, clock = _kiosk(demo, estate)
    try:
        k.controller.handle_raw(CardRead(uid), clock.now())
        state = k.controller.state
        assert state.scene is Scene.CARD_RESULT, state.fault
        assert state.card.reason.value == "card.record_invalid"
        drawn = _screen(k, clock)
        assert any("数据有误" in t for t in drawn), drawn
        logged = k.exit_log.recent(1)[0]
        assert logged["kind"] == "card_denied" and logged["reasons"] == ["card.record_invalid"]
        assert "permits" in logged["detail"]["record_problem"]
        if other:
            k.controller.handle_raw(CardRead(other), clock.now())
            assert k.controller.state.scene is Scene.CARD_RESULT
    finally:
        k.close()


def test_a_bad_guard_row_refuses_that_badge_and_keeps_the_gate_in_service(demo, estate):
    badge = demo.guards[1][0]
    _write(estate, "update guards set role = 'overlord' where badge_uid = ?", (badge,))
    k, clock = _kiosk(demo, estate)
    try:
        k.controller.handle_raw(CardRead(badge), clock.now())
        assert k.controller.state.scene is Scene.CARD_RESULT, k.controller.state.fault
        assert k.controller.state.card.reason.value == "card.record_invalid"
        assert "guards" in k.exit_log.recent(1)[0]["detail"]["record_problem"]
        _still_in_service(k, demo, clock)
    finally:
        k.close()


def test_a_bad_signing_key_row_or_rule_row_is_ignored_and_slips_still_decide(demo, estate):
    _write(estate, "insert into signing_keys values ('deadbeef', '!!not base64!!', 0)")
    _write(estate, "insert or replace into rules values ('large_item_hours', '{not json')")
    k, clock = _kiosk(demo, estate)
    try:
        k.controller.handle_raw(SlipScanned(demo.slips["owner"]), clock.now())
        assert k.controller.state.scene is Scene.SLIP_ITEMS, (k.controller.state.fault, k.controller.state.refusal)
    finally:
        k.close()


def test_gatepass_check_gives_the_same_refusal_and_names_the_row(demo, estate, capsys):
    import json

    from kiosk.cli import main

    uid = demo.cards["valid"]
    _write(estate, "update permits set valid_until = '9999-12-31T23:59:59-14:00' where card_uid = ?", (uid,))
    slip_id = _slip_id(demo, "owner")
    _write(estate, "insert into consumed_slips values (?, 'south', 'garbage')", (slip_id,))
    at = demo.now.isoformat()
    assert main(["check", "--db", str(estate / "replica.db"), "--card", uid, "--at", at, "--json"]) == 1
    card = json.loads(capsys.readouterr().out)
    assert card["reasons"] == ["card.record_invalid"] and "permits" in card["record_problem"]
    assert main(["check", "--db", str(estate / "replica.db"), "--slip", demo.slips["owner"], "--at", at, "--json"]) == 1
    slip = json.loads(capsys.readouterr().out)
    assert slip["reasons"][0] == "slip.record_invalid" and "consumed_slips" in slip["record_problem"]
    assert not any(m["code"] == "slip.not_synced" for m in slip["messages"])


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59-14:00", "2026-11-25T09:00:00", "garbage"])
def test_a_bad_pull_time_or_guard_row_never_fails_a_frame(at, demo, estate):
    _write(estate, "insert or replace into replica_meta values ('last_pull_at', ?)", (at,))
    k, clock = _kiosk(demo, estate)
    try:
        _write(estate, "update guards set role = 'overlord' where badge_uid = ?", (demo.guards[0][0],))
        k.controller.press(Press(Action.RECENT), clock.now())     # the recent list names the guard on shift
        assert k.controller.state.scene is Scene.RECENT
        drawn = _screen(k, clock)
        assert drawn and k.controller.state.scene is Scene.RECENT, k.controller.state.fault
    finally:
        k.close()


def test_status_files_and_heartbeats_share_the_range_rule():
    from domain.contracts import parse_instant
    from domain.instants import BadInstant, read_instant

    assert parse_instant("9999-12-31T23:59:59-14:00") is None          # shown by the status bar: never overflows
    assert parse_instant("2026-11-25T10:00:00Z") is not None
    with pytest.raises(BadInstant, match="out of range"):
        read_instant("9999-12-31T23:59:59-14:00")
