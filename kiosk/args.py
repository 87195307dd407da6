"""The kiosk package's subcommands, as `gatepass` lists them: check, demo-data, log, keys, config,
kiosk and display-check.

Arguments only: each command's code (kiosk/commands.py, kiosk/ui/cli.py) is imported when it
runs (domain/commands.py), so registering needs no library of either side.
"""
from __future__ import annotations

import argparse

from domain.commands import CONFIG_KINDS, gate


def config_kinds() -> list[str]:
    from importlib.metadata import entry_points

    return sorted(ep.name for ep in entry_points(group=CONFIG_KINDS))


def register(sub: argparse._SubParsersAction) -> None:
    """Add the kiosk package's subcommands to the `gatepass` parser."""
    p = sub.add_parser(
        "check", help="decide one card or slip against a replica, as the gate would",
        description="Print the gate's decision for a card UID or a slip (QR text or image): allowed or not, "
        "the reason codes, and the fields a guard would see.",
    )
    p.add_argument("--db", required=True, help="replica SQLite file (the exit log beside it, exitlog.db, is read if present)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--card", metavar="UID", help="card UID as the reader reports it")
    what.add_argument("--slip", metavar="TEXT", help="the slip's QR text")
    what.add_argument("--slip-image", metavar="PNG", help="an image of the slip's QR code")
    p.add_argument("--at", metavar="ISO8601", help="decide as of this time (default: now)")
    p.add_argument("--config", metavar="FILE", help="kiosk config (gate id, large-item hours); default: embedded")
    p.add_argument("--gate", metavar="ID", help="decide as this gate (overrides the config)")
    p.add_argument("--keys", metavar="DIR", help="extra directory of office public keys (*.pub)")
    p.add_argument("--json", action="store_true", help="print JSON (default: a short text)")
    p.set_defaults(func=gate("kiosk.commands:cmd_check"))

    p = sub.add_parser(
        "demo-data", help="make a demo replica, keys and slip QR codes",
        description="Write a replica with residents, guards, permits of every state and slips of every kind "
        "(including used, expired and wrong-gate ones), their QR codes as PNG, and a key pair.",
    )
    p.add_argument("--db", required=True, help="replica file to (re)create")
    p.add_argument("--out", required=True, help="directory for QR codes and keys")
    p.add_argument("--permits", type=int, default=200, help="number of permits (default 200)")
    p.add_argument("--at", metavar="ISO8601", help="build the data around this time (default: a working-day morning)")
    p.set_defaults(func=gate("kiosk.commands:cmd_demo_data"))

    p = sub.add_parser("log", help="exit-log tools", description="Tools for the gate's exit log.")
    log_sub = p.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    v = log_sub.add_parser("verify", help="check the exit log's hash chain", description="Check the hash chain "
                           "of an exit log and name the first bad row (edited, inserted or deleted).")
    v.add_argument("--db", required=True, help="exit log SQLite file")
    v.set_defaults(func=gate("kiosk.commands:cmd_log_verify"))
    s = log_sub.add_parser("show", help="print the exit log as JSON lines")
    s.add_argument("--db", required=True, help="exit log SQLite file")
    s.set_defaults(func=gate("kiosk.commands:cmd_log_show"))

    p = sub.add_parser("keys", help="office signing keys", description="Manage the office's slip-signing keys.")
    k_sub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    n = k_sub.add_parser("new", help="make a signing key pair and an ID-HMAC key in DIR",
                         description="Create DIR/signing.key (private, 0600), DIR/<key_id>.pub for the gates, "
                         "and DIR/id-hmac.key. Refuses to overwrite an existing signing key.")
    n.add_argument("dir")
    n.set_defaults(func=gate("kiosk.commands:cmd_keys_new"))

    p = sub.add_parser("config", help="settings files", description="Check settings files.")
    c_sub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    c = c_sub.add_parser("check", help="validate a config file", description="Validate a kiosk (or office) TOML "
                         "file: unknown keys, wrong types and malformed TOML are named with file and key.")
    c.add_argument("file")
    c.add_argument("--kind", choices=config_kinds(), default="kiosk")
    c.set_defaults(func=gate("kiosk.commands:cmd_config_check"))


def register_screen(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `gatepass kiosk` to the parser."""
    p = sub.add_parser(
        "kiosk", help="run the gate screen (full screen; --window on a desktop; --demo with demo data)",
        description="Run the gate kiosk. Full screen through SDL (kmsdrm on a Pi without a desktop). "
        "--demo builds a demo estate and uses stand-in reader, camera and gate; with no display it plays "
        "the scripted walk headless and writes screenshots.",
    )
    p.add_argument("--config", metavar="FILE", help="kiosk settings (TOML); default: embedded defaults")
    p.add_argument("--demo", action="store_true", help="demo estate, stand-in devices, demo keys (F1.., a..)")
    p.add_argument("--window", action="store_true", help="a window instead of full screen")
    p.add_argument("--headless", action="store_true", help="no screen: play --script and write --screenshots")
    p.add_argument("--script", metavar="FILE", help="steps to play headless (default: the built-in walk)")
    p.add_argument("--screenshots", metavar="DIR", help="where headless PNGs go (default var/screenshots)")
    p.add_argument("--size", metavar="WxH", help="screen size for headless runs (default: display.width x height)")
    p.add_argument("--data-dir", metavar="DIR", help="demo data directory (default var/demo, or a temp dir)")
    p.add_argument("--mock-pins", action="store_true",
                   help="test bench only: gpiozero's mock pins instead of [gpio] pin_factory, the rest of the config "
                   "as it is (acceptance tests of a real config on a machine without the gate's GPIO); "
                   "the relay is never driven")
    p.set_defaults(func=gate("kiosk.ui.cli:cmd_kiosk"))
    d = sub.add_parser(
        "display-check", help="installer's check: can pygame's SDL draw on a Pi without a desktop (KMSDRM)?",
        description="Print pygame's SDL library, its version and video drivers; exit 1 if it has no KMSDRM "
        "driver, which a Raspberry Pi without a desktop needs (pygame-ce's wheels have it).")
    d.set_defaults(func=gate("kiosk.ui.cli:cmd_display_check"))
