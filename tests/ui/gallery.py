"""Every scene of the gate, reached by stepping the real core with realistic, long data.

Names and items are deliberately long (four-character names with long units,
renovation materials with long specs) because that is what overflows a 7" screen.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.model import (
    Approval,
    ApprovalRole,
    Consumption,
    Gate,
    Guard,
    LargeItemHours,
    Permit,
    PermitKind,
    PermitStatus,
    Person,
    Role,
    Slip,
    SlipItem,
    SlipKind,
    TokenClaims,
    Unit,
)
from domain.reasons import Reason
from domain.rules import SlipEvidence
from domain.secrets import hash_pin
from kiosk.core.events import Action, CardPresented, Fault, FaultKind, FaultSource, Press, SlipPresented
from kiosk.core.flow import MAX_PIN_FAILURES, Scene, State, Timeouts, initial_state, step

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)   # a Wednesday, inside large-item hours
GATE = Gate("north", "北门 North gate")
PIN = "2468"
ID_KEY = b"estate-id-hmac-key-for-tests-32b"
#: A visitor's ID number with a correct GB 11643 check character; WRONG_ID differs in its last digit.
VISITOR_ID = "11010519491231002X"
WRONG_ID = "110105194912310021"
GUARD = Guard("G001", "欧阳建国", "BADGE01", hash_pin(PIN, b"salt-guard", 1000))
SUPERVISOR = Guard("S001", "司马慧敏", "BADGE99", hash_pin("1357", b"salt-sup", 1000), Role.SUPERVISOR)

HOLDER = Person("欧阳娜娜", "4401**********123X", "h1", "photo-1")
PERMIT = Permit("P1", "CARD01", PermitKind.STANDING_RELEASE, HOLDER, "12-3-2501",
                NOW - timedelta(days=200), NOW + timedelta(days=165))
LOST = replace(PERMIT, permit_id="P2", card_uid="CARD02", status=PermitStatus.LOST)
EXPIRED = replace(PERMIT, permit_id="P3", card_uid="CARD03", valid_until=NOW - timedelta(days=3))
REPLACEMENT = replace(PERMIT, permit_id="P2026112504", card_uid="CARD04", replaces="P2026112502")
MOVER = Person("上官晓明", "3301**********567X", "m1", "photo-2")
ITEMS = (
    SlipItem("实木三人沙发(含贵妃位)", 1, "2200×950×850mm 深灰色布艺"),
    SlipItem("双开门冰箱", 1, "西门子 KA92NV02TI 对开门 610L"),
    SlipItem("纸箱(书籍及衣物)", 12, "60×40×40cm"),
    SlipItem("电动自行车", 1, "雅迪 含电池"),
    SlipItem("装修剩余瓷砖及木地板边角料", 6, "约0.5立方米"),
)
SLIP = Slip(
    "S2026112501", SlipKind.TENANT, "12-3-2501", Person("诸葛明远", phone="13800000000"), MOVER, ITEMS,
    NOW - timedelta(hours=2), NOW + timedelta(hours=10), "搬家",
    (Approval(ApprovalRole.HANDLER, "王小红"), Approval(ApprovalRole.OWNER_CONSENT, "诸葛明远"),
     Approval(ApprovalRole.BUTLER_HEAD, "李建华")),
)
CLAIMS = TokenClaims("S2026112501", SlipKind.TENANT, "12-3-2501", SLIP.valid_from, SLIP.valid_until,
                     len(ITEMS), "0" * 16, "k1")
HOURS = LargeItemHours()
LONG_ITEMS = ITEMS + tuple(SlipItem(f"{name}(第{i}批)", i, spec) for i, (name, spec) in enumerate(
    [("实木衣柜门板", "2.4m 六块"), ("儿童高低床", "拆散"), ("跑步机", "舒华 SH-T5517i"), ("红木茶几", "1.6m"),
     ("吊灯及灯具", "纸箱装"), ("户外遮阳伞", "3m"), ("鱼缸", "1.2m 已清空")], start=2))
LONG_SLIP = replace(SLIP, slip_id="S2026112502", items=LONG_ITEMS, kind=SlipKind.MOVE_OUT)


def evidence(**kw: object) -> SlipEvidence:
    base = dict(text="GP1:TEST", token_reason=None, claims=CLAIMS, slip=SLIP,
                unit=Unit("12-3-2501", "12", "2501"), hours=HOURS)
    base.update(kw)
    return SlipEvidence(**base)  # type: ignore[arg-type]


def play(state: State, *events: object, now: datetime = NOW) -> State:
    for ev in events:
        state, _ = step(state, ev, now)  # type: ignore[arg-type]
    return state


def press(action: Action, value: str = "") -> Press:
    return Press(action, value)


def pin_presses(pin: str) -> list[Press]:
    return [Press(Action.DIGIT, d) for d in pin] + [Press(Action.PIN_SUBMIT)]


def gallery() -> dict[str, State]:
    """A state for every Scene (several for some), keyed by a readable name."""
    s0 = initial_state(GATE, Timeouts(), id_key=ID_KEY)
    badge = CardPresented("BADGE01", guard=GUARD)
    sup = CardPresented("BADGE99", guard=SUPERVISOR)
    on = play(s0, badge, *pin_presses(PIN))
    on_sup = play(s0, sup, *pin_presses("1357"))
    slip_items = play(on, SlipPresented(evidence()), press(Action.TOGGLE_ITEM, "1"))
    identity = play(slip_items, press(Action.ALL_MATCH))
    sign_off = play(identity, press(Action.CONFIRM_IDENTITY), press(Action.DIGIT, "1"))
    used = evidence(consumptions=(Consumption("S2026112501", "south", NOW - timedelta(hours=1)),))
    refused_used = play(on, SlipPresented(used))
    override_badge = play(refused_used, press(Action.OVERRIDE))
    override_pin = play(override_badge, sup, press(Action.DIGIT, "1"))
    override_reason = play(override_pin, *pin_presses("1357")[1:])
    unsynced = play(on, SlipPresented(evidence(slip=None)))
    long_claims = replace(CLAIMS, slip_id="S2026112502", kind=SlipKind.MOVE_OUT, item_count=len(LONG_ITEMS))
    long_gate = replace(GATE, designated_exit=True)
    long_slip = play(replace(on, gate=long_gate), SlipPresented(evidence(slip=LONG_SLIP, claims=long_claims)),
                     press(Action.TOGGLE_ITEM, "0"))
    plate = play(on, press(Action.VISITOR), *(press(Action.KEY, k) for k in "粤B12"))
    id_step = play(plate, *(press(Action.KEY, k) for k in "345D"), press(Action.NEXT),
                   *(press(Action.KEY, k) for k in VISITOR_ID[:11]))
    full_id = play(id_step, *(press(Action.KEY, k) for k in VISITOR_ID[11:]))
    wrong_id = play(id_step, *(press(Action.KEY, k) for k in WRONG_ID[11:]), press(Action.NEXT))
    name = play(full_id, press(Action.NEXT), press(Action.KEY, "欧"), press(Action.KEY, "王"), press(Action.PICK, "ms"))
    items = play(name, press(Action.NEXT), press(Action.TOGGLE_ITEM, "suitcase"), press(Action.TOGGLE_ITEM, "parcel"))
    confirm = play(items, press(Action.NEXT))
    many = play(on, SlipPresented(evidence(unit=Unit("12-3-2501", "12", "2501", unpaid_fees=True),
                                           consumptions=used.consumptions)), now=NOW + timedelta(hours=12))
    return {
        "idle_no_guard": s0,
        "idle": on,
        "sign_in_pin": play(s0, badge, press(Action.DIGIT, "2"), press(Action.DIGIT, "4")),
        "sign_in_wrong_pin": play(s0, badge, *pin_presses("0000")),
        "sign_out_confirm": play(on, badge),
        "sign_out_pin": play(on, press(Action.SIGN_OUT)),
        "card_valid": play(on, CardPresented("CARD01", permit=PERMIT)),
        "card_lost": play(on, CardPresented("CARD02", permit=LOST)),
        "card_expired": play(on, CardPresented("CARD03", permit=EXPIRED)),
        "card_replacement": play(on, CardPresented("CARD04", permit=REPLACEMENT)),
        "card_unknown": play(on, CardPresented("CARD0404040404")),
        "slip_items": slip_items,
        "slip_items_unsynced": unsynced,
        "slip_items_long": long_slip,
        "slip_identity": identity,
        "slip_identity_wrong_card": play(identity, CardPresented("CARD01", permit=PERMIT)),
        "sign_off": sign_off,
        "released": play(identity, press(Action.CONFIRM_IDENTITY), badge),
        "refused_used": refused_used,
        "refused_many": many,
        "refused_no_guard": play(s0, SlipPresented(evidence())),
        "refused_key_revoked": play(on, SlipPresented(evidence(token_reason=Reason.SLIP_KEY_REVOKED, claims=None, slip=None,
                                                               unit=None))),
        "refused_other_estate": play(on, SlipPresented(evidence(token_reason=Reason.SLIP_OTHER_ESTATE, claims=None,
                                                                 slip=None, unit=None))),
        "mismatch_pick": play(slip_items, press(Action.MISMATCH)),
        "refused_mismatch": play(slip_items, press(Action.MISMATCH), press(Action.MISMATCH_REASON, "wrong_quantity")),
        "override_badge": override_badge,
        "override_own": play(on_sup, CardPresented("CARD03", permit=EXPIRED), press(Action.OVERRIDE), sup),
        "override_pin": override_pin,
        "override_pin_wrong": play(override_badge, sup, *pin_presses("0000")),
        "sign_in_locked": play(s0, badge, *pin_presses("0000") * MAX_PIN_FAILURES, badge),
        "override_reason": override_reason,
        "released_override": play(override_reason, press(Action.OVERRIDE_REASON, "office_confirmed_by_phone")),
        "report_reason": play(on, press(Action.REPORT)),
        "visitor_plate_province": play(on, press(Action.VISITOR)),
        "visitor_plate": plate,
        "visitor_id": id_step,
        "visitor_id_checksum": wrong_id,
        "visitor_name": name,
        "visitor_items": items,
        "visitor_items_empty": play(name, press(Action.NEXT), press(Action.NEXT)),
        "visitor_confirm": confirm,
        "visitor_recorded": play(confirm, press(Action.CONFIRM)),
        "recent": play(on, press(Action.RECENT)),
        "out_of_service": play(on, Fault(FaultSource.STORE, FaultKind.LOG_WRITE,
                                         "var/exitlog.db: cannot record release: disk I/O error")),
        "out_of_service_disk_full": play(on, Fault(FaultSource.STORE, FaultKind.DISK_FULL,
                                                   "var/exitlog.db: cannot record card_pass: database or disk is full")),
        "out_of_service_gpio": play(on, Fault(FaultSource.GPIO, FaultKind.DEVICE_OFFLINE, "gpiochip0: device busy")),
    }


def scenes_covered() -> set[Scene]:
    return {s.scene for s in gallery().values()}


__all__ = ["GATE", "GUARD", "ID_KEY", "NOW", "PIN", "VISITOR_ID", "WRONG_ID", "Reason", "SUPERVISOR", "gallery", "scenes_covered"]
