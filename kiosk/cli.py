"""The `gatepass` command: one entry point, a subcommand per job.

Each package registers its own subcommands (kiosk/commands.py, kiosk/ui/cli.py,
drivers/cli.py, sync/cli.py, office/cli.py) through the `gatepass.commands` entry
points in pyproject.toml, so this dispatcher imports none of them by name: the gate
application does not depend on the office or the sync daemon. Each imports heavy
libraries only when its command runs.
"""
from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

from domain.errors import GatepassError

#: The entry-point group through which each package adds its subcommands.
COMMANDS = "gatepass.commands"


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
