"""A real kiosk (config -> drivers' fakes -> stores -> controller) recording releases
in a loop, for the kill -9 campaign. Run: python -m tests.faults.kiosk_harness DATA_DIR

Prints "ready SEQ" once assembled (the exit log opened, its chain verified), then
"ack SEQ EVENT_ID" after each release is durably recorded and the gate pulsed. A line
counts as acknowledged only if it was written whole.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from domain import slip_token
from domain.keyfiles import load_private
from domain.model import SlipKind, TokenClaims
from drivers.events import CardRead, SlipScanned
from kiosk.app import SimClock, assemble
from kiosk.config import KioskConfig
from kiosk.core.events import Action, OpenGate, Press
from kiosk.demo import default_now


def config_in(data_dir: Path) -> KioskConfig:
    """The kiosk's config with every file in ``data_dir`` (north, the designated exit)."""
    cfg = KioskConfig()
    return replace(cfg, store=replace(cfg.store, replica=str(data_dir / "replica.db"),
                                      exit_log=str(data_dir / "exitlog.db"), keys=str(data_dir / "keys")),
                   gate=replace(cfg.gate, id="north", designated_exit=True),
                   sync=replace(cfg.sync, status_file=str(data_dir / "sync.json"),
                                kiosk_health_file=str(data_dir / "health.json")))


def main(data_dir: Path) -> None:
    cfg = config_in(data_dir)
    kiosk = assemble(cfg, monitor_thread=False)
    kiosk.exit_log.verify()
    start = kiosk.exit_log.last_seq
    print("ready", start, flush=True)
    key = load_private(data_dir / "keys")
    clock = SimClock(default_now())
    c = kiosk.controller
    badge = "7F00000001"
    c.handle_raw(CardRead(badge), clock.now())
    for d in "1234":
        c.press(Press(Action.DIGIT, d), clock.now())
    c.press(Press(Action.PIN_SUBMIT), clock.now())
    now = clock.now()
    for i in range(1, 10**9):
        slip_id = f"K{start + i:09d}"
        text = slip_token.sign(TokenClaims(slip_id, SlipKind.OWNER, "1-1-201", now - timedelta(hours=1),
                                           now + timedelta(days=1), 2, "00" * 8, ""), key)
        c.handle_raw(SlipScanned(text), clock.now())
        c.press(Press(Action.ALL_MATCH), clock.now())
        c.press(Press(Action.CONFIRM_IDENTITY), clock.now())
        out = c.dispatch(c.resolver.card(badge), clock.now())
        if any(isinstance(cmd, OpenGate) for cmd in out.commands) and not out.failed:
            row = kiosk.exit_log.recent(1)[0]
            assert row["slip_id"] == slip_id and row["kind"] == "release"
            print("ack", row["seq"], row["event_id"], flush=True)
        clock.advance(10)
        c.tick(clock.now())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
