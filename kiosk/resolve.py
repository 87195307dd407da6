"""Turn raw driver events into the facts the core decides on, by replica lookups.

This is the only place the kiosk reads the replica for a decision: a card UID
becomes a permit and/or a guard; a scanned text becomes a verified token plus the
synced slip, its unit and where it was already used (here, from the exit log; at
other gates, from the replica).

A replica row that cannot be read (domain.errors.BadRecord) is that row's problem, not
the gate's: the card or slip it speaks for is refused with its own reason, the row is
logged, and the gate stays in service for everyone else.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from domain import slip_token
from domain.errors import BadRecord, ConfigError
from domain.hours import LARGE_ITEM_HOURS_RULE, parse_hours_rule
from domain.instants import BadInstant, read_instant
from domain.model import Consumption, Guard, LargeItemHours, Permit
from domain.rules import SlipEvidence
from kiosk.core.events import CardPresented
from kiosk.exitlog import ExitLog
from kiosk.store import Replica

log = logging.getLogger("gatepass.kiosk")
T = TypeVar("T")


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
        try:
            value = self.replica.rule(LARGE_ITEM_HOURS_RULE)
            if value is None:
                return self.hours
            return parse_hours_rule(value)
        except (ConfigError, BadRecord) as exc:
            # The office validates rules before publishing; a bad one is ignored, loudly.
            log.error("ignoring the replica's %s rule, using this gate's own: %s", LARGE_ITEM_HOURS_RULE, exc)
            return self.hours

    def keys(self) -> dict[str, bytes]:
        keys = dict(self.extra_keys)
        keys.update(self._published())
        return keys

    def _published(self) -> dict[str, bytes]:
        """The keys the office published as this estate's (the replica's)."""
        bad: list[BadRecord] = []
        published = self.replica.signing_keys(bad)
        for exc in bad:
            log.error("ignoring a signing key: %s", exc)
        return published

    def unplaced_keys(self) -> set[str]:
        """Key ids only in the gate's key folder: no estate the office vouches for (old-format slips refuse them)."""
        return set(self.extra_keys) - set(self._published())

    def other_estate_keys(self) -> dict[str, tuple[str, bytes]]:
        bad: list[BadRecord] = []
        keys = self.replica.other_estate_keys(bad)
        for exc in bad:
            log.error("ignoring another estate's signing key: %s", exc)
        return keys

    def card(self, uid: str) -> CardPresented:
        self.replica.follow()
        uid = uid.strip().upper()
        problems: list[str] = []
        permit: Permit | None = None
        guard: Guard | None = None
        try:
            permit = self.replica.permit_by_card(uid)
        except BadRecord as exc:
            log.error("card %s refused: %s", uid, exc)
            problems.append(str(exc))
        try:
            guard = self.replica.guard_by_badge(uid)
        except BadRecord as exc:
            log.error("badge %s not accepted: %s", uid, exc)
            problems.append(str(exc))
        return CardPresented(uid=uid, permit=permit, guard=guard, bad_record="; ".join(problems))

    def slip(self, text: str) -> SlipEvidence:
        self.replica.follow()
        verdict = slip_token.verify(text, self.keys(), self.replica.revoked_key_ids(), estate=self.replica.estate(),
                                    other_estates=self.other_estate_keys(), unplaced=self.unplaced_keys())
        if not verdict.ok or verdict.claims is None:
            return SlipEvidence(text=text[:200], token_reason=verdict.reason, hours=self.hours)
        hours = self.large_item_hours()
        claims = verdict.claims
        problems: list[str] = []

        def read(fn: Callable[[], T]) -> T | None:
            try:
                return fn()
            except BadRecord as exc:
                log.error("slip %s refused: %s", claims.slip_id, exc)
                problems.append(str(exc))
                return None

        found = read(lambda: self.replica.slip(claims.slip_id))
        slip, digest = found if found else (None, "")
        unit = read(lambda: self.replica.unit(claims.unit_id))
        used: list[Consumption] = []
        if self.exit_log is not None:
            for row in self.exit_log.releases_of(claims.slip_id):
                try:
                    used.append(Consumption(claims.slip_id, row["gate_id"], read_instant(row["at"])))
                except BadInstant as exc:      # our own log; still never worth a fault
                    problems.append(f"exit log row {row.get('seq')}: {exc}")
        used.extend(read(lambda: self.replica.consumptions(claims.slip_id)) or [])
        return SlipEvidence(
            text=text, token_reason=None, claims=claims, slip=slip, unit=unit,
            consumptions=tuple(used), items_digest=digest, hours=hours, bad_record="; ".join(problems),
        )
