"""Sightings into arrive/leave edges: the rule behind "one card, one read" and "one slip, one scan"."""
from __future__ import annotations

from drivers.presence import Presence


def test_repeated_sightings_within_the_gap_are_one_arrival():
    p = Presence(gap_s=0.5, single=True)
    assert p.seen("A", 0.0) == (True, [])
    assert p.seen("A", 0.4) == (False, [])
    assert p.expire(0.8) == []             # last seen at 0.4: not gone yet
    assert p.seen("A", 0.85) == (False, [])


def test_a_key_unseen_for_longer_than_the_gap_has_left_and_returns_as_new():
    p = Presence(gap_s=0.5, single=False)
    p.seen("A", 0.0)
    assert p.expire(0.6) == ["A"]
    assert p.seen("A", 0.7) == (True, [])


def test_a_single_reader_replaces_one_card_with_the_next_at_once():
    p = Presence(gap_s=5.0, single=True)
    p.seen("A", 0.0)
    assert p.seen("B", 0.1) == (True, ["A"])
    assert p.clear() == ["B"]


def test_a_camera_keeps_several_slips_in_view_apart():
    p = Presence(gap_s=1.0, single=False)
    assert p.seen("A", 0.0) == (True, [])
    assert p.seen("B", 0.1) == (True, [])
    assert p.seen("A", 0.2) == (False, [])
    assert p.expire(1.15) == ["B"]
