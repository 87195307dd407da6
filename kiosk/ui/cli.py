"""The `gatepass kiosk` subcommand (the gate screen)."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add `gatepass kiosk` to the parser."""
