"""Subcommands of the kiosk package: check, demo-data, log verify/show, keys new, config check."""
from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.clock import Clock




def _parse_at(text: str | None, zone: str, clock: Clock | None = None) -> datetime:
    """--at, or now; a time without an offset is the gate's wall-clock time, never the machine's."""
    from domain.clock import EstateTime
    from domain.errors import GatepassError

    estate = EstateTime.of(zone, clock)
    if not text:
        return estate.now()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise GatepassError(f"--at {text!r}: expected an ISO 8601 time such as 2026-11-25T10:00:00+08:00") from None
    return estate.local(at)


def _text_argument(name: str, value: str | None) -> None:
    """An argument the shell passed as bytes that are not UTF-8 (or with control characters)
    is refused by name, instead of a traceback from the first place that encodes it."""
    from domain.errors import GatepassError

    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        shown = value.encode("utf-8", "surrogateescape").hex()
        raise GatepassError(f"{name}: 参数不是有效的 UTF-8 文本\n{name}: not UTF-8 text (bytes {shown[:64]})") from None
    if not value.isprintable():
        raise GatepassError(f"{name}: 参数含控制字符\n{name}: contains control characters: {value[:64]!r}")


def cmd_check(args: argparse.Namespace) -> int:
    from domain.settings import load
    from kiosk.check import check_card, check_slip, decode_image, render_text
    from kiosk.config import KioskConfig

    cfg = load(KioskConfig, args.config)
    at = _parse_at(args.at, cfg.gate.timezone, getattr(args, "clock", None))
    for name in ("card", "slip"):
        _text_argument(f"--{name}", getattr(args, name))
    if args.card:
        result = check_card(Path(args.db), args.card, at)
    else:
        text = args.slip if args.slip is not None else decode_image(Path(args.slip_image))
        gate = cfg.gate.to_gate()
        if args.gate:
            from dataclasses import replace

            gate = replace(gate, gate_id=args.gate)
        result = check_slip(Path(args.db), text, at, gate, cfg.rules.hours(), args.keys, cfg.store.keys)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(render_text(result))
    return 0 if result["allowed"] else 1


def cmd_demo_data(args: argparse.Namespace) -> int:
    from domain.clock import ESTATE_ZONE
    from kiosk.demo import build_demo

    out = Path(args.out)
    at = _parse_at(args.at, ESTATE_ZONE) if args.at else None
    demo = build_demo(out, permits=args.permits, now=at)
    target = Path(args.db)
    if target.resolve() != demo.replica_path.resolve():
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        demo.replica_path.replace(target)
        demo.replica_path = target
    (out / "manifest.json").write_text(json.dumps(demo.manifest(), ensure_ascii=False, indent=2) + "\n")
    print(f"demo replica: {demo.replica_path}")
    print(f"slip QR codes: {demo.qr_dir}/*.png; keys: {demo.keys_dir}; manifest: {out / 'manifest.json'}")
    return 0


def cmd_log_verify(args: argparse.Namespace) -> int:
    from domain.errors import LogChainError
    from kiosk.exitlog import ExitLog

    log = ExitLog.open_readonly(args.db)
    try:
        log.verify()
    except LogChainError as exc:
        print(f"BROKEN: {exc}")
        return 1
    print(f"ok: {log.last_seq} rows, hash chain intact")
    return 0


def cmd_log_show(args: argparse.Namespace) -> int:
    from kiosk.exitlog import ExitLog

    for row in ExitLog.open_readonly(args.db).rows():
        print(json.dumps(row, ensure_ascii=False))
    return 0


def cmd_keys_new(args: argparse.Namespace) -> int:
    from domain.keyfiles import new_keys

    kid, private = new_keys(args.dir)
    print(f"key {kid}: private {private} (keep at the office), public {Path(args.dir) / (kid + '.pub')} (for gates)")
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    from importlib.metadata import entry_points

    from domain.commands import CONFIG_KINDS
    from domain.settings import load

    kinds = {ep.name: ep for ep in entry_points(group=CONFIG_KINDS)}
    load(kinds[args.kind].load(), args.file)
    print(f"{args.file}: ok")
    return 0
