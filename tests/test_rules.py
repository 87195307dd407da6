"""Every reason code a card or slip decision can give, from the facts a gate would have."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from domain.model import ApprovalRole, Consumption, LargeItemHours, PermitKind, PermitStatus, SlipKind, SlipStatus
from domain.reasons import REASON_TEXT, Reason
from domain.rules import decide_card, decide_slip
from domain.secrets import check_pin, hash_pin
from tests.factories import GATE, NOW, evidence, permit, slip


@pytest.mark.parametrize(
    "card, expected",
    [
        (permit(), Reason.CARD_VALID),
        (None, Reason.CARD_UNKNOWN),
        (permit(PermitStatus.LOST), Reason.CARD_LOST),
        (permit(PermitStatus.REVOKED), Reason.CARD_REVOKED),
        (permit(start=NOW + timedelta(hours=1)), Reason.CARD_NOT_YET_VALID),
        (permit(end=NOW - timedelta(seconds=1)), Reason.CARD_EXPIRED),
        (permit(end=NOW), Reason.CARD_EXPIRED),
        # a temporary pass is good for three days at most, whatever its end date says
        (permit(kind=PermitKind.TEMPORARY, start=NOW - timedelta(days=3, minutes=1), end=NOW + timedelta(days=5)),
         Reason.CARD_EXPIRED),
        (permit(kind=PermitKind.TEMPORARY, start=NOW - timedelta(days=2), end=NOW + timedelta(days=5)),
         Reason.CARD_VALID),
    ],
)
def test_card_decisions_give_the_reason_a_guard_acts_on(card, expected):
    assert decide_card(card, NOW).reason is expected


def test_a_lost_card_is_refused_even_inside_its_validity_window():
    d = decide_card(permit(PermitStatus.LOST), NOW)
    assert not d.allowed and "扣留" in d.reason.text.next_zh


def test_valid_card_reports_days_left():
    assert decide_card(permit(end=NOW + timedelta(days=10, hours=1)), NOW).days_left == 10


def _reasons(ev, gate=GATE, now=NOW):
    return decide_slip(ev, gate, now).reasons


def test_a_valid_slip_has_no_reasons():
    d = decide_slip(evidence(), GATE, NOW)
    assert d.allowed and d.primary is Reason.SLIP_VALID and d.synced


@pytest.mark.parametrize("token_reason", [Reason.SLIP_MALFORMED, Reason.SLIP_SIGNATURE_INVALID, Reason.SLIP_UNKNOWN_KEY])
def test_token_failures_refuse_before_anything_else(token_reason):
    assert _reasons(evidence(token_reason=token_reason)) == (token_reason,)


@pytest.mark.parametrize(
    "ev, expected",
    [
        (evidence(slip(status=SlipStatus.CANCELLED)), Reason.SLIP_CANCELLED),
        (evidence(replica_digest="11" * 8), Reason.SLIP_CANCELLED),   # amended after printing
        (evidence(slip(end=NOW - timedelta(minutes=1))), Reason.SLIP_EXPIRED),
        (evidence(slip(start=NOW + timedelta(minutes=1))), Reason.SLIP_NOT_YET_VALID),
        (evidence(slip(roles=(ApprovalRole.HANDLER,))), Reason.SLIP_APPROVALS_MISSING),
        (evidence(slip(SlipKind.CONTRACTOR, roles=(ApprovalRole.HANDLER, ApprovalRole.CUSTOMER_SERVICE))),
         Reason.SLIP_APPROVALS_MISSING),
        (evidence(unpaid=True), Reason.SLIP_UNPAID_FEES),
        (evidence(consumptions=[Consumption("S261125001", "north", NOW - timedelta(hours=1))]), Reason.SLIP_ALREADY_USED),
        (evidence(consumptions=[Consumption("S261125001", "south", NOW - timedelta(hours=1))]),
         Reason.SLIP_USED_AT_OTHER_GATE),
        (evidence(slip(SlipKind.MOVE_OUT)), Reason.SLIP_WRONG_GATE),            # this gate is not the designated exit
        (evidence(slip(SlipKind.MOVE_OUT, exit_gate="south")), Reason.SLIP_WRONG_GATE),
    ],
)
def test_slip_refusals(ev, expected):
    assert expected in _reasons(ev)


def test_move_out_at_its_designated_exit_is_allowed():
    assert _reasons(evidence(slip(SlipKind.MOVE_OUT, exit_gate="north"))) == ()
    designated = replace(GATE, designated_exit=True)
    assert _reasons(evidence(slip(SlipKind.MOVE_OUT)), gate=designated) == ()


def test_large_items_are_barred_at_night_on_weekends_and_holidays():
    night = NOW.replace(hour=22)
    assert Reason.SLIP_OUTSIDE_HOURS in _reasons(evidence(slip(start=NOW - timedelta(days=1))), now=night)
    saturday = NOW + timedelta(days=3)
    ev = evidence(slip(end=NOW + timedelta(days=5)))
    assert Reason.SLIP_OUTSIDE_HOURS in _reasons(ev, now=saturday)
    holiday = LargeItemHours(holidays=frozenset({NOW.date()}))
    assert Reason.SLIP_OUTSIDE_HOURS in _reasons(evidence(hours=holiday))
    # a weekend that is a working day (调休) is open
    swap = LargeItemHours(working_days=frozenset({date(2026, 11, 28)}))
    assert Reason.SLIP_OUTSIDE_HOURS not in _reasons(evidence(slip(end=NOW + timedelta(days=5)), hours=swap), now=saturday)


def test_a_slip_not_yet_synced_is_decided_on_its_signed_facts():
    d = decide_slip(evidence(synced=False), GATE, NOW)
    assert d.allowed and not d.synced and d.claims is not None
    expired = evidence(slip(end=NOW - timedelta(minutes=5)), synced=False)
    assert decide_slip(expired, GATE, NOW).reasons == (Reason.SLIP_EXPIRED,)


def test_every_reason_that_applies_is_kept_with_the_first_leading():
    ev = evidence(slip(status=SlipStatus.CANCELLED, end=NOW - timedelta(minutes=1)), unpaid=True)
    assert _reasons(ev) == (Reason.SLIP_CANCELLED, Reason.SLIP_EXPIRED, Reason.SLIP_UNPAID_FEES)


def test_used_slip_says_where_and_when():
    when = NOW - timedelta(hours=2)
    d = decide_slip(evidence(consumptions=[Consumption("S261125001", "south", when)]), GATE, NOW)
    assert d.used is not None and d.used.gate_id == "south" and d.used.at == when


def test_every_reason_has_bilingual_text_and_a_next_step():
    for reason in Reason:
        text = REASON_TEXT[reason]
        assert text.zh and text.en and text.next_zh and text.next_en, reason


def test_reason_codes_are_stable():
    # the exit log and the office's reports store these strings: renaming one breaks history
    assert Reason.SLIP_USED_AT_OTHER_GATE.value == "slip.used_at_other_gate"
    assert Reason.CARD_LOST.value == "card.lost"
    assert len({r.value for r in Reason}) == len(Reason)


def test_pin_hash_matches_only_its_pin_and_rejects_malformed_hashes():
    h = hash_pin("2468", b"abcdefgh", 1000)
    assert check_pin("2468", h)
    assert not check_pin("2469", h)
    assert not check_pin("2468", "plain-text")
    assert not check_pin("2468", "pbkdf2_sha256$99999999$00$00")
    assert not check_pin("2468", "md5$1$00$00")
