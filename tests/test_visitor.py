"""The visitor registration form (登记表) at the gate: the ID check, the plate rules, and the
form as a table of taps through the pure core, down to the exit-log row it records."""
from __future__ import annotations

from datetime import timedelta

import pytest

from domain.exitrow import EntryKind
from domain.idnumber import check_character, id_number_problem
from domain.reasons import Reason
from domain.secrets import id_hash
from domain.visitor import PROVINCES, SURNAMES, plate_problem, visitor_lines
from kiosk.core.events import Action, CardPresented, OpenGate, Press, Record, Tick
from kiosk.core.flow import PRESS_TABLE, VISITOR_STEPS, Scene, Timeouts, initial_state, step
from kiosk.core.view import view_of
from tests.factories import GATE, GUARD, NOW

KEY = b"k" * 32
GOOD_ID = "11010519491231002X"       # the standard's worked example: check character X
TYPO_ID = "110105194912310021"       # the same number with its last character mistyped


def press(action, value=""):
    return Press(action, value)


def keys(text):
    return [press(Action.KEY, ch) for ch in text]


def play(events, state=None, key=KEY):
    s = state or initial_state(GATE, Timeouts(), id_key=key)
    out = []
    now = NOW
    for ev in events:
        now += timedelta(seconds=1)
        s, cmds = step(s, ev, now)
        out.extend(cmds)
    return s, out


def signed_in(key=KEY):
    s, _ = play([CardPresented(GUARD.badge_uid, guard=GUARD), *(press(Action.DIGIT, d) for d in "1234"),
                 press(Action.PIN_SUBMIT)], key=key)
    assert s.guard is not None
    return s


def records(cmds):
    return [c.entry for c in cmds if isinstance(c, Record)]


def to_confirm(plate="粤B12345", id_number=GOOD_ID, name=("王", "ms"), items=("suitcase",)):
    ev = [press(Action.VISITOR), *keys(plate), press(Action.NEXT) if plate else press(Action.NO_VEHICLE),
          *keys(id_number), press(Action.NEXT)]
    if name[0]:
        ev.append(press(Action.KEY, name[0]))
    if name[1]:
        ev.append(press(Action.PICK, name[1]))
    ev += [press(Action.NEXT), *(press(Action.TOGGLE_ITEM, k) for k in items), press(Action.NEXT)]
    return ev


# ------------------------------------------------------------------ the ID number (GB 11643)


@pytest.mark.parametrize("number, problem", [
    (GOOD_ID, None),
    ("11010519491231002x", None),                       # a lower-case x is the same number
    (TYPO_ID, Reason.VISITOR_ID_CHECKSUM),
    ("11010619491231002X", Reason.VISITOR_ID_CHECKSUM),   # one digit wrong
    ("11100519491231002X", Reason.VISITOR_ID_CHECKSUM),   # two neighbours swapped
    ("11010519491231002", Reason.VISITOR_ID_INCOMPLETE),
    ("11010519491231002X1", Reason.VISITOR_ID_INCOMPLETE),
    ("110105194913310029", Reason.VISITOR_ID_MALFORMED),  # month 13
    ("1101051949123100X2", Reason.VISITOR_ID_MALFORMED),  # X only as the check character
])
def test_the_id_number_check_names_what_is_wrong(number, problem):
    assert id_number_problem(number) is problem


def test_the_check_character_is_the_standards():
    # worked by hand: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 give 196; 196 mod 11 = 9 -> "3"
    assert check_character("44052419800101001") == "3"
    assert check_character("11010519491231002") == "X"


# ------------------------------------------------------------------ plates


@pytest.mark.parametrize("plate, ok", [
    ("", True), ("粤B12345", True), ("京AD12345", True), ("沪A12345F", True), ("苏E9Z8Y7", True),
    ("粤B1234", False), ("粤112345", False), ("粤BI2345", False), ("粤BO2345", False), ("粤B123456", False),
    ("港B12345", False),
])
def test_plates_are_province_letter_and_five_or_a_new_energy_six(plate, ok):
    assert (plate_problem(plate) is None) is ok


def test_every_province_has_its_one_character_and_the_surname_grid_has_forty():
    assert len(PROVINCES) == len(set(PROVINCES)) == 31 and all(len(p) == 1 for p in PROVINCES)
    assert len(SURNAMES) == len(set(SURNAMES)) == 40


# ------------------------------------------------------------------ the form through the core


