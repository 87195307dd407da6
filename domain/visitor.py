"""The registration form (登记表) for people without a permit, as the gate records it.

DOMAIN.md: name, ID number, plate number, date and time, items carried. At the gate the
guard fills it on the touch screen; the row (kind ``visitor``) carries the form in its
``detail`` (`visitor_detail`) and its time is the row's ``at``. The ID number is never
stored: only masked (for people to read) and as an HMAC under the estate's ID key (to
match it with the office's records), as for every ID number (domain/secrets.py).

Decisions, for a guard who has seconds:

* **Plate**: optional (a visitor on foot: "无车 No vehicle"). A province abbreviation
  from a grid of the 31, then a letter, then 5 characters (6 for new-energy plates),
  from a pad without I and O, which plates never use. Special plates (学, 警, 挂, 港, 澳)
  are not offered.
* **ID number**: required, 18 characters checked against GB 11643's check digit
  (domain/idnumber.py); a wrong number is shown with the reason and kept for correction.
* **Name**: optional: Chinese handwriting on a 7" pad takes too long. The guard taps
  the visitor's surname from the 40 most common and 先生 / 女士 (e.g. 王女士), or
  leaves it empty: the ID number identifies the visitor.
* **Items**: toggles of common choices (`VISITOR_ITEMS`); 无 excludes the others.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.reasons import Reason
from domain.secrets import id_hash, mask_id

#: The 31 one-character province abbreviations on mainland plates, in the order plate keyboards use.
PROVINCES: tuple[str, ...] = tuple("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼")
#: Letters on plates: A to Z without I and O (they read as 1 and 0).
PLATE_LETTERS: tuple[str, ...] = tuple(ch for ch in "ABCDEFGHJKLMNPQRSTUVWXYZ")
PLATE_DIGITS: tuple[str, ...] = tuple("0123456789")
PLATE_LENGTHS = (7, 8)          # ordinary plates, new-energy plates
#: New-energy plates mark the kind with D (electric) or F (hybrid), third or last.
_NEW_ENERGY = ("D", "F")

#: The 40 most common surnames (about two thirds of the population), most common first.
SURNAMES: tuple[str, ...] = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡")
#: (key, Chinese, English): how the visitor is addressed after the surname.
HONORIFICS: tuple[tuple[str, str, str], ...] = (("mr", "先生", "Mr"), ("ms", "女士", "Ms"))

#: (key, Chinese, English): what a visitor carries. The row stores the keys; people read the labels.
VISITOR_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("none", "无", "None"),
    ("small", "小件", "Small items"),
    ("suitcase", "行李箱", "Suitcase"),
    ("parcel", "快递包裹", "Parcel"),
    ("tools", "工具", "Tools"),
    ("other", "其他", "Other"),
)
ITEM_LABELS: dict[str, tuple[str, str]] = {k: (zh, en) for k, zh, en in VISITOR_ITEMS}
NO_ITEMS = "none"
#: The detail keys of a visitor row (`visitor_detail`).
DETAIL_KEYS = ("name", "plate", "id_masked", "id_hash", "items")


def plate_next_keys(plate: str) -> tuple[str, ...]:
    """The keys that may follow what has been typed: the provinces first, then a letter,
    then letters and digits until the plate is as long as a plate can be."""
    if not plate:
        return PROVINCES
    if len(plate) == 1:
        return PLATE_LETTERS
    if len(plate) >= max(PLATE_LENGTHS):
        return ()
    return PLATE_LETTERS + PLATE_DIGITS


def plate_problem(plate: str) -> Reason | None:
    """Why ``plate`` is not a mainland plate number (None: it is; an empty plate is no plate)."""
    if plate == "":
        return None
    ok = (
        len(plate) in PLATE_LENGTHS
        and plate[0] in PROVINCES
        and plate[1] in PLATE_LETTERS
        and all(ch in PLATE_LETTERS or ch in PLATE_DIGITS for ch in plate[2:])
        and (len(plate) == 7 or plate[2] in _NEW_ENERGY or plate[-1] in _NEW_ENERGY)
    )
    return None if ok else Reason.VISITOR_PLATE_INVALID


def visitor_name(surname: str, honorific: str) -> str:
    """王 + mr -> 王先生; either may be empty (the name is optional)."""
    title = next((zh for k, zh, _ in HONORIFICS if k == honorific), "")
    return f"{surname}{title}"


def visitor_detail(*, key: bytes, id_number: str, plate: str, name: str, items: Sequence[str]) -> dict[str, Any]:
    """The row's ``detail`` for a registered visitor: the ID number only masked and keyed-hashed."""
    if not key:
        raise ValueError("no ID HMAC key: the ID number cannot be stored")
    return {"name": name, "plate": plate, "id_masked": mask_id(id_number), "id_hash": id_hash(key, id_number),
            "items": list(items)}


def items_text(items: object) -> tuple[str, str]:
    """A visitor row's items as people read them, (Chinese, English); an unknown key shows as itself."""
    keys = [str(k) for k in items] if isinstance(items, list | tuple) else []
    labels = [ITEM_LABELS.get(k, (k, k)) for k in keys]
    return "、".join(zh for zh, _ in labels) or "—", ", ".join(en for _, en in labels) or "—"


def visitor_lines(detail: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A visitor row's form as (Chinese, English) lines for the console and the export."""
    if "id_masked" not in detail and "plate" not in detail:
        return []
    zh_items, en_items = items_text(detail.get("items"))
    name = str(detail.get("name") or "")
    plate = str(detail.get("plate") or "")
    return [
        (f"姓名:{name or '未填'}", f"Name: {name or 'not given'}"),
        (f"车牌:{plate or '无车'}", f"Plate: {plate or 'no vehicle'}"),
        (f"身份证:{detail.get('id_masked') or '—'}", f"ID: {detail.get('id_masked') or '—'}"),
        (f"携带物品:{zh_items}", f"Items: {en_items}"),
    ]
