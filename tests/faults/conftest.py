"""Helpers shared by the fault campaigns: time-stamped events and percentile figures."""
from __future__ import annotations

import math
import time
from typing import Any

from tests.drivers.ptys import Events


class StampedEvents(Events):
    """Events, plus the perf_counter time at which the driver emitted each one.

    The stamp is taken in the driver's thread, at the emit call, so a recovery time
    measured from it does not include how long the test took to look at the queue.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[tuple[float, Any]] = []

    def __call__(self, event: Any) -> None:
        self.stamps.append((time.perf_counter(), event))
        super().__call__(event)

    def stamp_of(self, event: Any) -> float:
        """When the driver emitted this very event object."""
        return next(t for t, e in reversed(self.stamps) if e is event)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def figures(name: str, values: list[float], unit: str = "ms", scale: float = 1000.0) -> str:
    """One line the campaign prints and docs/reliability.md quotes."""
    line = (f"[{name}] n={len(values)} max={max(values) * scale:.2f} {unit} "
            f"p99={percentile(values, 99) * scale:.2f} {unit} median={percentile(values, 50) * scale:.2f} {unit}")
    print(line)
    return line