def test_a_visitor_is_recorded_with_masked_id_and_hmac_never_the_number_and_the_gate_opens():
    s, cmds = play(to_confirm(), signed_in())
    assert s.scene is Scene.VISITOR_CONFIRM and not records(cmds)
    s, cmds = step(s, press(Action.CONFIRM), NOW + timedelta(minutes=5))
    (row,) = records(cmds)
    assert row.kind is EntryKind.VISITOR and row.guard_id == GUARD.guard_id
    assert row.at == NOW + timedelta(minutes=5)                   # the form's time is the row's time
    assert row.detail == {"name": "王女士", "plate": "粤B12345", "id_masked": "1101**********002X",
                          "id_hash": id_hash(KEY, GOOD_ID), "items": ["suitcase"]}
    assert GOOD_ID not in repr(row) and GOOD_ID[:10] not in repr(row.detail)
    assert any(isinstance(c, OpenGate) for c in cmds)
    assert cmds.index(next(c for c in cmds if isinstance(c, Record))) < cmds.index(next(c for c in cmds if isinstance(c, OpenGate)))
    assert s.scene is Scene.VISITOR_RECORDED and s.visitor is not None and s.visitor.id_number == ""
    assert GOOD_ID not in repr(s)


def test_the_form_needs_a_guard_on_shift():
    s, cmds = play([press(Action.VISITOR)])
    assert s.scene is Scene.IDLE and s.notice is Reason.GUARD_NOT_ON_SHIFT and not records(cmds)


def test_without_the_estates_id_key_the_form_is_refused_with_why():
    s, cmds = play([press(Action.VISITOR)], signed_in(key=b""))
    assert s.scene is Scene.IDLE and s.notice is Reason.VISITOR_NO_KEY


def test_a_mistyped_id_number_is_refused_with_why_and_kept_for_correction():
    s, cmds = play([press(Action.VISITOR), press(Action.NO_VEHICLE), *keys(TYPO_ID), press(Action.NEXT)], signed_in())
    assert s.scene is Scene.VISITOR_ID and s.notice is Reason.VISITOR_ID_CHECKSUM
    assert s.visitor is not None and s.visitor.id_number == TYPO_ID
    v = view_of(s, NOW)
    assert v.notice is not None and "校验位" in v.notice.zh and "check digit" in v.notice.en
    assert v.entry is not None and v.entry.value.replace(" ", "") == TYPO_ID   # still there to correct
    s, _ = play([press(Action.BACKSPACE), press(Action.KEY, "X"), press(Action.NEXT)], s)
    assert s.scene is Scene.VISITOR_NAME and s.notice is None


def test_a_short_id_number_does_not_go_on():
    s, _ = play([press(Action.VISITOR), press(Action.NO_VEHICLE), *keys(GOOD_ID[:10]), press(Action.NEXT)], signed_in())
    assert s.scene is Scene.VISITOR_ID and s.notice is Reason.VISITOR_ID_INCOMPLETE


def test_keys_that_cannot_come_next_do_nothing():
    s, _ = play([press(Action.VISITOR), press(Action.KEY, "A"), press(Action.KEY, "粤"), press(Action.KEY, "1"),
                 press(Action.KEY, "I"), press(Action.KEY, "B")], signed_in())
    assert s.visitor is not None and s.visitor.plate == "粤B"          # a letter must follow the province; no I
    s, _ = play([press(Action.NO_VEHICLE), press(Action.KEY, "X"), *keys("1" * 20)], s)
    assert s.visitor.id_number == "1" * 18 and s.visitor.plate == ""    # X only last; 18 at most


def test_an_incomplete_plate_does_not_go_on_but_no_vehicle_does():
    s, _ = play([press(Action.VISITOR), *keys("粤B123"), press(Action.NEXT)], signed_in())
    assert s.scene is Scene.VISITOR_PLATE and s.notice is Reason.VISITOR_PLATE_INVALID
    s, _ = play([press(Action.NO_VEHICLE)], s)
    assert s.scene is Scene.VISITOR_ID and s.visitor.plate == ""


def test_items_need_a_choice_and_none_excludes_the_others():
    s, _ = play(to_confirm(items=())[:-1], signed_in())
    assert s.scene is Scene.VISITOR_ITEMS
    s, _ = play([press(Action.NEXT)], s)
    assert s.scene is Scene.VISITOR_ITEMS and s.notice is Reason.VISITOR_ITEMS_EMPTY
    s, _ = play([press(Action.TOGGLE_ITEM, "parcel"), press(Action.TOGGLE_ITEM, "tools")], s)
    assert s.visitor.items == ("parcel", "tools")
    s, _ = play([press(Action.TOGGLE_ITEM, "none")], s)
    assert s.visitor.items == ("none",)
    s, _ = play([press(Action.TOGGLE_ITEM, "small")], s)
    assert s.visitor.items == ("small",)


