"""The kiosk's settings: one frozen dataclass per TOML table of config/kiosk.toml."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from domain.hours import RulesConfig
from domain.model import Gate
from domain.settings import Count, FrameRate, GateId, Pixels, Seconds, TimeZoneName
from drivers.config import CameraConfig, GpioConfig, ReaderConfig
from kiosk.core.flow import Timeouts


@dataclass(frozen=True)
class GateConfig:
    id: GateId = "north"
    name: str = "北门 North gate"
    designated_exit: bool = False
    timezone: TimeZoneName = "Asia/Shanghai"

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
class FlowConfig:
    result_timeout_s: Seconds = 8.0
    interaction_timeout_s: Seconds = 120.0
    pin_timeout_s: Seconds = 30.0

    def timeouts(self) -> Timeouts:
        return Timeouts(result=self.result_timeout_s, interaction=self.interaction_timeout_s, pin=self.pin_timeout_s)


@dataclass(frozen=True)
class DisplayConfig:
    width: Pixels = 800
    height: Pixels = 480
    fullscreen: bool = True
    font: str = ""          # path of a CJK font; empty: found through fontconfig
    fps: FrameRate = 30
    #: The panel mounted turned: the picture is turned this far clockwise, in software (touch too).
    rotate: Literal[0, 90, 180, 270] = 0


@dataclass(frozen=True)
class SyncConfig:
    office_url: str = ""             # empty: no office (demo); the daemon refuses to start
    credential_file: str = "var/gate.credential"
    pull_interval_s: Seconds = 30.0
    push_delay_s: Seconds = 0.2        # how often the exit log is checked for new rows
    status_file: str = "var/sync-status.json"
    #: Replica changes asked for per pull request.
    page_size: Count = 2000
    #: Replica rows written per transaction: keeps the write lock shorter than a frame.
    rows_per_commit: Count = 250
    #: Exit-log rows sent per push request.
    push_batch: Count = 500
    heartbeat_interval_s: Seconds = 60.0
    #: Failures back off from this delay, doubling (with jitter) up to backoff_max_s.
    backoff_min_s: Seconds = 0.5
    backoff_max_s: Seconds = 60.0
    timeout_s: Seconds = 15.0
    #: JSON written by the kiosk with its devices' health ({"reader": ..., "camera": ...}); sent in heartbeats.
    kiosk_health_file: str = "var/kiosk-health.json"


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
