"""The front desk's checks before a slip is issued (DOMAIN.md), as pure functions.

The office calls them when a clerk issues a slip (office/slips.py); each returns what is wrong
in words a clerk can act on, Chinese first, or None. They read no clock: the caller passes now.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.idnumber import id_number_problem
from domain.model import LargeItemHours, SlipKind

#: Move-out slips are applied for at least this many working days ahead (DOMAIN.md).
MOVE_OUT_NOTICE_WORKING_DAYS = 3
#: Goods no slip may list (DOMAIN.md "Prohibited"), matched as words inside an item's name.
#: An estate adds its own with the `prohibited_items` rule.
PROHIBITED_ITEMS: tuple[str, ...] = (
    "汽油", "柴油", "煤油", "酒精", "油漆稀释剂", "液化气", "煤气罐", "氢气", "炸药", "雷管", "导火索", "烟花", "爆竹",
    "鞭炮", "农药", "剧毒", "氰化", "放射", "枪", "弹药", "子弹", "管制刀具", "匕首", "弩", "毒品", "传单",
)
#: Longest window a slip may have: a slip is for one move, not a season.
MAX_WINDOW = timedelta(days=31)
#: How far ahead a slip may start: the front desk issues for the coming weeks, not years (a slip dated
#: 9999-12-31 was issued, printed and sent to a phone, and every gate refused it as a bad record).
MAX_AHEAD = timedelta(days=90)
#: A unit id as the estate writes it: building-entrance-room (3-2-1502) or building-room (12-0801).
UNIT_ID = re.compile(r"^[0-9A-Za-z]{1,4}(-[0-9A-Za-z]{1,4}){1,2}$")
#: The tenant release memo's form number (租户室内物品放行备忘表, DOMAIN.md: commercial and office tenants).
MEMO_FORM = "R-WK-033"


@dataclass(frozen=True)
class Problem:
    """One reason a slip cannot be issued; ``field`` names the form field it is about."""

    field: str
    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


def working_days(first: date, last_exclusive: date, hours: LargeItemHours) -> int:
    """Working days d with first <= d < last_exclusive (weekends off, 调休 working days and holidays as the estate's rule says)."""
    n, d = 0, first
    while d < last_exclusive and n < 366:
        n += hours.is_working_day(d)
        d += timedelta(days=1)
    return n


def window_has_allowed_time(valid_from: datetime, valid_until: datetime, hours: LargeItemHours) -> bool:
    """Whether some moment of the window falls inside large-item hours (in the window's own zone)."""
    day = valid_from.date()
    while day <= valid_until.date():
        if hours.allow_non_working_days or hours.is_working_day(day):
            start = datetime.combine(day, hours.start, valid_from.tzinfo)
            end = datetime.combine(day, hours.end, valid_from.tzinfo)
            if max(start, valid_from) < min(end, valid_until):
                return True
        day += timedelta(days=1)
    return False


def size_cm(spec: str) -> float | None:
    """The largest dimension a size text gives, in centimetres: ``180cm``, ``1.8m``, ``180x60x70cm``, ``2米``; None if none."""
    found = []
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(mm|cm|m|毫米|厘米|公分|米)?", spec.lower()):
        factor = {"mm": 0.1, "毫米": 0.1, "m": 100.0, "米": 100.0}.get(unit, 1.0)
        found.append(float(number) * factor)
    if not found or not re.search(r"(mm|cm|m|毫米|厘米|公分|米)", spec.lower()):
        return None
    return max(found)


def prohibited_word(name: str, banned: Iterable[str]) -> str | None:
    for word in banned:
        if word and word in name:
            return word
    return None


def window_ahead_problem(now: datetime, valid_from: datetime) -> Problem | None:
    """A window starting more than MAX_AHEAD after ``now``: every way of issuing refuses it."""
    if valid_from - now > MAX_AHEAD:
        return Problem("valid_from", f"开始时间最多提前 {MAX_AHEAD.days} 天", f"a window starts at most {MAX_AHEAD.days} days ahead")
    return None


def issue_problems(*, now: datetime, valid_from: datetime, valid_until: datetime, hours: LargeItemHours,
                   move_out: bool, items: Iterable[tuple[str, str]], banned: Iterable[str] = PROHIBITED_ITEMS,
                   max_size_cm: float | None = None, unit_id: str = "", id_number: str = "") -> list[Problem]:
    """Every reason the front desk must not issue this slip, in the order of the form's fields."""
    out: list[Problem] = []
    if unit_id and not UNIT_ID.fullmatch(unit_id):
        out.append(Problem("unit", f"单元号格式不对:{unit_id}(应如 3-2-1502)", f"unit {unit_id!r} should look like 3-2-1502"))
    if id_number:
        problem = id_number_problem(id_number)          # domain/idnumber.py: the one GB 11643 rule
        if problem is not None:
            out.append(Problem("mover_id", problem.text.zh, problem.text.en))
    if valid_until <= valid_from:
        out.append(Problem("valid_until", "结束时间须晚于开始时间", "the window must end after it starts"))
    elif valid_until <= now:
        out.append(Problem("valid_until", "放行时间已过", "the window is already over"))
    elif valid_until - valid_from > MAX_WINDOW:
        out.append(Problem("valid_until", f"放行时间最长 {MAX_WINDOW.days} 天", f"a window is at most {MAX_WINDOW.days} days"))
    elif (ahead_problem := window_ahead_problem(now, valid_from)) is not None:
        out.append(ahead_problem)
    elif not window_has_allowed_time(max(valid_from, now), valid_until, hours):
        out.append(Problem("valid_from", f"放行时间完全不在大件物品搬运时间内({hours.start:%H:%M}-{hours.end:%H:%M},工作日)",
                           f"the window lies wholly outside large-item hours ({hours.start:%H:%M}-{hours.end:%H:%M}, "
                           "working days)"))
    if move_out and valid_from - now <= MAX_AHEAD:
        ahead = working_days(now.date(), valid_from.date(), hours)
        if ahead < MOVE_OUT_NOTICE_WORKING_DAYS:
            out.append(Problem("valid_from", f"迁出须提前 {MOVE_OUT_NOTICE_WORKING_DAYS} 个工作日申请(现为 {ahead} 个)",
                               f"a move-out is applied for {MOVE_OUT_NOTICE_WORKING_DAYS} working days ahead "
                               f"(this is {ahead})"))
    banned = tuple(banned)
    for n, (name, spec) in enumerate(items, start=1):
        word = prohibited_word(name, banned)
        if word:
            out.append(Problem(f"item{n}", f"第 {n} 项「{name}」属禁止携带物品({word})",
                               f"item {n} ({name}) is prohibited goods ({word})"))
        size = size_cm(spec)
        if max_size_cm is not None and size is not None and size > max_size_cm:
            out.append(Problem(f"item{n}", f"第 {n} 项尺寸 {size:g}cm 超过本小区限制 {max_size_cm:g}cm",
                               f"item {n} is {size:g} cm, over the estate's limit of {max_size_cm:g} cm"))
    return out


#: Proof a clerk attaches to a slip (票据, 授权书), by the kind the form names: (Chinese, English).
PROOF_KINDS: dict[str, tuple[str, str]] = {
    "receipt": ("收据", "receipt"),
    "invoice": ("发票", "invoice"),
    "authorisation": ("授权书", "authorisation letter"),
    "other": ("其他", "other"),
}
#: The proof a slip of a kind cannot be issued without: company assets leave with the company's
#: authorisation letter (公司财产须附授权书). The one definition; the console's form applies it.
REQUIRED_PROOFS: dict[SlipKind, frozenset[str]] = {
    SlipKind.COMPANY_ASSETS: frozenset({"authorisation"}),
}


def carrier_problems(*, id_number: bool, photo: bool, permit: bool) -> list[Problem]:
    """The gate must be able to tell the carrier: by an ID number, a photo, or the carrier's own permit."""
    if id_number or photo or permit:
        return []
    return [Problem("mover", "请填写搬运人身份证号,或拍摄/上传搬运人照片,或填写搬运人的住户证",
                    "give the carrier's ID number, or take or upload the carrier's photo, or give the carrier's permit")]


def proof_problems(kind: SlipKind, attached: Iterable[str]) -> list[Problem]:
    """The proof ``kind`` needs that is not among the ``attached`` kinds (PROOF_KINDS keys)."""
    missing = sorted(REQUIRED_PROOFS.get(kind, frozenset()) - set(attached))
    return [Problem("attachments", f"{kind.label_zh}须附{PROOF_KINDS[k][0]}",
                    f"a {kind.label_en.lower()} slip needs an attached {PROOF_KINDS[k][1]}") for k in missing]


# ---------------------------------------------------------------- commercial tenants' release memo


@dataclass(frozen=True)
class TenantMemo:
    """A commercial tenant's release memo (租户室内物品放行备忘表, form R-WK-033), filed at the front desk at
    move-in with its specimen seal and signatures (印鉴): who may apply for the tenant's slips.
    ``valid_until`` is the last day it is in force (None: until withdrawn); ``withdrawn``: the tenant left."""

    memo_id: int
    company: str
    authorised: tuple[str, ...]
    signed_on: date
    valid_until: date | None = None
    withdrawn: bool = False

    def in_force(self, today: date) -> bool:
        return (not self.withdrawn and self.signed_on <= today
                and (self.valid_until is None or today <= self.valid_until))


def person_key(name: str) -> str:
    """A name as compared against a memo's list: spaces and the middle dot of transcribed names dropped, any case."""
    return re.sub(r"[\s·•・]", "", name).casefold()


def memo_in_force(memos: Iterable[TenantMemo], today: date) -> TenantMemo | None:
    """The memo a unit's slips are checked against today: the latest signed one in force, or None."""
    live = [m for m in memos if m.in_force(today)]
    return max(live, key=lambda m: (m.signed_on, m.memo_id)) if live else None


def memo_problems(*, unit_id: str, memos: Iterable[TenantMemo], applicant: str, seal_checked: bool,
                  today: date) -> list[Problem]:
    """Why the front desk must not make a slip for a commercial tenant's unit (DOMAIN.md, procedure 4.2.2):
    no memo in force on file, an applicant the memo does not authorise, or the seal and signature on the
    application not checked against the memo's specimens. Only for a unit marked commercial."""
    memo = memo_in_force(memos, today)
    if memo is None:
        return [Problem("unit", f"商户未在前台存档《租户室内物品放行备忘表》{MEMO_FORM}(或已撤回、已过期):"
                                f"单元 {unit_id} 是商户单元,请先登记备忘表",
                        f"unit {unit_id} is a commercial tenant's and no release memo ({MEMO_FORM}) is in force at the "
                        "front desk (none filed, withdrawn or expired): register the memo first")]
    out = []
    if not any(person_key(applicant) == person_key(p) for p in memo.authorised if p.strip()):
        names = "、".join(memo.authorised)
        out.append(Problem("applicant", f"申请人「{applicant}」不是{memo.company}备忘表授权的申请人({names})",
                           f"applicant {applicant!r} is not authorised by {memo.company}'s memo ({names})"))
    if not seal_checked:
        out.append(Problem("seal_checked", "请将申请上的印章及签名与备忘表核对,并勾选「印鉴已与备忘表核对」",
                           "check the seal and signature on the tenant's application against the memo's specimens "
                           "and tick 'seal checked'"))
    return out
