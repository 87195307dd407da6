"""`python -m office ...`: the office commands without the kiosk's parser (same as `gatepass office ...`)."""
from __future__ import annotations

import argparse
import sys

from domain.clock import Clock
from domain.errors import GatepassError
from office import args as cli


def main(argv: list[str] | None = None, clock: Clock | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gatepass")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["office", *(sys.argv[1:] if argv is None else argv)])
    args.clock = clock
    try:
        return int(args.func(args) or 0)
    except GatepassError as exc:
        print(f"gatepass office: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
