"""One error hierarchy for gatepass: every failure a user can meet says what and where."""
from __future__ import annotations


class GatepassError(Exception):
    """Base of every error gatepass raises on purpose."""


class ConfigError(GatepassError):
    """A settings file is missing, malformed, or has an unknown key or wrong type."""


class StoreError(GatepassError):
    """The replica or exit log cannot be opened, migrated or written."""


class LogChainError(StoreError):
    """The exit log's hash chain is broken: ``seq`` names the first bad row."""

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class BadRecord(StoreError):
    """One synced replica row cannot be read as what it claims to be.

    The gate refuses what that row speaks for (a card, a slip) with its own reason and
    stays in service; ``table``, ``key`` and ``problem`` go to the log and the screen.
    """

    def __init__(self, table: str, key: str, problem: str) -> None:
        super().__init__(f"replica {table} row {key!r}: {problem}")
        self.table = table
        self.key = key
        self.problem = problem


class DriverError(GatepassError):
    """A device (reader, camera, GPIO) is missing, misconfigured or failed."""


class KeyStoreError(GatepassError):
    """Signing keys cannot be read or written."""
