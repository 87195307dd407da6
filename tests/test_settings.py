"""Settings: defaults run with no file; every mistake in a file is named with file and key."""
from __future__ import annotations

import subprocess
import sys
from datetime import date, time
from pathlib import Path

import pytest

from domain.errors import ConfigError
from domain.settings import load
from kiosk.config import KioskConfig

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path, text):
    p = tmp_path / "kiosk.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_no_file_means_the_embedded_defaults():
    cfg = load(KioskConfig, None)
    assert cfg.gate.id and cfg.reader.port == "fake" and cfg.gpio.pin_factory == "mock"


def test_a_file_sets_what_it_names_and_keeps_the_rest(tmp_path):
    cfg = load(KioskConfig, write(tmp_path, """
[gate]
id = "south"
designated_exit = true
[rules]
large_items_from = "08:30"
holidays = [2026-10-01, "2026-10-02"]
[reader]
port = "/dev/serial/by-id/usb-RDM6300"
"""))
    assert cfg.gate.id == "south" and cfg.gate.designated_exit
    assert cfg.rules.large_items_from == time(8, 30)
    assert cfg.rules.hours().holidays == frozenset({date(2026, 10, 1), date(2026, 10, 2)})
    assert cfg.reader.port.endswith("RDM6300") and cfg.reader.protocol == "rdm6300"


@pytest.mark.parametrize("text, where", [
    ("[gate]\nidd = 'x'\n", "gate.idd: unknown key"),
    ("[gaet]\nid = 'x'\n", "gaet: unknown key"),
    ("[gate]\ndesignated_exit = 'yes'\n", "gate.designated_exit: expected true or false"),
    ("[display]\nwidth = '800'\n", "display.width: expected an integer"),
    ("[rules]\nholidays = ['10/01/2026']\n", "rules.holidays[0]: expected a date"),
    ("[rules]\nlarge_items_from = '25:00'\n", "rules.large_items_from: expected a time"),
    ("[gate\nid = 1\n", "not valid TOML"),
    ("gate = 3\n", "gate: expected a table"),
    ("[display]\nwidth = 800.0\n", "display.width: expected an integer, got 800.0"),
    ("[display]\nfullscreen = 1\n", "display.fullscreen: expected true or false, got 1"),
    ("[camera]\nmax_fps = nan\n", "camera.max_fps: expected a number, got nan"),
    ("[gate]\nname = 2026-10-01\n", "gate.name: expected a string, got datetime.date(2026, 10, 1)"),
    ("[rules]\nholidays = 2026-10-01\n", "rules.holidays: expected a list of a date"),
    ("[rules]\nholidays = [2026-10-01T08:00:00]\n", "rules.holidays[0]: expected a date"),
    ("[rules]\nlarge_items_from = '08:00+08:00'\n", "rules.large_items_from: expected a time"),
])
def test_mistakes_are_named_with_file_and_key(tmp_path, text, where):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load(KioskConfig, p)
    assert str(p) in str(err.value) and where in str(err.value)


def test_toml_native_dates_and_times_and_hh_mm_text_are_all_accepted(tmp_path):
    cfg = load(KioskConfig, write(tmp_path, """
[rules]
large_items_from = 06:45:00
large_items_until = "22:15"
working_days = [2026-09-27, "2026-10-11"]
[camera]
max_fps = 10
"""))
    assert (cfg.rules.large_items_from, cfg.rules.large_items_until) == (time(6, 45), time(22, 15))
    assert cfg.rules.working_days == (date(2026, 9, 27), date(2026, 10, 11))
    assert cfg.camera.max_fps == 10.0 and isinstance(cfg.camera.max_fps, float)


def test_one_table_is_checked_as_strictly_and_named_by_its_table(tmp_path):
    from domain.settings import load_table
    from drivers.config import GpioConfig

    p = write(tmp_path, "[gpio]\nrelay_pin = 5\n[camera]\nnonsense = 1\n")
    assert load_table(GpioConfig, p, "gpio").relay_pin == 5
    bad = write(tmp_path, "[gpio]\nrelay_pin = '5'\n")
    with pytest.raises(ConfigError, match=r"kiosk.toml: gpio.relay_pin: expected an integer, got '5'"):
        load_table(GpioConfig, bad, "gpio")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load(KioskConfig, tmp_path / "nope.toml")


def test_config_check_command(tmp_path):
    good = write(tmp_path, "[gate]\nid = 'east'\n")
    ok = subprocess.run([sys.executable, "-m", "kiosk.cli", "config", "check", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0 and "ok" in ok.stdout
    bad = write(tmp_path, "[gate]\nname = 5\n")
    out = subprocess.run([sys.executable, "-m", "kiosk.cli", "config", "check", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2 and "gate.name: expected a string, got 5" in out.stderr


@pytest.mark.parametrize("args", [["config/kiosk.toml"], ["config/sync.toml"], ["--kind", "office", "config/office.toml"]])
def test_config_check_passes_every_shipped_file(args):
    ok = subprocess.run([sys.executable, "-m", "kiosk.cli", "config", "check", *args], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0 and "ok" in ok.stdout, ok.stderr


def test_every_shipped_config_file_is_valid_and_documents_every_key():
    """config/*.toml are the commented defaults: they must load, and name every setting."""
    import dataclasses
    import tomllib

    from domain.settings import build

    kiosk_toml = ROOT / "config" / "kiosk.toml"
    if not kiosk_toml.exists():
        pytest.fail("config/kiosk.toml is missing")
    data = tomllib.loads(kiosk_toml.read_text(encoding="utf-8"))
    build(KioskConfig, data)
    for section in dataclasses.fields(KioskConfig):
        cls = section.type if isinstance(section.type, type) else type(getattr(KioskConfig(), section.name))
        for f in dataclasses.fields(cls):
            assert f.name in data.get(section.name, {}), f"config/kiosk.toml does not document [{section.name}] {f.name}"
