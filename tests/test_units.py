"""The shipped systemd units as systemd itself reads them, and the one data folder they share.

`systemd-analyze verify` and `systemd-analyze security --offline=true` run on copies of
systemd/*.service inside a scratch root (--root): the host's own unit files so that
dependencies such as sysinit.target resolve, and a stub at ExecStart's path so that
verify finds the command it would run. `make test` installs the systemd package when
systemd-analyze is missing (Makefile TEST_PACKAGES).
"""
from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import pytest

from domain.settings import load
from kiosk.config import KioskConfig

ROOT = Path(__file__).resolve().parents[1]
UNITS = ("gatepass-kiosk.service", "gatepass-sync.service")
#: `systemd-analyze security` rates 0 (locked down) to 10 (exposed); issue 10 asks for at most this.
MAX_EXPOSURE = 5.0
#: What an installer copies to the path both units pass as --config (docs/install.md).
PRODUCTION_CONFIG = ROOT / "config" / "production.toml"
HOST_UNITS = Path("/usr/lib/systemd/system") if Path("/usr/lib/systemd/system/sysinit.target").exists() \
    else Path("/lib/systemd/system")


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as systemd reads it: sections of keys, each key's values in order (keys repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.fail("systemd-analyze is not installed: `make test` installs it (apt-get install systemd)")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)


def root_with_units(root: Path, names: Sequence[str]) -> Path:
    """``root`` made a root with the host's units, ``names`` (of systemd/) in /etc/systemd/system, and a
    stub gatepass at each ExecStart's path: what `systemd-analyze --root` reads as installed."""
    shutil.copytree(HOST_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for name in names:
        shutil.copy(ROOT / "systemd" / name, root / "etc/systemd/system" / name)
        service = parse_unit(ROOT / "systemd" / name).get("Service")
        if not service:
            continue                       # a .timer: what it starts is a .service of the list
        command = service["ExecStart"][-1].split()[0]
        stub = root / command.lstrip("/")
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    return root


#: The office's backup service and its timer (docs/backup.md), checked here with the gate's units.
BACKUP_UNITS = ("gatepass-office-backup.service", "gatepass-office-backup.timer")


@pytest.fixture(scope="module")
def unit_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return root_with_units(tmp_path_factory.mktemp("root"), (*UNITS, *BACKUP_UNITS))


@pytest.mark.parametrize("unit", (*UNITS, *BACKUP_UNITS))
def test_systemd_reads_each_unit_without_a_warning(unit_root: Path, unit: str) -> None:
    done = _analyze("verify", "--man=no", f"--root={unit_root}", unit)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "" and done.stdout.strip() == "", done.stderr + done.stdout


def test_verify_does_notice_a_misplaced_key(tmp_path: Path, unit_root: Path) -> None:
    """The check above is worth something: a key in the wrong section (the old StartLimitIntervalSec in [Service]) is reported."""
    bad = tmp_path / "root"
    shutil.copytree(unit_root, bad, symlinks=True)
    unit = bad / "etc/systemd/system" / UNITS[0]
    unit.write_text(unit.read_text().replace("[Service]\n", "[Service]\nStartLimitIntervalSec=0\n", 1))
    done = _analyze("verify", "--man=no", f"--root={bad}", UNITS[0])
    assert "Unknown key" in done.stderr and "StartLimitIntervalSec" in done.stderr


@pytest.mark.parametrize("unit", UNITS)
def test_each_unit_is_rated_at_most_5_by_systemd_analyze_security(unit_root: Path, unit: str) -> None:
    done = _analyze("security", "--offline=true", f"--root={unit_root}", unit)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert found is not None, done.stdout + done.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, done.stdout


# ---------------------------------------------------------------- one data folder


def _config_arg(unit: dict[str, dict[str, list[str]]]) -> str:
    argv = unit["Service"]["ExecStart"][-1].split()
    return argv[argv.index("--config") + 1]


def _resolve(unit: dict[str, dict[str, list[str]]], path: str) -> PurePosixPath:
    """Where the process opens ``path``: relative paths start from the unit's WorkingDirectory."""
    p = PurePosixPath(path)
    return p if p.is_absolute() else PurePosixPath(unit["Service"].get("WorkingDirectory", ["/"])[-1]) / p


def writable_paths(unit: dict[str, dict[str, list[str]]]) -> list[PurePosixPath]:
    service = unit["Service"]
    out = [PurePosixPath("/var/lib") / d for v in service.get("StateDirectory", []) for d in v.split()]
    out += [PurePosixPath("/run") / d for v in service.get("RuntimeDirectory", []) for d in v.split()]
    out += [PurePosixPath(d.lstrip("-")) for v in service.get("ReadWritePaths", []) for d in v.split()]
    return out


def _under(path: PurePosixPath, dirs: list[PurePosixPath]) -> bool:
    return any(path == d or d in path.parents for d in dirs)


def test_kiosk_and_sync_daemon_open_the_same_files_where_each_may_write() -> None:
    units = {name: parse_unit(ROOT / "systemd" / name) for name in UNITS}
    assert {_config_arg(u) for u in units.values()} == {"/etc/gatepass/kiosk.toml"}
    cfg = load(KioskConfig, PRODUCTION_CONFIG)
    shared = {"replica": cfg.store.replica, "exit log": cfg.store.exit_log,
              "sync status": cfg.sync.status_file, "kiosk health": cfg.sync.kiosk_health_file}
    for what, path in shared.items():
        resolved = {name: _resolve(u, path) for name, u in units.items()}
        assert len(set(resolved.values())) == 1, f"{what}: {resolved}"
        for name, u in units.items():
            # SQLite needs the directory writable even to read a WAL database (its -shm file).
            assert _under(resolved[name].parent, writable_paths(u)), f"{name} may not write {what} at {resolved[name]}"
        assert resolved[UNITS[0]].is_absolute() and str(resolved[UNITS[0]]) == path, f"{what}: {path} is not absolute"
    # Status files live in RAM (RuntimeDirectory), the databases on disk (StateDirectory).
    assert str(_resolve(units[UNITS[0]], cfg.sync.status_file)).startswith("/run/gatepass/")
    assert str(_resolve(units[UNITS[0]], cfg.store.exit_log)).startswith("/var/lib/gatepass/")


def test_both_units_keep_the_shared_runtime_directory_when_one_stops() -> None:
    for name in UNITS:
        service = parse_unit(ROOT / "systemd" / name)["Service"]
        assert service.get("RuntimeDirectoryPreserve") == ["yes"], name


def test_the_kiosk_runs_in_a_directory_it_may_write() -> None:
    """Importing lgpio makes its notification pipe in the working directory."""
    unit = parse_unit(ROOT / "systemd" / UNITS[0])
    wd = PurePosixPath(unit["Service"]["WorkingDirectory"][-1])
    assert _under(wd, writable_paths(unit)), wd


def test_the_kiosk_may_open_what_a_camera_opens() -> None:
    """A USB camera is a V4L2 node; a CSI module through libcamera/picamera2 also opens the media
    controller and its sub-devices and takes buffers from the DMA heaps (docs/install.md, the camera).
    Under DevicePolicy=closed each must be allowed by its /proc/devices name, or the camera
    cannot work under the unit."""
    service = parse_unit(ROOT / "systemd" / UNITS[0])["Service"]
    assert service.get("DevicePolicy") == ["closed"]
    allowed = {v.split()[0] for v in service.get("DeviceAllow", [])}
    assert {"char-video4linux", "char-media", "char-dma_heap"} <= allowed, allowed
