"""Two domain rules the gate and the office share: which permit speaks for a card that is
on several, and which approvals a slip still lacks."""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest

from domain.model import REQUIRED_APPROVALS, ApprovalRole, PermitKind, PermitStatus, SlipKind
from domain.reasons import Reason
from domain.rules import card_permit, decide_card, decide_slip, missing_approvals
from kiosk.resolve import Resolver
from kiosk.store import Replica, permit_row
from tests.factories import GATE, HOURS, NOW, evidence, permit, slip

DAY = timedelta(days=1)
ACTIVE, LOST, REVOKED = PermitStatus.ACTIVE, PermitStatus.LOST, PermitStatus.REVOKED


def on_card(*permits):
    return [replace(p, card_uid="04A1B2C3") for p in permits]


# (the card's permits, the one that wins, what the gate then says)
CASES = {
    "one permit": (on_card(permit(pid="A")), "A", Reason.CARD_VALID),
    "re-issued after a loss: the old one ran longer": (
        on_card(permit(LOST, pid="OLD", end=NOW + 300 * DAY),
                permit(kind=PermitKind.TEMPORARY, pid="NEW", start=NOW - DAY, end=NOW + DAY)), "NEW", Reason.CARD_VALID),
    "re-issued after a revocation, starting next week": (
        on_card(permit(REVOKED, pid="OLD", end=NOW + 300 * DAY), permit(pid="NEW", start=NOW + 7 * DAY,
                                                                         end=NOW + 365 * DAY)),
        "NEW", Reason.CARD_NOT_YET_VALID),
    "the active permit expired: it still speaks for the card": (
        on_card(permit(REVOKED, pid="OLD", end=NOW + 300 * DAY), permit(pid="NEW", end=NOW - DAY)),
        "NEW", Reason.CARD_EXPIRED),
    "no active permit: a lost one leads, so the guard keeps the card": (
        on_card(permit(REVOKED, pid="R", end=NOW + 300 * DAY), permit(LOST, pid="L", end=NOW + 10 * DAY)),
        "L", Reason.CARD_LOST),
    "two revoked: the later one": (
        on_card(permit(REVOKED, pid="R1", end=NOW + 10 * DAY), permit(REVOKED, pid="R2", end=NOW + 20 * DAY)),
        "R2", Reason.CARD_REVOKED),
    "a renewal over the permit it renews": (
        on_card(permit(pid="R1", end=NOW + 10 * DAY), permit(pid="R2", start=NOW - DAY, end=NOW + 365 * DAY)),
        "R2", Reason.CARD_VALID),
    "a temporary pass counts three days whatever its end says": (
        on_card(permit(kind=PermitKind.TEMPORARY, pid="T", start=NOW - DAY, end=NOW + 30 * DAY),
                permit(pid="R", end=NOW + 10 * DAY)), "R", Reason.CARD_VALID),
    "same dates: the permit id decides, on every gate alike": (
        on_card(permit(pid="P1"), permit(pid="P2")), "P2", Reason.CARD_VALID),
}


@pytest.mark.parametrize("name", list(CASES))
def test_which_permit_speaks_for_a_card(name):
    permits, winner, reason = CASES[name]
    for order in itertools.permutations(permits):
        assert card_permit(order).permit_id == winner
    assert decide_card(card_permit(permits), NOW).reason is reason


def test_a_card_with_no_permit_is_unknown():
    assert card_permit([]) is None
    assert decide_card(card_permit([]), NOW).reason is Reason.CARD_UNKNOWN


def test_the_gate_lets_a_reissued_card_through_though_its_old_permit_ran_longer():
    replica = Replica.memory()
    permits, _, _ = CASES["re-issued after a loss: the old one ran longer"]
    replica.upsert("permits", [permit_row(p) for p in permits])
    presented = Resolver(replica, None, HOURS).card("04a1b2c3")
    assert presented.permit is not None and presented.permit.permit_id == "NEW"
    assert decide_card(presented.permit, NOW).allowed


