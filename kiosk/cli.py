"""The `gatepass` command: one entry point, a subcommand per job.

Each package registers its own subcommands (kiosk/commands.py, drivers/cli.py,
sync/cli.py, office/cli.py) and imports heavy libraries only when its command runs.
"""
from __future__ import annotations

import argparse
import sys

from kiosk.errors import GatepassError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatepass",
        description="Estate gate kiosk for permit cards and item-release slips (住户证 / 物品放行条), "
        "and the office back end it syncs to.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    from drivers import cli as drivers_cli
    from kiosk import commands as kiosk_commands
    from kiosk.ui import cli as kiosk_ui_cli
    from office import cli as office_cli
    from sync import cli as sync_cli

    for module in (kiosk_commands, kiosk_ui_cli, drivers_cli, sync_cli, office_cli):
        module.register(sub)
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
