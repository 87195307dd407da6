"""The `gatepass` command: one entry point, a subcommand per job.

Each package registers its own subcommands (kiosk/args.py, drivers/args.py, sync/args.py,
office/args.py) through the `gatepass.commands` entry points in pyproject.toml, so this
dispatcher imports none of them by name. Registering describes arguments only; a command's
code is imported when it runs (domain/commands.py). So a gate's venv, which has no web or
database library, lists and runs every gate command, and an office's venv, with no pygame,
camera or GPIO library, every office command; a command of the other side says what to
install. pyproject's import-linter contracts and tests/test_profiles.py keep it so.
"""
from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

from domain.commands import COMMANDS
from domain.errors import GatepassError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatepass",
        description="Estate gate kiosk for permit cards and item-release slips (住户证 / 物品放行条), "
        "and the office back end it syncs to.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    plugins = sorted(entry_points(group=COMMANDS), key=lambda ep: ep.name)
    if not plugins:
        raise SystemExit("gatepass: no commands registered: install the package (pip install -e .) "
                         "so that its gatepass.commands entry points exist")
    for ep in plugins:
        ep.load()(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GatepassError as exc:
        print(f"gatepass {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
