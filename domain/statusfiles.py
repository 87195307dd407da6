"""The status files the gate's processes leave for each other.

The sync daemon's status file (what the kiosk's status bar shows about sync) and the
kiosk's health file (what the daemon's heartbeats say about the reader and camera);
their contents are the contracts in `domain.contracts`. Written atomically (temporary
file, then os.replace) so that a reader never sees a half-written file; the readers
never raise, because a status bar must not crash the gate over a missing or damaged file.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from domain.contracts import SYNC_STATUS_KEYS, KioskHealth, SyncState, SyncStatus, clean_text

#: Keys the daemon writes (all present; times are ISO 8601 UTC or null): the fields of
#: `domain.contracts.SyncStatus`, which says what each means.
STATUS_KEYS = SYNC_STATUS_KEYS


def write_status(path: str | Path, status: dict[str, Any] | SyncStatus | KioskHealth) -> None:
    """Replace the file atomically with `status` (a contract is written as its JSON form)."""
    if isinstance(status, (SyncStatus, KioskHealth)):
        status = status.to_json()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(status, f, ensure_ascii=False, indent=1)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_status(path: str | Path) -> dict[str, Any] | None:
    """The daemon's last status, or None if there is none (daemon never ran) or it is unreadable.

    The kiosk should also look at ``updated_at``: the daemon rewrites the file at least
    every few seconds, so an old one means the daemon is not running.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_sync_status(path: str | Path) -> SyncStatus | None:
    """The daemon's status file as a `SyncStatus`: None if there is none, an ERROR status if it is damaged."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return SyncStatus(state=SyncState.ERROR, ok=False, error=clean_text(f"status file unreadable: {exc}"))
    return SyncStatus.from_json(data)


def read_kiosk_health(path: str | Path) -> KioskHealth:
    """The kiosk's health file; never raises (missing or damaged: every device UNKNOWN, saying why)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return KioskHealth.missing("the kiosk has written no health file (not running?)")
    except (OSError, ValueError) as exc:
        return KioskHealth.missing(clean_text(f"kiosk health file unreadable: {exc}"))
    return KioskHealth.from_json(data)
