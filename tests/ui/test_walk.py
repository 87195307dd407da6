"""`gatepass kiosk --demo` with no display plays the built-in walk headless: every scene, on record."""
from __future__ import annotations

import json

import pytest

from kiosk.cli import main
from kiosk.core.flow import Scene
from kiosk.ui.script import DEFAULT_SCRIPT, load_script


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    for var in ("DISPLAY", "WAYLAND_DISPLAY"):
        mp.delenv(var, raising=False)
    mp.setenv("SDL_VIDEODRIVER", "dummy")
    base = tmp_path_factory.mktemp("walk")
    shots = base / "shots"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["kiosk", "--demo", "--screenshots", str(shots), "--data-dir", str(base / "data")])
    mp.undo()
    return rc, out.getvalue(), shots


def test_the_walk_visits_every_scene(walked):
    rc, out, _ = walked
    assert rc == 0
    visited = next(line for line in out.splitlines() if line.startswith("scenes visited:"))
    for scene in Scene:
        assert scene.value in visited, scene


def test_the_walk_writes_a_png_of_each_scene(walked):
    _, _, shots = walked
    names = {p.stem.split("_", 1)[1] for p in shots.glob("*.png")}
    assert {s.value for s in Scene} <= names


def test_the_walk_prints_an_intact_exit_log(walked):
    _, out, _ = walked
    assert "hash chain intact" in out
    for kind in ("shift_start", "card_pass", "card_denied", "release", "refusal", "override", "report", "shift_end"):
        assert f" {kind}" in out, kind
    assert "flagged=True" in out and "signed_by=pin" in out and "signed_by=badge" in out


def test_the_shipped_script_is_valid_json_steps():
    steps = load_script(DEFAULT_SCRIPT)
    assert steps and all(isinstance(s, dict) for s in steps)
    assert json.loads(DEFAULT_SCRIPT.read_text())


def test_an_until_step_whose_scene_never_comes_fails_the_walk_saying_where_it_stood(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    script = tmp_path / "walk.json"
    script.write_text(json.dumps([{"card": "guard"}, {"until": "released", "timeout": 3}]), encoding="utf-8")
    rc = main(["kiosk", "--demo", "--headless", "--script", str(script), "--screenshots", str(tmp_path / "shots"),
               "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert rc == 2 and "the screen is sign_in_pin, not released, after 3 s" in err
