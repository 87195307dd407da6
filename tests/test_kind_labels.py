"""The gate and the office call every kind of exit-log row, and every kind of slip, by the same words."""
from __future__ import annotations

import pytest

from domain.exitrow import EntryKind
from domain.model import SlipKind
from kiosk.core.view import Extras, Tone, view_of
from office.console.labels import FILTER_KINDS, kind_label
from office.console.pages import KIND_ZH
from tests.ui.gallery import NOW, gallery


@pytest.mark.parametrize("kind", list(EntryKind))
def test_the_gates_recent_events_and_the_office_log_name_a_kind_alike(kind: EntryKind) -> None:
    row = {"kind": kind.value, "at": NOW.isoformat(), "slip_id": "S261125001", "guard_id": "G001", "reasons": [],
           "detail": {}}
    view = view_of(gallery()["recent"], NOW, extras=Extras(recent=(row,)))
    (_at, what, _subject, _guard, tone), = view.rows
    assert kind_label(kind.value) == (kind.label_zh, kind.label_en)
    assert what == f"{kind.label_zh} {kind.label_en}"
    expected_tone = {EntryKind.RELEASE: Tone.OK, EntryKind.CARD_PASS: Tone.OK, EntryKind.REFUSAL: Tone.BAD,
                     EntryKind.CARD_DENIED: Tone.BAD, EntryKind.OVERRIDE: Tone.WARN, EntryKind.REPORT: Tone.WARN,
                     EntryKind.PIN_FAILURE: Tone.WARN, EntryKind.VISITOR: Tone.OK}
    assert tone is expected_tone.get(kind, Tone.NEUTRAL)


def test_the_office_filters_by_kinds_the_gate_records() -> None:
    assert set(FILTER_KINDS) <= {k.value for k in EntryKind}
    assert kind_label("exit_request") == ("按钮开门", "Exit button")


def test_the_console_names_slip_kinds_as_the_gate_does() -> None:
    assert KIND_ZH == {k.value: k.label_zh for k in SlipKind}
    assert KIND_ZH["tenant"] == "租户搬出(业主同意)"
