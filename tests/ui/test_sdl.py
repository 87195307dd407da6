"""pygame's SDL can draw on a Raspberry Pi without a desktop (KMSDRM), and a gate refuses one that cannot."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pygame
import pytest

from kiosk.cli import main
from kiosk.ui import sdl
from kiosk.ui.sdl import SdlError, SdlInfo, needs_kmsdrm, require_kmsdrm, sdl_info

ROOT = Path(__file__).resolve().parents[2]
#: What the pygame 2.6.1 wheel's own SDL (2.28.4) answers: no kmsdrm (read with sdl_info from that wheel).
PYGAME_WHEEL_DRIVERS = ("x11", "wayland", "offscreen", "dummy", "evdev")


def test_the_installed_pygame_is_pygame_ce_and_its_sdl_lists_kmsdrm() -> None:
    assert getattr(pygame, "IS_CE", False), "the gate extra installs pygame-ce, not pygame"
    info = sdl_info()
    assert Path(info.library).is_file() and "libSDL2-2" in Path(info.library).name
    assert info.version == ".".join(str(n) for n in pygame.get_sdl_version())   # the very SDL pygame uses
    assert "kmsdrm" in info.drivers and info.has_kmsdrm, info.drivers


def test_the_installers_display_check_says_kmsdrm_is_there() -> None:
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "display-check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "kmsdrm" in done.stdout and "可以在无桌面的树莓派上显示" in done.stdout


@pytest.mark.parametrize("env, needed", [
    ({"SDL_VIDEODRIVER": "kmsdrm"}, True),                 # the systemd unit
    ({"SDL_VIDEODRIVER": "KMSDRM"}, True),
    ({}, True),                                            # a Pi console, SDL left to choose
    ({"DISPLAY": ":0"}, False),                            # a desktop: a window
    ({"SDL_VIDEODRIVER": "dummy"}, False),                 # tests, headless walks
    ({"SDL_VIDEODRIVER": "x11", "DISPLAY": ":0"}, False),
])
def test_only_a_run_without_a_desktop_needs_kmsdrm(env: dict[str, str], needed: bool) -> None:
    assert needs_kmsdrm(env) is needed


def test_an_sdl_without_kmsdrm_is_refused_saying_what_to_do() -> None:
    old = SdlInfo("/opt/gatepass/.venv/lib/python3.11/site-packages/pygame.libs/libSDL2-2.so", "2.28.4",
                  PYGAME_WHEEL_DRIVERS)
    with pytest.raises(SdlError) as err:
        require_kmsdrm({"SDL_VIDEODRIVER": "kmsdrm"}, old)
    zh, en = str(err.value).splitlines()
    assert "KMSDRM" in zh and "pygame-ce" in zh
    assert "no KMSDRM" in en and "pip install 'pygame-ce>=2.5'" in en and "x11, wayland" in en
    require_kmsdrm({"SDL_VIDEODRIVER": "dummy"}, old)      # a dummy run needs no screen: not refused


def test_a_real_gate_start_on_an_sdl_without_kmsdrm_exits_with_that_message(tmp_path: Path, monkeypatch, capsys) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[store]\nreplica = "{tmp_path}/replica.db"\nexit_log = "{tmp_path}/exitlog.db"\n'
                   f'keys = "{tmp_path}/keys"\n[sync]\nstatus_file = "{tmp_path}/sync.json"\n'
                   f'kiosk_health_file = "{tmp_path}/health.json"\n'
                   '[reader]\nport = "loop://"\n[camera]\nsource = ""\n[gpio]\npin_factory = "lgpio"\n')
    monkeypatch.setenv("SDL_VIDEODRIVER", "kmsdrm")
    monkeypatch.setattr(sdl, "sdl_info", lambda: SdlInfo("libSDL2-2.so", "2.28.4", PYGAME_WHEEL_DRIVERS))
    rc = main(["kiosk", "--config", str(cfg)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "no KMSDRM video driver" in err and "pygame-ce" in err and "Traceback" not in err
    assert "lgpio" not in err and not (tmp_path / "exitlog.db").exists()   # refused before any device or store opened
