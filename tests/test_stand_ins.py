"""A real gate never runs on stand-ins: `gatepass kiosk` without --demo refuses a fake reader,
a fake camera or mock pins, names the key, and exits non-zero (the real CLI, as systemd runs it)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from domain.settings import load
from kiosk.config import KioskConfig

ROOT = Path(__file__).resolve().parents[1]

#: A gate whose devices are all real (none of them opened: the refusal comes first).
REAL = {"reader": ("port", "/dev/ttyAMA0"), "camera": ("source", "/dev/video0"), "gpio": ("pin_factory", "lgpio")}
STAND_IN = {"reader": ("port", "fake"), "camera": ("source", "fake"), "gpio": ("pin_factory", "mock")}


def _config(tmp_path: Path, fake_table: str) -> Path:
    tables = {t: (STAND_IN if t == fake_table else REAL)[t] for t in REAL}
    text = f'[store]\nreplica = "{tmp_path}/replica.db"\nexit_log = "{tmp_path}/exitlog.db"\nkeys = "{tmp_path}/keys"\n'
    text += f'[sync]\nstatus_file = "{tmp_path}/sync.json"\nkiosk_health_file = "{tmp_path}/health.json"\n'
    text += "".join(f'[{t}]\n{k} = "{v}"\n' for t, (k, v) in tables.items())
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _kiosk(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "LANG": "C.UTF-8"}
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "kiosk", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("table", ["reader", "camera", "gpio"])
def test_a_stand_in_device_without_demo_is_refused_naming_the_key(tmp_path: Path, table: str) -> None:
    done = _kiosk("--config", str(_config(tmp_path, table)), "--window")
    key, value = STAND_IN[table]
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    zh, en = done.stderr.strip().splitlines()[-2:]
    assert f'[{table}] {key} = "{value}"' in zh and "模拟设备" in zh and "--demo" in zh
    assert f'[{table}] {key} = "{value}"' in en and "--demo" in en
    for other in set(REAL) - {table}:
        assert f"[{other}]" not in done.stderr           # only the offending key is named
    assert not (tmp_path / "exitlog.db").exists()          # refused before anything was opened


def test_the_embedded_defaults_are_stand_ins_and_refused_without_demo() -> None:
    done = _kiosk("--window")
    assert done.returncode != 0 and "embedded defaults" in done.stderr
    assert all(f"[{t}]" in done.stderr for t in STAND_IN)


def test_the_demo_config_runs_with_demo(tmp_path: Path) -> None:
    script = tmp_path / "walk.json"
    script.write_text(json.dumps([{"shot": "no_guard"}]), encoding="utf-8")
    done = _kiosk("--demo", "--headless", "--config", "config/demo.toml", "--script", str(script),
                  "--screenshots", str(tmp_path / "shots"), "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (tmp_path / "shots").glob("*_no_guard.png")], done.stdout


def test_the_production_template_names_real_devices_and_absolute_paths() -> None:
    cfg = load(KioskConfig, ROOT / "config" / "production.toml")
    assert cfg.reader.port in ("/dev/gatepass-reader", "/dev/ttyAMA0")     # systemd/99-gatepass-reader.rules, or the UART
    assert cfg.camera.source.startswith("/dev/v4l/by-id/")
    assert cfg.gpio.pin_factory == "lgpio"
    paths = [cfg.store.replica, cfg.store.exit_log, cfg.store.photos, cfg.store.keys, cfg.store.id_hmac_key_file,
             cfg.sync.credential_file, cfg.sync.status_file, cfg.sync.kiosk_health_file]
    assert all(p.startswith("/") for p in paths), paths


def test_mock_pins_is_a_flag_of_one_run_never_a_config_value(tmp_path: Path) -> None:
    """--mock-pins (the test bench's) does not let a config that asks for mock pins through."""
    done = _kiosk("--config", str(_config(tmp_path, "gpio")), "--mock-pins", "--window")
    assert done.returncode != 0 and '[gpio] pin_factory = "mock"' in done.stderr


def test_a_headless_run_without_demo_needs_a_script(tmp_path: Path) -> None:
    done = _kiosk("--config", str(_config(tmp_path, "none")), "--headless")
    assert done.returncode != 0 and "--script" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "exitlog.db").exists()
