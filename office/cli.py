"""`gatepass office ...`: the office server and the front desk's commands.

Every command opens the office database (migrating it if needed), does its work in
one transaction and prints what a clerk needs; refusals are OfficeErrors that say why.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from office.cli_support import DEFAULT_CONFIG, config_path, estate_time, now_in, office_config, office_engine, parse_approval, parse_item, when
from office.console.auth import ROLES


def cmd_init(args: argparse.Namespace) -> int:
    from domain.keyfiles import PRIVATE_NAME, new_keys
    from office.records import import_public_keys

    cfg = office_config(args)
    if not (Path(cfg.keys) / PRIVATE_NAME).exists():
        kid, path = new_keys(cfg.keys)
        print(f"new signing key {kid}: {path}")
    engine = office_engine(cfg)
    with engine.begin() as conn:
        added = import_public_keys(conn, cfg.estate, cfg.keys)
    print(f"office database ready: {cfg.database.url} (estate {cfg.estate}); keys published: {', '.join(added) or 'none new'}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from office.server import serve

    serve(office_config(args), args.host, args.port, workers=args.workers, config_path=config_path(args))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from office.demo import banner, seed
    from office.server import serve

    demo = seed(args.dir)
    print(banner(demo, f"http://{args.host}:{args.port}"), flush=True)
    if not args.no_serve:
        serve(demo.cfg, args.host, args.port)
    return 0


def cmd_add_gate(args: argparse.Namespace) -> int:
    from office.records import add_gate

    cfg = office_config(args)
    with office_engine(cfg).begin() as conn:
        credential = add_gate(conn, cfg.estate, args.name, args.label or "", clock=estate_time(args, cfg).clock)
    if args.credential_file:
        p = Path(args.credential_file)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(credential + "\n")
        p.chmod(0o600)
        print(f"gate {args.name} added; credential written to {p}")
    else:
        print(f"gate {args.name} added. Its credential, shown only this once (put it in the gate's credential_file):")
        print(credential)
    return 0


def cmd_add_unit(args: argparse.Namespace) -> int:
    from office.records import add_unit

    cfg = office_config(args)
    with office_engine(cfg).begin() as conn:
        row = add_unit(conn, cfg.estate, args.unit, args.building or "", args.room or "")
    print(f"unit {row['unit_id']} (building {row['building']}, room {row['room']})")
    return 0


def cmd_set_fees(args: argparse.Namespace) -> int:
    from office.records import set_fees

    cfg = office_config(args)
    with office_engine(cfg).begin() as conn:
        set_fees(conn, cfg.estate, args.unit, args.unpaid)
    print(f"unit {args.unit}: fees {'UNPAID (no slips)' if args.unpaid else 'paid'}")
    return 0


def cmd_issue_permit(args: argparse.Namespace) -> int:
    from domain.keyfiles import load_hmac_key
    from domain.model import PermitKind
    from office.errors import OfficeError
    from office.photos import PhotoRefused, check_photo
    from office.records import issue_permit

    cfg = office_config(args)
    photo = None
    if args.photo:
        try:
            data = Path(args.photo).read_bytes()
        except OSError as exc:
            raise OfficeError(f"{args.photo}: cannot read photo: {exc.strerror}") from None
        try:
            photo = (data, check_photo(data, args.photo))     # the console's check: a photo every gate can show
        except PhotoRefused as exc:
            raise OfficeError(str(exc)) from None
    with office_engine(cfg).begin() as conn:
        row = issue_permit(
            conn, cfg.estate, card_uid=args.card, kind=PermitKind(args.kind), holder_name=args.name,
            unit_id=args.unit, id_number=args.id_number or "", hmac_key=load_hmac_key(cfg.keys),
            valid_from=when(args.valid_from, cfg) or now_in(args, cfg), valid_until=when(args.valid_until, cfg, end=True),
            phone=args.phone or "", photo=photo, permit_id=args.permit_id or "", replaces=args.replaces or "")
    print(f"permit {row['permit_id']} on card {row['card_uid']} for {row['holder_name']} ({row['unit_id']}), "
          f"valid until {row['valid_until']}" + (f"; a replacement card: replaces {row['replaces']}, which stays refused"
                                                 if row["replaces"] else ""))
    return 0


def _status(args: argparse.Namespace, status: Any, verb: str) -> int:
    from office.records import set_permit_status

    cfg = office_config(args)
    with office_engine(cfg).begin() as conn:
        row = set_permit_status(conn, cfg.estate, args.permit, status)
    print(f"permit {row['permit_id']} (card {row['card_uid']}) {verb}; gates refuse it after their next pull")
    return 0


def cmd_report_lost(args: argparse.Namespace) -> int:
    from domain.model import PermitStatus

    return _status(args, PermitStatus.LOST, "reported lost")


def cmd_revoke(args: argparse.Namespace) -> int:
    from domain.model import PermitStatus

    return _status(args, PermitStatus.REVOKED, "revoked")


def cmd_issue_slip(args: argparse.Namespace) -> int:
    from domain.keyfiles import load_hmac_key, load_private
    from domain.model import SlipKind
    from office.slips import SlipRequest, issue_slip

    cfg = office_config(args)
    now = now_in(args, cfg)
    start = when(args.valid_from, cfg) or now
    req = SlipRequest(
        kind=SlipKind(args.kind), unit_id=args.unit, applicant_name=args.applicant,
        applicant_phone=args.phone or "", mover_name=args.mover or args.applicant,
        mover_id_number=args.mover_id or "", mover_permit_id=args.mover_permit or "",
        items=[parse_item(i) for i in args.item], valid_from=start,
        valid_until=when(args.valid_until, cfg, end=True) or start + timedelta(days=1),
        approvals=[parse_approval(a, now) for a in args.approve], purpose=args.purpose or "",
        exit_gate_id=args.exit_gate or "")
    with office_engine(cfg).begin() as conn:
        issued = issue_slip(conn, cfg.estate, req, private=load_private(cfg.keys), hmac_key=load_hmac_key(cfg.keys),
                            out_dir=args.out or cfg.slips_dir, now=now)
    print(f"slip {issued.slip_id} issued; QR code: {issued.png} and {issued.svg}")
    return 0


def cmd_cancel_slip(args: argparse.Namespace) -> int:
    from office.slips import cancel_slip

    cfg = office_config(args)
    with office_engine(cfg).begin() as conn:
        cancel_slip(conn, cfg.estate, args.slip)
    print(f"slip {args.slip} cancelled; gates refuse it after their next pull")
    return 0


def cmd_add_guard(args: argparse.Namespace) -> int:
    from domain.model import Role
    from office.records import add_guard

    cfg = office_config(args)
    with office_engine(cfg).begin() as conn:
        add_guard(conn, cfg.estate, args.guard, args.name, args.badge, args.pin, Role(args.role))
    print(f"guard {args.guard} ({args.name}) added")
    return 0


def cmd_add_staff(args: argparse.Namespace) -> int:
    import getpass
    import os

    from office.console.auth import add_staff

    cfg = office_config(args)
    password = os.environ.get("GATEPASS_STAFF_PASSWORD") or getpass.getpass(f"password for {args.username}: ")
    with office_engine(cfg).begin() as conn:
        add_staff(conn, cfg.estate, args.username, args.name or args.username, password, args.role)
    print(f"staff {args.username} ({args.name or args.username}, {args.role}) can sign in at /console")
    return 0


def cmd_set_rule(args: argparse.Namespace) -> int:
    from office.records import set_rule

    cfg = office_config(args)
    with office_engine(cfg).begin() as conn:
        set_rule(conn, cfg.estate, args.name, args.value)
    print(f"rule {args.name} = {args.value}")
    return 0


def cmd_export_log(args: argparse.Namespace) -> int:
    from office.errors import OfficeError
    from office.export import log_names, log_rows, to_csv, to_json, to_xlsx

    cfg = office_config(args)
    try:
        first, last = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
    except ValueError:
        raise OfficeError("--from and --to are dates like 2026-11-29") from None
    if args.format == "xlsx" and not args.out:
        raise OfficeError("an Excel file needs --out, e.g. --out exit-log.xlsx")
    with office_engine(cfg).connect() as conn:
        rows = log_rows(conn, cfg.estate, first, last, args.gate or "", zone=cfg.timezone)
        names = log_names(conn, cfg.estate, rows) if args.format == "xlsx" else None
    data = (to_xlsx(rows, names, zone=cfg.timezone) if names is not None else
            to_csv(rows) if args.format == "csv" else to_json(rows))
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"{len(rows)} events written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
    return 0


def cmd_flags(args: argparse.Namespace) -> int:
    from office.errors import NotFound
    from office.ingest import list_flags, resolve_flag

    cfg = office_config(args)
    engine = office_engine(cfg)
    if args.resolve is not None:
        with engine.begin() as conn:
            if not resolve_flag(conn, cfg.estate, args.resolve, clock=estate_time(args, cfg).clock):
                raise NotFound(f"no open flag {args.resolve}")
        print(f"flag {args.resolve} resolved")
        return 0
    with engine.connect() as conn:
        flags = list_flags(conn, cfg.estate, include_resolved=args.all)
    if args.json:
        print(json.dumps(flags, ensure_ascii=False, indent=1))
        return 0
    for f in flags:
        state = f"resolved {f['resolved_at']}" if f["resolved_at"] else "OPEN"
        print(f"#{f['flag_id']} {f['raised_at'][:19]} {f['kind']:<16} {state:<10} {f['message']}")
    if not flags:
        print("no open flags")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from domain.keyfiles import load_private
    from domain.slip_token import key_id_of, public_raw
    from office.records import list_keys

    cfg = office_config(args)
    signing = key_id_of(public_raw(load_private(cfg.keys)))
    with office_engine(cfg).connect() as conn:
        keys = list_keys(conn, cfg.estate)
    for k in keys:
        state = "REVOKED" if k["revoked"] else "trusted"
        print(f"{k['key_id']}  {state}{'  (signs new slips)' if k['key_id'] == signing else ''}")
    if signing not in {k["key_id"] for k in keys}:
        print(f"{signing}  NOT PUBLISHED: gates cannot check its slips (run `gatepass office init`)")
    return 0


def cmd_revoke_key(args: argparse.Namespace) -> int:
    from office.records import revoke_key

    cfg = office_config(args)
    with office_engine(cfg).begin() as conn:
        revoke_key(conn, cfg.estate, args.key_id)
    print(f"signing key {args.key_id} revoked: every gate of estate {cfg.estate} refuses its slips from its next pull")
    return 0


def cmd_rotate_key(args: argparse.Namespace) -> int:
    from domain.keyfiles import rotate_keys
    from office.records import import_public_keys, revoke_key

    cfg = office_config(args)
    old, new = rotate_keys(cfg.keys)
    with office_engine(cfg).begin() as conn:
        import_public_keys(conn, cfg.estate, cfg.keys)
        if args.revoke_old:
            revoke_key(conn, cfg.estate, old)
    print(f"new signing key {new} published; new slips are signed with it")
    print(f"old key {old} " + ("revoked: its slips are refused from each gate's next pull" if args.revoke_old else
                                "still trusted for slips already printed (revoke it with `gatepass office revoke-key "
                                f"{old}`)"))
    return 0


def cmd_gates(args: argparse.Namespace) -> int:
    from office.ingest import list_gates

    cfg = office_config(args)
    with office_engine(cfg).connect() as conn:
        gates = list_gates(conn, cfg.estate)
    et = estate_time(args, cfg)
    now = et.now()
    if args.json:
        print(json.dumps([dict(g, heartbeat=g["heartbeat"].to_json() if g["heartbeat"] else None,
                               devices={k: d.to_json() for k, d in g["heartbeat"].as_of(now).items()}
                               if g["heartbeat"] else None) for g in gates], ensure_ascii=False, indent=1))
        return 0

    def device(d: Any) -> str:
        text = f"{d.state.value}" + (f" ({d.detail})" if d.detail else "")
        return text + (f", last report {et.local(d.at):%Y-%m-%d %H:%M:%S}" if not d.state.known and d.at else "")

    for g in gates:
        beat = g["heartbeat"]
        devices = beat.as_of(now) if beat else None
        print(f"{g['gate_id']:<6} {g['name']:<12} last seen {(g['last_seen'] or 'never')[:19]:<19} "
              f"rows {g['head_seq']:<7} outbox {beat.outbox_depth if beat else '?':<5} "
              f"reader {device(devices['reader']) if devices else '?'}, "
              f"camera {device(devices['camera']) if devices else '?'}, "
              f"clock offset {beat.clock_offset_s if beat and beat.clock_offset_s is not None else '?'} s")
    if not gates:
        print("no gates (add one with `gatepass office add-gate NAME`)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `gatepass office ...` to the `gatepass` parser."""
    from domain.model import ApprovalRole, PermitKind, Role, SlipKind

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help=f"office settings (TOML; default {DEFAULT_CONFIG} if present)")
    common.add_argument("--estate", help="estate to act on (default: the config's estate)")
    office = sub.add_parser("office", help="office server and front-desk commands")
    osub = office.add_subparsers(dest="office_command", metavar="OFFICE_COMMAND", required=True)

    def add(name: str, fn: Any, help: str) -> argparse.ArgumentParser:
        p = osub.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(func=fn)
        return p

    add("init", cmd_init, "create the database and the signing keys")
    p = add("serve", cmd_serve, "serve the gate API (uvicorn)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, help="server processes (default: the config's [server] workers); more than 1 needs PostgreSQL")
    p = add("demo", cmd_demo, "a demo office with demo data and its console (SQLite, made afresh in --dir)")
    p.add_argument("--dir", default="var/office-demo", help="where the demo's database, keys and credentials go")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--no-serve", action="store_true", help="make the data, print the sign-in, do not serve")
    p = add("add-gate", cmd_add_gate, "register a gate and print its credential once")
    p.add_argument("name", help="gate id, up to 6 characters, e.g. north")
    p.add_argument("--label", help="display name, e.g. 北门")
    p.add_argument("--credential-file", help="write the credential here (mode 0600) instead of printing it")
    p = add("add-unit", cmd_add_unit, "add or update a unit (3-2-1502)")
    p.add_argument("unit")
    p.add_argument("--building")
    p.add_argument("--room")
    p = add("set-fees", cmd_set_fees, "record whether a unit has unpaid fees (unpaid: no slips)")
    p.add_argument("unit")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--unpaid", action="store_true", dest="unpaid")
    g.add_argument("--paid", action="store_false", dest="unpaid")
    p = add("issue-permit", cmd_issue_permit, "issue a permit card (住户证); a temporary pass 3 days at most")
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
    for name, fn, text in (("report-lost", cmd_report_lost, "report a card lost (guards are told)"),
                           ("revoke", cmd_revoke, "revoke a permit")):
        p = add(name, fn, text)
        p.add_argument("permit", help="permit id or card UID")
    p = add("issue-slip", cmd_issue_slip, "issue an item-release slip (物品放行条) and write its QR code")
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
    p.add_argument("--out", help="directory for the QR code (default: the config's slips_dir)")
    p = add("cancel-slip", cmd_cancel_slip, "cancel a slip")
    p.add_argument("slip")
    p = add("add-guard", cmd_add_guard, "add a guard with a badge and PIN")
    p.add_argument("guard")
    p.add_argument("--name", required=True)
    p.add_argument("--badge", required=True)
    p.add_argument("--pin", required=True)
    p.add_argument("--role", default="guard", choices=[r.value for r in Role])
    p = add("add-staff", cmd_add_staff, "add a staff account for the web console, or reset its password "
            "(asks for it; or $GATEPASS_STAFF_PASSWORD)")
    p.add_argument("username")
    p.add_argument("--name", help="display name, e.g. 王丽")
    p.add_argument("--role", default="front_desk", choices=list(ROLES))
    p = add("set-rule", cmd_set_rule, "set a gate rule (JSON value)")
    p.add_argument("name")
    p.add_argument("value")
    p = add("export-log", cmd_export_log, "export the gates' exit log")
    p.add_argument("--from", dest="date_from", required=True)
    p.add_argument("--to", dest="date_to", required=True)
    p.add_argument("--gate")
    p.add_argument("--format", choices=["csv", "xlsx", "json"], default="csv",
                   help="xlsx: for people (Chinese headers, names, items); csv/json: the raw rows")
    p.add_argument("--out", help="file to write (default: standard output)")
    p = add("gates", cmd_gates, "list gates: last heartbeat, rows received, device health, clock offset")
    p.add_argument("--json", action="store_true")
    add("keys", cmd_keys, "list the estate's slip signing keys and which are revoked")
    p = add("revoke-key", cmd_revoke_key, "revoke a slip signing key: gates refuse its slips, whatever their key folder holds")
    p.add_argument("key_id", help="the key id (8 hex digits, see `gatepass office keys`)")
    p = add("rotate-key", cmd_rotate_key, "sign new slips with a new key and publish it to the gates")
    p.add_argument("--revoke-old", action="store_true",
                   help="also revoke the old key (a stolen key): slips it signed are refused from then on")
    p = add("flags", cmd_flags, "list anomalies the office flagged (gaps, forks, edits, double use)")
    p.add_argument("--all", action="store_true", help="include resolved flags")
    p.add_argument("--json", action="store_true")
    p.add_argument("--resolve", type=int, metavar="ID", help="mark a flag resolved")
