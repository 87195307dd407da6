"""What a gate tells the office it must act on: an override or a guard's report reaches
`gatepass office flags` (and /console/flags), the gate's screen having said "the office was told"."""
from __future__ import annotations

from datetime import datetime

from domain.exitrow import EntryKind, LogEntry
from kiosk.exitlog import ExitLog
from office.console.labels import flag_label
from office.ingest import list_flags
from tests.office.harness import CST, OfficeServer
from tests.office.test_api import client
from tests.office.test_ingest import push


def _push(office: OfficeServer, *entries: LogEntry) -> None:
    log = ExitLog.memory("north")
    for e in entries:
        log.append(e, clock_synced=True)
    with client(office, office.add_gate("north")) as c:
        reply = push(c, list(log.rows()))
    assert reply["accepted"] == len(entries), reply


def _open_flags(office: OfficeServer) -> list[dict]:
    with office.engine.connect() as conn:
        return list_flags(conn, "default")


def test_an_override_and_a_report_each_raise_one_open_flag_with_who_and_why(office: OfficeServer) -> None:
    now = datetime.now(CST)
    override = LogEntry(EntryKind.OVERRIDE, now, guard_id="G1", slip_id="S000000001", reasons=("slip.expired",),
                        detail={"supervisor_id": "S1", "override_reason": "emergency", "flagged": True})
    report = LogEntry(EntryKind.REPORT, now, guard_id="G1", detail={"report": "suspicious_person", "scene": "idle"})
    card = LogEntry(EntryKind.CARD_PASS, now, card_uid="C1")
    _push(office, override, report, card)
    flags = _open_flags(office)
    assert [f["kind"] for f in flags] == ["override", "report"]
    o, r = flags
    assert o["gate_id"] == "north" and o["seq"] == 1 and o["slip_id"] == "S000000001"
    assert "S1" in o["message"] and "G1" in o["message"] and "emergency" in o["message"]
    assert "suspicious_person" in r["message"] and r["seq"] == 2
    # the console and the CLI name them in both languages
    assert flag_label("override")[:2] == ("主管强制放行", "Supervisor override")
    assert flag_label("report")[:2] == ("岗亭上报", "Guard's report")


def test_a_replayed_override_is_flagged_once(office: OfficeServer) -> None:
    log = ExitLog.memory("north")
    log.append(LogEntry(EntryKind.OVERRIDE, datetime.now(CST), guard_id="G1", card_uid="C9",
                        detail={"supervisor_id": "S1", "override_reason": "other"}), clock_synced=True)
    with client(office, office.add_gate("north")) as c:
        push(c, list(log.rows()))
        push(c, list(log.rows()))
    assert [f["kind"] for f in _open_flags(office)] == ["override"]


def test_wrong_pins_at_a_gate_reach_the_office_and_the_lock_out_is_flagged(office: OfficeServer) -> None:
    """The real core at a gate: a guard types wrong PINs until the badge locks; the rows go
    through the real exit log and push, and the clerk sees each and one open lock-out flag."""
    from datetime import timedelta

    from domain.model import MAX_PIN_FAILURES
    from kiosk.core.events import Action, CardPresented, Press, Record
    from kiosk.core.flow import Timeouts, initial_state, step
    from tests.factories import GATE, GUARD

    s, now = initial_state(GATE, Timeouts()), datetime.now(CST)
    log = ExitLog.memory("north")
    wrong = [Press(Action.DIGIT, "0")] * 4 + [Press(Action.PIN_SUBMIT)]
    for ev in [CardPresented(GUARD.badge_uid, guard=GUARD), *wrong * MAX_PIN_FAILURES]:
        now += timedelta(seconds=1)
        s, cmds = step(s, ev, now)
        for c in cmds:
            if isinstance(c, Record):
                log.append(c.entry, clock_synced=True)
    with client(office, office.add_gate("north")) as c:
        reply = push(c, list(log.rows()))
    assert reply["accepted"] == MAX_PIN_FAILURES
    assert [e["kind"] for e in office.events("north")] == ["pin_failure"] * MAX_PIN_FAILURES
    [flag] = _open_flags(office)
    assert flag["kind"] == "pin_lockout" and flag["seq"] == MAX_PIN_FAILURES
    assert "G1" in flag["message"] and "locked until" in flag["message"]
    assert flag_label("pin_lockout")[:2] == ("工牌密码锁定", "Badge locked (wrong PINs)")
