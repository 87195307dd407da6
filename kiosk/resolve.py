"""Turn raw driver events into the facts the core decides on, by replica lookups.

This is the only place the kiosk reads the replica for a decision: a card UID
becomes a permit and/or a guard; a scanned text becomes a verified token plus the
synced slip, its unit and where it was already used (here, from the exit log; at
other gates, from the replica).
"""
from __future__ import annotations

from datetime import datetime

from domain import slip_token
from domain.errors import ConfigError
from domain.hours import LARGE_ITEM_HOURS_RULE, parse_hours_rule
from domain.model import Consumption, LargeItemHours
from domain.rules import SlipEvidence
from kiosk.core.events import CardPresented
from kiosk.exitlog import ExitLog
from kiosk.store import Replica


class Resolver:
    def __init__(
        self,
        replica: Replica,
        exit_log: ExitLog | None,
        hours: LargeItemHours,
        extra_keys: dict[str, bytes] | None = None,
    ) -> None:
        self.replica = replica
        self.exit_log = exit_log
        self.hours = hours
        self.extra_keys = dict(extra_keys or {})

    def large_item_hours(self) -> LargeItemHours:
        """The office's estate-wide rule when it has published one, else this gate's config."""
        value = self.replica.rule(LARGE_ITEM_HOURS_RULE)
        if value is None:
            return self.hours
        try:
            return parse_hours_rule(value)
        except ConfigError:
            return self.hours     # the office validates rules before publishing; keep the gate's own

    def keys(self) -> dict[str, bytes]:
        keys = dict(self.extra_keys)
        keys.update(self.replica.signing_keys())
        return keys

    def card(self, uid: str) -> CardPresented:
        uid = uid.strip().upper()
        return CardPresented(uid=uid, permit=self.replica.permit_by_card(uid), guard=self.replica.guard_by_badge(uid))

    def slip(self, text: str) -> SlipEvidence:
        verdict = slip_token.verify(text, self.keys(), self.replica.revoked_key_ids())
        if not verdict.ok or verdict.claims is None:
            return SlipEvidence(text=text[:200], token_reason=verdict.reason, hours=self.hours)
        hours = self.large_item_hours()
        claims = verdict.claims
        found = self.replica.slip(claims.slip_id)
        slip, digest = found if found else (None, "")
        unit = self.replica.unit(claims.unit_id)
        used: list[Consumption] = []
        if self.exit_log is not None:
            for row in self.exit_log.releases_of(claims.slip_id):
                used.append(Consumption(claims.slip_id, row["gate_id"], datetime.fromisoformat(row["at"])))
        used.extend(self.replica.consumptions(claims.slip_id))
        return SlipEvidence(
            text=text, token_reason=None, claims=claims, slip=slip, unit=unit,
            consumptions=tuple(used), items_digest=digest, hours=hours,
        )
