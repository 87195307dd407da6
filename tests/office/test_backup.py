"""Backing the office up and restoring it: the commands as a user runs them, and a restore drill with
real gates (the sync daemon's run loop) against a real server, on SQLite and on PostgreSQL."""
from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from domain.exitrow import EntryKind
from domain.settings import load
from office import schema
from office.config import OfficeConfig
from office.db import head_revision
from office.server import ThreadedServer, build
from tests.office.harness import ROOT, DaemonThread, GateSite, OfficeServer, wait_for
from tests.test_units import BACKUP_UNITS, MAX_EXPOSURE, _analyze, _resolve, parse_unit, root_with_units, writable_paths

#: Flags that would mean a row was lost, doubled or altered on the way back.
BAD_FLAGS = ("fork", "edited", "foreign_event_id", "gap", "double_use")


def office_cli(config: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """`gatepass office ...` in its own process, as a user or the systemd timer runs it."""
    return subprocess.run([sys.executable, "-m", "office", *argv, "--config", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def write_config(tmp: Path, office: OfficeServer, *, keep: int = 14) -> Path:
    """The office.toml of this office: its database, keys and port (the restore's "is it running?" check)."""
    path = tmp / "office.toml"
    path.write_text(f'keys = "{office.cfg.keys}"\nslips_dir = "{office.cfg.slips_dir}"\n'
                    f'[database]\nurl = "{office.cfg.database.url}"\n'
                    f'[server]\nport = {office.port}\n'
                    f'[backup]\ndir = "{tmp / "backups"}"\nkeep = {keep}\n', encoding="utf-8")
    return path


def only_backup(tmp: Path) -> Path:
    found = sorted((tmp / "backups").glob("gatepass-backup-*"))
    assert len(found) == 1, found
    return found[0]


def restart(office: OfficeServer) -> None:
    """The office server started again on the same port and database, as systemd restarts it after a restore."""
    office.app, office.engine = build(office.cfg)
    office.server = ThreadedServer(office.app, port=office.port)
    office.start()


def replica_meta(site: GateSite) -> dict[str, str]:
    with sqlite3.connect(site.replica_path) as conn:
        return dict(conn.execute("select name, value from replica_meta").fetchall())


def replica_keys(site: GateSite, table: str, *cols: str) -> set[tuple[Any, ...]]:
    with sqlite3.connect(site.replica_path) as conn:
        return set(conn.execute(f"select {', '.join(cols)} from {table}").fetchall())


def office_estate(office: OfficeServer) -> dict[str, Any]:
    e = schema.estates
    with office.engine.connect() as conn:
        return dict(conn.execute(select(e.c.epoch, e.c.change_seq).where(e.c.estate_id == "default")).mappings().one())


def gate_rows(site: GateSite) -> list[tuple[int, str, str, str]]:
    return [(r["seq"], r["event_id"], r["hash"], r["prev_hash"]) for r in site.log.rows()]


def in_step(office: OfficeServer, *sites: GateSite) -> bool:
    """Every gate's rows at the office and every replica at the office's last change, in this epoch."""
    estate = office_estate(office)
    for site in sites:
        meta = replica_meta(site)
        if len(office.events(site.gate_id)) != site.log.last_seq:
            return False
        if meta.get("office_epoch") != estate["epoch"] or int(meta.get("pull_cursor", 0)) != estate["change_seq"]:
            return False
        if int(meta.get("push_cursor", 0)) != site.log.last_seq or "resync_stale" in tables_of(site):
            return False
    return True


def tables_of(site: GateSite) -> set[str]:
    with sqlite3.connect(site.replica_path) as conn:
        return {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}


# ------------------------------------------------------------------ the commands


def test_a_backup_is_a_folder_with_a_manifest_the_database_and_the_keys_with_their_modes(tmp_path: Path, db_url: str) -> None:
    office = OfficeServer(tmp_path / "office", db_url=db_url)
    try:
        office.add_unit()
        config = write_config(tmp_path, office)
        done = office_cli(config, "backup")
        assert done.returncode == 0, done.stderr
        backup = only_backup(tmp_path)
        assert str(backup) in done.stdout
        manifest = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["database"]["backend"] == ("sqlite" if db_url.startswith("sqlite") else "postgresql")
        assert manifest["database"]["revision"] == head_revision()
        assert manifest["estates"][0]["estate_id"] == "default"
        assert manifest["made_at"]
        assert set(manifest["sha256"]) >= {manifest["database"]["file"], "keys/signing.key", "keys/id-hmac.key"}
        assert (backup / "keys" / "signing.key").stat().st_mode & 0o777 == 0o600
        assert (backup / manifest["database"]["file"]).stat().st_mode & 0o777 == 0o600
    finally:
        office.stop()
        office.engine.dispose()


def test_old_backups_beyond_keep_are_removed(tmp_path: Path) -> None:
    office = OfficeServer(tmp_path / "office")
    try:
        config = write_config(tmp_path, office, keep=2)
        for _ in range(3):
            assert office_cli(config, "backup").returncode == 0
        kept = sorted((tmp_path / "backups").glob("gatepass-backup-*"))
        assert len(kept) == 2
        done = office_cli(config, "backup", "--keep", "1")
        assert done.returncode == 0 and done.stdout.count("removed old backup") == 2
        assert len(list((tmp_path / "backups").glob("gatepass-backup-*"))) == 1
    finally:
        office.stop()


def test_a_damaged_backup_is_refused_before_anything_is_touched(tmp_path: Path) -> None:
    office = OfficeServer(tmp_path / "office")
    office.add_unit("1-1-101")
    config = write_config(tmp_path, office)
    assert office_cli(config, "backup").returncode == 0
    office.stop()
    office.engine.dispose()
    backup = only_backup(tmp_path)
    db_part = backup / "database.sqlite3"
    db_part.write_bytes(db_part.read_bytes()[:-1] + b"\x01")
    before = (tmp_path / "office" / "office.db").read_bytes()
    done = office_cli(config, "restore", str(backup))
    assert done.returncode == 2
    assert "database.sqlite3: SHA-256 differs" in done.stderr and "nothing restored" in done.stderr
    assert (tmp_path / "office" / "office.db").read_bytes() == before


def test_restore_refuses_a_running_server_and_says_how_to_go_on(tmp_path: Path, db_url: str) -> None:
    office = OfficeServer(tmp_path / "office", db_url=db_url)
    try:
        office.add_unit()
        config = write_config(tmp_path, office)
        assert office_cli(config, "backup").returncode == 0
        office.add_unit("9-9-909")
        done = office_cli(config, "restore", str(only_backup(tmp_path)))
        assert done.returncode == 2
        assert "restore refused: an office server answers" in done.stderr and "--even-if-running" in done.stderr
        assert office.count(schema.units) == 2          # nothing was touched
    finally:
        office.stop()
        office.engine.dispose()


def test_restore_puts_back_missing_keys_with_their_modes_and_never_overwrites_a_newer_key(tmp_path: Path) -> None:
    office = OfficeServer(tmp_path / "office")
    config = write_config(tmp_path, office)
    assert office_cli(config, "backup").returncode == 0
    office.stop()
    office.engine.dispose()
    keys = Path(office.cfg.keys)
    (keys / "id-hmac.key").unlink()
    (keys / "signing.key").write_bytes((keys / "signing.key").read_bytes())   # same contents: untouched
    pub = next(keys.glob("*.pub"))
    pub.write_text("a newer file\n")
    done = office_cli(config, "restore", str(only_backup(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert (keys / "id-hmac.key").stat().st_mode & 0o777 == 0o600
    assert "key file restored: id-hmac.key" in done.stdout
    assert f"key file kept as it is (differs from the backup, so newer): {pub.name}" in done.stdout
    assert pub.read_text() == "a newer file\n"


def test_restore_refuses_a_database_of_a_newer_schema_unless_told(tmp_path: Path) -> None:
    office = OfficeServer(tmp_path / "office")
    config = write_config(tmp_path, office)
    assert office_cli(config, "backup").returncode == 0
    office.stop()
    office.engine.dispose()
    backup = only_backup(tmp_path)
    manifest = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    manifest["database"]["revision"] = "0011"          # as if made before revision 0012
    (backup / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    done = office_cli(config, "restore", str(backup))
    assert done.returncode == 2 and "newer than the backup's 0011" in done.stderr and "--over-newer-schema" in done.stderr
    manifest["database"]["revision"] = "9999"           # made by a newer gatepass: never
    (backup / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    done = office_cli(config, "restore", str(backup), "--over-newer-schema")
    assert done.returncode == 2 and "newer than this gatepass knows" in done.stderr


# ------------------------------------------------------------------ the drill


def test_restore_drill_every_gate_sends_back_what_the_office_lost_once_and_replicas_converge(
        tmp_path: Path, db_url: str) -> None:
    office = OfficeServer(tmp_path / "office", db_url=db_url)
    office.add_unit()
    office.issue_permit("CARD-OLD")
    north, south = GateSite(tmp_path, "north", office), GateSite(tmp_path, "south", office)
    config = write_config(tmp_path, office)
    daemons = [DaemonThread(north), DaemonThread(south)]
    try:
        for _ in range(3):
            north.record(card_uid="CARD-OLD")
            south.record(card_uid="CARD-OLD")
        assert wait_for(lambda: in_step(office, north, south))

        # Last night's backup, made while the gates keep syncing.
        done = office_cli(config, "backup")
        assert done.returncode == 0, done.stderr
        backup = only_backup(tmp_path)
        epoch_backed_up = office_estate(office)["epoch"]

        # The day goes on: a slip is issued and used at north, a card issued, rows pushed from both gates.
        slip = office.issue_slip()
        office.issue_permit("CARD-NEW")
        assert wait_for(lambda: in_step(office, north, south))
        north.record(EntryKind.RELEASE, guard_id="g1", slip_id=slip)
        for _ in range(2):
            north.record(card_uid="CARD-NEW")
            south.record(card_uid="CARD-NEW")
        assert wait_for(lambda: in_step(office, north, south))
        assert {(slip,)} <= replica_keys(north, "slips", "slip_id")
        assert ("CARD-NEW",) in replica_keys(south, "permits", "card_uid")

        # The office's disk fails: stop it, restore last night's backup; the gates keep recording meanwhile.
        office.stop()
        office.engine.dispose()
        north.record(card_uid="CARD-OLD")
        south.record(card_uid="CARD-OLD")
        done = office_cli(config, "restore", str(backup))
        assert done.returncode == 0, done.stderr
        assert "estate default: new epoch" in done.stdout
        restart(office)
        assert office_estate(office)["epoch"] != epoch_backed_up
        assert len(office.events("north")) == 3           # the office holds last night's rows only

        # Nobody touches a gate: they notice the new epoch and give back what the office lost.
        assert wait_for(lambda: in_step(office, north, south), timeout=30)
        for site in (north, south):
            site.log.verify()                              # the gate's own chain is intact
            stored = [(r["seq"], r["event_id"], r["hash"], r["prev_hash"]) for r in office.events(site.gate_id)]
            assert stored == gate_rows(site)               # every row exactly once, in order, the same chain
            assert all(b[3] == a[2] for a, b in zip(stored, stored[1:], strict=False))
        g = schema.gates
        with office.engine.connect() as conn:
            heads = {r.gate_id: (r.head_seq, r.head_hash) for r in conn.execute(select(g.c.gate_id, g.c.head_seq, g.c.head_hash))}
        assert heads == {s.gate_id: (s.log.last_seq, gate_rows(s)[-1][2]) for s in (north, south)}
        assert [f for f in office.flags() if f["kind"] in BAD_FLAGS and f["resolved_at"] is None] == []

        # The slip's use came back with north's rows, once; the slip itself and the new card were lost at the
        # office, and the gates no longer hold them either: each replica is what the office holds.
        c = schema.consumed_slips
        with office.engine.connect() as conn:
            uses = conn.execute(select(c.c.slip_id, c.c.gate_id)).all()
        assert [tuple(u) for u in uses] == [(slip, "north")]
        for site in (north, south):
            assert replica_keys(site, "consumed_slips", "slip_id", "gate_id") == {(slip, "north")}
            assert replica_keys(site, "slips", "slip_id") == set()
            assert replica_keys(site, "permits", "card_uid") == {("CARD-OLD",)}
            assert replica_keys(site, "units", "unit_id") == {("3-2-1502",)}

        # The front desk issues the lost slip again: it gets a number of its own, unused, not the lost one's.
        again = office.issue_slip()
        assert again != slip
        with office.engine.connect() as conn:
            assert conn.execute(select(c.c.gate_id).where(c.c.slip_id == again)).all() == []
    finally:
        for d in daemons:
            d.stop()
        office.stop()
        office.engine.dispose()


# ------------------------------------------------------------------ the shipped timer


@pytest.fixture(scope="module")
def backup_unit_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with the host's units, the backup's two installed and a stub gatepass (tests/test_units.py's, which
    also checks that systemd reads them without a warning)."""
    return root_with_units(tmp_path_factory.mktemp("root"), BACKUP_UNITS)


def test_the_backup_service_is_rated_at_most_5_by_systemd_analyze_security(backup_unit_root: Path) -> None:
    done = _analyze("security", "--offline=true", f"--root={backup_unit_root}", BACKUP_UNITS[0])
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert found is not None, done.stdout + done.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, done.stdout


def test_the_timer_runs_the_backup_daily_and_catches_up_a_missed_run() -> None:
    timer = parse_unit(ROOT / "systemd" / BACKUP_UNITS[1])
    assert timer["Timer"]["Persistent"] == ["true"]
    assert re.fullmatch(r"(daily|\*-\*-\* \d\d:\d\d(:\d\d)?)", timer["Timer"]["OnCalendar"][-1])
    assert timer["Install"]["WantedBy"] == ["timers.target"]
    done = _analyze("calendar", timer["Timer"]["OnCalendar"][-1])
    assert done.returncode == 0 and "Next elapse" in done.stdout, done.stderr


def test_the_backup_runs_as_the_office_with_its_config_and_may_write_where_the_backups_go() -> None:
    service, office = (parse_unit(ROOT / "systemd" / n)["Service"] for n in ("gatepass-office-backup.service",
                                                                             "gatepass-office.service"))
    argv = service["ExecStart"][-1].split()
    assert argv[1:3] == ["office", "backup"]
    assert argv[argv.index("--config") + 1] == office["ExecStart"][-1].split()[office["ExecStart"][-1].split().index("--config") + 1]
    assert (service["User"], service["WorkingDirectory"]) == (office["User"], office["WorkingDirectory"])
    unit = {"Service": service}
    cfg = load(OfficeConfig, ROOT / "config" / "office.toml")
    for path in (cfg.backup.dir, cfg.keys, cfg.database.url.removeprefix("sqlite:///")):
        resolved = _resolve(unit, path)
        assert any(resolved == d or d in resolved.parents for d in writable_paths(unit)), resolved


# ------------------------------------------------------------------ the gate's side, cut short


def _unit(seq: int, unit_id: str) -> dict[str, Any]:
    return {"seq": seq, "table": "units", "op": "upsert", "key": [unit_id],
            "row": {"unit_id": unit_id, "building": "1", "room": "101", "unpaid_fees": 0}}


def test_a_gate_stopped_in_the_middle_of_a_re_pull_keeps_its_rows_until_a_pull_completes(tmp_path: Path) -> None:
    """The kiosk goes on deciding from the old rows while a new epoch is pulled; a kill -9 between pages
    neither loses them nor sweeps early; a release another gate recorded is never swept."""
    from kiosk.store import Replica
    from sync.replica_writer import ReplicaWriter

    path = tmp_path / "replica.db"
    writer = ReplicaWriter(Replica.open(path))
    used = {"seq": 3, "table": "consumed_slips", "op": "upsert", "key": ["S261208001", "south"],
            "row": {"slip_id": "S261208001", "gate_id": "south", "at": "2026-12-08T10:00:00+08:00"}}
    writer.apply_page([_unit(1, "1-1-101"), _unit(2, "1-1-102"), used], 3, "old", "2026-12-08T10:00:00+00:00", 250)
    writer.restart_from_zero("restored")
    writer.apply_page([_unit(1, "1-1-101")], 1, "restored", "2026-12-08T11:00:00+00:00", 250)   # first page only
    writer.conn.close()

    writer = ReplicaWriter(Replica.open(path))          # the daemon again, after a kill -9
    units = lambda: {r[0] for r in writer.conn.execute("select unit_id from units")}  # noqa: E731
    assert units() == {"1-1-101", "1-1-102"} and writer.int_meta("pull_cursor") == 1
    writer.apply_page([_unit(2, "1-1-103")], 2, "restored", "2026-12-08T11:00:01+00:00", 250)   # the last page
    assert writer.finish_resync() == 1
    assert units() == {"1-1-101", "1-1-103"}             # 1-1-102 the office no longer holds: gone
    assert writer.conn.execute("select slip_id, gate_id from consumed_slips").fetchall() == [("S261208001", "south")]
    assert writer.finish_resync() == 0                   # once only


def test_a_backup_of_an_office_never_set_up_is_refused_and_makes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "office.toml"
    config.write_text(f'keys = "{tmp_path / "keys"}"\n[database]\nurl = "sqlite:///{tmp_path / "office.db"}"\n'
                      f'[backup]\ndir = "{tmp_path / "backups"}"\n', encoding="utf-8")
    done = office_cli(config, "backup")
    assert done.returncode == 2 and "no office database to back up" in done.stderr
    assert not (tmp_path / "office.db").exists() and not (tmp_path / "backups").exists()
