"""Settings of the office server (config/office.toml): one frozen dataclass per table."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import Field

from domain.settings import Count

#: The private key's file name in a key folder (domain/keyfiles.py PRIVATE_NAME).
_PRIVATE_NAME = "signing.key"
#: The settings file `gatepass office ...` reads when given no --config and it exists.
DEFAULT_CONFIG = "config/office.toml"


def estate_keys_dir(keys: str, estate: str, home: str) -> Path:
    """The key folder of ``estate``: ``<keys>/<estate>/``, each estate signing its slips with its own key.

    An office set up before estates had their own keys has its key in ``<keys>`` itself: that key
    stays the configured estate's (``home``, the config file's ``estate``) until rotated."""
    own = Path(keys) / estate
    if (own / _PRIVATE_NAME).exists():
        return own
    if estate == home and (Path(keys) / _PRIVATE_NAME).exists():
        return Path(keys)
    return own


#: Extra connections a server process may open under load: none at all is a valid choice.
Overflow = Annotated[int, Field(ge=0, le=10_000)]


@dataclass(frozen=True)
class DatabaseConfig:
    #: SQLAlchemy URL: a SQLite file by default, e.g. postgresql+psycopg://user@host/gatepass in production.
    url: str = "sqlite:///var/office.db"
    #: Connections each server process keeps open to PostgreSQL, and how many more it may open under load
    #: (SQLite ignores both). Size them so that workers x (pool_size + max_overflow) stays under the
    #: server's max_connections.
    pool_size: Count = 5
    max_overflow: Overflow = 10


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    #: Server processes (uvicorn workers) answering gates and staff; more than 1 needs PostgreSQL
    #: (SQLite has one writer: extra processes only wait for its lock).
    workers: Count = 1
    #: Bodies larger than this are refused with 413 before they are parsed.
    max_body_bytes: int = 8 * 1024 * 1024
    #: Most exit-log rows one push may carry; more is a 422.
    max_events_per_push: int = 2000
    #: Most replica changes one pull page returns.
    max_page: int = 5000


@dataclass(frozen=True)
class BackupConfig:
    #: Where `gatepass office backup` (and its systemd timer) writes backups unless given --out.
    dir: str = "var/backups"
    #: How many backups to keep: after each new one, the oldest beyond this many are removed.
    keep: Count = 14


@dataclass(frozen=True)
class OfficeConfig:
    #: The estate that commands act on unless told otherwise (estates scope gates, permits, slips...).
    estate: str = "default"
    #: Local zone for dates typed at the office (slip windows, export ranges).
    timezone: str = "Asia/Shanghai"
    #: Ed25519 signing keys and ID-HMAC keys, one folder per estate: <keys>/<estate>/ (made by
    #: `gatepass office init --estate E`).
    keys: str = "var/office-keys"
    #: Where `issue-slip` writes the slip's QR code (PNG and SVG).
    slips_dir: str = "var/slips"
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    backup: BackupConfig = field(default_factory=BackupConfig)
