"""Settings: defaults run with no file; every mistake in a file is named with file and key."""
from __future__ import annotations

import subprocess
import sys
from datetime import date, time
from pathlib import Path

import pytest

from kiosk.config import KioskConfig
from domain.errors import ConfigError
from domain.settings import load

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
])
def test_mistakes_are_named_with_file_and_key(tmp_path, text, where):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load(KioskConfig, p)
    assert str(p) in str(err.value) and where in str(err.value)


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
