"""Errors the office raises on purpose: part of gatepass's one hierarchy."""
from __future__ import annotations

from domain.errors import GatepassError


class OfficeError(GatepassError):
    """An office command was refused or cannot run; the message says why and what to do."""


class NotFound(OfficeError):
    """A permit, slip, unit or gate named in a command does not exist in this estate."""


class Refused(OfficeError):
    """A business rule refuses the command (unpaid fees, missing approvals, too long a pass)."""
