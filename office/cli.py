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

from office.cli_support import config_path, estate_time, now_in, office_config, office_engine, parse_approval, parse_item, when


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
                            out_dir=args.out or Path(cfg.slips_dir) / cfg.estate, now=now)   # numbers are per estate
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


def cmd_backup(args: argparse.Namespace) -> int:
    from office.backup import make_backup

    cfg = _whole_office(args)
    made = make_backup(cfg, args.out or cfg.backup.dir, now=now_in(args, cfg), keep=args.keep)
    m = made.manifest
    print(f"backup written: {made.path}")
    print(f"  database: {m['database']['backend']} at schema revision {m['database']['revision']}; "
          f"estates: {', '.join(e['estate_id'] for e in m['estates']) or 'none'}; key files: {len(m['keys']['files'])}")
    for p in made.pruned:
        print(f"  removed old backup {p}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from office.backup import restore_backup

    cfg = _whole_office(args)
    done = restore_backup(cfg, args.backup, even_if_running=args.even_if_running, over_newer_schema=args.over_newer_schema)
    m = done.manifest
    print(f"restored {done.backup} (made {m['made_at']}, office clock) into {m['database']['backend']} database "
          f"{make_url(cfg.database.url).render_as_string(hide_password=True)}")
    print(f"  schema: was {done.revision_before or 'empty'}, backup {m['database']['revision']}, now {done.revision_now}")
    for estate, (old, new) in sorted(done.epochs.items()):
        print(f"  estate {estate}: new epoch {new} (was {old}): its gates pull their replica afresh and send "
              "again every exit-log row the office lost")
    for rel in done.keys_restored:
        print(f"  key file restored: {rel}")
    for rel in done.keys_kept:
        print(f"  key file kept as it is (differs from the backup, so newer): {rel}")
    print("Work done at the office after the backup is gone (permits, revocations, slips issued): redo it. "
          "Start the server again: systemctl start gatepass-office")
    return 0


def _whole_office(args: argparse.Namespace) -> Any:
    """The settings as configured: a backup covers every estate, and the key folder's root, not one estate's."""
    from dataclasses import replace

    from domain.settings import load
    from office.config import OfficeConfig

    cfg = load(OfficeConfig, config_path(args))
    return replace(cfg, estate=getattr(args, "estate", None) or cfg.estate)
