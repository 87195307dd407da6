"""Large-item hours set at the office reach every gate; a rule a gate cannot read never leaves the office."""
from __future__ import annotations

import json

import pytest

from domain.model import Gate, LargeItemHours
from domain.reasons import Reason
from domain.rules import decide_slip
from kiosk.resolve import Resolver
from kiosk.store import Replica
from office.errors import OfficeError
from office.records import check_rule


def test_the_office_refuses_unknown_or_malformed_rules():
    with pytest.raises(OfficeError, match="unknown rule"):
        check_rule("large_items", {})
    with pytest.raises(OfficeError, match="large_items_until: expected a time"):
        check_rule("large_item_hours", {"large_items_until": "late"})
    with pytest.raises(OfficeError, match="unknown key"):
        check_rule("large_item_hours", {"from": "07:00"})
    check_rule("large_item_hours", {"large_items_from": "06:00", "holidays": ["2026-10-01"]})


def test_a_gate_decides_with_the_estates_hours_when_the_office_published_them(demo_copy, demo):
    replica = Replica.open(demo_copy / "replica.db")
    resolver = Resolver(replica, None, LargeItemHours())
    late = demo.now.replace(hour=22, minute=30)
    gate = Gate("north", "北门", designated_exit=True)
    text = demo.slips["owner"]
    assert decide_slip(resolver.slip(text), gate, late).reasons == (Reason.SLIP_OUTSIDE_HOURS,)
    replica.upsert("rules", [{"name": "large_item_hours",
                              "value": json.dumps({"large_items_from": "06:00", "large_items_until": "23:30"})}])
    assert decide_slip(resolver.slip(text), gate, late).allowed
    # a holiday declared at the office bars large items all day
    replica.upsert("rules", [{"name": "large_item_hours",
                              "value": json.dumps({"holidays": [demo.now.date().isoformat()]})}])
    assert decide_slip(resolver.slip(text), gate, demo.now).reasons == (Reason.SLIP_OUTSIDE_HOURS,)
