"""Errors of the gate's sync daemon: part of gatepass's one hierarchy."""
from __future__ import annotations

from domain.errors import GatepassError


class SyncError(GatepassError):
    """The sync daemon cannot do its job right now (it backs off and retries)."""


class OfficeUnreachable(SyncError):
    """No answer from the office: network down, office stopped, timeout."""


class OfficeRefused(SyncError):
    """The office answered with an error status; ``status`` is the HTTP code."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ExitLogMissing(SyncError):
    """The configured exit log does not exist: the kiosk has not started, or it writes elsewhere."""
