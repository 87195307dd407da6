"""Helpers shared by the benchmarks: percentiles and figure records."""
from __future__ import annotations

from typing import Any


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def figure(name: str, value: float, unit: str, target: str | None = None, met: bool | None = None,
           **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "value": round(value, 4) if isinstance(value, float) else value,
                           "unit": unit, "target": target, "met": met}
    out.update(extra)
    return out


def skipped(name: str, why: str) -> dict[str, Any]:
    """A figure that could not be measured here: its name says why, its value is 0 in unit
    "skipped" (figures stay numeric), and ``skipped`` carries the reason for tools."""
    return figure(f"{name}: skipped: {why}", 0, "skipped", None, None, skipped=why)
