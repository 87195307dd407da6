"""Subcommands of the kiosk package: check, demo-data, log verify, keys, config check, demo."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the kiosk package's subcommands to the `gatepass` parser."""
