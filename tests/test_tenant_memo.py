"""The commercial tenants' release memo rule (domain/issuing.py memo_problems), pure: no database, no clock."""
from __future__ import annotations

from datetime import date

from domain.issuing import TenantMemo, memo_in_force, memo_problems

TODAY = date(2026, 12, 1)
MEMO = TenantMemo(memo_id=7, company="深圳市星河贸易有限公司", authorised=("王建国", "Li Na"), signed_on=date(2026, 3, 1))


def fields(memos: list[TenantMemo], applicant: str = "王建国", seal_checked: bool = True) -> list[str]:
    return [p.field for p in memo_problems(unit_id="12-0801", memos=memos, applicant=applicant,
                                           seal_checked=seal_checked, today=TODAY)]


def test_an_authorised_applicant_with_the_seal_checked_passes() -> None:
    assert fields([MEMO]) == []
    assert fields([MEMO], applicant=" 王 建国 ") == []            # spaces typed into a name do not matter
    assert fields([MEMO], applicant="li na") == []


def test_each_missing_piece_is_named_on_its_field() -> None:
    assert fields([MEMO], applicant="赵六") == ["applicant"]
    assert fields([MEMO], seal_checked=False) == ["seal_checked"]
    assert fields([MEMO], applicant="赵六", seal_checked=False) == ["applicant", "seal_checked"]
    problem = memo_problems(unit_id="12-0801", memos=[MEMO], applicant="赵六", seal_checked=True, today=TODAY)[0]
    assert "赵六" in problem.zh and "王建国" in problem.zh and "星河贸易" in problem.zh


def test_no_memo_in_force_refuses_on_the_unit() -> None:
    withdrawn = TenantMemo(7, "星河", ("王建国",), date(2026, 3, 1), withdrawn=True)
    expired = TenantMemo(8, "星河", ("王建国",), date(2026, 3, 1), valid_until=date(2026, 11, 30))
    future = TenantMemo(9, "星河", ("王建国",), date(2026, 12, 2))
    for memos in ([], [withdrawn], [expired], [future], [withdrawn, expired]):
        assert fields(memos) == ["unit"], memos
    problem = memo_problems(unit_id="12-0801", memos=[], applicant="王建国", seal_checked=True, today=TODAY)[0]
    assert "R-WK-033" in problem.zh and "12-0801" in problem.en
    last_day = TenantMemo(8, "星河", ("王建国",), date(2026, 3, 1), valid_until=TODAY)
    assert fields([last_day]) == []                                # the last day is a whole day


def test_the_latest_memo_in_force_is_the_one_checked_against() -> None:
    old = TenantMemo(3, "旧公司", ("赵六",), date(2025, 1, 1), withdrawn=True)
    new = TenantMemo(4, "新公司", ("钱七",), date(2026, 6, 1))
    assert memo_in_force([old, new], TODAY) == new
    assert fields([old, new], applicant="赵六") == ["applicant"]   # a withdrawn memo's people no longer apply
