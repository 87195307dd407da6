"""Back the office up and restore it, with each database's own tools (docs/backup.md).

A backup is one folder, ``gatepass-backup-<UTC time>``, made under a hidden name and renamed
when complete (a half-made backup is never taken for one): ``manifest.json`` says what it holds,
when (the office's clock), at which schema revision, and the SHA-256 of every part; beside it the
database (SQLite's online backup API: a consistent copy while the server writes; PostgreSQL's
``pg_dump`` custom format) and ``keys/``, the key folders with their modes kept (0600).

A restore checks the manifest and every hash before it touches anything, refuses to run over a
live server or onto a newer schema unless told, and gives every estate of the restored database a
**new epoch**: the gates have pulled changes the restored copy no longer holds, and the office
will hand out those sequence numbers again for other changes. A new epoch makes each gate pull
its replica afresh (dropping what the office lost) and push its exit log from the start, so the
office gets back every row it lost, each exactly once (sync/daemon.py).
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import URL, create_engine, inspect, select, text, update
from sqlalchemy.engine import make_url

from office import schema
from office.config import OfficeConfig
from office.db import alembic_config, current_revision, head_revision, migrate
from office.errors import OfficeError

MANIFEST = "manifest.json"
FORMAT = "gatepass-office-backup"
FORMAT_VERSION = 1
PREFIX = "gatepass-backup-"
SQLITE_PART = "database.sqlite3"
PG_PART = "database.pgdump"
KEYS_PART = "keys"


# ------------------------------------------------------------------ helpers


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(root: Path) -> Iterator[Path]:
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            yield p


def revision_rank(revision: str | None) -> int:
    """How far along the shipped history ``revision`` is (0: no schema); -1 for one this code does not know
    (made by newer code)."""
    if revision is None:
        return 0
    from alembic.script import ScriptDirectory

    history = [r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()]
    history.reverse()
    return history.index(revision) + 1 if revision in history else -1


def _backend(url: str) -> str:
    return make_url(url).get_backend_name()


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise OfficeError(f"database url {url!r}: an in-memory database cannot be backed up or restored")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The conninfo URI pg_dump/pg_restore take for a SQLAlchemy URL, and the environment with its password
    (never on a command line, where `ps` shows it)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain: URL = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def pg_tool(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: on PATH (Debian's wrapper picks the cluster's version), else the newest
    under /usr/lib/postgresql/*/bin (what scripts/postgres.sh installs)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parts[-3].split(".")])
    if candidates:
        return candidates[-1]
    raise OfficeError(f"{name} not found: install the PostgreSQL client (apt-get install postgresql-client)")


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise OfficeError(f"{Path(argv[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _estates(url: str) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if "estates" not in inspect(conn).get_table_names():
                return []
            e = schema.estates
            return [dict(r) for r in conn.execute(select(e.c.estate_id, e.c.epoch, e.c.change_seq)
                                                  .order_by(e.c.estate_id)).mappings()]
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return current_revision(conn)
    finally:
        engine.dispose()


# ------------------------------------------------------------------ backup


@dataclass
class BackupMade:
    path: Path
    manifest: dict[str, Any]
    pruned: list[Path] = field(default_factory=list)


def _copy_sqlite(url: str, dest: Path) -> None:
    """SQLite's online backup API: one consistent copy, even while the server writes (WAL)."""
    source = _sqlite_path(url)
    if not source.exists():
        raise OfficeError(f"{source}: no office database to back up (run `gatepass office init`)")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)        # pages=-1: the whole database in one step, under one read transaction
    finally:
        dst.close()
        src.close()


def _copy_keys(keys_root: Path, dest: Path) -> list[dict[str, Any]]:
    """The key folders, every file with its mode (0600 for private keys) kept."""
    listed: list[dict[str, Any]] = []
    if not keys_root.is_dir():
        return listed
    dest.mkdir(mode=0o700)
    for p in _files(keys_root):
        rel = p.relative_to(keys_root)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy2(p, target)                  # copies the mode bits with the contents
        mode = p.stat().st_mode & 0o777
        target.chmod(mode)
        listed.append({"path": rel.as_posix(), "mode": f"{mode:04o}"})
    return listed


