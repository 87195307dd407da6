"""A lost card's UID stays refused: the office will not put a new permit on it unless the clerk
names the permit it replaces, and a replacement card shows at the gate as one."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from domain.exitrow import EntryKind
from domain.model import PermitStatus
from domain.reasons import Reason
from domain.rules import decide_card
from kiosk.core.events import CardPresented, Record
from kiosk.core.flow import Timeouts, initial_state, step
from kiosk.core.view import view_of
from kiosk.store import Replica
from office.errors import NotFound, Refused
from office.records import set_permit_status
from tests.factories import GATE
from tests.office.harness import CST, GateSite, OfficeServer


def _lose(office: OfficeServer, card: str) -> str:
    permit_id = office.issue_permit(card)["permit_id"]
    with office.engine.begin() as conn:
        set_permit_status(conn, "default", card, PermitStatus.LOST)
    return permit_id


def test_a_lost_cards_uid_is_refused_for_a_new_permit_without_replaces(office: OfficeServer) -> None:
    old = _lose(office, "CARD-LOST")
    with pytest.raises(Refused) as refused:
        office.issue_permit("CARD-LOST", holder_name="李四")
    text = str(refused.value)
    assert old in text and "--replaces" in text and "挂失" in text and "reported lost" in text
    assert text.index("挂失") < text.index("reported lost")               # Chinese first, English beneath
    with pytest.raises(Refused):                                        # naming another permit is no excuse
        office.issue_permit("CARD-LOST", replaces=office.issue_permit("CARD-OTHER")["permit_id"])
    with pytest.raises(NotFound):
        office.issue_permit("CARD-NEW", replaces="P-NOPE")
    with pytest.raises(Refused, match="still active"):                  # a replacement replaces a lost or revoked card
        office.issue_permit("CARD-NEW", replaces=office.issue_permit("CARD-LIVE")["permit_id"])


def test_a_replacement_card_passes_as_such_and_the_lost_card_stays_refused_at_the_gate(
        office: OfficeServer, tmp_path: Path) -> None:
    old = _lose(office, "CARD-LOST")
    new = office.issue_permit("CARD-NEW", replaces=old)
    assert new["replaces"] == old
    gate = GateSite(tmp_path, "north", office)
    daemon = gate.daemon()
    replica = Replica.open(gate.replica_path)
    try:
        daemon.pull()
        now = datetime.now(CST) + timedelta(minutes=1)
        lost = replica.permit_by_card("CARD-LOST")
        assert decide_card(lost, now).reason is Reason.CARD_LOST
        s = initial_state(GATE, Timeouts())
        s, cmds = step(s, CardPresented("CARD-NEW", permit=replica.permit_by_card("CARD-NEW")), now)
        [row] = [c.entry for c in cmds if isinstance(c, Record)]
        assert row.kind is EntryKind.CARD_PASS and row.detail == {"replaces": old}
        facts = {f.label_zh: f.value for f in view_of(s, now).facts}
        assert facts["补办卡"] == old
        s, cmds = step(s, CardPresented("CARD-LOST", permit=lost), now)
        [row] = [c.entry for c in cmds if isinstance(c, Record)]
        assert row.kind is EntryKind.CARD_DENIED and row.reasons == ("card.lost",)
    finally:
        daemon.close()
