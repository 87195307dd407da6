"""The kiosk's settings: one frozen dataclass per TOML table of config/kiosk.toml."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from drivers.config import CameraConfig, GpioConfig, ReaderConfig
from kiosk.core.flow import Timeouts
from kiosk.core.model import Gate, LargeItemHours
from kiosk.errors import ConfigError
from kiosk.settings import build
from sync.config import SyncConfig


@dataclass(frozen=True)
class GateConfig:
    id: str = "north"
    name: str = "北门 North gate"
    designated_exit: bool = False
    timezone: str = "Asia/Shanghai"

    def to_gate(self) -> Gate:
        return Gate(gate_id=self.id, name=self.name, designated_exit=self.designated_exit)


@dataclass(frozen=True)
class StoreConfig:
    replica: str = "var/replica.db"
    exit_log: str = "var/exitlog.db"
    photos: str = "var/photos"
    keys: str = "var/keys"           # public keys of the office (*.pub)
    id_hmac_key_file: str = "var/keys/id-hmac.key"


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


@dataclass(frozen=True)
class FlowConfig:
    result_timeout_s: float = 8.0
    interaction_timeout_s: float = 120.0
    pin_timeout_s: float = 30.0

    def timeouts(self) -> Timeouts:
        return Timeouts(result=self.result_timeout_s, interaction=self.interaction_timeout_s, pin=self.pin_timeout_s)


@dataclass(frozen=True)
class DisplayConfig:
    width: int = 800
    height: int = 480
    fullscreen: bool = True
    font: str = ""          # path of a CJK font; empty: found through fontconfig
    fps: int = 30


@dataclass(frozen=True)
class KioskConfig:
    gate: GateConfig = field(default_factory=GateConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    flow: FlowConfig = field(default_factory=FlowConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    reader: ReaderConfig = field(default_factory=ReaderConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    gpio: GpioConfig = field(default_factory=GpioConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
