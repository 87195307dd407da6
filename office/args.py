"""`gatepass office ...`, as `gatepass` lists it: arguments only.

The commands' code (office/cli.py) is imported when one runs (domain/commands.py), so a gate's
venv, which has no web or database library, still lists them and says what to install.
"""
from __future__ import annotations

import argparse
from typing import Any

from domain.commands import office
from domain.staff import ROLES
from office.config import DEFAULT_CONFIG


def register(sub: argparse._SubParsersAction) -> None:
    """Add `gatepass office ...` to the `gatepass` parser."""
    from domain.model import ApprovalRole, PermitKind, Role, SlipKind

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help=f"office settings (TOML; default {DEFAULT_CONFIG} if present)")
    common.add_argument("--estate", help="estate to act on (default: the config's estate)")
    parser = sub.add_parser("office", help="office server and front-desk commands")
    osub = parser.add_subparsers(dest="office_command", metavar="OFFICE_COMMAND", required=True)

    def add(name: str, fn: Any, help: str) -> argparse.ArgumentParser:
        p = osub.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(func=fn)
        return p

    add("init", office("office.cli:cmd_init"), "create the database and the signing keys")
    p = add("serve", office("office.cli:cmd_serve"), "serve the gate API (uvicorn)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, help="server processes (default: the config's [server] workers); more than 1 needs PostgreSQL")
    p = add("demo", office("office.cli:cmd_demo"), "a demo office with demo data and its console (SQLite, made afresh in --dir)")
    p.add_argument("--dir", default="var/office-demo", help="where the demo's database, keys and credentials go")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--no-serve", action="store_true", help="make the data, print the sign-in, do not serve")
    p = add("add-gate", office("office.cli:cmd_add_gate"), "register a gate and print its credential once")
    p.add_argument("name", help="gate id, up to 6 characters, e.g. north")
    p.add_argument("--label", help="display name, e.g. 北门")
    p.add_argument("--credential-file", help="write the credential here (mode 0600) instead of printing it")
    p = add("add-unit", office("office.cli:cmd_add_unit"), "add or update a unit (3-2-1502)")
    p.add_argument("unit")
    p.add_argument("--building")
    p.add_argument("--room")
    p = add("set-fees", office("office.cli:cmd_set_fees"), "record whether a unit has unpaid fees (unpaid: no slips)")
    p.add_argument("unit")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--unpaid", action="store_true", dest="unpaid")
    g.add_argument("--paid", action="store_false", dest="unpaid")
    p = add("issue-permit", office("office.cli:cmd_issue_permit"), "issue a permit card (住户证); a temporary pass 3 days at most")
    p.add_argument("--card", required=True, help="card UID")
    p.add_argument("--unit", required=True)
    p.add_argument("--name", required=True, help="holder's name")
    p.add_argument("--kind", default="resident", choices=[k.value for k in PermitKind])
    p.add_argument("--id-number", help="national ID number (stored masked and hashed only)")
    p.add_argument("--phone")
    p.add_argument("--photo", help="holder's photo (JPEG/PNG)")
    p.add_argument("--from", dest="valid_from")
    p.add_argument("--until", dest="valid_until")
    p.add_argument("--permit-id")
    p.add_argument("--replaces", metavar="PERMIT",
                   help="a replacement card (补办): the lost or revoked permit it replaces; needed to issue on a "
                        "lost or revoked card's UID")
    for name, fn, text in (("report-lost", office("office.cli:cmd_report_lost"), "report a card lost (guards are told)"),
                           ("revoke", office("office.cli:cmd_revoke"), "revoke a permit")):
        p = add(name, fn, text)
        p.add_argument("permit", help="permit id or card UID")
    p = add("issue-slip", office("office.cli:cmd_issue_slip"), "issue an item-release slip (物品放行条) and write its QR code")
    p.add_argument("--unit", required=True)
    p.add_argument("--kind", required=True, choices=[k.value for k in SlipKind])
    p.add_argument("--applicant", required=True)
    p.add_argument("--phone")
    p.add_argument("--mover", help="who carries the items (default: the applicant)")
    p.add_argument("--mover-id", help="the mover's national ID number (stored masked and hashed only)")
    p.add_argument("--mover-permit")
    p.add_argument("--item", action="append", default=[], required=True, help="name:quantity[:spec], repeatable")
    p.add_argument("--approve", action="append", default=[],
                   help="role=name, repeatable; roles: " + ", ".join(r.value for r in ApprovalRole))
    p.add_argument("--from", dest="valid_from")
    p.add_argument("--until", dest="valid_until")
    p.add_argument("--purpose")
    p.add_argument("--exit-gate", help="designated exit gate (move-outs)")
    p.add_argument("--out", help="directory for the QR code (default: the config's slips_dir/<estate>)")
    p = add("cancel-slip", office("office.cli:cmd_cancel_slip"), "cancel a slip")
    p.add_argument("slip")
    p = add("add-guard", office("office.cli:cmd_add_guard"), "add a guard with a badge and PIN")
    p.add_argument("guard")
    p.add_argument("--name", required=True)
    p.add_argument("--badge", required=True)
    p.add_argument("--pin", required=True)
    p.add_argument("--role", default="guard", choices=[r.value for r in Role])
    p = add("add-staff", office("office.cli:cmd_add_staff"), "add a staff account for the web console, or reset its password "
            "(asks for it; or $GATEPASS_STAFF_PASSWORD)")
    p.add_argument("username")
    p.add_argument("--name", help="display name, e.g. 王丽")
    p.add_argument("--role", default="front_desk", choices=list(ROLES))
    p = add("set-rule", office("office.cli:cmd_set_rule"), "set a gate rule (JSON value)")
    p.add_argument("name")
    p.add_argument("value")
    p = add("export-log", office("office.cli:cmd_export_log"), "export the gates' exit log")
    p.add_argument("--from", dest="date_from", required=True)
    p.add_argument("--to", dest="date_to", required=True)
    p.add_argument("--gate")
    p.add_argument("--format", choices=["csv", "xlsx", "json"], default="csv",
                   help="xlsx: for people (Chinese headers, names, items); csv/json: the raw rows")
    p.add_argument("--out", help="file to write (default: standard output)")
    p = add("gates", office("office.cli:cmd_gates"), "list gates: last heartbeat, rows received, device health, clock offset")
    p.add_argument("--json", action="store_true")
    add("keys", office("office.cli:cmd_keys"), "list the estate's slip signing keys and which are revoked")
    p = add("revoke-key", office("office.cli:cmd_revoke_key"), "revoke a slip signing key: gates refuse its slips, whatever their key folder holds")
    p.add_argument("key_id", help="the key id (8 hex digits, see `gatepass office keys`)")
    p = add("rotate-key", office("office.cli:cmd_rotate_key"), "sign new slips with a new key and publish it to the gates")
    p.add_argument("--revoke-old", action="store_true",
                   help="also revoke the old key (a stolen key): slips it signed are refused from then on")
    p = add("flags", office("office.cli:cmd_flags"), "list anomalies the office flagged (gaps, forks, edits, double use)")
    p.add_argument("--all", action="store_true", help="include resolved flags")
    p.add_argument("--json", action="store_true")
    p.add_argument("--resolve", type=int, metavar="ID", help="mark a flag resolved")
    p = add("backup", office("office.cli:cmd_backup"), "back up the office database and its key folders (docs/backup.md)")
    p.add_argument("--out", metavar="DIR", help="folder for the backup (default: the config's [backup] dir)")
    p.add_argument("--keep", type=int, help="backups to keep in that folder (default: the config's [backup] keep)")
    p = add("restore", office("office.cli:cmd_restore"), "restore a backup made by `gatepass office backup` (server stopped)")
    p.add_argument("backup", help="the backup's folder (gatepass-backup-<time>)")
    p.add_argument("--even-if-running", action="store_true", help="restore although the office server seems to be running")
    p.add_argument("--over-newer-schema", action="store_true",
                   help="replace a database whose schema revision is newer than the backup's")
