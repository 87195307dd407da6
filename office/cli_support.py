"""Helpers of the office commands: settings, database, dates typed at the front desk, slip lines."""
from __future__ import annotations

import argparse
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from office.config import DEFAULT_CONFIG


def config_path(args: argparse.Namespace) -> str | None:
    """The settings file a command reads: --config, else config/office.toml if present, else none (defaults)."""
    path: str | None = args.config
    if path is None and Path(DEFAULT_CONFIG).exists():
        path = DEFAULT_CONFIG
    return path


def office_config(args: argparse.Namespace) -> Any:
    from domain.settings import load
    from office.config import OfficeConfig

    cfg = load(OfficeConfig, config_path(args))
    from dataclasses import replace

    from domain.slip_token import ESTATE_ID, ESTATE_ID_FORM
    from office.config import estate_keys_dir
    from office.errors import OfficeError

    estate = getattr(args, "estate", None) or cfg.estate
    if not ESTATE_ID.fullmatch(estate):
        raise OfficeError(f"estate id {estate!r}: use {ESTATE_ID_FORM}")
    # Every command acts on the estate's own key folder: cfg.keys is that folder from here on.
    return replace(cfg, estate=estate, keys=str(estate_keys_dir(cfg.keys, estate, home=cfg.estate)))


def office_engine(cfg: Any) -> Any:
    from office.db import open_office

    return open_office(cfg.database.url, cfg.estate)


def when(text: str | None, cfg: Any, *, end: bool = False) -> datetime | None:
    """A date or ISO datetime typed at the office, in the estate's zone; a bare end date means its end."""
    from zoneinfo import ZoneInfo

    from office.errors import OfficeError

    if text is None:
        return None
    zone = ZoneInfo(cfg.timezone)
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime.combine(d + timedelta(days=1) if end else d, time(0), zone)
        dt = datetime.fromisoformat(text)
    except (ValueError, OverflowError):          # OverflowError: the day after 9999-12-31
        raise OfficeError(f"{text!r}: expected a date (2026-11-29) or date and time (2026-11-29T14:00)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=zone)


def estate_time(args: argparse.Namespace, cfg: Any) -> Any:
    """The estate's clock for this command: the injected one (tests, replays) or the system's."""
    from domain.clock import EstateTime

    return EstateTime.of(cfg.timezone, getattr(args, "clock", None))


def now_in(args: argparse.Namespace, cfg: Any) -> datetime:
    return estate_time(args, cfg).now()


def parse_item(text: str) -> Any:
    """'name:quantity[:spec]', e.g. '冰箱:1:180cm'."""
    from domain.model import SlipItem
    from office.errors import OfficeError

    name, _, rest = text.partition(":")
    qty, _, spec = rest.partition(":")
    try:
        return SlipItem(name.strip(), int(qty or "1"), spec.strip())
    except ValueError:
        raise OfficeError(f"item {text!r}: expected name:quantity[:spec], e.g. 冰箱:1:180cm") from None


def parse_approval(text: str, at: datetime) -> Any:
    """'role=name', e.g. 'butler_head=王经理'."""
    from domain.model import Approval, ApprovalRole
    from office.errors import OfficeError

    role, _, name = text.partition("=")
    try:
        return Approval(ApprovalRole(role.strip()), name.strip() or role.strip(), at)
    except ValueError:
        roles = ", ".join(r.value for r in ApprovalRole)
        raise OfficeError(f"approval {text!r}: expected role=name with role one of {roles}") from None
