"""Errors the office raises on purpose: part of gatepass's one hierarchy."""
from __future__ import annotations

from dataclasses import dataclass

from domain.errors import GatepassError


class OfficeError(GatepassError):
    """An office command was refused or cannot run; the message says why and what to do."""


class NotFound(OfficeError):
    """A permit, slip, unit or gate named in a command does not exist in this estate."""


class Refused(OfficeError):
    """A business rule refuses the command (unpaid fees, missing approvals, too long a pass)."""


@dataclass
class FileRefused(ValueError):
    """An uploaded file the office will not keep (a photo, a proof attachment, a specimen seal): why, in
    Chinese for the clerk and in English beneath, shown next to the form's field."""

    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh}\n{self.en}"
