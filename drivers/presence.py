"""One presentation, not a stream: turn repeated sightings into arrive/leave edges.

Readers repeat a frame while a tag is held (an RDM6300 every 100-200 ms) and a
camera decodes the same slip in every frame. Both drivers feed every sighting in
here with the current monotonic time and act only on the edges. Pure: time is an
argument, so the rules are tested without sleeping.
"""
from __future__ import annotations


class Presence:
    """Keys currently in view; a key unseen for `gap_s` has left.

    `single=True` (card readers) holds one key at a time: a different key replaces
    the present one at once. `single=False` (camera) allows several slips in view.
    """

    def __init__(self, gap_s: float, single: bool) -> None:
        self.gap_s = gap_s
        self.single = single
        self._last_seen: dict[str, float] = {}

    def seen(self, key: str, now: float) -> tuple[bool, list[str]]:
        """Record a sighting; returns (is a new arrival, keys it displaced)."""
        displaced: list[str] = []
        if self.single:
            displaced = [k for k in self._last_seen if k != key]
            for k in displaced:
                del self._last_seen[k]
        new = key not in self._last_seen
        self._last_seen[key] = now
        return new, displaced

    def expire(self, now: float) -> list[str]:
        """Keys that have not been seen for longer than the gap (and are now gone)."""
        gone = [k for k, t in self._last_seen.items() if now - t > self.gap_s]
        for k in gone:
            del self._last_seen[k]
        return gone

    def clear(self) -> list[str]:
        """Forget everything (the device was lost); returns what was present."""
        gone = list(self._last_seen)
        self._last_seen.clear()
        return gone
