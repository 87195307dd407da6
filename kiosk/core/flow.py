"""The gate procedure as a state machine: ``step(state, event, now) -> (state, commands)``.

DOMAIN.md's gate procedure, step by step: a guard signs in for the shift; a carrier
presents a card or a slip; for a slip the guard checks the items line by line and
the carrier's identity, then signs off, which records the departure time and opens
the gate. A mismatch refuses the slip and sends the carrier back to the front desk.
Nothing is released without a guard on shift and a sign-off; a second person, a
supervisor who is not the guard on shift, may override a refusal with badge, PIN and
a reason, which the office sees flagged. Wrong PINs are recorded, and too many in a
row lock the badge for a while (domain/rules.py pin_lockout_ends).

The state is immutable; every transition returns a new one. Commands are carried out
by the app in order, and if one fails (a Record that cannot be written) the app drops
the rest, so a gate never opens for an event that was not recorded.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from domain.exitrow import EntryKind, LogEntry
from domain.idnumber import ID_LENGTH, id_number_problem
from domain.model import MAX_PIN_FAILURES, Gate, Guard, Permit
from domain.reasons import MISMATCH_CHOICES, OVERRIDE_CHOICES, REPORT_CHOICES, Reason
from domain.rules import CardDecision, SlipDecision, decide_card, decide_slip, override_approval, pin_lockout_ends
from domain.secrets import check_pin, mask_id
from domain.visitor import (
    HONORIFICS,
    ITEM_LABELS,
    NO_ITEMS,
    PLATE_DIGITS,
    SURNAMES,
    plate_next_keys,
    plate_problem,
    visitor_detail,
    visitor_name,
)
from kiosk.core.events import (
    Action,
    CardPresented,
    Command,
    DeviceChanged,
    Event,
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

PIN_LENGTH_MAX = 8
__all__ = ["MAX_PIN_FAILURES", "PIN_LENGTH_MAX", "PRESS_TABLE", "Scene", "State", "Timeouts", "initial_state", "step", "with_lockouts"]


class Scene(str, enum.Enum):
    IDLE = "idle"
    SIGN_IN_PIN = "sign_in_pin"
    SIGN_OUT_CONFIRM = "sign_out_confirm"
    CARD_RESULT = "card_result"
    SLIP_ITEMS = "slip_items"
    SLIP_IDENTITY = "slip_identity"
    SIGN_OFF = "sign_off"
    RELEASED = "released"
    REFUSED = "refused"
    MISMATCH_PICK = "mismatch_pick"
    OVERRIDE_BADGE = "override_badge"
    OVERRIDE_PIN = "override_pin"
    OVERRIDE_REASON = "override_reason"
    REPORT_REASON = "report_reason"
    RECENT = "recent"
    VISITOR_PLATE = "visitor_plate"
    VISITOR_ID = "visitor_id"
    VISITOR_NAME = "visitor_name"
    VISITOR_ITEMS = "visitor_items"
    VISITOR_CONFIRM = "visitor_confirm"
    VISITOR_RECORDED = "visitor_recorded"
    OUT_OF_SERVICE = "out_of_service"


RESULT_SCENES = frozenset({Scene.IDLE, Scene.CARD_RESULT, Scene.RELEASED, Scene.REFUSED, Scene.VISITOR_RECORDED})
#: The registration form for a visitor without a permit (登记表), one step per screen, in order.
VISITOR_STEPS = (Scene.VISITOR_PLATE, Scene.VISITOR_ID, Scene.VISITOR_NAME, Scene.VISITOR_ITEMS, Scene.VISITOR_CONFIRM)
SLIP_SCENES = frozenset({Scene.SLIP_ITEMS, Scene.SLIP_IDENTITY, Scene.SIGN_OFF, Scene.MISMATCH_PICK})
#: Screens opened on top of another one: Cancel (or choosing) goes back down the return
#: stack. Going to any other scene starts afresh with an empty stack.
OVERRIDE_SCENES = frozenset({Scene.OVERRIDE_BADGE, Scene.OVERRIDE_PIN, Scene.OVERRIDE_REASON})
SUBSCREENS = frozenset({Scene.REPORT_REASON, Scene.MISMATCH_PICK}) | OVERRIDE_SCENES
#: Screens with the PIN keypad, and whose PIN each takes.
PIN_SCENES = frozenset({Scene.SIGN_IN_PIN, Scene.SIGN_OFF, Scene.SIGN_OUT_CONFIRM, Scene.OVERRIDE_PIN})
#: Devices without which the gate cannot be operated safely: offline closes the gate.
GATE_CLOSING_DEVICES = frozenset({FaultSource.GPIO})


@dataclass(frozen=True)
class Timeouts:
    result: float = 8.0
    interaction: float = 120.0
    pin: float = 30.0


@dataclass(frozen=True)
class SlipCase:
    """A slip under check: the decision, which lines the guard ticked, how the carrier was identified."""

    decision: SlipDecision
    checked: tuple[bool, ...] = ()
    identity: str = ""          # "card" (mover's own card) or "guard" (checked photo and ID)
    text: str = ""

    @property
    def all_checked(self) -> bool:
        return all(self.checked)


@dataclass(frozen=True)
class VisitorForm:
    """The registration form being filled in (domain/visitor.py). The ID number is held only
    until the row is recorded, and never shown in a repr."""

    plate: str = ""
    id_number: str = field(default="", repr=False)
    surname: str = ""
    honorific: str = ""          # a HONORIFICS key, or ""
    items: tuple[str, ...] = ()  # VISITOR_ITEMS keys, in the order of the list
    id_masked: str = ""          # once recorded: what the confirmation shows

    @property
    def name(self) -> str:
        return visitor_name(self.surname, self.honorific)


@dataclass(frozen=True)
class State:
    gate: Gate
    timeouts: Timeouts = Timeouts()
    scene: Scene = Scene.IDLE
    guard: Guard | None = None                # on shift
    pending_guard: Guard | None = None        # badge tapped, PIN awaited (or sign-out authenticated)
    pin: str = ""
    pin_failures: tuple[tuple[str, int], ...] = ()      # wrong PINs in a row, per guard id (kept across scenes)
    locked: tuple[tuple[str, datetime], ...] = ()       # badges locked out, per guard id, until when
    card: CardDecision | None = None
    card_uid: str = ""
    case: SlipCase | None = None
    refusal: tuple[Reason, ...] = ()
    refusal_choice: str = ""
    supervisor: Guard | None = None           # the override's approver, once badge and PIN are proven
    released_override: bool = False
    returns: tuple[Scene, ...] = ()          # where Cancel goes back to, innermost last
    notice: Reason | None = None             # a banner on the current scene
    fault: Fault | None = None                # why the gate is out of service
    deadline: datetime | None = None
    visitor: VisitorForm | None = None        # the registration form in hand
    id_key: bytes = field(default=b"", repr=False)   # the estate's ID HMAC key (domain/secrets.py id_hash)


Step = tuple[State, list[Command]]


def initial_state(gate: Gate, timeouts: Timeouts = Timeouts(), id_key: bytes = b"") -> State:
    """The gate at start. Without ``id_key`` (the estate's ID HMAC key) visitors cannot be registered."""
    return State(gate=gate, timeouts=timeouts, id_key=id_key)


def _fresh(s: State, guard: Guard | None) -> State:
    """A clean slate with ``guard`` on shift: the gate's PIN failure counts and lock-outs stay."""
    return State(gate=s.gate, timeouts=s.timeouts, guard=guard, pin_failures=s.pin_failures, locked=s.locked,
                 id_key=s.id_key)


def with_lockouts(s: State, locks: Mapping[str, datetime]) -> State:
    """``s`` with badges locked out until the given times (rebuilt from the exit log at start)."""
    kept = tuple((g, t) for g, t in s.locked if g not in locks)
    return replace(s, locked=kept + tuple(locks.items()))


def _idle(s: State) -> State:
    """Back to idle, keeping only the shift (and the PIN lock-outs)."""
    return _fresh(s, s.guard)


def _locked_until(s: State, guard: Guard, now: datetime) -> datetime | None:
    """Until when ``guard``'s badge is locked out of PIN entry (None: it is not)."""
    until = dict(s.locked).get(guard.guard_id)
    return until if until is not None and now < until else None


def _failures(s: State, guard: Guard) -> int:
    return dict(s.pin_failures).get(guard.guard_id, 0)


def _set_failures(s: State, guard: Guard, n: int) -> tuple[tuple[str, int], ...]:
    rest = tuple((g, k) for g, k in s.pin_failures if g != guard.guard_id)
    return rest + ((guard.guard_id, n),) if n else rest


def _go(s: State, scene: Scene, now: datetime, seconds: float | None, **changes: Any) -> State:
    """Show ``scene``. A sub-screen keeps the return stack; any other scene has nothing beneath it."""
    deadline = now + timedelta(seconds=seconds) if seconds else None
    if scene not in SUBSCREENS:
        changes.setdefault("returns", ())
    return replace(s, scene=scene, deadline=deadline, notice=None, **changes)


def _enter(s: State, scene: Scene, now: datetime, seconds: float | None, **changes: Any) -> State:
    """Open a sub-screen on top of the current scene, which Cancel returns to."""
    return _go(s, scene, now, seconds, returns=s.returns + (s.scene,), **changes)


def _back_seconds(s: State, scene: Scene) -> float | None:
    if scene is Scene.IDLE:
        return None
    return s.timeouts.interaction if scene in SLIP_SCENES | SUBSCREENS | frozenset(VISITOR_STEPS) else s.timeouts.result


def _back(s: State, now: datetime, **changes: Any) -> State:
    """Back to the scene beneath this one (idle if there is none)."""
    if not s.returns:
        return replace(_idle(s), **changes)
    back = s.returns[-1]
    return _go(s, back, now, _back_seconds(s, back), returns=s.returns[:-1], **changes)


def _entry(s: State, kind: EntryKind, now: datetime, **fields: Any) -> Record:
    return Record(LogEntry(kind=kind, at=now, guard_id=s.guard.guard_id if s.guard else "", **fields))


def _slip_fields(case: SlipCase) -> dict[str, Any]:
    return {"slip_id": case.decision.slip_id}


def step(s: State, event: Event, now: datetime) -> Step:
    """Advance the gate by one event. Pure: the same inputs give the same outputs."""
    if isinstance(event, Shutdown):
        # Stopped with a guard on shift: the shift ends here, recorded (a restart starts with nobody on shift).
        if s.guard is None:
            return s, []
        return _fresh(s, None), [_entry(s, EntryKind.SHIFT_END, now, detail={"ended_by": "kiosk_stopped"})]
    if isinstance(event, Fault):
        return _out_of_service(s, event, now)
    if isinstance(event, DeviceChanged):
        return _device(s, event, now)
    if s.scene is Scene.OUT_OF_SERVICE:
        if isinstance(event, Recovered) and s.fault is not None and event.source is s.fault.source:
            return _idle(s), []
        return s, []
    if isinstance(event, Recovered):
        return s, []
    if isinstance(event, Tick):
        if s.deadline is not None and now >= s.deadline:
            return _timeout(s, now)
        return s, []
    if isinstance(event, CardPresented):
        return _card(s, event, now)
    if isinstance(event, SlipPresented):
        return _slip(s, event, now)
    if isinstance(event, Press):
        return _press(s, event, now)
    if isinstance(event, ExitRequested):
        # Free egress on foot: recorded like every opening, the scene in hand stays as it is.
        return s, [_entry(s, EntryKind.EXIT_REQUEST, now), OpenGate()]
    return s, []


#: Faults with a way back while the process runs: the shell probes the exit log (STORE) and
#: the gate outputs (GPIO) every few seconds, and an offline device reports coming back.
#: Anything else (a CORE or KIOSK exception: a bug) has no way back: the shell stops
#: feeding systemd's watchdog, so systemd restarts the kiosk rather than leave the gate
#: shut for good.
PROBED_SOURCES = frozenset({FaultSource.STORE, FaultSource.GPIO})


def recoverable(fault: Fault) -> bool:
    """Whether the kiosk can leave this fault by itself, without a restart."""
    return fault.source in PROBED_SOURCES or fault.kind is FaultKind.DEVICE_OFFLINE


def needs_restart(s: State) -> bool:
    """Out of service for a fault only a restart can clear (see RECOVERABLE_SOURCES)."""
    return s.scene is Scene.OUT_OF_SERVICE and s.fault is not None and not recoverable(s.fault)


def _out_of_service(s: State, fault: Fault, now: datetime) -> Step:
    return _go(s, Scene.OUT_OF_SERVICE, now, None, fault=fault), [SafeState()]


def _device(s: State, ev: DeviceChanged, now: datetime) -> Step:
    """Without the relay and LEDs the gate cannot be operated safely: GPIO offline closes it.
    The device whose failure closed the gate coming back reopens service."""
    if not ev.online:
        if ev.device in GATE_CLOSING_DEVICES:
            return _out_of_service(s, Fault(ev.device, FaultKind.DEVICE_OFFLINE, ev.detail or "gate I/O offline"), now)
        return s, []
    if s.scene is Scene.OUT_OF_SERVICE and s.fault is not None and s.fault.source is ev.device:
        return _idle(s), []
    return s, []


def _timeout(s: State, now: datetime) -> Step:
    """A forgotten report goes back to the slip in hand; every other timeout ends at idle,
    which clears the return stack."""
    if s.scene is Scene.REPORT_REASON and s.returns and s.returns[-1] in SLIP_SCENES:
        return _back(s, now), []
    return _idle(s), []


# ----------------------------------------------------------------- cards and badges


def _card(s: State, ev: CardPresented, now: datetime) -> Step:
    if ev.guard is not None and ev.permit is None:
        return _badge(s, ev.guard, now)
    if s.scene is Scene.SLIP_IDENTITY and s.case is not None:
        return _mover_card(s, ev, now)
    if s.scene not in RESULT_SCENES:
        return replace(s, notice=Reason.GUARD_NOT_ON_SHIFT if s.guard is None else None), []
    decision = decide_card(ev.permit, now, ev.bad_record)
    kind = EntryKind.CARD_PASS if decision.allowed else EntryKind.CARD_DENIED
    record = _entry(
        s, kind, now, card_uid=ev.uid, permit_id=ev.permit.permit_id if ev.permit else "",
        reasons=(decision.reason.value,),
        # a replacement card (补办) says which lost or revoked permit it replaces; a bad replica row says what is wrong
        detail={**({"replaces": ev.permit.replaces} if ev.permit is not None and ev.permit.replaces else {}),
                **({"record_problem": ev.bad_record} if ev.bad_record else {})},
    )
    nxt = _go(_idle(s), Scene.CARD_RESULT, now, s.timeouts.result, card=decision, card_uid=ev.uid)
    if decision.allowed:
        return nxt, [record, OpenGate(), Signal(SignalPattern.ACCEPTED)]
    return nxt, [record, Signal(SignalPattern.REFUSED)]


def _badge(s: State, guard: Guard, now: datetime) -> Step:
    on_shift = s.guard is not None and s.guard.guard_id == guard.guard_id
    if s.scene is Scene.SIGN_OFF and s.case is not None:
        if on_shift:
            return _release(s, now, signed_by="badge")
        return replace(s, notice=Reason.GUARD_NOT_ON_SHIFT), []
    if s.scene is Scene.OVERRIDE_BADGE:
        why = override_approval(guard, s.guard)
        if why is None and _locked_until(s, guard, now):
            why = Reason.GUARD_PIN_LOCKED
        if why is not None:
            return replace(s, notice=why), [Signal(SignalPattern.REFUSED)]
        return _go(s, Scene.OVERRIDE_PIN, now, s.timeouts.pin, pending_guard=guard, pin=""), []
    if s.scene is Scene.SIGN_OUT_CONFIRM and on_shift:
        return replace(s, pending_guard=guard, notice=None), []
    if s.scene in RESULT_SCENES or s.scene is Scene.SIGN_IN_PIN:
        if on_shift:
            return _go(_idle(s), Scene.SIGN_OUT_CONFIRM, now, s.timeouts.pin, pending_guard=guard), []
        if _locked_until(s, guard, now):
            return replace(s, notice=Reason.GUARD_PIN_LOCKED), [Signal(SignalPattern.REFUSED)]
        return _go(_idle(s), Scene.SIGN_IN_PIN, now, s.timeouts.pin, pending_guard=guard), []
    return s, []


def _mover_card(s: State, ev: CardPresented, now: datetime) -> Step:
    case = s.case
    assert case is not None
    slip = case.decision.slip
    permit: Permit | None = ev.permit
    matches = (
        slip is not None
        and permit is not None
        and decide_card(permit, now).allowed
        and (
            (slip.mover_permit_id and slip.mover_permit_id == permit.permit_id)
            or (slip.mover.id_hash and slip.mover.id_hash == permit.holder.id_hash)
        )
    )
    if not matches:
        return replace(s, notice=Reason.SLIP_CARRIER_MISMATCH), []
    return _go(s, Scene.SIGN_OFF, now, s.timeouts.interaction, case=replace(case, identity="card")), []


# ----------------------------------------------------------------- slips


def _slip(s: State, ev: SlipPresented, now: datetime) -> Step:
    if s.scene not in RESULT_SCENES:
        return s, []          # finish (or cancel) the slip in hand first
    if s.guard is None:
        return _go(_idle(s), Scene.REFUSED, now, s.timeouts.result, refusal=(Reason.GUARD_NOT_ON_SHIFT,)), [
            Signal(SignalPattern.REFUSED)
        ]
    decision = decide_slip(ev.evidence, s.gate, now)
    lines = len(decision.slip.items) if decision.slip is not None else 1
    case = SlipCase(decision=decision, checked=(False,) * lines, text=ev.evidence.text)
    if not decision.allowed:
        detail = _refusal_detail(decision)
        if decision.claims is None:
            detail["code_prefix"] = ev.evidence.text[:48]    # what was shown, for the office to trace
        record = _entry(
            s, EntryKind.REFUSAL, now, slip_id=decision.slip_id,
            reasons=tuple(r.value for r in decision.reasons), detail=detail,
        )
        nxt = _go(_idle(s), Scene.REFUSED, now, s.timeouts.result, case=case, refusal=decision.reasons)
        return nxt, [record, Signal(SignalPattern.REFUSED)]
    return _go(_idle(s), Scene.SLIP_ITEMS, now, s.timeouts.interaction, case=case), []


def _refusal_detail(d: SlipDecision) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    if d.used is not None:
        detail["used_at_gate"] = d.used.gate_id
        detail["used_at"] = d.used.at.isoformat()
    if d.missing_approvals:
        detail["missing_approvals"] = [r.value for r in d.missing_approvals]
    if d.detail:
        detail["record_problem"] = d.detail
    return detail


def _release(s: State, now: datetime, signed_by: str) -> Step:
    case = s.case
    assert case is not None and s.guard is not None
    detail = {
        "signed_by": signed_by,
        "identity": case.identity,
        "items_checked": list(case.checked),
        "synced": case.decision.synced,
        "departure": now.isoformat(),
    }
    record = _entry(s, EntryKind.RELEASE, now, slip_id=case.decision.slip_id, detail=detail)
    nxt = _go(s, Scene.RELEASED, now, s.timeouts.result, pin="")
    return nxt, [record, OpenGate(), Signal(SignalPattern.ACCEPTED)]


# ----------------------------------------------------------------- taps


def _press(s: State, ev: Press, now: datetime) -> Step:
    handler = PRESS_TABLE.get((s.scene, ev.action))
    if handler is None:
        return s, []                 # that button is not on this screen: nothing happens
    return handler(s, ev, now)


def _valid(choices: tuple[tuple[str, str, str], ...], key: str) -> bool:
    return any(k == key for k, _, _ in choices)


def _cancel(s: State, ev: Press, now: datetime) -> Step:
    if s.scene in OVERRIDE_SCENES:
        # the supervisor's authority (or a half-typed PIN) ends here
        return _back(s, now, supervisor=None, pending_guard=None, pin=""), []
    if s.scene in SUBSCREENS:
        return _back(s, now), []
    return _idle(s), []


def _open_report(s: State, ev: Press, now: datetime) -> Step:
    return _enter(s, Scene.REPORT_REASON, now, s.timeouts.interaction), []


def _choose_report(s: State, ev: Press, now: datetime) -> Step:
    if not _valid(REPORT_CHOICES, ev.value):
        return s, []
    return _report(s, ev.value, now)


def _open_recent(s: State, ev: Press, now: datetime) -> Step:
    return _go(s, Scene.RECENT, now, s.timeouts.result * 3), []


def _ask_sign_out(s: State, ev: Press, now: datetime) -> Step:
    if s.guard is None:
        return s, []
    return _go(_idle(s), Scene.SIGN_OUT_CONFIRM, now, s.timeouts.pin), []


def _confirm_sign_out(s: State, ev: Press, now: datetime) -> Step:
    if s.pending_guard is None:
        return s, []
    return _sign_out(s, now)


def _toggle_item(s: State, ev: Press, now: datetime) -> Step:
    case = s.case
    if case is None:
        return s, []
    try:
        i = int(ev.value)
    except ValueError:
        return s, []
    if not 0 <= i < len(case.checked):
        return s, []
    checked = tuple(not c if j == i else c for j, c in enumerate(case.checked))
    return _go(s, Scene.SLIP_ITEMS, now, s.timeouts.interaction, case=replace(case, checked=checked)), []


def _items_match(s: State, ev: Press, now: datetime) -> Step:
    case = s.case
    if case is None or (ev.action is Action.ITEMS_CONFIRMED and not case.all_checked):
        return s, []
    done = replace(case, checked=(True,) * len(case.checked))
    return _go(s, Scene.SLIP_IDENTITY, now, s.timeouts.interaction, case=done), []


def _open_mismatch(s: State, ev: Press, now: datetime) -> Step:
    if s.case is None:
        return s, []
    return _enter(s, Scene.MISMATCH_PICK, now, s.timeouts.interaction), []


def _choose_mismatch(s: State, ev: Press, now: datetime) -> Step:
    case = s.case
    if case is None or not _valid(MISMATCH_CHOICES, ev.value):
        return s, []
    reason = Reason.SLIP_CARRIER_MISMATCH if ev.value == "carrier_not_listed" else Reason.SLIP_ITEMS_MISMATCH
    record = _entry(
        s, EntryKind.REFUSAL, now, slip_id=case.decision.slip_id, reasons=(reason.value,),
        detail={"mismatch": ev.value, "items_checked": list(case.checked)},
    )
    nxt = _go(s, Scene.REFUSED, now, s.timeouts.result, refusal=(reason,), refusal_choice=ev.value)
    return nxt, [record, Signal(SignalPattern.REFUSED)]


def _confirm_identity(s: State, ev: Press, now: datetime) -> Step:
    if s.case is None:
        return s, []
    return _go(s, Scene.SIGN_OFF, now, s.timeouts.interaction, case=replace(s.case, identity="guard")), []


def _override_refusal(s: State, ev: Press, now: datetime) -> Step:
    if s.case is None or not s.refusal or s.refusal[0] is Reason.GUARD_NOT_ON_SHIFT:
        return s, []
    return _enter(s, Scene.OVERRIDE_BADGE, now, s.timeouts.interaction), []


def _override_card(s: State, ev: Press, now: datetime) -> Step:
    if s.case is not None or s.card is None or s.card.allowed:
        return s, []
    if s.guard is None:      # an override takes two people: the guard on shift and a supervisor
        return replace(s, notice=Reason.GUARD_NOT_ON_SHIFT), []
    return _enter(s, Scene.OVERRIDE_BADGE, now, s.timeouts.interaction), []


def _choose_override(s: State, ev: Press, now: datetime) -> Step:
    if not _valid(OVERRIDE_CHOICES, ev.value):
        return s, []
    return _override(s, ev.value, now)


def _pin(s: State, ev: Press, now: datetime) -> Step:
    if s.scene not in PIN_SCENES:
        return s, []
    seconds = s.timeouts.pin if s.scene is not Scene.SIGN_OFF else s.timeouts.interaction
    if ev.action is Action.DIGIT:
        if len(ev.value) != 1 or not ev.value.isdigit() or len(s.pin) >= PIN_LENGTH_MAX:
            return s, []
        return _go(s, s.scene, now, seconds, pin=s.pin + ev.value), []
    if ev.action is Action.BACKSPACE:
        return _go(s, s.scene, now, seconds, pin=s.pin[:-1]), []
    # PIN_SUBMIT
    who = s.pending_guard if s.scene in (Scene.SIGN_IN_PIN, Scene.OVERRIDE_PIN) else s.guard
    if who is None:
        return s, []
    if _locked_until(s, who, now):
        return replace(s, pin="", notice=Reason.GUARD_PIN_LOCKED), [Signal(SignalPattern.REFUSED)]
    if not check_pin(s.pin, who.pin_hash):
        return _wrong_pin(s, who, now)
    s = replace(s, pin="", pin_failures=_set_failures(s, who, 0))
    if s.scene is Scene.SIGN_OFF:
        return _release(s, now, signed_by="pin")
    if s.scene is Scene.SIGN_OUT_CONFIRM:
        return _sign_out(replace(s, pending_guard=who), now)
    if s.scene is Scene.OVERRIDE_PIN:
        return _go(s, Scene.OVERRIDE_REASON, now, s.timeouts.interaction, supervisor=who, pending_guard=None), []
    return _sign_in(s, who, now)


def _wrong_pin(s: State, who: Guard, now: datetime) -> Step:
    """Every wrong PIN is a row in the exit log (it reaches the office); the MAX_PIN_FAILURES-th
    in a row locks the badge (domain.rules.pin_lockout_ends) and ends the attempt."""
    failures = _failures(s, who) + 1
    until = pin_lockout_ends(failures, now)
    detail: dict[str, Any] = {"badge_guard_id": who.guard_id, "role": who.role.value, "scene": s.scene.value,
                              "failures": failures}
    if until is None:
        record = _entry(s, EntryKind.PIN_FAILURE, now, detail=detail)
        nxt = replace(s, pin="", pin_failures=_set_failures(s, who, failures), notice=Reason.GUARD_PIN_WRONG)
        return nxt, [record, Signal(SignalPattern.REFUSED)]
    detail["locked_until"] = until.isoformat()
    record = _entry(s, EntryKind.PIN_FAILURE, now, detail=detail)
    locked = tuple((g, t) for g, t in s.locked if g != who.guard_id and t > now) + ((who.guard_id, until),)
    s = replace(s, pin_failures=_set_failures(s, who, 0), locked=locked)
    if s.scene is Scene.OVERRIDE_PIN:
        # back to the refusal: the override needs another supervisor now
        nxt = replace(_back(s, now, supervisor=None, pending_guard=None, pin=""), notice=Reason.GUARD_PIN_LOCKED)
    else:
        nxt = replace(_idle(s), notice=Reason.GUARD_PIN_LOCKED)
    return nxt, [record, Signal(SignalPattern.ALERT)]


def _sign_in(s: State, guard: Guard, now: datetime) -> Step:
    commands: list[Command] = []
    if s.guard is not None:
        commands.append(_entry(s, EntryKind.SHIFT_END, now, detail={"handover_to": guard.guard_id}))
    on = _fresh(s, guard)
    commands.append(_entry(on, EntryKind.SHIFT_START, now, detail={"role": guard.role.value}))
    commands.append(Signal(SignalPattern.ACCEPTED))
    return on, commands


def _sign_out(s: State, now: datetime) -> Step:
    record = _entry(s, EntryKind.SHIFT_END, now)
    return _fresh(s, None), [record, Signal(SignalPattern.ACCEPTED)]


def _override(s: State, choice: str, now: datetime) -> Step:
    assert s.supervisor is not None and s.guard is not None
    # Both people: the guard on shift (also the row's guard_id) and the supervisor who approved
    # with badge and PIN (domain.rules.override_approval).
    detail = {"supervisor_id": s.supervisor.guard_id, "supervisor_auth": "badge+pin", "guard_on_shift": s.guard.guard_id,
              "override_reason": choice, "flagged": True}
    fields: dict[str, Any] = {"reasons": tuple(r.value for r in s.refusal)}
    if s.case is not None:
        fields["slip_id"] = s.case.decision.slip_id
        detail["departure"] = now.isoformat()
    elif s.card is not None:
        fields["card_uid"] = s.card_uid
        fields["permit_id"] = s.card.permit.permit_id if s.card.permit else ""
        fields["reasons"] = (s.card.reason.value,)
    record = _entry(s, EntryKind.OVERRIDE, now, detail=detail, **fields)
    nxt = _go(s, Scene.RELEASED, now, s.timeouts.result, released_override=True)
    return nxt, [record, OpenGate(), Signal(SignalPattern.ACCEPTED)]


def _report(s: State, choice: str, now: datetime) -> Step:
    beneath = s.returns[-1] if s.returns else Scene.IDLE
    fields: dict[str, Any] = {"detail": {"report": choice, "scene": beneath.value}}
    if s.case is not None:
        fields["slip_id"] = s.case.decision.slip_id
    if s.card is not None:
        fields["card_uid"] = s.card_uid
        fields["permit_id"] = s.card.permit.permit_id if s.card.permit else ""
    record = _entry(s, EntryKind.REPORT, now, **fields)
    return _back(s, now), [record, Signal(SignalPattern.ALERT)]


# ----------------------------------------------------------------- the visitor form (登记表)


def _open_visitor(s: State, ev: Press, now: datetime) -> Step:
    """A visitor without a permit: the guard on shift fills the registration form."""
    if s.guard is None:
        return replace(s, notice=Reason.GUARD_NOT_ON_SHIFT), []
    if not s.id_key:
        return replace(s, notice=Reason.VISITOR_NO_KEY), [Signal(SignalPattern.REFUSED)]
    return _go(_idle(s), Scene.VISITOR_PLATE, now, s.timeouts.interaction, visitor=VisitorForm()), []


def _form_step(s: State, scene: Scene, now: datetime, form: VisitorForm, notice: Reason | None = None) -> Step:
    return replace(_go(s, scene, now, s.timeouts.interaction, visitor=form), notice=notice), []


def _visitor_key(s: State, ev: Press, now: datetime) -> Step:
    """A key of the plate pad, the ID pad or the surname grid; a key that cannot come next does nothing."""
    form = s.visitor
    if form is None:
        return s, []
    if s.scene is Scene.VISITOR_PLATE:
        if ev.value not in plate_next_keys(form.plate):
            return s, []
        return _form_step(s, s.scene, now, replace(form, plate=form.plate + ev.value))
    if s.scene is Scene.VISITOR_ID:
        if len(ev.value) != 1 or len(form.id_number) >= ID_LENGTH:
            return s, []
        last = len(form.id_number) == ID_LENGTH - 1
        if not (ev.value in PLATE_DIGITS or (ev.value == "X" and last)):
            return s, []
        return _form_step(s, s.scene, now, replace(form, id_number=form.id_number + ev.value))
    if s.scene is Scene.VISITOR_NAME and ev.value in SURNAMES:
        return _form_step(s, s.scene, now, replace(form, surname="" if form.surname == ev.value else ev.value))
    return s, []


def _visitor_backspace(s: State, ev: Press, now: datetime) -> Step:
    form = s.visitor
    if form is None:
        return s, []
    if s.scene is Scene.VISITOR_PLATE:
        return _form_step(s, s.scene, now, replace(form, plate=form.plate[:-1]))
    return _form_step(s, s.scene, now, replace(form, id_number=form.id_number[:-1]))


def _visitor_pick(s: State, ev: Press, now: datetime) -> Step:
    """先生 / 女士 on the name step: tapping the chosen one again clears it."""
    form = s.visitor
    if form is None or not any(k == ev.value for k, _, _ in HONORIFICS):
        return s, []
    return _form_step(s, s.scene, now, replace(form, honorific="" if form.honorific == ev.value else ev.value))


def _visitor_toggle(s: State, ev: Press, now: datetime) -> Step:
    """An item choice on or off; "none" and the others exclude each other."""
    form = s.visitor
    if form is None or ev.value not in ITEM_LABELS:
        return s, []
    chosen = set(form.items)
    if ev.value in chosen:
        chosen.discard(ev.value)
    elif ev.value == NO_ITEMS:
        chosen = {NO_ITEMS}
    else:
        chosen = (chosen - {NO_ITEMS}) | {ev.value}
    items = tuple(k for k in ITEM_LABELS if k in chosen)
    return _form_step(s, s.scene, now, replace(form, items=items))


def _visitor_no_vehicle(s: State, ev: Press, now: datetime) -> Step:
    if s.visitor is None:
        return s, []
    return _form_step(s, Scene.VISITOR_ID, now, replace(s.visitor, plate=""))


def _visitor_next(s: State, ev: Press, now: datetime) -> Step:
    """The step's value checked, on to the next step; a wrong value stays, with why, for correction."""
    form = s.visitor
    if form is None:
        return s, []
    problem: Reason | None = None
    if s.scene is Scene.VISITOR_PLATE:
        problem = plate_problem(form.plate)
    elif s.scene is Scene.VISITOR_ID:
        problem = id_number_problem(form.id_number)
    elif s.scene is Scene.VISITOR_ITEMS and not form.items:
        problem = Reason.VISITOR_ITEMS_EMPTY
    if problem is not None:
        return replace(s, notice=problem), [Signal(SignalPattern.REFUSED)]
    nxt = VISITOR_STEPS[VISITOR_STEPS.index(s.scene) + 1]
    return _form_step(s, nxt, now, form)


def _visitor_prev(s: State, ev: Press, now: datetime) -> Step:
    """One step back, keeping what was entered; from the first step, the form is dropped."""
    i = VISITOR_STEPS.index(s.scene)
    if i == 0 or s.visitor is None:
        return _idle(s), []
    return _form_step(s, VISITOR_STEPS[i - 1], now, s.visitor)


def _visitor_record(s: State, ev: Press, now: datetime) -> Step:
    """The form recorded as a ``visitor`` row at ``now`` (its time), then the gate opens for the
    visitor. Only the masked ID and its HMAC leave the core; the typed number is dropped."""
    form = s.visitor
    if form is None or s.guard is None or id_number_problem(form.id_number) or plate_problem(form.plate) \
            or not form.items:
        return s, []
    detail = visitor_detail(key=s.id_key, id_number=form.id_number, plate=form.plate, name=form.name,
                            items=form.items)
    record = _entry(s, EntryKind.VISITOR, now, detail=detail)
    done = VisitorForm(plate=form.plate, surname=form.surname, honorific=form.honorific, items=form.items,
                       id_masked=mask_id(form.id_number))
    nxt = _go(_idle(s), Scene.VISITOR_RECORDED, now, s.timeouts.result, visitor=done)
    return nxt, [record, OpenGate(), Signal(SignalPattern.ACCEPTED)]


# ----------------------------------------------------------------- the press table

PressHandler = Callable[[State, Press, datetime], Step]
_PIN_KEYS = (Action.DIGIT, Action.BACKSPACE, Action.PIN_SUBMIT)
_NO_REPORT = frozenset({Scene.REPORT_REASON, Scene.SIGN_IN_PIN, Scene.OVERRIDE_PIN, Scene.RECENT, Scene.OUT_OF_SERVICE,
                        *VISITOR_STEPS})

#: What each button does on each screen: (scene, action) -> handler. A pair not in the
#: table does nothing. Handlers check what the pair alone cannot (a slip in hand, a
#: valid choice). Out of service takes no taps at all (step() never gets here).
PRESS_TABLE: dict[tuple[Scene, Action], PressHandler] = {
    **{(scene, Action.CANCEL): _cancel for scene in Scene if scene is not Scene.OUT_OF_SERVICE},
    **{(scene, Action.REPORT): _open_report for scene in Scene if scene not in _NO_REPORT},
    **{(scene, key): _pin for scene in PIN_SCENES for key in _PIN_KEYS},
    **{(scene, Action.RECENT): _open_recent for scene in RESULT_SCENES},
    **{(scene, Action.SIGN_OUT): _ask_sign_out for scene in RESULT_SCENES},
    (Scene.SIGN_OUT_CONFIRM, Action.CONFIRM): _confirm_sign_out,
    (Scene.REPORT_REASON, Action.REPORT_REASON): _choose_report,
    (Scene.SLIP_ITEMS, Action.TOGGLE_ITEM): _toggle_item,
    (Scene.SLIP_ITEMS, Action.ALL_MATCH): _items_match,
    (Scene.SLIP_ITEMS, Action.ITEMS_CONFIRMED): _items_match,
    (Scene.SLIP_ITEMS, Action.MISMATCH): _open_mismatch,
    (Scene.SLIP_IDENTITY, Action.MISMATCH): _open_mismatch,
    (Scene.SLIP_IDENTITY, Action.CONFIRM_IDENTITY): _confirm_identity,
    (Scene.MISMATCH_PICK, Action.MISMATCH_REASON): _choose_mismatch,
    (Scene.REFUSED, Action.OVERRIDE): _override_refusal,
    (Scene.CARD_RESULT, Action.OVERRIDE): _override_card,
    (Scene.OVERRIDE_REASON, Action.OVERRIDE_REASON): _choose_override,
    **{(scene, Action.VISITOR): _open_visitor for scene in RESULT_SCENES},
    **{(scene, Action.NEXT): _visitor_next for scene in VISITOR_STEPS[:-1]},
    **{(scene, Action.PREV): _visitor_prev for scene in VISITOR_STEPS},
    **{(scene, Action.KEY): _visitor_key for scene in (Scene.VISITOR_PLATE, Scene.VISITOR_ID, Scene.VISITOR_NAME)},
    **{(scene, Action.BACKSPACE): _visitor_backspace for scene in (Scene.VISITOR_PLATE, Scene.VISITOR_ID)},
    (Scene.VISITOR_PLATE, Action.NO_VEHICLE): _visitor_no_vehicle,
    (Scene.VISITOR_NAME, Action.PICK): _visitor_pick,
    (Scene.VISITOR_ITEMS, Action.TOGGLE_ITEM): _visitor_toggle,
    (Scene.VISITOR_CONFIRM, Action.CONFIRM): _visitor_record,
}