def test_the_name_is_optional_and_a_surname_tap_again_clears_it():
    s, cmds = play([*to_confirm(plate="", name=("", "")), press(Action.CONFIRM)], signed_in())
    (row,) = records(cmds)
    assert row.detail["name"] == "" and row.detail["plate"] == ""
    s, _ = play([press(Action.VISITOR), press(Action.NO_VEHICLE), *keys(GOOD_ID), press(Action.NEXT),
                 press(Action.KEY, "李"), press(Action.KEY, "李"), press(Action.PICK, "mr")], signed_in())
    assert s.visitor.name == "先生"


@pytest.mark.parametrize("steps_in", range(len(VISITOR_STEPS)))
def test_cancel_at_every_step_records_nothing_and_forgets_the_form(steps_in):
    s, _ = play(to_confirm(), signed_in())
    for _ in range(len(VISITOR_STEPS) - 1 - steps_in):
        s, _ = play([press(Action.PREV)], s)
    assert s.scene is VISITOR_STEPS[steps_in]
    s, cmds = play([press(Action.CANCEL)], s)
    assert s.scene is Scene.IDLE and s.visitor is None and not records(cmds) and s.guard is not None


def test_back_keeps_what_was_entered():
    s, _ = play(to_confirm(), signed_in())
    s, _ = play([press(Action.PREV)] * 3, s)
    assert s.scene is Scene.VISITOR_ID and s.visitor.id_number == GOOD_ID and s.visitor.plate == "粤B12345"


def test_a_forgotten_form_times_out_to_idle_with_nothing_recorded():
    s, _ = play(to_confirm()[:5], signed_in())
    s, cmds = step(s, Tick(), NOW + timedelta(seconds=Timeouts().interaction + 60))
    assert s.scene is Scene.IDLE and s.visitor is None and not records(cmds)


def test_an_unknown_card_offers_to_register_the_visitor():
    s, _ = play([CardPresented("CARD-NOBODY")], signed_in())
    assert s.scene is Scene.CARD_RESULT
    assert any(b.action is Action.VISITOR for b in view_of(s, NOW).buttons)
    s, _ = play([press(Action.VISITOR)], s)
    assert s.scene is Scene.VISITOR_PLATE


def test_every_form_step_can_be_cancelled():
    for scene in VISITOR_STEPS:
        assert (scene, Action.CANCEL) in PRESS_TABLE and (scene, Action.PREV) in PRESS_TABLE


def test_the_confirmation_shows_the_masked_number_only():
    s, _ = play(to_confirm(), signed_in())
    v = view_of(s, NOW)
    values = [f.value for f in v.facts]
    assert "1101**********002X" in values and not any(GOOD_ID in x for x in values)


def test_the_office_reads_a_visitor_row_in_chinese_and_english_without_the_hash():
    lines = visitor_lines({"name": "王女士", "plate": "", "id_masked": "1101**********002X", "id_hash": "ab" * 32,
                           "items": ["suitcase", "parcel", "future_key"]})
    text = " ".join(zh + " " + en for zh, en in lines)
    assert "王女士" in text and "无车" in text and "no vehicle" in text and "1101**********002X" in text
    assert "行李箱、快递包裹、future_key" in text and "Suitcase, Parcel" in text and "ab" * 32 not in text


# ------------------------------------------------------------------ the key at start


def test_the_kiosk_reads_the_id_key_from_its_file_and_runs_without_one(tmp_path):
    from dataclasses import replace as dc_replace

    from domain.errors import KeyStoreError
    from kiosk.app import load_id_key
    from kiosk.config import KioskConfig

    cfg = KioskConfig()
    path = tmp_path / "id-hmac.key"
    with_file = dc_replace(cfg, store=dc_replace(cfg.store, id_hmac_key_file=str(path)))
    assert load_id_key(with_file) == b""                  # no file: cards and slips still work
    path.write_text(KEY.hex() + "\n")
    assert load_id_key(with_file) == KEY
    path.write_text("not hex\n")
    with pytest.raises(KeyStoreError, match="id-hmac.key"):
        load_id_key(with_file)


def test_a_visitor_without_a_name_reads_as_not_given_in_the_office():
    lines = visitor_lines({"name": "", "plate": "", "id_masked": "1101**********002X", "items": ["none"]})
    assert ("姓名:未填", "Name: not given") in lines and ("携带物品:无", "Items: None") in lines
