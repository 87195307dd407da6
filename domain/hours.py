"""The estate's large-item hours as settings: the gate's [rules] table and the office's
`large_item_hours` rule are one schema, validated alike on both sides.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any

from domain.errors import ConfigError
from domain.model import LargeItemHours
from domain.settings import build


@dataclass(frozen=True)
class RulesConfig:
    large_items_from: time = time(7, 0)
    large_items_until: time = time(21, 0)
    allow_non_working_days: bool = False
    holidays: tuple[date, ...] = ()
    working_days: tuple[date, ...] = ()   # weekend days that are working days (调休)

    def hours(self) -> LargeItemHours:
        return LargeItemHours(
            start=self.large_items_from,
            end=self.large_items_until,
            holidays=frozenset(self.holidays),
            working_days=frozenset(self.working_days),
            allow_non_working_days=self.allow_non_working_days,
        )


#: The replica rule by which the office sets large-item hours for the whole estate.
LARGE_ITEM_HOURS_RULE = "large_item_hours"


def parse_hours_rule(value: Any) -> LargeItemHours:
    """The office's large_item_hours rule (a JSON object with [rules] keys), strictly."""
    if not isinstance(value, dict):
        raise ConfigError(f"rule {LARGE_ITEM_HOURS_RULE}: expected a JSON object with keys of [rules]")
    return build(RulesConfig, value, f"rule {LARGE_ITEM_HOURS_RULE}").hours()
