"""A gate's credential: the one definition of its text, for the office that issues it and
the gate that sends it.

``<estate>/<gate_id>.<secret>`` (`gatepass office add-gate NAME --estate E`): gate ids are
named within their estate, so the credential names both. A credential issued before gates
were scoped by estate reads ``<gate_id>.<secret>``; it still works (the office finds the
gate by its id and secret, and the secret is 256 random bits).
"""
from __future__ import annotations

from dataclasses import dataclass

from domain.slip_token import ESTATE_ID, GATE_ID

FORM = "<estate>/<gate_id>.<secret> as written by `gatepass office add-gate`"


@dataclass(frozen=True)
class GateCredential:
    estate: str          # "" for a credential of the old form, which names no estate
    gate_id: str
    secret: str

    def text(self) -> str:
        return f"{self.estate}/{self.gate_id}.{self.secret}" if self.estate else f"{self.gate_id}.{self.secret}"


def parse_credential(text: str) -> GateCredential | None:
    """The credential ``text`` is, or None when it is not one (never raises)."""
    if not isinstance(text, str):
        return None
    head, dot, secret = text.strip().partition(".")
    estate, slash, gate_id = head.rpartition("/")
    if not dot or not secret or not GATE_ID.fullmatch(gate_id) or (slash and not ESTATE_ID.fullmatch(estate)):
        return None
    if not secret.isascii() or not secret.isalnum():
        return None
    return GateCredential(estate, gate_id, secret)
