"""`gatepass sync`, as `gatepass` lists it: arguments only; the daemon's code (sync/cli.py) is
imported when the command runs (domain/commands.py)."""
from __future__ import annotations

import argparse

from domain.commands import gate

#: The kiosk's config file the daemon reads when given none and it exists.
DEFAULT_CONFIG = "config/kiosk.toml"


def register(sub: argparse._SubParsersAction) -> None:
    """Add `gatepass sync` to the `gatepass` parser."""
    p = sub.add_parser("sync", help="run the gate's sync daemon (replica pull, exit-log push, heartbeat)",
                       description="Sync this gate with the office: pull the replica, push the exit log.")
    p.add_argument("--config", help=f"the kiosk's config file (default {DEFAULT_CONFIG} if present)")
    p.add_argument("--once", action="store_true", help="pull, push and heartbeat once, then exit (1 if anything failed)")
    p.set_defaults(func=gate("sync.cli:cmd_sync"))
