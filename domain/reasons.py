"""Stable reason codes for every gate decision, with what the guard reads and does.

The codes are part of the exit log and the office's reports: never rename one.
Each carries a Chinese and an English message and the next step for the guard or
carrier, so that a refusal on screen always says why and what now.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from domain.model import MAX_PIN_FAILURES, PIN_LOCKOUT_MINUTES


@dataclass(frozen=True)
class ReasonText:
    zh: str
    en: str
    next_zh: str
    next_en: str


class Reason(str, enum.Enum):
    # cards
    CARD_VALID = "card.valid"
    CARD_EXPIRED = "card.expired"
    CARD_NOT_YET_VALID = "card.not_yet_valid"
    CARD_LOST = "card.lost"
    CARD_REVOKED = "card.revoked"
    CARD_UNKNOWN = "card.unknown"
    CARD_RECORD_INVALID = "card.record_invalid"
    # slips
    SLIP_VALID = "slip.valid"
    SLIP_MALFORMED = "slip.malformed"
    SLIP_SIGNATURE_INVALID = "slip.signature_invalid"
    SLIP_UNKNOWN_KEY = "slip.unknown_key"
    SLIP_KEY_REVOKED = "slip.key_revoked"
    SLIP_OTHER_ESTATE = "slip.other_estate"
    SLIP_EXPIRED = "slip.expired"
    SLIP_NOT_YET_VALID = "slip.not_yet_valid"
    SLIP_CANCELLED = "slip.cancelled"
    SLIP_ALREADY_USED = "slip.already_used"
    SLIP_USED_AT_OTHER_GATE = "slip.used_at_other_gate"
    SLIP_WRONG_GATE = "slip.wrong_gate"
    SLIP_OUTSIDE_HOURS = "slip.outside_hours"
    SLIP_UNPAID_FEES = "slip.unpaid_fees"
    SLIP_APPROVALS_MISSING = "slip.approvals_missing"
    SLIP_ITEMS_MISMATCH = "slip.items_mismatch"
    SLIP_CARRIER_MISMATCH = "slip.carrier_mismatch"
    SLIP_NOT_SYNCED = "slip.not_synced"
    SLIP_RECORD_INVALID = "slip.record_invalid"
    # guard flow
    GUARD_NOT_ON_SHIFT = "guard.not_on_shift"
    GUARD_PIN_WRONG = "guard.pin_wrong"
    GUARD_NOT_SUPERVISOR = "guard.not_supervisor"
    GUARD_OWN_OVERRIDE = "guard.own_override"
    GUARD_PIN_LOCKED = "guard.pin_locked"
    # visitor registration form (登记表)
    VISITOR_PLATE_INVALID = "visitor.plate_invalid"
    VISITOR_ID_INCOMPLETE = "visitor.id_incomplete"
    VISITOR_ID_MALFORMED = "visitor.id_malformed"
    VISITOR_ID_CHECKSUM = "visitor.id_checksum"
    VISITOR_ITEMS_EMPTY = "visitor.items_empty"
    VISITOR_NO_KEY = "visitor.no_key"

    @property
    def text(self) -> ReasonText:
        return REASON_TEXT[self]

    @property
    def ok(self) -> bool:
        return self in (Reason.CARD_VALID, Reason.SLIP_VALID)


_BACK_TO_DESK_ZH = "请持放行条回物业服务中心前台更正"
_BACK_TO_DESK_EN = "Send the carrier back to the front desk to amend the slip."

REASON_TEXT: dict[Reason, ReasonText] = {
    Reason.CARD_VALID: ReasonText("住户证有效", "Card valid", "放行", "Let the holder pass."),
    Reason.CARD_EXPIRED: ReasonText(
        "住户证已过期", "Card expired", "请到物业服务中心续办", "Ask the holder to renew it at the office."
    ),
    Reason.CARD_NOT_YET_VALID: ReasonText(
        "住户证尚未生效", "Card not yet valid", "请核对生效日期或联系物业", "Check the start date or call the office."
    ),
    Reason.CARD_LOST: ReasonText(
        "此卡已挂失", "Card reported lost", "请扣留此卡并联系物业服务中心", "Keep the card and call the office."
    ),
    Reason.CARD_REVOKED: ReasonText(
        "此卡已注销", "Card revoked", "请扣留此卡并联系物业服务中心", "Keep the card and call the office."
    ),
    Reason.CARD_UNKNOWN: ReasonText(
        "未登记的卡", "Unknown card", "请登记或到物业服务中心办证", "Register the visitor or send them to the office."
    ),
    Reason.CARD_RECORD_INVALID: ReasonText(
        "本岗此卡的数据有误,无法核验", "This card's record at the gate is damaged: it cannot be checked",
        "不得放行,请联系物业服务中心", "Do not let through on this card. Call the office.",
    ),
    Reason.SLIP_VALID: ReasonText("放行条有效", "Slip valid", "请核对物品与搬运人", "Check the items and the carrier."),
    Reason.SLIP_MALFORMED: ReasonText(
        "放行条二维码无法识别或已损坏", "Slip code damaged or not a gatepass slip",
        "请重新扫描;仍不行请回前台重开", "Scan again; if it still fails, send the carrier to the front desk.",
    ),
    Reason.SLIP_SIGNATURE_INVALID: ReasonText(
        "放行条签名无效(疑似伪造)", "Slip signature invalid (possible forgery)",
        "不得放行,请报告保安部", "Do not release. Report to security.",
    ),
    Reason.SLIP_UNKNOWN_KEY: ReasonText(
        "放行条签发密钥未知", "Slip signed with an unknown key",
        "不得放行,请联系物业服务中心", "Do not release. Call the office.",
    ),
    Reason.SLIP_KEY_REVOKED: ReasonText(
        "放行条签发密钥已被物业作废", "Slip signed with a key the office revoked",
        "不得放行,请报告保安部并联系物业服务中心", "Do not release. Report to security and call the office.",
    ),
    Reason.SLIP_OTHER_ESTATE: ReasonText(
        "其他小区的放行条", "Slip of another estate",
        "本小区不得放行,请持放行条回签发小区办理", "Do not release here. The slip is only good in the estate that issued it.",
    ),
    Reason.SLIP_EXPIRED: ReasonText("放行条已过期", "Slip expired", _BACK_TO_DESK_ZH, _BACK_TO_DESK_EN),
    Reason.SLIP_NOT_YET_VALID: ReasonText(
        "放行条未到有效时间", "Slip not yet valid", "请在放行条有效时间内出行", "Come back within the slip's window."
    ),
    Reason.SLIP_CANCELLED: ReasonText("放行条已作废", "Slip cancelled", _BACK_TO_DESK_ZH, _BACK_TO_DESK_EN),
    Reason.SLIP_ALREADY_USED: ReasonText(
        "放行条已在本岗使用", "Slip already used at this gate", "不得重复放行,请报告", "Do not release again. Report it."
    ),
    Reason.SLIP_USED_AT_OTHER_GATE: ReasonText(
        "放行条已在其他出入口使用", "Slip already used at another gate",
        "不得重复放行,请报告", "Do not release again. Report it.",
    ),
    Reason.SLIP_WRONG_GATE: ReasonText(
        "迁出须走指定出口", "Move-outs must use the designated exit",
        "请引导至指定出口", "Direct the carrier to the designated exit.",
    ),
    Reason.SLIP_OUTSIDE_HOURS: ReasonText(
        "夜间及非工作日不得搬出大件物品", "Large items may not leave at night or on non-working days",
        "请在规定时间内搬出", "Come back within large-item hours.",
    ),
    Reason.SLIP_UNPAID_FEES: ReasonText(
        "该单元有未缴物业费或水电费", "The unit has unpaid fees", "请先到前台缴清费用", "Settle the fees at the front desk first."
    ),
    Reason.SLIP_APPROVALS_MISSING: ReasonText(
        "放行条缺少审批签名", "Slip lacks required approvals", _BACK_TO_DESK_ZH, _BACK_TO_DESK_EN
    ),
    Reason.SLIP_ITEMS_MISMATCH: ReasonText(
        "物品与放行条不符", "Items do not match the slip", _BACK_TO_DESK_ZH, _BACK_TO_DESK_EN
    ),
    Reason.SLIP_CARRIER_MISMATCH: ReasonText(
        "搬运人与放行条不符", "Carrier does not match the slip", _BACK_TO_DESK_ZH, _BACK_TO_DESK_EN
    ),
    Reason.SLIP_NOT_SYNCED: ReasonText(
        "放行条尚未同步到本岗", "Slip details not yet synced to this gate",
        "签名有效;请按二维码信息核对,或联系前台", "Signature is valid; check against the code's facts or call the desk.",
    ),
    Reason.SLIP_RECORD_INVALID: ReasonText(
        "本岗此放行条的数据有误,无法核验", "This slip's record at the gate is damaged: it cannot be checked",
        "不得放行,请联系物业服务中心", "Do not release. Call the office.",
    ),
    Reason.GUARD_NOT_ON_SHIFT: ReasonText(
        "无值班人员签到", "No guard signed in", "请值班人员刷工牌签到", "A guard must sign in with a badge."
    ),
    Reason.GUARD_PIN_WRONG: ReasonText("密码错误", "Wrong PIN", "请重新输入", "Enter the PIN again."),
    Reason.GUARD_NOT_SUPERVISOR: ReasonText(
        "需主管授权", "Supervisor badge required", "请主管刷卡", "A supervisor must tap their badge."
    ),
    Reason.GUARD_OWN_OVERRIDE: ReasonText(
        "值班人员不能为自己授权放行", "The guard on shift cannot approve their own override",
        "请另一位主管刷工牌并输入密码", "Another supervisor must tap their badge and enter their PIN.",
    ),
    Reason.GUARD_PIN_LOCKED: ReasonText(
        f"密码连续错误{MAX_PIN_FAILURES}次,此工牌已锁定", f"{MAX_PIN_FAILURES} wrong PINs: this badge is locked",
        f"请{PIN_LOCKOUT_MINUTES}分钟后再试,已通知物业", f"Try again in {PIN_LOCKOUT_MINUTES} minutes; the office is told.",
    ),
    Reason.VISITOR_PLATE_INVALID: ReasonText(
        "车牌号不完整", "Plate number incomplete",
        "省份简称+字母+5位(新能源6位),或点“无车”", "Province, letter, then 5 characters (6 for new-energy), or tap No vehicle.",
    ),
    Reason.VISITOR_ID_INCOMPLETE: ReasonText(
        "身份证号应为18位", "ID number must have 18 characters",
        "请核对证件,补全后再点下一步", "Check the card, complete the number, then tap Next.",
    ),
    Reason.VISITOR_ID_MALFORMED: ReasonText(
        "身份证号格式有误(出生日期不对)", "ID number malformed (no real birth date)",
        "请核对证件后修改", "Check the card and correct the number.",
    ),
    Reason.VISITOR_ID_CHECKSUM: ReasonText(
        "身份证号校验位不符,可能输错", "ID number check digit wrong: probably mistyped",
        "请对照证件逐位核对后修改", "Compare each digit with the card and correct it.",
    ),
    Reason.VISITOR_ITEMS_EMPTY: ReasonText(
        "请选择携带物品", "Choose what is carried",
        "未携带物品请选“无”", "Tap None if nothing is carried.",
    ),
    Reason.VISITOR_NO_KEY: ReasonText(
        "本岗未配置身份证加密密钥,无法登记访客", "No ID key at this gate: visitors cannot be registered",
        "请用纸质登记表并联系技术人员", "Use the paper form and call the technician.",
    ),
}

# Reasons a guard can pick when items or carrier do not match the slip.
MISMATCH_CHOICES: tuple[tuple[str, str, str], ...] = (
    ("extra_items", "物品多于放行条", "More items than on the slip"),
    ("missing_items", "物品少于放行条", "Fewer items than on the slip"),
    ("different_items", "物品与描述不符", "Items differ from the description"),
    ("wrong_quantity", "数量不符", "Quantity differs"),
    ("carrier_not_listed", "搬运人非放行条所列", "Carrier is not the one on the slip"),
    ("prohibited", "疑似违禁物品", "Possibly prohibited goods"),
)

REPORT_CHOICES: tuple[tuple[str, str, str], ...] = (
    ("suspicious_person", "可疑人员", "Suspicious person"),
    ("suspicious_items", "可疑物品", "Suspicious items"),
    ("forged_slip", "疑似伪造放行条", "Possibly forged slip"),
    ("tailgating", "尾随进出", "Tailgating"),
    ("other", "其他", "Other"),
)

OVERRIDE_CHOICES: tuple[tuple[str, str, str], ...] = (
    ("office_confirmed_by_phone", "已电话确认物业服务中心", "Office confirmed by phone"),
    ("slip_not_synced", "放行条未同步", "Slip not yet synced"),
    ("emergency", "紧急情况", "Emergency"),
    ("other", "其他", "Other"),
)


def missing_reason_text() -> list[Reason]:
    """Reasons without text: a test keeps this empty."""
    return [r for r in Reason if r not in REASON_TEXT]
