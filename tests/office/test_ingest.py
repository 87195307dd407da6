"""Pushed exit-log rows: replays and reorders store nothing twice; edits and forks are flagged, not stored."""
from __future__ import annotations

import httpx

from tests.office.harness import OfficeServer
from tests.office.test_api import client, rows_of


def push(c: httpx.Client, rows: list[dict]) -> dict:
    r = c.post("/events", json={"events": rows})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_replayed_batch_is_acknowledged_without_duplicate_rows(office: OfficeServer) -> None:
    rows = rows_of("north", 5)
    with client(office, office.add_gate("north")) as c:
        first = push(c, rows)
        again = push(c, rows)
        partial = push(c, rows[2:4])
    assert (first["accepted"], first["acked_seq"]) == (5, 5)
    assert (again["accepted"], again["duplicates"], again["acked_seq"]) == (0, 5, 5)
    assert partial["duplicates"] == 2
    assert [e["seq"] for e in office.events("north")] == [1, 2, 3, 4, 5]
    assert office.flags() == []


def test_a_stored_row_re_sent_with_other_contents_is_refused_and_flagged_not_counted_a_duplicate(office: OfficeServer) -> None:
    # Same seq, event id and hash, another guard or slip: the office stored one thing and is told
    # another. It keeps what it stored, refuses the resend and flags it (issue 18).
    rows = rows_of("north", 3)
    with client(office, office.add_gate("north")) as c:
        assert push(c, rows)["accepted"] == 3
        forged = dict(rows[1], guard_id="G999", detail={"note": "rewritten"})
        again = push(c, [forged])
        honest = push(c, [rows[1]])
    assert (again["duplicates"], [r["reason"] for r in again["rejected"]]) == (0, ["edited"])
    assert honest["duplicates"] == 1 and honest["rejected"] == []
    assert [e["guard_id"] for e in office.events("north")] == [r["guard_id"] for r in rows]
    (flag,) = office.flags("edited")
    assert flag["seq"] == 2 and "other contents" in flag["message"]


def test_reordered_batches_are_held_then_accepted_once(office: OfficeServer) -> None:
    rows = rows_of("north", 10)
    with client(office, office.add_gate("north")) as c:
        late = push(c, rows[5:])          # arrives first: held, not acknowledged
        assert (late["accepted"], late["held"], late["acked_seq"]) == (0, 5, 0)
        assert [f["kind"] for f in office.flags()] == ["gap"]
        early = push(c, rows[:5])         # fills the gap: the held rows join the chain
        again = push(c, list(reversed(rows)))
    assert early["acked_seq"] == 10 and early["accepted"] == 10
    assert again["duplicates"] == 10
    assert [e["event_id"] for e in office.events("north")] == [r["event_id"] for r in rows]
    gap = office.flags("gap")[0]
    assert gap["resolved_at"] is not None


def test_an_edited_row_is_flagged_and_not_accepted(office: OfficeServer) -> None:
    rows = rows_of("north", 4)
    rows[2] = dict(rows[2], card_uid="FORGED")
    with client(office, office.add_gate("north")) as c:
        reply = push(c, rows)
        again = push(c, rows)
    assert reply["acked_seq"] == 2
    assert reply["rejected"] == [{"seq": 3, "reason": "edited", "detail": "hash does not match the row's contents (row edited)"}]
    assert again["acked_seq"] == 2
    assert len(office.flags("edited")) == 1          # flagged once, however often it is offered
    assert [e["seq"] for e in office.events("north")] == [1, 2]


def test_a_different_row_under_an_accepted_sequence_number_is_a_fork(office: OfficeServer) -> None:
    with client(office, office.add_gate("north")) as c:
        push(c, rows_of("north", 3))
        other = rows_of("north", 3)       # a second log for the same gate: same seqs, other rows
        reply = push(c, other)
    assert reply["acked_seq"] == 3
    assert {r["reason"] for r in reply["rejected"]} == {"fork"}
    assert len(office.flags("fork")) == 3
    assert len(office.events("north")) == 3


def test_a_double_release_is_flagged_and_both_gates_get_the_consumptions(office: OfficeServer) -> None:
    from datetime import datetime

    from domain.exitrow import EntryKind, LogEntry
    from kiosk.exitlog import ExitLog
    from tests.office.harness import CST

    slip_id = office.issue_slip()
    seen = {}
    for gate_id in ("north", "south"):
        log = ExitLog.memory(gate_id)
        log.append(LogEntry(EntryKind.RELEASE, datetime.now(CST), slip_id=slip_id), clock_synced=False)
        with client(office, office.add_gate(gate_id)) as c:
            push(c, list(log.rows()))
            seen[gate_id] = [ch for ch in c.get("/replica").json()["changes"] if ch["table"] == "consumed_slips"]
    assert len(seen["north"]) == 1 and len(seen["south"]) == 2
    flag = office.flags("double_use")[0]
    assert flag["slip_id"] == slip_id and "north" in flag["message"] and "south" in flag["message"]


def test_simultaneous_pushes_of_one_slip_from_two_gates_are_still_flagged(office: OfficeServer) -> None:
    import threading
    from datetime import datetime

    from domain.exitrow import EntryKind, LogEntry
    from kiosk.exitlog import ExitLog
    from tests.office.harness import CST

    gates = {g: (office.add_gate(g), ExitLog.memory(g)) for g in ("north", "south")}
    slips = [office.issue_slip() for _ in range(8)]
    for slip_id in slips:
        for _, log in gates.values():
            log.append(LogEntry(EntryKind.RELEASE, datetime.now(CST), slip_id=slip_id), clock_synced=True)
    barrier = threading.Barrier(2)

    def pusher(credential: str, rows: list[dict]) -> None:
        with client(office, credential) as c:
            for row in rows:            # one row per request, both gates at the same moment
                barrier.wait()
                push(c, [row])

    threads = [threading.Thread(target=pusher, args=(cred, list(log.rows()))) for cred, log in gates.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(f["slip_id"] for f in office.flags("double_use")) == sorted(slips)
