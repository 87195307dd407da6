"""What the gate screen shows, as plain data: ``view_of(state, now, status, extras) -> View``.

The screen is a function of the core's state, the clock, device health and a few
read-only extras (recent log rows, the demo legend). Keeping that function pure means
every scene can be checked as data in a test (is the refusal reason there? is the PIN
never shown?) and the pygame side only lays out and paints what it is given.
Chinese comes first on every line, English beneath it, smaller.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.exitrow import EntryKind, kind_label
from domain.idnumber import ID_LENGTH
from domain.model import Person, Role
from domain.reasons import MISMATCH_CHOICES, OVERRIDE_CHOICES, REPORT_CHOICES, Reason
from domain.rules import SlipDecision
from domain.secrets import mask_id
from domain.visitor import (
    HONORIFICS,
    PLATE_DIGITS,
    PLATE_LETTERS,
    SURNAMES,
    VISITOR_ITEMS,
    items_text,
    plate_next_keys,
)
from kiosk.core.events import Action, Fault, FaultKind, FaultSource
from kiosk.core.flow import RESULT_SCENES, VISITOR_STEPS, Scene, State, VisitorForm
from kiosk.core.view_types import (  # noqa: F401 - re-exported: the painter imports them from here
    Button,
    Extras,
    Fact,
    ItemLine,
    Layout,
    Status,
    Text,
    Tone,
    View,
    _date,
    _local,
    _minute,
    status_items,
)

_CANCEL = Button(Action.CANCEL, "", "返回", "Back")
_DONE = Button(Action.CANCEL, "", "完成", "Done")
_REPORT = Button(Action.REPORT, "", "报告可疑", "Report", "danger")
_RECENT = Button(Action.RECENT, "", "最近记录", "Recent")
_OVERRIDE = Button(Action.OVERRIDE, "", "主管放行", "Supervisor override", "danger")
_VISITOR = Button(Action.VISITOR, "", "访客登记", "Visitor")


def _reason(r: Reason) -> Text:
    return Text(r.text.zh, r.text.en)


def _next(r: Reason) -> Text:
    return Text(r.text.next_zh, r.text.next_en)


def _person_facts(p: Person) -> list[Fact]:
    facts = [Fact("搬运人", "Carrier", p.name or "—")]
    if p.id_masked:
        facts.append(Fact("身份证", "ID", p.id_masked))
    return facts


# ----------------------------------------------------------------- the function


def view_of(state: State, now: datetime, status: Status = Status(), extras: Extras = Extras()) -> View:
    """Everything one frame shows. Never includes PIN digits, nor an unmasked ID number except
    on the visitor form's ID step, where the guard types it and must see it to correct it."""
    base: dict[str, Any] = {
        "gate_name": state.gate.name,
        "guard_name": state.guard.name if state.guard else "",
        "clock": now.strftime("%H:%M:%S"),
        "status": status,
        "status_items": status_items(status),
        "demo_legend": extras.demo_legend,
        "notice": _reason(state.notice) if state.notice else None,
    }
    if extras.recording:
        return _recording(state, base)
    if state.deadline is not None and state.scene is not Scene.IDLE:
        base["countdown"] = max(0, int((state.deadline - now).total_seconds() + 0.999))
    builder = _BUILDERS[state.scene]
    return builder(state, now, extras, base)


def _recording(s: State, base: dict[str, Any]) -> View:
    """While the exit log commits a row (a slow SD card can take a second or two): the
    gate has not opened yet and nothing can be tapped; the step's result follows once
    the row is durable."""
    return View(
        s.scene, Layout.MESSAGE, Tone.NEUTRAL, Text("正在记录…", "Recording…"),
        headline=Text("请稍候,记录保存后即显示结果", "Please wait: the result shows once the record is saved"),
        next_step=Text("记录保存前闸门不会打开", "The gate does not open before the record is saved"),
        **base,
    )


