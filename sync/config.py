"""Settings of the gate's sync daemon."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SyncConfig:
    office_url: str = ""             # empty: no office (demo); the daemon refuses to start
    credential_file: str = "var/gate.credential"
    pull_interval_s: float = 30.0
    push_delay_s: float = 0.2
    status_file: str = "var/sync-status.json"