def make_backup(cfg: OfficeConfig, out_dir: str | Path, *, now: datetime, keep: int | None = None) -> BackupMade:
    """Write one complete backup into ``out_dir`` and prune the oldest beyond ``keep`` (the config's by default)."""
    if keep is not None and keep < 1:
        raise OfficeError(f"--keep {keep}: keep at least the backup just made (1 or more)")
    if _backend(cfg.database.url) == "sqlite" and not _sqlite_path(cfg.database.url).exists():
        raise OfficeError(f"{_sqlite_path(cfg.database.url)}: no office database to back up (run `gatepass office init`)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = PREFIX + stamp
    n = 2
    while (out / name).exists():
        name, n = f"{PREFIX}{stamp}-{n}", n + 1
    work = out / f".{name}.partial"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(mode=0o700)
    try:
        url = cfg.database.url
        backend = _backend(url)
        revision = _revision(url)
        if revision is None:
            raise OfficeError(f"{make_url(url).render_as_string(hide_password=True)}: no office database there "
                              "(run `gatepass office init`)")
        estates = _estates(url)
        if backend == "sqlite":
            part = SQLITE_PART
            _copy_sqlite(url, work / part)
        elif backend == "postgresql":
            part = PG_PART
            conninfo, env = _libpq(url)
            _run([pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={work / part}", f"--dbname={conninfo}"],
                 env)
        else:
            raise OfficeError(f"cannot back up a {backend} database: SQLite and PostgreSQL only")
        (work / part).chmod(0o600)          # the estate's whole record: as private as its keys
        keys = _copy_keys(Path(cfg.keys), work / KEYS_PART)
        parts = {p.relative_to(work).as_posix(): sha256_of(p) for p in _files(work)}
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "made_at": now.isoformat(timespec="seconds"),
            "gatepass": _version(),
            "database": {"backend": backend, "url": make_url(url).render_as_string(hide_password=True),
                         "file": part, "revision": revision},
            "estates": estates,
            "keys": {"from": str(cfg.keys), "files": keys},
            "sha256": parts,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.replace(work, out / name)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    made = BackupMade(out / name, manifest)
    made.pruned = prune(out, keep if keep is not None else cfg.backup.keep)
    return made


def backups_in(out_dir: Path) -> list[Path]:
    """The complete backups in ``out_dir``, oldest first (their names sort by time)."""
    return sorted(p for p in out_dir.glob(PREFIX + "*") if p.is_dir() and (p / MANIFEST).exists())


def prune(out_dir: Path, keep: int) -> list[Path]:
    """Remove the oldest backups beyond the newest ``keep``; return what was removed."""
    gone = backups_in(out_dir)[:-keep] if keep > 0 else []
    for p in gone:
        shutil.rmtree(p)
    return gone


# ------------------------------------------------------------------ restore


def read_manifest(backup: Path) -> dict[str, Any]:
    """The manifest, checked against every part's SHA-256; OfficeError naming what is wrong, before anything is touched."""
    path = backup / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OfficeError(f"{backup}: not a gatepass backup (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise OfficeError(f"{path}: cannot read the manifest: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise OfficeError(f"{path}: not a gatepass office backup manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise OfficeError(f"{path}: backup format {manifest.get('format_version')!r}; this gatepass reads {FORMAT_VERSION}")
    listed: dict[str, str] = manifest.get("sha256") or {}
    database = manifest.get("database") or {}
    if database.get("file") not in listed:
        raise OfficeError(f"{path}: the manifest lists no database file")
    problems = []
    for rel, digest in sorted(listed.items()):
        part = backup / rel
        if not part.is_file():
            problems.append(f"{rel}: missing")
        elif sha256_of(part) != digest:
            problems.append(f"{rel}: SHA-256 differs from the manifest (damaged or altered)")
    extra = sorted(p.relative_to(backup).as_posix() for p in _files(backup)
                   if p.name != MANIFEST and p.relative_to(backup).as_posix() not in listed)
    problems += [f"{rel}: not in the manifest" for rel in extra]
    if problems:
        raise OfficeError(f"{backup}: backup refused, nothing restored:\n  " + "\n  ".join(problems))
    return manifest


def server_running(cfg: OfficeConfig) -> str | None:
    """Why the office looks live (its API answers, or other sessions hold the PostgreSQL database), or None."""
    host = cfg.server.host if cfg.server.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    url = f"http://{'[' + host + ']' if ':' in host else host}:{cfg.server.port}/api/v1/health"
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:      # noqa: S310 - our own configured address
            if reply.status == 200:
                return f"an office server answers at {url}"
    except (OSError, ValueError):
        pass
    if _backend(cfg.database.url) == "postgresql":
        engine = create_engine(cfg.database.url)
        try:
            with engine.connect() as conn:
                others = int(conn.execute(text(
                    "select count(*) from pg_stat_activity where datname = current_database() "
                    "and pid <> pg_backend_pid()")).scalar_one())
        except Exception:          # noqa: BLE001 - a database we cannot reach has nobody on it to disturb
            others = 0
        finally:
            engine.dispose()
        if others:
            return f"{others} other session(s) are connected to the database (a server, a console, a command)"
    return None


@dataclass
class Restored:
    backup: Path
    manifest: dict[str, Any]
    revision_before: str | None
    revision_now: str
    epochs: dict[str, tuple[str, str]]                      # estate -> (epoch in the backup, new epoch)
    keys_restored: list[str] = field(default_factory=list)
    keys_kept: list[str] = field(default_factory=list)      # present and different: the newer file stays


def restore_backup(cfg: OfficeConfig, backup: str | Path, *, even_if_running: bool = False,
                   over_newer_schema: bool = False) -> Restored:
    """Put the backup's database (and any missing key files) in place of the configured ones."""
    path = Path(backup)
    manifest = read_manifest(path)
    db = manifest["database"]
    url = cfg.database.url
    backend = _backend(url)
    if db.get("backend") != backend:
        raise OfficeError(f"{path}: a {db.get('backend')} backup; the configured database is {backend} "
                          f"({make_url(url).render_as_string(hide_password=True)})")
    rank = revision_rank(db.get("revision"))
    if rank < 0:
        raise OfficeError(f"{path}: schema revision {db.get('revision')!r} is newer than this gatepass knows "
                          f"(head {head_revision()}): restore it with the gatepass that made it")
    if not even_if_running:
        live = server_running(cfg)
        if live:
            raise OfficeError(f"restore refused: {live}. Stop it first (systemctl stop gatepass-office), "
                              "or pass --even-if-running")
    before = _revision(url) if backend == "postgresql" or _sqlite_path(url).exists() else None
    if revision_rank(before) != 0 and (revision_rank(before) < 0 or revision_rank(before) > rank) and not over_newer_schema:
        raise OfficeError(f"restore refused: the database is at schema revision {before}, newer than the backup's "
                          f"{db.get('revision')}; pass --over-newer-schema to replace it anyway")
    source = path / db["file"]
    if backend == "sqlite":
        _restore_sqlite(source, _sqlite_path(url))
    else:
        _restore_postgres(source, url)
    engine = create_engine(url)
    try:
        migrate(engine)
        epochs: dict[str, tuple[str, str]] = {}
        with engine.begin() as conn:
            e = schema.estates
            for r in conn.execute(select(e.c.estate_id, e.c.epoch)).all():
                new = secrets.token_hex(8)
                conn.execute(update(e).where(e.c.estate_id == r.estate_id).values(epoch=new))
                epochs[str(r.estate_id)] = (str(r.epoch), new)
        with engine.connect() as conn:
            now_rev = current_revision(conn) or ""
    finally:
        engine.dispose()
    done = Restored(path, manifest, before, now_rev, epochs)
    _restore_keys(path / KEYS_PART, Path(cfg.keys), manifest, done)
    return done


def _restore_sqlite(source: Path, target: Path) -> None:
    check = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        verdict = check.execute("pragma integrity_check").fetchone()[0]
    finally:
        check.close()
    if verdict != "ok":
        raise OfficeError(f"{source}: SQLite integrity check failed ({verdict}); nothing restored")
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)        # replaces every page of the target in one step; its WAL stays consistent
    finally:
        dst.close()
        src.close()


def _restore_postgres(source: Path, url: str) -> None:
    """pg_restore in one transaction. Tables the dump does not have (a newer schema's, when forced) are
    dropped first, or the migration after the restore would trip over them."""
    conninfo, env = _libpq(url)
    listing = subprocess.run([pg_tool("pg_restore"), "--list", str(source)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise OfficeError(f"{source}: pg_restore cannot read it: {listing.stderr.strip()[-500:]}")
    dumped = set()
    for line in listing.stdout.splitlines():     # "215; 1259 16390 TABLE public events owner"
        words = line.split()
        if not line.startswith(";") and "TABLE" in words and "DATA" not in words:
            at = words.index("TABLE")
            if len(words) > at + 2:
                dumped.add(words[at + 2])
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for table in inspect(conn).get_table_names():
                if table not in dumped:
                    conn.execute(text(f'drop table if exists "{table}" cascade'))
    finally:
        engine.dispose()
    _run([pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", f"--dbname={conninfo}", str(source)], env)


def _restore_keys(saved: Path, keys_root: Path, manifest: dict[str, Any], done: Restored) -> None:
    """Key files the office lacks come back with their modes; a file that exists and differs is newer than the
    backup (a key rotated since) and is kept: a restore never destroys a key."""
    for entry in (manifest.get("keys") or {}).get("files", []):
        rel, mode = str(entry["path"]), int(str(entry["mode"]), 8)
        src, dst = saved / rel, keys_root / rel
        if dst.exists():
            if sha256_of(dst) != sha256_of(src):
                done.keys_kept.append(rel)
            continue
        dst.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copyfile(src, dst)
        dst.chmod(mode)
        done.keys_restored.append(rel)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("gatepass")
    except Exception:  # noqa: BLE001 - a source checkout
        return "dev"
