"""The view models say what a guard must read, and never what they must not see."""
from __future__ import annotations

from dataclasses import asdict

import pytest

from kiosk.core.events import Action
from kiosk.core.flow import Scene
from kiosk.core.view import Status, Tone, view_of
from tests.ui.gallery import NOW, PIN, VISITOR_ID, WRONG_ID, gallery, scenes_covered


def _all_text(view) -> str:
    return repr(asdict(view))


def test_the_gallery_reaches_every_scene():
    assert scenes_covered() == set(Scene)


@pytest.mark.parametrize("name", list(gallery()))
def test_no_view_ever_contains_the_pin_or_a_full_id_number(name):
    state = gallery()[name]
    text = _all_text(view_of(state, NOW))
    assert PIN not in text.replace("2026", "")   # the PIN 2468 never appears
    assert "330106" not in text and "440106" not in text


@pytest.mark.parametrize("name", list(gallery()))
def test_a_visitors_id_number_shows_whole_only_on_the_step_where_it_is_typed(name):
    state = gallery()[name]
    text = _all_text(view_of(state, NOW)).replace(" ", "")
    typed = state.visitor.id_number if state.visitor else ""
    if state.scene is Scene.VISITOR_ID:
        assert typed and typed in text               # the guard sees what they typed, to correct it
    else:
        for number in (VISITOR_ID, WRONG_ID):
            assert number[:10] not in text and number[-10:] not in text, name


def test_the_pin_screen_shows_how_many_digits_not_which():
    v = view_of(gallery()["sign_in_pin"], NOW)
    assert v.keypad and v.pin_length == 2


def test_a_lost_card_tells_the_guard_to_keep_it_and_call_the_office():
    v = view_of(gallery()["card_lost"], NOW)
    assert v.tone is Tone.BAD
    assert v.headline and v.headline.zh == "此卡已挂失"
    assert v.next_step and "扣留" in v.next_step.zh and "call the office" in v.next_step.en
    assert any(b.action is Action.OVERRIDE for b in v.buttons)


def test_a_valid_card_shows_days_left_and_the_holders_photo():
    v = view_of(gallery()["card_valid"], NOW)
    assert v.tone is Tone.OK and v.photo_id == "photo-1"
    assert any("165" in f.value for f in v.facts)


def test_a_slip_used_elsewhere_says_where_and_when():
    v = view_of(gallery()["refused_used"], NOW)
    assert v.headline and "其他出入口" in v.headline.zh
    assert any("south" in r.zh and "09:00" in r.zh for r in v.reasons)


def test_every_refusal_reason_is_listed():
    state = gallery()["refused_many"]
    v = view_of(state, NOW)
    shown = [v.headline.zh] + [r.zh for r in v.reasons]
    for reason in state.refusal:
        assert reason.text.zh in shown


def test_an_unsynced_slip_says_so_and_gives_the_item_count():
    v = view_of(gallery()["slip_items_unsynced"], NOW)
    assert v.tone is Tone.WARN
    assert any("not yet synced" in f.value for f in v.facts)
    assert any(f.label_en == "Item lines" and f.value == "5" for f in v.facts)


def test_items_confirmed_is_offered_only_when_every_line_is_ticked():
    v = view_of(gallery()["slip_items"], NOW)
    confirm = next(b for b in v.buttons if b.action is Action.ITEMS_CONFIRMED)
    assert not confirm.enabled
    assert [i.checked for i in v.items] == [False, True, False, False, False]


def test_status_bar_says_reader_offline_and_warns_when_the_clock_is_unknown():
    v = view_of(gallery()["idle"], NOW, Status(reader=False, camera=True, clock_synced=None))
    texts = [t.en for t, _ in v.status_items]
    assert "reader offline" in texts and "clock not synced" in texts
    tones = dict((t.en, tone) for t, tone in v.status_items)
    assert tones["reader offline"] is Tone.BAD


def test_status_bar_counts_events_waiting_to_be_pushed():
    v = view_of(gallery()["idle"], NOW, Status(pending=7, clock_synced=True, replica_age_s=30))
    texts = [t.en for t, _ in v.status_items]
    assert "7 to push" in texts and "clock not synced" not in texts


def test_out_of_service_says_what_is_wrong_and_that_the_gate_is_closed():
    v = view_of(gallery()["out_of_service"], NOW)
    assert "disk I/O error" in v.reasons[0].en
    assert v.headline and "闸门已关闭" in v.headline.zh
    assert not v.buttons
