"""`gatepass sync`: run the gate's sync daemon beside the kiosk (systemd/gatepass-sync.service)."""
from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sync.args import DEFAULT_CONFIG, register

if TYPE_CHECKING:
    from domain.clock import Clock



def load_credential(path: str) -> str:
    from sync.errors import SyncError

    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise SyncError(f"{path}: gate credential not found (the office makes one with `gatepass office add-gate NAME`)") from None
    except OSError as exc:
        raise SyncError(f"{path}: cannot read the gate credential: {exc.strerror}") from None
    from domain.credential import FORM, parse_credential

    if parse_credential(text) is None:
        raise SyncError(f"{path}: not a gate credential (expected {FORM})")
    return text


def make_daemon(config_path: str | None, *, wall: Clock | None = None,
                clock_synced: Callable[[], bool | None] | None = None) -> Any:
    """The daemon for a kiosk config file (its [gate], [store] and [sync] tables); ``wall`` and
    ``clock_synced`` for a test that runs a gate and its office on one clock (default: the machine's)."""
    from domain.settings import load
    from kiosk.config import KioskConfig
    from sync.daemon import SyncDaemon
    from sync.errors import SyncError

    if config_path is None and Path(DEFAULT_CONFIG).exists():
        config_path = DEFAULT_CONFIG
    cfg = load(KioskConfig, config_path)
    if not cfg.sync.office_url:
        raise SyncError(f"{config_path or 'embedded defaults'}: [sync] office_url is empty: this gate has no office to sync with")
    from domain.credential import parse_credential

    credential = load_credential(cfg.sync.credential_file)
    parsed = parse_credential(credential)
    if parsed is None or parsed.gate_id != cfg.gate.id:
        raise SyncError(f"{cfg.sync.credential_file}: credential is for gate {parsed.gate_id if parsed else '?'!r}, "
                        f"but this kiosk is gate {cfg.gate.id!r}")
    synced: dict[str, Any] = {} if clock_synced is None else {"clock_synced": clock_synced}
    return SyncDaemon(cfg.sync, gate_id=cfg.gate.id, replica_path=cfg.store.replica,
                      exit_log_path=cfg.store.exit_log, credential=credential, wall=wall, **synced)


def cmd_sync(args: argparse.Namespace) -> int:
    daemon = make_daemon(args.config)
    try:
        if args.once:
            ok = daemon.run_once()
            status = daemon.status
            print(f"pull cursor {status.pull_cursor}, push cursor {status.push_cursor}, "
                  f"outbox {status.outbox_depth}" + (f"; last error: {status.last_error}" if not ok else ""))
            return 0 if ok else 1

        def stop(_signum: int, _frame: Any) -> None:
            daemon.stop_event.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        daemon.run()
        return 0
    finally:
        daemon.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m sync`: the same as `gatepass sync`, without the kiosk's parser."""
    from domain.errors import GatepassError

    parser = argparse.ArgumentParser(prog="gatepass")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sync", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except GatepassError as exc:
        print(f"gatepass sync: {exc}", file=sys.stderr)
        return 2
