"""Words staff read: exit-log kinds, reasons, guards' choices and flag kinds, Chinese and English."""
from __future__ import annotations

from typing import Any

from domain.exitrow import EntryKind
from domain.exitrow import kind_label as kind_label  # re-exported: the console pages label kinds from here
from domain.reasons import MISMATCH_CHOICES, OVERRIDE_CHOICES, REPORT_CHOICES, Reason
from domain.visitor import visitor_lines

#: Exit-log kinds with their (Chinese, English) labels: EntryKind.label_zh/label_en.
KINDS: dict[str, tuple[str, str]] = {k.value: (k.label_zh, k.label_en) for k in EntryKind}
#: Exit-log kinds staff filter by, in the order of the filter.
FILTER_KINDS = tuple(k.value for k in (EntryKind.RELEASE, EntryKind.REFUSAL, EntryKind.CARD_PASS,
                                       EntryKind.CARD_DENIED, EntryKind.OVERRIDE, EntryKind.REPORT,
                                       EntryKind.VISITOR))

CHOICES: dict[str, dict[str, tuple[str, str]]] = {
    "mismatch": {k: (zh, en) for k, zh, en in MISMATCH_CHOICES},
    "override_reason": {k: (zh, en) for k, zh, en in OVERRIDE_CHOICES},
    "report": {k: (zh, en) for k, zh, en in REPORT_CHOICES},
}
DETAIL_LABEL = {"mismatch": ("不符", "Mismatch"), "override_reason": ("强制放行原因", "Override reason"),
                "report": ("上报", "Report")}

FLAG_KINDS: dict[str, tuple[str, str, str, str]] = {
    # kind: (title zh, title en, what it means zh, what it means en)
    "gap": ("记录缺失", "Gap in a gate's log",
            "岗亭的某条记录尚未送达,之后的记录已暂存。网络恢复后通常会自动补齐并自动解除。",
            "A row from the gate has not arrived; later rows are held. It usually fills in and clears by itself."),
    "fork": ("记录冲突", "Conflicting record (fork)",
             "岗亭送来的记录与物业已存的记录矛盾:可能是岗亭数据库被替换或还原。请核查该岗亭。",
             "The gate sent a row that contradicts what the office holds: its database may have been replaced "
             "or restored. Check the gate."),
    "edited": ("记录被改动", "Record edited",
               "记录内容与其校验值不符,记录在岗亭上被改动过。未入库,请报告保安部。",
               "The row's contents do not match its hash: it was changed on the gate. Not stored; report to security."),
    "foreign_event_id": ("事件编号重复", "Event id reused",
                         "同一事件编号出现在另一序号下,疑似复制或伪造的记录。",
                         "The same event id came under another sequence number: a copied or forged row."),
    "bad_time": ("记录时间异常", "Row time out of range",
                 "岗亭记录的时间早于岗亭登记或晚于当前时间:岗亭时钟当时可能有误(断电后未对时)。记录已按原样保存,"
                 "放行条的使用时间按物业收到的时间计。请核查该岗亭的时钟。",
                 "The gate recorded a time before it was registered or in the future: its clock was probably wrong "
                 "(no time sync after a power cut). The row is stored as sent; its slip use is dated when the office "
                 "received it. Check the gate's clock."),
    "clock_disagrees": ("岗亭时钟与物业不符", "Gate clock disagrees with the office",
                        "岗亭称其时钟已校准,但发来的时间与物业收到的时间相差过大:岗亭或物业的时钟有误。该时间未被采用,记录不按它校正。请核查岗亭的对时(NTP)。",
                        "The gate says its clock is synced, but the time it sent is far from when the office received "
                        "it: one of the two clocks is wrong. That time was not used to re-date any row. Check the gate's "
                        "time sync (NTP)."),
    "double_use": ("放行条重复使用", "Slip used more than once",
                   "同一张放行条被放行了不止一次。请核对纸质放行条并询问相关岗亭。",
                   "One slip was released more than once. Check the paper slip and ask the gates involved."),
    "bad_slip_id": ("放行条编号异常", "Not a slip number",
                    "岗亭按一个不是放行条编号的内容放行了物品。请核查。",
                    "A gate released items against something that is not a slip number. Check it."),
    "override": ("主管强制放行", "Supervisor override",
                 "主管在岗亭强制放行了一次被拒的放行条或卡。请核对原因并确认授权主管与值班保安。",
                 "A supervisor overrode a refused slip or card at a gate. Check the reason, the approver and the guard."),
    "report": ("岗亭上报", "Guard's report",
               "保安在岗亭上报了可疑情况(人员、物品、伪造放行条等)。请尽快联系该岗亭。",
               "A guard reported something suspicious at a gate (person, items, forged slip...). Contact the gate."),
    "pin_lockout": ("工牌密码锁定", "Badge locked (wrong PINs)",
                    "有人在岗亭连续输错某工牌的密码,该工牌已被暂时锁定。请核实是否本人操作,工牌是否遗失。",
                    "Someone typed a badge's PIN wrong too many times at a gate; the badge is locked for a while. "
                    "Check it was its holder and that the badge is not lost."),
}


