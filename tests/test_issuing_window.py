"""How far ahead a slip may be issued: weeks, not years (issue 18). One rule for the console and the CLI."""
from __future__ import annotations

from datetime import datetime, timedelta

from domain.issuing import MAX_AHEAD, issue_problems
from tests.factories import HOURS, NOW


def problems(valid_from: datetime, valid_until: datetime, move_out: bool = False) -> list[tuple[str, str]]:
    return [(p.field, p.en) for p in issue_problems(now=NOW, valid_from=valid_from, valid_until=valid_until, hours=HOURS,
                                                    move_out=move_out, items=[("冰箱", "")])]


def test_a_window_that_starts_more_than_the_limit_ahead_is_refused_on_its_start() -> None:
    soon = NOW + MAX_AHEAD - timedelta(days=1)
    assert problems(soon, soon + timedelta(hours=8)) == []
    late = NOW + MAX_AHEAD + timedelta(days=1)
    assert problems(late, late + timedelta(hours=8)) == [("valid_from", f"a window starts at most {MAX_AHEAD.days} days ahead")]


def test_a_move_out_dated_at_the_calendars_end_is_refused_at_once() -> None:
    # The move-out notice counts working days from today to the start: to 9999 that was millions of days.
    start = datetime(9999, 12, 1, 9, tzinfo=NOW.tzinfo)
    assert problems(start, start + timedelta(days=2), move_out=True) == [
        ("valid_from", f"a window starts at most {MAX_AHEAD.days} days ahead")]
