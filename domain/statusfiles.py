"""The daemon's status file: what the kiosk's status bar shows about sync.

Written atomically (temporary file, then os.replace) so that the kiosk never reads a
half-written file; `read_status` never raises, because a status bar must not crash
the gate over a missing or damaged file.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

#: Keys the daemon writes (all present; times are ISO 8601 UTC or null):
#: ``ok``/``error`` say how the last attempt went (``error`` is cleared on success) while
#: ``last_error`` keeps the most recent failure; ``last_pull_at`` and ``last_push_at`` are
#: the last *successful* pull and push (the age of the gate's data), ``*_attempt_at`` the
#: last tries; ``state`` is starting | ok | offline | error | stopped.
STATUS_KEYS = (
    "gate_id", "pid", "updated_at", "state", "ok", "error", "office_url", "last_pull_at", "last_pull_attempt_at",
    "pull_cursor", "last_push_at", "last_push_attempt_at", "push_cursor", "outbox_depth", "last_error",
    "last_error_at", "clock_offset_s", "office_epoch",
)


def write_status(path: str | Path, status: dict[str, Any]) -> None:
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