@pytest.mark.parametrize("kind, omitted", [(k, r) for k in SlipKind for r in REQUIRED_APPROVALS[k]])
def test_a_slip_lacking_one_approval_its_kind_needs_is_held_for_that_one(kind, omitted):
    roles = [r for r in REQUIRED_APPROVALS[kind] if r is not omitted]
    assert missing_approvals(kind, roles) == (omitted,)
    exit_gate = GATE.gate_id if kind is SlipKind.MOVE_OUT else ""
    d = decide_slip(evidence(slip(kind, roles=roles, exit_gate=exit_gate)), GATE, NOW)
    assert d.reasons == (Reason.SLIP_APPROVALS_MISSING,) and d.missing_approvals == (omitted,)


@pytest.mark.parametrize("kind", list(SlipKind))
def test_all_approvals_or_more_leave_nothing_missing(kind):
    assert missing_approvals(kind, REQUIRED_APPROVALS[kind]) == ()
    assert missing_approvals(kind, list(ApprovalRole)) == ()
    assert missing_approvals(kind, []) == REQUIRED_APPROVALS[kind]


@pytest.fixture(scope="module")
def office_db(tmp_path_factory):
    from office.db import open_office
    from office.records import add_unit

    engine = open_office(f"sqlite:///{tmp_path_factory.mktemp('office') / 'office.db'}")
    with engine.begin() as conn:
        add_unit(conn, "default", "3-2-1502")
    yield engine
    engine.dispose()


@pytest.mark.parametrize("kind, omitted", [(k, r) for k in SlipKind for r in REQUIRED_APPROVALS[k]])
def test_the_front_desk_refuses_the_slip_the_gate_would_hold_and_names_the_same_approval(office_db, kind, omitted):
    from domain.model import Approval, SlipItem
    from office.errors import Refused
    from office.slips import SlipRequest, check

    approvals = [Approval(r, "审批人") for r in REQUIRED_APPROVALS[kind] if r is not omitted]
    req = SlipRequest(kind=kind, unit_id="3-2-1502", applicant_name="张三", mover_name="李强",
                      items=[SlipItem("冰箱", 1, "")], valid_from=NOW, valid_until=NOW + DAY, approvals=approvals,
                      exit_gate_id="north")
    with office_db.connect() as conn:
        with pytest.raises(Refused) as refused:
            check(conn, "default", req)
        check(conn, "default", replace(req, approvals=approvals + [Approval(omitted, "补签")]))
    assert str(refused.value).endswith(f"needs approval by: {omitted.value} ({omitted.label_zh})")


def test_revoking_a_reissued_card_at_the_office_revokes_its_current_permit(office_db):
    from office import schema
    from office.changes import get_row
    from office.records import issue_permit, set_permit_status

    with office_db.begin() as conn:
        first = issue_permit(conn, "default", card_uid="04B7", kind=PermitKind.RESIDENT, holder_name="张三",
                             unit_id="3-2-1502", id_number="", hmac_key=b"k" * 32, valid_from=NOW)
        set_permit_status(conn, "default", "04B7", PermitStatus.LOST)
        # re-issuing a lost card's UID takes the clerk naming the permit it replaces
        second = issue_permit(conn, "default", card_uid="04B7", kind=PermitKind.TEMPORARY, holder_name="张三",
                              unit_id="3-2-1502", id_number="", hmac_key=b"k" * 32, valid_from=NOW,
                              replaces=first["permit_id"])
        assert set_permit_status(conn, "default", "04B7", PermitStatus.REVOKED)["permit_id"] == second["permit_id"]
        status = {p["permit_id"]: get_row(conn, "default", schema.permits, {"permit_id": p["permit_id"]})["status"]
                  for p in (first, second)}
    assert status == {first["permit_id"]: "lost", second["permit_id"]: "revoked"}