def _idle(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    if s.guard is None:
        return View(
            Scene.IDLE, Layout.MESSAGE, Tone.WARN, Text("无人值班", "No guard on shift"),
            headline=Text("请值班人员刷工牌签到", "Guard: tap your badge to sign in"),
            next_step=Text("签到后方可放行物品", "Items can be released only with a guard signed in"),
            buttons=(_RECENT,), preview=True, **base,
        )
    return View(
        Scene.IDLE, Layout.MESSAGE, Tone.NEUTRAL, Text("物品放行", "Item release"),
        headline=Text("请出示住户证或扫描放行条", "Present your card or slip"),
        next_step=Text("住户证请刷卡 · 放行条二维码请对准摄像头", "Tap the card on the reader, or hold the slip's QR code to the camera"),
        buttons=(_RECENT, _REPORT, _VISITOR, Button(Action.SIGN_OUT, "", "交班签退", "Sign out")),
        preview=True, **base,
    )


def _sign_in(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    who = s.pending_guard
    role = "主管" if who and who.role is Role.SUPERVISOR else "保安"
    return View(
        Scene.SIGN_IN_PIN, Layout.KEYPAD, Tone.NEUTRAL, Text("值班签到", "Shift sign-in"),
        headline=Text(f"{role} {who.name if who else ''}", who.guard_id if who else ""),
        next_step=Text("请输入密码后按确认", "Enter your PIN, then OK"),
        keypad=True, pin_length=len(s.pin), buttons=(_CANCEL,), **base,
    )


def _sign_out(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    ready = s.pending_guard is not None
    buttons: tuple[Button, ...] = (_CANCEL,)
    if ready:
        buttons = (_CANCEL, Button(Action.CONFIRM, "", "确认签退", "Confirm sign-out", "primary"))
    return View(
        Scene.SIGN_OUT_CONFIRM, Layout.KEYPAD, Tone.NEUTRAL, Text("交班签退", "Sign out"),
        headline=Text(f"值班:{s.guard.name}" if s.guard else "无人值班", "Guard on shift"),
        next_step=Text("已刷工牌,请确认签退", "Badge read: confirm to sign out") if ready
        else Text("请刷工牌或输入密码", "Tap your badge or enter your PIN"),
        keypad=not ready, pin_length=len(s.pin), buttons=buttons, **base,
    )


def _card_result(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    d = s.card
    assert d is not None
    facts: list[Fact] = []
    photo = ""
    if d.permit is not None:
        p = d.permit
        photo = p.holder.photo
        facts += [
            Fact("姓名", "Name", p.holder.name),
            Fact("房号", "Unit", p.unit_id),
            Fact("证件", "Permit", f"{p.kind.label_zh} {p.kind.label_en}"),
        ]
        if p.replaces:
            facts.append(Fact("补办卡", "Replacement card", p.replaces, Tone.WARN))
        until = _date(p.valid_until, now)
        if d.days_left is not None and d.allowed:
            tone = Tone.WARN if d.days_left < 14 else Tone.OK
            facts.append(Fact("有效期至", "Valid until", f"{until}(剩{d.days_left}天 / {d.days_left} days left)", tone))
        else:
            facts.append(Fact("有效期至", "Valid until", until, Tone.BAD if not d.allowed else Tone.NEUTRAL))
    else:
        facts.append(Fact("卡号", "Card", s.card_uid))
    buttons: tuple[Button, ...] = (_DONE, _RECENT) if d.allowed else (_DONE, _REPORT, _OVERRIDE)
    if d.reason is Reason.CARD_UNKNOWN and s.guard is not None:
        buttons = (_DONE, _REPORT, _VISITOR, _OVERRIDE)       # "register the visitor", as the reason says
    return View(
        Scene.CARD_RESULT, Layout.PERSON, Tone.OK if d.allowed else Tone.BAD,
        Text("住户证 · 可以通行", "Card · pass") if d.allowed else Text("住户证 · 不予通行", "Card · refused"),
        headline=_reason(d.reason), next_step=_next(d.reason), facts=tuple(facts),
        photo_id=photo, buttons=buttons, **base,
    )


def _approvals(d: SlipDecision) -> str:
    if d.slip is None:
        return "—"
    return "、".join(f"{a.role.label_zh}:{a.name}" for a in d.slip.approvals) or "—"


def _slip_facts(d: SlipDecision, now: datetime) -> list[Fact]:
    facts: list[Fact] = []
    sig = "已验证 verified" if d.claims is not None else "无效 invalid"
    facts.append(Fact("签名", "Signature", sig, Tone.OK if d.claims is not None else Tone.BAD))
    if d.claims is not None:
        c = d.claims
        facts.append(Fact("类别", "Kind", c.kind.label_zh))
        facts.append(Fact("房号", "Unit", c.unit_id))
    slip = d.slip
    if slip is not None:
        facts.append(Fact("申请人", "Applicant", slip.applicant.name))
        facts += _person_facts(slip.mover)
        missing = bool(d.missing_approvals)
        facts.append(Fact("审批", "Approvals", _approvals(d), Tone.BAD if missing else Tone.NEUTRAL))
        window = f"{_minute(slip.valid_from, now)} — {_minute(slip.valid_until, now)}"
        facts.append(Fact("有效时间", "Valid", window))
    elif d.claims is not None:
        c = d.claims
        facts.append(Fact("同步", "Synced", "尚未同步 not yet synced", Tone.WARN))
        facts.append(Fact("物品件数", "Item lines", str(c.item_count), Tone.WARN))
        facts.append(Fact("有效时间", "Valid", f"{_minute(c.valid_from, now)} — {_minute(c.valid_until, now)}"))
    return facts


def _items(s: State) -> tuple[ItemLine, ...]:
    """Checklist lines; an unsynced slip has one line standing for the paper slip's list."""
    case = s.case
    if case is None:
        return ()
    if case.decision.slip is None:
        n = case.decision.claims.item_count if case.decision.claims else 0
        return tuple(
            ItemLine(i, f"按纸质放行条核对(码上共{n}项)", 0, f"not synced: check the paper slip ({n} lines)", c)
            for i, c in enumerate(case.checked)
        )
    return tuple(
        ItemLine(i, it.name, it.quantity, it.spec, case.checked[i] if i < len(case.checked) else False)
        for i, it in enumerate(case.decision.slip.items)
    )


def _slip_items(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    case = s.case
    assert case is not None
    d = case.decision
    items = _items(s)
    return View(
        Scene.SLIP_ITEMS, Layout.SLIP, Tone.WARN if not d.synced else Tone.NEUTRAL,
        Text(f"放行条 {d.slip_id} · 核对物品", f"Slip {d.slip_id} · check the items"),
        headline=Text("逐项核对实物,或点“全部相符”", "Tick each line against the goods, or tap All match"),
        next_step=_next(Reason.SLIP_NOT_SYNCED) if not d.synced else None,
        facts=tuple(_slip_facts(d, now)), items=items,
        photo_id=d.slip.mover.photo if d.slip else "",
        buttons=(
            Button(Action.CANCEL, "", "取消", "Cancel"),
            Button(Action.MISMATCH, "", "不符", "Mismatch", "danger"),
            Button(Action.ITEMS_CONFIRMED, "", "已逐项核对", "Lines checked", "normal", case.all_checked),
            Button(Action.ALL_MATCH, "", "全部相符", "All match", "primary"),
        ),
        **base,
    )


def _slip_identity(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    case = s.case
    assert case is not None
    d = case.decision
    mover = d.slip.mover if d.slip else Person("")
    facts = _person_facts(mover) if d.slip else [Fact("搬运人", "Carrier", "未同步,请核对纸质放行条 not synced", Tone.WARN)]
    if d.slip is not None:
        facts.append(Fact("申请人", "Applicant", d.slip.applicant.name))
        facts.append(Fact("房号", "Unit", d.slip.unit_id))
    return View(
        Scene.SLIP_IDENTITY, Layout.IDENTITY, Tone.NEUTRAL, Text(f"放行条 {d.slip_id} · 核对搬运人", f"Slip {d.slip_id} · check the carrier"),
        headline=Text("请搬运人刷卡,或核对照片与身份证", "Carrier taps their card, or check photo and ID"),
        next_step=Text("核对无误后点“身份已核对”", "Then tap Identity checked"),
        facts=tuple(facts), photo_id=mover.photo, photo_caption=mover.name,
        buttons=(
            Button(Action.CANCEL, "", "取消", "Cancel"),
            Button(Action.MISMATCH, "", "不符", "Mismatch", "danger"),
            _REPORT,
            Button(Action.CONFIRM_IDENTITY, "", "身份已核对", "Identity checked", "primary"),
        ),
        **base,
    )


def _sign_off(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    case = s.case
    assert case is not None
    n = len(case.checked)
    how = "搬运人刷卡" if case.identity == "card" else "保安核对"
    return View(
        Scene.SIGN_OFF, Layout.KEYPAD, Tone.OK, Text("签字放行", "Sign off the release"),
        headline=Text(f"物品{n}项已核对 · 身份:{how}", f"{n} lines checked · carrier identified"),
        next_step=Text("值班保安刷工牌或输入密码放行", "Guard on shift: tap badge or enter PIN to release"),
        keypad=True, pin_length=len(s.pin), buttons=(Button(Action.CANCEL, "", "取消", "Cancel"), _REPORT), **base,
    )


def _released(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    if s.released_override:
        sup = s.supervisor.name if s.supervisor else ""
        guard = s.guard.name if s.guard else ""
        return View(
            Scene.RELEASED, Layout.MESSAGE, Tone.WARN, Text("主管放行 · 已标记", "Supervisor override · flagged"),
            headline=Text("闸门已开 · 主管授权放行", "Gate open · released on supervisor authority"),
            next_step=Text(f"授权主管:{sup} · 值班:{guard} · 已记录并通知物业",
                           f"Supervisor {sup}, guard {guard}; recorded and flagged for the office"),
            buttons=(_DONE, _RECENT), **base,
        )
    case = s.case
    photo = case.decision.slip.mover.photo if case and case.decision.slip else ""
    return View(
        Scene.RELEASED, Layout.MESSAGE, Tone.OK, Text("已放行", "Released"),
        headline=Text("闸门已开 · 请通行", "Gate open · go ahead"),
        next_step=Text(f"放行条 {case.decision.slip_id if case else ''} · 离开时间 {now.strftime('%H:%M')} 已记录",
                       f"Departure {now.strftime('%H:%M')} recorded"),
        photo_id=photo, buttons=(_DONE, _RECENT, _REPORT), **base,
    )


def _refused(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    first = s.refusal[0] if s.refusal else Reason.SLIP_MALFORMED
    reasons = [_reason(r) for r in s.refusal]
    used = s.case.decision.used if s.case else None
    if used is not None:
        reasons.insert(1, Text(f"使用于 {used.gate_id} {_minute(used.at, now)}", f"used at gate {used.gate_id}, {_minute(used.at, now)}"))
    if s.case is not None and s.case.decision.missing_approvals:
        names = "、".join(r.label_zh for r in s.case.decision.missing_approvals)
        reasons.append(Text(f"缺少:{names}", "missing approvals"))
    if s.case is not None and s.case.decision.detail:
        problem = s.case.decision.detail[:120]
        reasons.append(Text(f"数据问题:{problem}", f"record problem: {problem}"))
    if s.refusal_choice:
        for k, zh, en in MISMATCH_CHOICES:
            if k == s.refusal_choice:
                reasons.append(Text(zh, en))
    buttons: tuple[Button, ...] = (_DONE, _REPORT)
    if first is not Reason.GUARD_NOT_ON_SHIFT:
        buttons = (_DONE, _REPORT, _OVERRIDE)
    return View(
        Scene.REFUSED, Layout.MESSAGE, Tone.BAD, Text("不予放行", "Not released"),
        headline=_reason(first), next_step=_next(first), reasons=tuple(reasons[1:]), buttons=buttons, **base,
    )


def _choices(scene: Scene, title: Text, headline: Text, action: Action,
             choices: tuple[tuple[str, str, str], ...], base: dict[str, Any], tone: Tone) -> View:
    return View(
        scene, Layout.CHOICES, tone, title, headline=headline,
        choices=tuple(Button(action, k, zh, en) for k, zh, en in choices), buttons=(_CANCEL,), **base,
    )


def _mismatch(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    return _choices(Scene.MISMATCH_PICK, Text("不符 · 选择原因", "Mismatch · pick the reason"),
                    Text("哪里不符?", "What does not match?"), Action.MISMATCH_REASON, MISMATCH_CHOICES, base, Tone.BAD)


def _report(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    return _choices(Scene.REPORT_REASON, Text("报告可疑情况", "Report something suspicious"),
                    Text("选择类别,立即记录并通知保安部", "Pick one: recorded and sent to security"),
                    Action.REPORT_REASON, REPORT_CHOICES, base, Tone.WARN)


def _override_reason(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    sup = s.supervisor.name if s.supervisor else ""
    return _choices(Scene.OVERRIDE_REASON, Text("主管放行 · 选择理由", "Override · pick the reason"),
                    Text(f"主管 {sup}:此次放行将被标记", f"Supervisor {sup}: this release will be flagged"),
                    Action.OVERRIDE_REASON, OVERRIDE_CHOICES, base, Tone.WARN)


def _override_badge(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    return View(
        Scene.OVERRIDE_BADGE, Layout.MESSAGE, Tone.WARN, Text("主管放行", "Supervisor override"),
        headline=Text("请另一位主管刷工牌", "Another supervisor: tap your badge"),
        next_step=Text("须值班保安以外的主管刷工牌并输入密码;将被记录并通知物业",
                       "A supervisor other than the guard on shift, with badge and PIN; flagged for the office"),
        buttons=(_CANCEL,), **base,
    )


def _override_pin(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    who = s.pending_guard
    return View(
        Scene.OVERRIDE_PIN, Layout.KEYPAD, Tone.WARN, Text("主管放行 · 输入密码", "Override · supervisor PIN"),
        headline=Text(f"主管 {who.name if who else ''}", who.guard_id if who else ""),
        next_step=Text("请主管本人输入密码后按确认", "Supervisor: enter your own PIN, then OK"),
        keypad=True, pin_length=len(s.pin), buttons=(_CANCEL,), **base,
    )


#: How each kind of row is coloured on the recent-events screen; its words are EntryKind's labels.
_KIND_TONE: dict[str, Tone] = {k.value: tone for k, tone in (
    (EntryKind.RELEASE, Tone.OK), (EntryKind.REFUSAL, Tone.BAD), (EntryKind.CARD_PASS, Tone.OK),
    (EntryKind.CARD_DENIED, Tone.BAD), (EntryKind.OVERRIDE, Tone.WARN), (EntryKind.REPORT, Tone.WARN),
    (EntryKind.PIN_FAILURE, Tone.WARN), (EntryKind.VISITOR, Tone.OK))}


def _kind_text(kind: str) -> tuple[str, Tone]:
    zh, en = kind_label(kind)
    return (f"{zh} {en}" if zh != en else zh), _KIND_TONE.get(kind, Tone.NEUTRAL)


def _row_subject(r: dict[str, Any]) -> str:
    subject = str(r.get("slip_id") or r.get("permit_id") or r.get("card_uid") or "")
    detail = r.get("detail") or {}
    why = ""
    reasons = r.get("reasons") or []
    if r.get("kind") in ("refusal", "card_denied", "override") and reasons:
        try:
            why = Reason(reasons[0]).text.zh
        except ValueError:
            why = str(reasons[0])
    elif r.get("kind") == "report":
        why = next((zh for k, zh, _ in REPORT_CHOICES if k == detail.get("report")), "")
    elif r.get("kind") == EntryKind.VISITOR.value:
        subject = " ".join(str(detail.get(k) or "") for k in ("plate", "name") if detail.get(k))
        why = str(detail.get("id_masked") or "")
    return " · ".join(p for p in (subject, why) if p)


def _recent(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    rows = []
    for r in x.recent:
        what, tone = _kind_text(str(r.get("kind", "")))
        at = str(r.get("at", ""))
        try:
            t = datetime.fromisoformat(at)
            at = _local(t, now).strftime("%H:%M:%S") if _local(t, now).date() == now.date() else _local(t, now).strftime("%m-%d %H:%M")
        except ValueError:
            pass
        guard = x.guard_names.get(str(r.get("guard_id", "")), str(r.get("guard_id", "")))
        rows.append((at, what, _row_subject(r), guard, tone))
    return View(
        Scene.RECENT, Layout.TABLE, Tone.NEUTRAL, Text("本岗最近记录", "Recent events at this gate"),
        rows=tuple(rows), buttons=(_CANCEL,), **base,
    )


#: What the guard reads (Chinese) and the technician's summary (English), by what broke and how.
_FAULT_BY_KIND: dict[FaultKind, tuple[str, str]] = {
    FaultKind.DISK_FULL: ("存储空间已满,无法记录放行;清理空间后自动恢复", "Storage full: cannot record releases; resumes once space is freed"),
    FaultKind.LOG_WRITE: ("出门记录无法写入,不能放行", "Exit log cannot be written: no releases"),
    FaultKind.LOOKUP: ("本地数据无法读取,不能核验", "Local data cannot be read: nothing can be checked"),
    FaultKind.EXCEPTION: ("程序故障", "Program fault"),
}
_FAULT_BY_DEVICE: dict[FaultSource, tuple[str, str]] = {
    FaultSource.GPIO: ("闸门控制故障", "Gate control fault"),
    FaultSource.READER: ("读卡器故障", "Card reader fault"),
    FaultSource.CAMERA: ("摄像头故障", "Camera fault"),
}


def _fault_text(fault: Fault | None) -> Text:
    """The guard reads what broke in Chinese; the technician reads the exact error after the summary."""
    if fault is None:
        return Text("故障", "unknown fault")
    zh, en = _FAULT_BY_DEVICE.get(fault.source, ("故障", "Fault")) \
        if fault.kind in (FaultKind.DEVICE_OFFLINE, FaultKind.DEVICE_FAILED) \
        else _FAULT_BY_KIND.get(fault.kind, ("故障", "Fault"))
    return Text(zh, f"{en} ({fault.source.value}: {fault.message})" if fault.message else en)


def _out_of_service(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    return View(
        Scene.OUT_OF_SERVICE, Layout.MESSAGE, Tone.BAD, Text("暂停服务", "Out of service"),
        headline=Text("闸门已关闭 · 暂停放行", "Gate closed · no releases"),
        next_step=Text("请联系物业服务中心或技术人员", "Call the office or the technician"),
        reasons=(_fault_text(s.fault),), **base,
    )


# ----------------------------------------------------------------- the visitor form (登记表)

_NEXT = Button(Action.NEXT, "", "下一步", "Next", "primary")
_PREV = Button(Action.PREV, "", "上一步", "Back")
_FORM_CANCEL = Button(Action.CANCEL, "", "取消", "Cancel")
_DELETE = Button(Action.BACKSPACE, "", "删除", "Delete")


def _form_title(s: State, zh: str, en: str) -> Text:
    n, total = VISITOR_STEPS.index(s.scene) + 1, len(VISITOR_STEPS)
    return Text(f"访客登记 · {zh}({n}/{total})", f"Visitor registration · {en} (step {n} of {total})")


def _form(s: State) -> VisitorForm:
    return s.visitor or VisitorForm()


def _key(k: str, enabled: bool = True, chosen: bool = False) -> Button:
    return Button(Action.KEY, k, k, "", "primary" if chosen else "normal", enabled)


def _visitor_plate(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    plate = _form(s).plate
    allowed = plate_next_keys(plate)
    if not plate:
        keys = tuple(_key(k) for k in allowed)
        cols, headline = 8, Text("请选择车牌省份简称", "Tap the plate's province")
    else:
        digits = PLATE_DIGITS[1:] + PLATE_DIGITS[:1]      # 1…9 0, as on a phone's top row
        keys = tuple(_key(k, k in allowed) for k in digits + PLATE_LETTERS) + (_DELETE,)
        cols, headline = 10, Text("再输入字母和数字(无 I、O)", "Then its letters and digits (no I or O)")
    return View(
        Scene.VISITOR_PLATE, Layout.FORM, Tone.NEUTRAL, _form_title(s, "车牌号", "plate number"),
        headline=headline, entry=Fact("车牌号", "Plate", plate or "—"), keys=keys, key_cols=cols,
        buttons=(_FORM_CANCEL, Button(Action.NO_VEHICLE, "", "无车(步行)", "No vehicle"), _NEXT), **base,
    )


def _grouped_id(typed: str) -> str:
    """The ID number as typed, grouped region · birth date · sequence and check, to read it off the card."""
    parts = (typed[:6], typed[6:14], typed[14:])
    return " ".join(p for p in parts if p) or "—"


def _visitor_id(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    typed = _form(s).id_number
    full = len(typed) >= ID_LENGTH
    last = len(typed) == ID_LENGTH - 1
    keys = tuple(_key(k, not full) for k in "123456789") + (_key("X", last), _key("0", not full), _DELETE)
    return View(
        Scene.VISITOR_ID, Layout.FORM, Tone.NEUTRAL, _form_title(s, "身份证号", "ID number"),
        headline=Text("对照证件输入18位身份证号", "Type the 18-character ID number from the card"),
        next_step=_next(s.notice) if s.notice is not None else
        Text(f"已输入 {len(typed)}/{ID_LENGTH} 位 · 只保存遮挡后的号码",
             f"{len(typed)} of {ID_LENGTH} typed · only a masked number is kept"),
        entry=Fact("身份证号", "ID number", _grouped_id(typed)), keys=keys, key_cols=3,
        buttons=(_FORM_CANCEL, _PREV, _NEXT), **base,
    )


def _visitor_name_view(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    form = _form(s)
    keys = tuple(_key(k, chosen=k == form.surname) for k in SURNAMES)
    picks = tuple(Button(Action.PICK, k, zh, en, "primary" if form.honorific == k else "normal")
                  for k, zh, en in HONORIFICS)
    nxt = _NEXT if form.name else Button(Action.NEXT, "", "跳过", "Skip", "primary")
    return View(
        Scene.VISITOR_NAME, Layout.FORM, Tone.NEUTRAL, _form_title(s, "姓名(可不填)", "name (optional)"),
        headline=Text("点姓氏和先生/女士;不在表中可跳过", "Tap the surname and Mr/Ms, or skip"),
        entry=Fact("姓名", "Name", form.name or "未填 not given"), keys=keys, key_cols=10,
        buttons=(_FORM_CANCEL, _PREV, *picks, nxt), **base,
    )


def _visitor_items(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    chosen = _form(s).items
    keys = tuple(Button(Action.TOGGLE_ITEM, k, zh, en, "primary" if k in chosen else "normal")
                 for k, zh, en in VISITOR_ITEMS)
    return View(
        Scene.VISITOR_ITEMS, Layout.FORM, Tone.NEUTRAL, _form_title(s, "携带物品", "items carried"),
        headline=Text("点选携带的物品(可多选)", "Tap what the visitor carries (several allowed)"),
        entry=Fact("携带物品", "Items", items_text(chosen)[0]), keys=keys, key_cols=3,
        buttons=(_FORM_CANCEL, _PREV, _NEXT), **base,
    )


def _visitor_facts(form: VisitorForm, id_masked: str, now: datetime) -> tuple[Fact, ...]:
    zh_items, en_items = items_text(form.items)
    return (
        Fact("车牌号", "Plate", form.plate or "无车 no vehicle"),
        Fact("身份证号", "ID number", id_masked),
        Fact("姓名", "Name", form.name or "未填 not given"),
        Fact("携带物品", "Items", f"{zh_items} {en_items}"),
        Fact("时间", "Time", now.strftime("%Y-%m-%d %H:%M")),
    )


def _visitor_confirm(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    form = _form(s)
    return View(
        Scene.VISITOR_CONFIRM, Layout.FORM, Tone.NEUTRAL, _form_title(s, "确认", "confirm"),
        headline=Text("核对后点“确认登记”:记录并开闸", "Check, then tap Record: recorded, and the gate opens"),
        facts=_visitor_facts(form, mask_id(form.id_number), now),
        buttons=(_FORM_CANCEL, _PREV, Button(Action.CONFIRM, "", "确认登记", "Record", "primary")), **base,
    )


def _visitor_recorded(s: State, now: datetime, x: Extras, base: dict[str, Any]) -> View:
    form = _form(s)
    return View(
        Scene.VISITOR_RECORDED, Layout.MESSAGE, Tone.OK, Text("访客已登记", "Visitor registered"),
        headline=Text("闸门已开 · 请通行", "Gate open · go ahead"),
        next_step=Text(f"{form.plate or '无车'} · {form.id_masked} · {now.strftime('%H:%M')} 已记录",
                       f"{form.plate or 'no vehicle'} · {form.id_masked} · recorded at {now.strftime('%H:%M')}"),
        buttons=(_DONE, _RECENT, _VISITOR), **base,
    )


_BUILDERS = {
    Scene.IDLE: _idle, Scene.SIGN_IN_PIN: _sign_in, Scene.SIGN_OUT_CONFIRM: _sign_out,
    Scene.CARD_RESULT: _card_result, Scene.SLIP_ITEMS: _slip_items, Scene.SLIP_IDENTITY: _slip_identity,
    Scene.SIGN_OFF: _sign_off, Scene.RELEASED: _released, Scene.REFUSED: _refused,
    Scene.MISMATCH_PICK: _mismatch, Scene.OVERRIDE_BADGE: _override_badge, Scene.OVERRIDE_PIN: _override_pin,
    Scene.OVERRIDE_REASON: _override_reason,
    Scene.REPORT_REASON: _report, Scene.RECENT: _recent, Scene.OUT_OF_SERVICE: _out_of_service,
    Scene.VISITOR_PLATE: _visitor_plate, Scene.VISITOR_ID: _visitor_id, Scene.VISITOR_NAME: _visitor_name_view,
    Scene.VISITOR_ITEMS: _visitor_items, Scene.VISITOR_CONFIRM: _visitor_confirm,
    Scene.VISITOR_RECORDED: _visitor_recorded,
}

__all__ = ["Button", "Extras", "Fact", "ItemLine", "Layout", "RESULT_SCENES", "Status",
           "Text", "Tone", "View", "status_items", "view_of"]
