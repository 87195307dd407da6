"""The gate procedure as tables of events through step(): what each tap and card leads to."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from domain.exitrow import EntryKind
from domain.model import PIN_LOCKOUT_MINUTES, Guard, PermitStatus, Role, SlipStatus
from domain.reasons import Reason
from kiosk.core.events import (
    Action,
    CardPresented,
    DeviceChanged,
    ExitRequested,
    Fault,
    FaultKind,
    FaultSource,
    OpenGate,
    Press,
    Record,
    Recovered,
    SafeState,
    Shutdown,
    Signal,
    SignalPattern,
    SlipPresented,
    Tick,
)
from kiosk.core.flow import MAX_PIN_FAILURES, PRESS_TABLE, Scene, Timeouts, initial_state, step
from tests.factories import GATE, GUARD, GUARD2, NOW, SUPERVISOR, evidence, permit, slip


def badge(g=GUARD):
    return CardPresented(g.badge_uid, guard=g)


def card(p=None):
    p = p or permit()
    return CardPresented(p.card_uid, permit=p)


def pin(digits):
    return [Press(Action.DIGIT, d) for d in digits] + [Press(Action.PIN_SUBMIT)]


def play(events, state=None, start=NOW, gap=1.0):
    """Feed events one second apart; return the final state and every command, in order."""
    s = state or initial_state(GATE, Timeouts())
    out = []
    now = start
    for ev in events:
        now += timedelta(seconds=gap)
        s, cmds = step(s, ev, now)
        out.extend(cmds)
    return s, out


def records(cmds):
    return [c.entry for c in cmds if isinstance(c, Record)]


def on_shift():
    s, _ = play([badge(), *pin("1234")])
    return s


def slip_in(ev=None, state=None):
    return SlipPresented(ev or evidence())


# ------------------------------------------------------------------ shift


def test_guard_signs_in_with_badge_then_pin():
    s, cmds = play([badge()])
    assert s.scene is Scene.SIGN_IN_PIN and s.pending_guard == GUARD and s.guard is None
    s, cmds = play(pin("1234"), s)
    assert s.scene is Scene.IDLE and s.guard == GUARD and s.pin == ""
    assert [e.kind for e in records(cmds)] == [EntryKind.SHIFT_START]
    assert records(cmds)[0].guard_id == "G1"


def test_wrong_pin_is_said_and_clears_the_digits_and_too_many_end_the_attempt():
    s, cmds = play([badge(), *pin("1111")])
    assert s.scene is Scene.SIGN_IN_PIN and s.notice is Reason.GUARD_PIN_WRONG and s.pin == "" and s.guard is None
    assert [(e.kind, e.detail["badge_guard_id"], e.detail["failures"]) for e in records(cmds)] == [
        (EntryKind.PIN_FAILURE, "G1", 1)]
    for _ in range(MAX_PIN_FAILURES - 1):
        s, cmds = play(pin("0000"), s)
    assert s.scene is Scene.IDLE and s.guard is None
    assert Signal(SignalPattern.ALERT) in cmds


def test_every_wrong_pin_is_logged_and_the_last_allowed_one_locks_the_badge_for_the_lockout():
    s, cmds = play([badge(), *pin("1111") * MAX_PIN_FAILURES])
    rows = records(cmds)
    assert [e.kind for e in rows] == [EntryKind.PIN_FAILURE] * MAX_PIN_FAILURES
    assert [e.detail["failures"] for e in rows] == list(range(1, MAX_PIN_FAILURES + 1))
    assert "locked_until" not in rows[-2].detail
    until = datetime.fromisoformat(rows[-1].detail["locked_until"])
    assert until - rows[-1].at == timedelta(minutes=PIN_LOCKOUT_MINUTES)
    assert s.scene is Scene.IDLE and s.notice is Reason.GUARD_PIN_LOCKED
    # tapping the badge again does not open the keypad: the lock-out holds, whatever the scene
    s, cmds = play([badge()], s)
    assert s.scene is Scene.IDLE and s.notice is Reason.GUARD_PIN_LOCKED and records(cmds) == []
    assert Reason.GUARD_PIN_LOCKED.text.zh.startswith("密码连续错误") and "locked" in Reason.GUARD_PIN_LOCKED.text.en
    # another guard signs in meanwhile, and the lock survives their shift starting
    s, _ = play([badge(GUARD2), *pin("2468"), badge()], s)
    assert s.scene is Scene.IDLE and s.guard == GUARD2 and s.notice is Reason.GUARD_PIN_LOCKED
    # once the lock-out is over, the right PIN signs in and the count starts again
    s, cmds = play([badge(), *pin("1234")], s, start=until)
    assert s.guard == GUARD and [e.kind for e in records(cmds)] == [EntryKind.SHIFT_END, EntryKind.SHIFT_START]


def test_a_right_pin_resets_the_count_of_wrong_ones():
    s, _ = play([badge(), *pin("1111") * (MAX_PIN_FAILURES - 1), *pin("1234")])
    assert s.guard == GUARD
    s, cmds = play([Press(Action.SIGN_OUT), *pin("0000")], s)
    assert records(cmds)[-1].detail["failures"] == 1 and s.scene is Scene.SIGN_OUT_CONFIRM


def test_wrong_pins_at_sign_off_count_against_the_guard_on_shift_and_lock_them():
    s, _ = play([slip_in(), Press(Action.ALL_MATCH), Press(Action.CONFIRM_IDENTITY)], on_shift())
    s, cmds = play(pin("0000") * MAX_PIN_FAILURES, s)
    rows = records(cmds)
    assert all(e.kind is EntryKind.PIN_FAILURE and e.guard_id == "G1" and e.detail["scene"] == "sign_off" for e in rows)
    assert "locked_until" in rows[-1].detail and OpenGate() not in cmds and s.notice is Reason.GUARD_PIN_LOCKED


def test_pin_entry_ignores_non_digits_and_caps_length_and_backspace_works():
    s, _ = play([badge(), Press(Action.DIGIT, "x"), Press(Action.DIGIT, "12"), *[Press(Action.DIGIT, "1")] * 12])
    assert s.pin == "1" * 8
    s, _ = play([Press(Action.BACKSPACE)], s)
    assert s.pin == "1" * 7


def test_handover_ends_one_shift_and_starts_the_next():
    s, cmds = play([badge(GUARD2), *pin("2468")], on_shift())
    assert s.guard == GUARD2
    kinds = [(e.kind, e.guard_id) for e in records(cmds)]
    assert kinds == [(EntryKind.SHIFT_END, "G1"), (EntryKind.SHIFT_START, "G2")]


def test_sign_out_by_badge_then_confirm():
    s, _ = play([badge()], on_shift())
    assert s.scene is Scene.SIGN_OUT_CONFIRM
    s, cmds = play([Press(Action.CONFIRM)], s)
    assert s.guard is None and [e.kind for e in records(cmds)] == [EntryKind.SHIFT_END]


def test_a_kiosk_stopped_with_a_guard_on_shift_ends_the_shift_and_one_with_nobody_records_nothing():
    # systemd's stop, a reboot or an update: the guard's shift ended unrecorded (issue 18).
    s, cmds = play([Shutdown()], on_shift())
    assert s.guard is None and [(e.kind, e.guard_id, e.detail) for e in records(cmds)] == [
        (EntryKind.SHIFT_END, "G1", {"ended_by": "kiosk_stopped"})]
    s, cmds = play([Shutdown()], s)
    assert records(cmds) == []


def test_sign_out_button_needs_the_pin_not_just_a_tap():
    s, cmds = play([Press(Action.SIGN_OUT), Press(Action.CONFIRM)], on_shift())
    assert s.guard == GUARD and records(cmds) == []
    s, cmds = play(pin("1234"), s)
    assert s.guard is None and [e.kind for e in records(cmds)] == [EntryKind.SHIFT_END]


def test_pin_entry_times_out_back_to_idle():
    s, _ = play([badge()])
    s, _ = step(s, Tick(), NOW + timedelta(seconds=31 + 1))
    assert s.scene is Scene.IDLE and s.pending_guard is None


# ------------------------------------------------------------------ cards


@pytest.mark.parametrize("p, kind, reason, opens", [
    (permit(), EntryKind.CARD_PASS, Reason.CARD_VALID, True),
    (permit(PermitStatus.LOST), EntryKind.CARD_DENIED, Reason.CARD_LOST, False),
    (permit(end=NOW), EntryKind.CARD_DENIED, Reason.CARD_EXPIRED, False),
])
def test_card_presented_is_decided_recorded_and_opens_only_when_valid(p, kind, reason, opens):
    s, cmds = play([card(p)], on_shift())
    assert s.scene is Scene.CARD_RESULT and s.card.reason is reason
    [entry] = records(cmds)
    assert entry.kind is kind and entry.reasons == (reason.value,) and entry.permit_id == p.permit_id
    assert (OpenGate() in cmds) is opens


def test_unknown_card_is_denied_and_recorded_with_its_uid():
    s, cmds = play([CardPresented("DEADBEEF01")], on_shift())
    [entry] = records(cmds)
    assert s.card.reason is Reason.CARD_UNKNOWN and entry.card_uid == "DEADBEEF01" and OpenGate() not in cmds


def test_cards_work_without_a_guard_on_shift_but_are_recorded_without_one():
    s, cmds = play([card()])
    assert s.card.allowed and records(cmds)[0].guard_id == ""


def test_card_result_returns_to_idle_after_its_timeout():
    s, _ = play([card()], on_shift())
    s, _ = step(s, Tick(), NOW + timedelta(seconds=1 + 1 + 8 + 7))
    assert s.scene is Scene.IDLE and s.card is None and s.guard == GUARD


# ------------------------------------------------------------------ slips


def test_no_slip_is_handled_without_a_guard_on_shift():
    s, cmds = play([slip_in()])
    assert s.scene is Scene.REFUSED and s.refusal == (Reason.GUARD_NOT_ON_SHIFT,)
    assert records(cmds) == [] and OpenGate() not in cmds


def full_release(*extra):
    return [slip_in(), Press(Action.ALL_MATCH), card(permit()), badge(), *extra]


def test_the_whole_release_records_departure_and_opens_the_gate():
    s, cmds = play(full_release(), on_shift())
    assert s.scene is Scene.RELEASED
    [entry] = records(cmds)
    assert entry.kind is EntryKind.RELEASE and entry.slip_id == "S261125001" and entry.guard_id == "G1"
    assert entry.detail["identity"] == "card" and entry.detail["signed_by"] == "badge"
    assert entry.detail["departure"] == entry.at.isoformat()
    assert cmds[-2:] == [OpenGate(), Signal(SignalPattern.ACCEPTED)]
    assert cmds.index(OpenGate()) > cmds.index(next(c for c in cmds if isinstance(c, Record)))


def test_items_can_be_ticked_line_by_line_and_confirmed_only_when_all_are_ticked():
    s, _ = play([slip_in(), Press(Action.TOGGLE_ITEM, "0"), Press(Action.ITEMS_CONFIRMED)], on_shift())
    assert s.scene is Scene.SLIP_ITEMS and s.case.checked == (True, False)
    s, _ = play([Press(Action.TOGGLE_ITEM, "9"), Press(Action.TOGGLE_ITEM, "x"), Press(Action.TOGGLE_ITEM, "1"),
                 Press(Action.ITEMS_CONFIRMED)], s)
    assert s.scene is Scene.SLIP_IDENTITY and s.case.checked == (True, True)


def test_guard_can_confirm_identity_against_photo_and_id_and_sign_off_with_pin():
    s, cmds = play([slip_in(), Press(Action.ALL_MATCH), Press(Action.CONFIRM_IDENTITY), *pin("1234")], on_shift())
    [entry] = records(cmds)
    assert s.scene is Scene.RELEASED and entry.detail["identity"] == "guard" and entry.detail["signed_by"] == "pin"


def test_someone_elses_card_does_not_identify_the_carrier():
    other = permit(pid="R9", id_hash="h-other")
    s, cmds = play([slip_in(), Press(Action.ALL_MATCH), card(other)], on_shift())
    assert s.scene is Scene.SLIP_IDENTITY and s.notice is Reason.SLIP_CARRIER_MISMATCH and cmds == []


def test_a_lost_card_of_the_mover_does_not_identify_them():
    s, _ = play([slip_in(), Press(Action.ALL_MATCH), card(permit(PermitStatus.LOST))], on_shift())
    assert s.scene is Scene.SLIP_IDENTITY


def test_sign_off_needs_the_guard_on_shift():
    s, cmds = play([slip_in(), Press(Action.ALL_MATCH), Press(Action.CONFIRM_IDENTITY), badge(GUARD2)], on_shift())
    assert s.scene is Scene.SIGN_OFF and records(cmds) == [] and OpenGate() not in cmds
    s, cmds = play(pin("2468"), s)   # the other guard's PIN is not the on-shift guard's
    assert s.scene is Scene.SIGN_OFF and OpenGate() not in cmds


@pytest.mark.parametrize("choice, reason", [("extra_items", Reason.SLIP_ITEMS_MISMATCH),
                                            ("carrier_not_listed", Reason.SLIP_CARRIER_MISMATCH)])
def test_mismatch_refuses_the_slip_with_the_picked_reason(choice, reason):
    s, cmds = play([slip_in(), Press(Action.MISMATCH), Press(Action.MISMATCH_REASON, choice)], on_shift())
    assert s.scene is Scene.REFUSED and s.refusal == (reason,)
    [entry] = records(cmds)
    assert entry.kind is EntryKind.REFUSAL and entry.detail["mismatch"] == choice and OpenGate() not in cmds
    assert "前台" in reason.text.next_zh


def test_mismatch_picker_can_be_cancelled_back_to_the_check():
    s, _ = play([slip_in(), Press(Action.MISMATCH), Press(Action.CANCEL)], on_shift())
    assert s.scene is Scene.SLIP_ITEMS


def test_a_forged_code_is_refused_and_recorded_with_what_was_shown():
    s, cmds = play([slip_in(evidence(token_reason=Reason.SLIP_SIGNATURE_INVALID))], on_shift())
    [entry] = records(cmds)
    assert s.refusal == (Reason.SLIP_SIGNATURE_INVALID,) and entry.detail["code_prefix"] == "GP1:TEST"


def test_a_refused_slip_is_recorded_with_all_its_reasons():
    ev = evidence(slip(status=SlipStatus.CANCELLED), unpaid=True)
    s, cmds = play([slip_in(ev)], on_shift())
    assert s.scene is Scene.REFUSED and s.refusal[0] is Reason.SLIP_CANCELLED
    assert records(cmds)[0].reasons == ("slip.cancelled", "slip.unpaid_fees")


def test_abandoned_slip_check_times_out_without_recording():
    s, _ = play([slip_in(), Press(Action.ALL_MATCH)], on_shift())
    s, cmds = step(s, Tick(), NOW + timedelta(minutes=10))
    assert s.scene is Scene.IDLE and s.case is None and cmds == []


def test_a_new_slip_does_not_interrupt_one_in_hand():
    s, _ = play([slip_in(), Press(Action.ALL_MATCH)], on_shift())
    s2, cmds = play([slip_in()], s)
    assert s2.scene is Scene.SLIP_IDENTITY and cmds == []


def test_cancel_abandons_the_slip():
    s, cmds = play([slip_in(), Press(Action.CANCEL)], on_shift())
    assert s.scene is Scene.IDLE and cmds == []


# ------------------------------------------------------------------ override, report, recent, faults


def test_supervisor_override_of_a_refused_slip_is_flagged_and_opens():
    refused = evidence(slip(end=NOW - timedelta(minutes=1)))
    s, cmds = play([slip_in(refused), Press(Action.OVERRIDE), badge(GUARD2)], on_shift())
    assert s.scene is Scene.OVERRIDE_BADGE and s.notice is Reason.GUARD_NOT_SUPERVISOR
    s, cmds = play([badge(SUPERVISOR), *pin("9999"), Press(Action.OVERRIDE_REASON, "bogus"),
                    Press(Action.OVERRIDE_REASON, "office_confirmed_by_phone")], s)
    assert s.scene is Scene.RELEASED and s.released_override
    [entry] = records(cmds)
    assert entry.kind is EntryKind.OVERRIDE and entry.detail["supervisor_id"] == "S1" and entry.detail["flagged"]
    assert entry.reasons == ("slip.expired",) and OpenGate() in cmds


def test_an_override_takes_a_second_person_with_badge_and_pin_and_records_both():
    s, cmds = play([slip_in(EXPIRED_SLIP), Press(Action.OVERRIDE), badge(SUPERVISOR)], on_shift())
    assert s.scene is Scene.OVERRIDE_PIN and [e.kind for e in records(cmds)] == [EntryKind.REFUSAL]
    assert OpenGate() not in cmds
    # a badge alone is no authority: picking a reason before the PIN does nothing
    assert step(s, Press(Action.OVERRIDE_REASON, "emergency"), NOW + timedelta(seconds=10)) == (s, [])
    s, cmds = play(pin("1234"), s)                       # the guard's PIN is not the supervisor's
    assert s.scene is Scene.OVERRIDE_PIN and s.notice is Reason.GUARD_PIN_WRONG
    assert [(e.kind, e.detail["badge_guard_id"]) for e in records(cmds)] == [(EntryKind.PIN_FAILURE, "S1")]
    s, cmds = play([*pin("9999"), Press(Action.OVERRIDE_REASON, "emergency")], s)
    [entry] = records(cmds)
    assert entry.kind is EntryKind.OVERRIDE and entry.guard_id == "G1"
    assert (entry.detail["guard_on_shift"], entry.detail["supervisor_id"], entry.detail["supervisor_auth"]) == (
        "G1", "S1", "badge+pin")
    assert OpenGate() in cmds


def test_the_supervisor_on_shift_cannot_approve_their_own_override():
    other = Guard("S2", "赵敏", "B8", SUPERVISOR.pin_hash, Role.SUPERVISOR)
    s, _ = play([badge(SUPERVISOR), *pin("9999"), card(permit(end=NOW)), Press(Action.OVERRIDE), badge(SUPERVISOR)])
    assert s.guard == SUPERVISOR and s.scene is Scene.OVERRIDE_BADGE and s.notice is Reason.GUARD_OWN_OVERRIDE
    text = Reason.GUARD_OWN_OVERRIDE.text
    assert text.zh == "值班人员不能为自己授权放行" and "own override" in text.en
    s, cmds = play([badge(other), *pin("9999"), Press(Action.OVERRIDE_REASON, "emergency")], s)
    [entry] = records(cmds)
    assert entry.kind is EntryKind.OVERRIDE
    assert (entry.guard_id, entry.detail["supervisor_id"]) == ("S1", "S2") and OpenGate() in cmds


def test_no_override_of_a_denied_card_without_a_guard_on_shift():
    s, cmds = play([card(permit(end=NOW)), Press(Action.OVERRIDE)])
    assert s.scene is Scene.CARD_RESULT and s.notice is Reason.GUARD_NOT_ON_SHIFT


def test_a_supervisor_locked_out_cannot_approve_and_the_override_goes_back_to_the_refusal():
    s, cmds = play([slip_in(EXPIRED_SLIP), Press(Action.OVERRIDE), badge(SUPERVISOR), *pin("0000") * MAX_PIN_FAILURES],
                   on_shift())
    assert "locked_until" in records(cmds)[-1].detail
    assert s.scene is Scene.REFUSED and s.supervisor is None and s.notice is Reason.GUARD_PIN_LOCKED
    s, cmds = play([Press(Action.OVERRIDE), badge(SUPERVISOR)], s)
    assert s.scene is Scene.OVERRIDE_BADGE and s.notice is Reason.GUARD_PIN_LOCKED and OpenGate() not in cmds


def test_override_of_a_denied_card():
    s, cmds = play([card(permit(end=NOW)), Press(Action.OVERRIDE), badge(SUPERVISOR), *pin("9999"),
                    Press(Action.OVERRIDE_REASON, "emergency")], on_shift())
    entry = records(cmds)[-1]
    assert entry.kind is EntryKind.OVERRIDE and entry.reasons == ("card.expired",) and OpenGate() in cmds


def test_no_override_of_a_valid_card_or_of_the_no_guard_refusal():
    s, _ = play([card(), Press(Action.OVERRIDE)], on_shift())
    assert s.scene is Scene.CARD_RESULT
    s, _ = play([slip_in(), Press(Action.OVERRIDE)])
    assert s.scene is Scene.REFUSED


def test_report_suspicious_records_and_returns_to_the_slip_in_hand():
    s, cmds = play([slip_in(), Press(Action.REPORT), Press(Action.REPORT_REASON, "suspicious_items")], on_shift())
    assert s.scene is Scene.SLIP_ITEMS and s.case is not None
    [entry] = records(cmds)
    assert entry.kind is EntryKind.REPORT and entry.slip_id == "S261125001" and Signal(SignalPattern.ALERT) in cmds


def test_recent_events_scene_opens_and_times_out():
    s, _ = play([Press(Action.RECENT)], on_shift())
    assert s.scene is Scene.RECENT
    s, _ = step(s, Tick(), NOW + timedelta(minutes=5))
    assert s.scene is Scene.IDLE


DISK_FULL = Fault(FaultSource.STORE, FaultKind.DISK_FULL, "exitlog.db: database or disk is full")


def test_a_fault_puts_the_gate_out_of_service_with_outputs_off_until_recovered():
    s, cmds = play([slip_in(), DISK_FULL], on_shift())
    assert s.scene is Scene.OUT_OF_SERVICE and s.fault == DISK_FULL and cmds == [SafeState()]
    s, cmds = play([card(), slip_in(), Press(Action.ALL_MATCH)], s)
    assert s.scene is Scene.OUT_OF_SERVICE and cmds == []
    s, _ = play([Recovered(FaultSource.CAMERA)], s)        # not what broke: stays closed
    assert s.scene is Scene.OUT_OF_SERVICE
    s, _ = play([Recovered(FaultSource.STORE)], s)
    assert s.scene is Scene.IDLE and s.guard == GUARD and s.fault is None


# (device, online, scene before) -> scene after, and whether the outputs were made safe
GPIO_RULE = [
    (FaultSource.GPIO, False, Scene.IDLE, Scene.OUT_OF_SERVICE, True),
    (FaultSource.GPIO, False, Scene.SLIP_ITEMS, Scene.OUT_OF_SERVICE, True),
    (FaultSource.GPIO, False, Scene.SIGN_IN_PIN, Scene.OUT_OF_SERVICE, True),
    (FaultSource.READER, False, Scene.IDLE, Scene.IDLE, False),
    (FaultSource.CAMERA, False, Scene.SLIP_ITEMS, Scene.SLIP_ITEMS, False),
    (FaultSource.GPIO, True, Scene.IDLE, Scene.IDLE, False),
    (FaultSource.READER, True, Scene.SLIP_ITEMS, Scene.SLIP_ITEMS, False),
]


def _at(scene):
    if scene is Scene.SLIP_ITEMS:
        return play([slip_in()], on_shift())[0]
    if scene is Scene.SIGN_IN_PIN:
        return play([badge(GUARD2)], on_shift())[0]
    return on_shift()


@pytest.mark.parametrize("device, online, before, after, safe", GPIO_RULE)
def test_device_health_table_only_gpio_offline_closes_the_gate(device, online, before, after, safe):
    s0 = _at(before)
    assert s0.scene is before
    s, cmds = step(s0, DeviceChanged(device, online, "unplugged"), NOW + timedelta(seconds=30))
    assert s.scene is after
    assert (cmds == [SafeState()]) is safe
    if after is Scene.OUT_OF_SERVICE:
        assert s.fault == Fault(FaultSource.GPIO, FaultKind.DEVICE_OFFLINE, "unplugged")
    else:
        assert s == s0 and cmds == []


# (what closed the gate, which device comes back online) -> back in service?
GPIO_RECOVERY = [
    (Fault(FaultSource.GPIO, FaultKind.DEVICE_OFFLINE, "gone"), FaultSource.GPIO, True),
    (Fault(FaultSource.GPIO, FaultKind.DEVICE_FAILED, "relay driver error"), FaultSource.GPIO, True),
    (Fault(FaultSource.GPIO, FaultKind.DEVICE_OFFLINE, "gone"), FaultSource.READER, False),
    (Fault(FaultSource.READER, FaultKind.DEVICE_OFFLINE, "unplugged"), FaultSource.READER, True),
    (DISK_FULL, FaultSource.GPIO, False),
    (Fault(FaultSource.CORE, FaultKind.EXCEPTION, "KeyError: 'x'"), FaultSource.GPIO, False),
]


@pytest.mark.parametrize("fault, back, reopens", GPIO_RECOVERY)
def test_only_the_device_that_closed_the_gate_reopens_it(fault, back, reopens):
    s, _ = play([fault], on_shift())
    s, cmds = play([DeviceChanged(back, True, "")], s)
    assert (s.scene is Scene.IDLE) is reopens and cmds == []
    assert s.guard == GUARD                         # the shift survives an outage
    if not reopens:
        assert s.scene is Scene.OUT_OF_SERVICE and s.fault == fault


def test_gpio_offline_without_detail_still_says_what_broke():
    s, _ = play([DeviceChanged(FaultSource.GPIO, False)], on_shift())
    assert s.fault is not None and s.fault.message == "gate I/O offline"


def test_exit_button_opens_and_is_recorded_without_disturbing_the_slip_in_hand():
    s, _ = play([slip_in(), Press(Action.ALL_MATCH)], on_shift())
    s2, cmds = play([ExitRequested()], s)
    assert s2.scene is Scene.SLIP_IDENTITY and s2.case == s.case
    assert [e.kind for e in records(cmds)] == [EntryKind.EXIT_REQUEST] and OpenGate() in cmds


def test_exit_button_does_nothing_while_out_of_service():
    s, _ = play([Fault(FaultSource.GPIO, FaultKind.DEVICE_FAILED, "relay driver failed")], on_shift())
    s, cmds = play([ExitRequested()], s)
    assert s.scene is Scene.OUT_OF_SERVICE and cmds == []


def test_step_is_pure():
    s0 = on_shift()
    a = play(full_release(), s0)
    b = play(full_release(), s0)
    assert a[0] == b[0] and [type(c) for c in a[1]] == [type(c) for c in b[1]]
    assert records(a[1])[0].detail == records(b[1])[0].detail


# ------------------------------------------------------------------ the press table and the return stack

R, C = Press(Action.REPORT), Press(Action.CANCEL)
EXPIRED_SLIP = evidence(slip(end=NOW - timedelta(minutes=1)))

# (name, how to get there, taps, the scene and return stack after each tap)
RETURN_PATHS = [
    ("report over the mismatch picker, cancelled twice",
     [slip_in(), Press(Action.MISMATCH)], [R, C, C],
     [(Scene.REPORT_REASON, (Scene.SLIP_ITEMS, Scene.MISMATCH_PICK)),
      (Scene.MISMATCH_PICK, (Scene.SLIP_ITEMS,)),
      (Scene.SLIP_ITEMS, ())]),
    ("report chosen over the mismatch picker goes back to the picker, then to the identity check",
     [slip_in(), Press(Action.ALL_MATCH), Press(Action.MISMATCH)],
     [R, Press(Action.REPORT_REASON, "suspicious_items"), C],
     [(Scene.REPORT_REASON, (Scene.SLIP_IDENTITY, Scene.MISMATCH_PICK)),
      (Scene.MISMATCH_PICK, (Scene.SLIP_IDENTITY,)),
      (Scene.SLIP_IDENTITY, ())]),
    ("report over the override badge, then a supervisor, then cancel back to the refusal",
     [slip_in(EXPIRED_SLIP), Press(Action.OVERRIDE)], [R, C, badge(SUPERVISOR), C],
     [(Scene.REPORT_REASON, (Scene.REFUSED, Scene.OVERRIDE_BADGE)),
      (Scene.OVERRIDE_BADGE, (Scene.REFUSED,)),
      (Scene.OVERRIDE_PIN, (Scene.REFUSED,)),
      (Scene.REFUSED, ())]),
    ("the supervisor's PIN, then cancel back to the refusal",
     [slip_in(EXPIRED_SLIP), Press(Action.OVERRIDE), badge(SUPERVISOR)], [*pin("9999"), C],
     [(Scene.OVERRIDE_PIN, (Scene.REFUSED,))] * 4 + [(Scene.OVERRIDE_REASON, (Scene.REFUSED,)), (Scene.REFUSED, ())]),
    ("report over the override reason keeps the supervisor's authority for the override",
     [slip_in(EXPIRED_SLIP), Press(Action.OVERRIDE), badge(SUPERVISOR), *pin("9999")],
     [R, C, Press(Action.OVERRIDE_REASON, "office_confirmed_by_phone")],
     [(Scene.REPORT_REASON, (Scene.REFUSED, Scene.OVERRIDE_REASON)),
      (Scene.OVERRIDE_REASON, (Scene.REFUSED,)),
      (Scene.RELEASED, ())]),
    ("override of a denied card cancelled back to the card",
     [card(permit(end=NOW))], [Press(Action.OVERRIDE), C],
     [(Scene.OVERRIDE_BADGE, (Scene.CARD_RESULT,)), (Scene.CARD_RESULT, ())]),
    ("cancel on a base scene abandons everything",
     [slip_in()], [R, C, C],
     [(Scene.REPORT_REASON, (Scene.SLIP_ITEMS,)), (Scene.SLIP_ITEMS, ()), (Scene.IDLE, ())]),
    ("a mismatch refusal leaves nothing to return to",
     [slip_in(), Press(Action.MISMATCH)], [Press(Action.MISMATCH_REASON, "wrong_quantity"), C],
     [(Scene.REFUSED, ()), (Scene.IDLE, ())]),
]


@pytest.mark.parametrize("name, setup, taps, expected", RETURN_PATHS, ids=[p[0] for p in RETURN_PATHS])
def test_sub_screens_return_through_each_screen_beneath(name, setup, taps, expected):
    s, _ = play(setup, on_shift())
    case = s.case
    for tap, (scene, returns) in zip(taps, expected, strict=True):
        s, _ = play([tap], s)
        assert (s.scene, s.returns) == (scene, returns), tap
    if s.scene in (Scene.SLIP_ITEMS, Scene.SLIP_IDENTITY):
        assert s.case == case                      # the slip in hand survived the detour


def test_a_report_over_the_picker_records_the_screen_it_was_made_from():
    s, cmds = play([slip_in(), Press(Action.MISMATCH), R, Press(Action.REPORT_REASON, "suspicious_items")], on_shift())
    [entry] = records(cmds)
    assert entry.detail["scene"] == "mismatch_pick" and s.scene is Scene.MISMATCH_PICK


# (how to get there, scene after the first timeout, stack after it, scene after the next)
TIMEOUT_PATHS = [
    ([slip_in(), Press(Action.MISMATCH), R], Scene.MISMATCH_PICK, (Scene.SLIP_ITEMS,), Scene.IDLE),
    ([slip_in(), R], Scene.SLIP_ITEMS, (), Scene.IDLE),
    ([slip_in(EXPIRED_SLIP), Press(Action.OVERRIDE), R], Scene.IDLE, (), Scene.IDLE),
    ([slip_in(), Press(Action.MISMATCH)], Scene.IDLE, (), Scene.IDLE),
    ([card(permit(end=NOW)), Press(Action.OVERRIDE)], Scene.IDLE, (), Scene.IDLE),
]


@pytest.mark.parametrize("setup, first, stack, second", TIMEOUT_PATHS)
def test_timeouts_keep_a_slip_in_hand_only_one_level_down_and_idle_clears_the_stack(setup, first, stack, second):
    s, _ = play(setup, on_shift())
    later = NOW + timedelta(hours=1)
    s, cmds = step(s, Tick(), later)
    assert (s.scene, s.returns) == (first, stack) and cmds == []
    s, _ = step(s, Tick(), later + timedelta(hours=1))
    assert (s.scene, s.returns) == (second, ())
    assert s.guard == GUARD


def test_a_fault_clears_the_return_stack():
    s, _ = play([slip_in(), Press(Action.MISMATCH), R, DISK_FULL, Recovered(FaultSource.STORE)], on_shift())
    assert (s.scene, s.returns, s.case) == (Scene.IDLE, (), None)


def _reachable_states():
    s0 = replace(on_shift(), id_key=b"k" * 32)      # the estate's ID key: the visitor form can open
    V = Press(Action.VISITOR)
    plate = [V, *(Press(Action.KEY, k) for k in "粤B12345"), Press(Action.NEXT)]
    id_number = [*plate, *(Press(Action.KEY, k) for k in "11010519491231002X"), Press(Action.NEXT)]
    items = [*id_number, Press(Action.NEXT), Press(Action.TOGGLE_ITEM, "none")]
    visitor = [[V], plate, id_number, items, [*items, Press(Action.NEXT)], [*items, Press(Action.NEXT), Press(Action.CONFIRM)]]
    paths = [[], [badge(GUARD2)], [badge()], [card()], [card(permit(end=NOW))], [slip_in()],
             [slip_in(), Press(Action.ALL_MATCH)], [slip_in(), Press(Action.ALL_MATCH), Press(Action.CONFIRM_IDENTITY)],
             [slip_in(), Press(Action.MISMATCH)], [slip_in(EXPIRED_SLIP)], [slip_in(EXPIRED_SLIP), Press(Action.OVERRIDE)],
             [slip_in(EXPIRED_SLIP), Press(Action.OVERRIDE), badge(SUPERVISOR)],
             [slip_in(EXPIRED_SLIP), Press(Action.OVERRIDE), badge(SUPERVISOR), *pin("9999")], [R], [Press(Action.RECENT)],
             *visitor]
    return [play(p, s0)[0] for p in paths]


def test_a_button_not_in_the_table_for_a_screen_does_nothing_there():
    states = _reachable_states()
    assert {s.scene for s in states} >= set(Scene) - {Scene.RELEASED, Scene.OUT_OF_SERVICE}
    for s in states:
        for action in Action:
            if (s.scene, action) in PRESS_TABLE:
                continue
            for value in ("", "0", "suspicious_items"):
                assert step(s, Press(action, value), NOW + timedelta(seconds=30)) == (s, []), (s.scene, action)


def test_every_row_of_the_table_is_reachable_from_a_real_screen():
    scenes = {s.scene for s in _reachable_states()} | {Scene.RELEASED}
    assert {scene for scene, _ in PRESS_TABLE} <= scenes
    assert all(scene is not Scene.OUT_OF_SERVICE for scene, _ in PRESS_TABLE)
