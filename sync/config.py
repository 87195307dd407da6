"""Settings of the gate's sync daemon (the kiosk config's [sync] table)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SyncConfig:
    office_url: str = ""             # empty: no office (demo); the daemon refuses to start
    credential_file: str = "var/gate.credential"
    pull_interval_s: float = 30.0
    push_delay_s: float = 0.2        # how often the exit log is checked for new rows
    status_file: str = "var/sync-status.json"
    #: Replica changes asked for per pull request.
    page_size: int = 2000
    #: Replica rows written per transaction: keeps the write lock shorter than a frame.
    rows_per_commit: int = 250
    #: Exit-log rows sent per push request.
    push_batch: int = 500
    heartbeat_interval_s: float = 60.0
    #: Failures back off from this delay, doubling (with jitter) up to backoff_max_s.
    backoff_min_s: float = 0.5
    backoff_max_s: float = 60.0
    timeout_s: float = 15.0
    #: JSON written by the kiosk with its devices' health ({"reader": ..., "camera": ...}); sent in heartbeats.
    kiosk_health_file: str = "var/kiosk-health.json"
