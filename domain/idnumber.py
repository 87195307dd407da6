"""Mainland resident ID numbers (居民身份证号码, GB 11643-1999): the one check of their form.

Eighteen characters: a six-digit region code, the birth date as YYYYMMDD, a three-digit
sequence number and a check character, 0-9 or X, computed from the first seventeen
(ISO 7064 MOD 11-2). A typing slip of one digit, or two neighbours swapped, always fails
the check. Only the form is checked: whether the number was issued to anyone is not
knowable at a gate.
"""
from __future__ import annotations

from datetime import date

from domain.reasons import Reason

ID_LENGTH = 18
#: The weight of each of the first seventeen digits, 2^(18-i) mod 11.
_WEIGHTS = tuple(pow(2, ID_LENGTH - 1 - i, 11) for i in range(ID_LENGTH - 1))
#: The check character for (weighted sum mod 11).
_CHECK = "10X98765432"


def normalise_id(text: str) -> str:
    """As typed or read: spaces dropped, a lower-case x made upper-case."""
    return "".join(text.split()).upper()


def check_character(first17: str) -> str:
    """The check character (0-9 or X) of seventeen digits."""
    if len(first17) != ID_LENGTH - 1 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need 17 digits")
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def id_number_problem(text: str) -> Reason | None:
    """Why ``text`` is not a well-formed 18-character ID number (None: it is).

    VISITOR_ID_INCOMPLETE: not 18 characters; VISITOR_ID_MALFORMED: not 17 digits and a
    digit or X, or no real birth date; VISITOR_ID_CHECKSUM: the check character is wrong."""
    s = normalise_id(text)
    if len(s) != ID_LENGTH:
        return Reason.VISITOR_ID_INCOMPLETE
    body, last = s[:-1], s[-1]
    if not (body.isascii() and body.isdigit()) or not (last == "X" or (last.isascii() and last.isdigit())):
        return Reason.VISITOR_ID_MALFORMED
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return Reason.VISITOR_ID_MALFORMED
    if born.year < 1900:
        return Reason.VISITOR_ID_MALFORMED
    if check_character(body) != last:
        return Reason.VISITOR_ID_CHECKSUM
    return None