def reason_label(code: str) -> tuple[str, str]:
    try:
        text = Reason(code).text
    except ValueError:
        return code, code
    return text.zh, text.en


def detail_labels(detail: dict[str, Any], guards: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The guard's recorded choices (mismatch, override reason, report) and a visitor's registration
    form (name, plate, masked ID, items: never the ID's hash), as (zh, en) lines; a supervisor or guard
    id is named when ``guards`` (id -> name) knows it."""
    def who(guard_id: Any) -> str:
        name = (guards or {}).get(str(guard_id), "")
        return f"{name}({guard_id})" if name else str(guard_id)

    out = visitor_lines(detail)
    for key, (lzh, len_) in DETAIL_LABEL.items():
        value = detail.get(key)
        if value:
            zh, en = CHOICES[key].get(str(value), (str(value), str(value)))
            out.append((f"{lzh}:{zh}", f"{len_}: {en}"))
    if detail.get("supervisor_id"):
        out.append((f"授权主管:{who(detail['supervisor_id'])}", f"Supervisor: {detail['supervisor_id']}"))
    if detail.get("guard_on_shift"):
        out.append((f"值班保安:{who(detail['guard_on_shift'])}", f"Guard on shift: {detail['guard_on_shift']}"))
    if detail.get("badge_guard_id"):
        out.append((f"工牌:{detail['badge_guard_id']}", f"Badge: {detail['badge_guard_id']}"))
    if detail.get("locked_until"):
        out.append((f"锁定至 {detail['locked_until']}", f"Locked until {detail['locked_until']}"))
    if detail.get("replaces"):
        out.append((f"补办卡,替换 {detail['replaces']}", f"Replacement card for {detail['replaces']}"))
    if detail.get("used_at_gate"):
        out.append((f"已在 {detail['used_at_gate']} 使用", f"Used at {detail['used_at_gate']}"))
    return out


def flag_label(kind: str) -> tuple[str, str, str, str]:
    return FLAG_KINDS.get(kind, (kind, kind, "", ""))


#: What became of an exit-log row, as a clerk asks for it: outcome -> (Chinese, English, the kinds it covers).
#: A supervisor's override released the items, so it counts as released.
OUTCOMES: dict[str, tuple[str, str, frozenset[str]]] = {
    "released": ("放行", "Released", frozenset({EntryKind.RELEASE.value, EntryKind.OVERRIDE.value})),
    "refused": ("拒绝放行", "Refused", frozenset({EntryKind.REFUSAL.value})),
    "card_passed": ("刷卡通行", "Card passed", frozenset({EntryKind.CARD_PASS.value})),
    "denied": ("刷卡被拒", "Card denied", frozenset({EntryKind.CARD_DENIED.value})),
}


def outcome_of(kind: str) -> str:
    """The outcome a row's kind stands for ("" for rows that are no outcome: shifts, reports)."""
    return next((key for key, (_zh, _en, kinds) in OUTCOMES.items() if kind in kinds), "")
