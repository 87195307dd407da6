"""Issue 11: `gatepass config check` refuses values of the right type but the wrong meaning.

Each refusal names the file, the key and what is allowed; none is a traceback.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from domain.slip_token import GATE_ID
from kiosk.cli import main

CASES = {
    "a zone that does not exist": ('[gate]\ntimezone = "Mars/Olympus"\n', "gate.timezone", "IANA zone name"),
    "a camera that decodes no frames": ("[camera]\nmax_fps = 0\n", "camera.max_fps", "a number > 0 and <= 240"),
    "a negative pull interval": ("[sync]\npull_interval_s = -30.0\n", "sync.pull_interval_s", "> 0 and <= 86400"),
    "a zero timeout": ("[flow]\nresult_timeout_s = 0.0\n", "flow.result_timeout_s", "> 0 and <= 86400"),
    "a zero frame rate": ("[display]\nfps = 0\n", "display.fps", "an integer >= 1 and <= 240"),
    "a zero reader reopen": ("[reader]\nreopen_min_s = 0.0\n", "reader.reopen_min_s", "> 0"),
    "a zero batch": ("[sync]\npush_batch = 0\n", "sync.push_batch", "an integer >= 1"),
    "a gate id the office refuses": ('[gate]\nid = "North Gate"\n', "gate.id", "1-6 lowercase letters, digits"),
    "a gate id too long": ('[gate]\nid = "northgate"\n', "gate.id", "1-6 lowercase letters, digits"),
    "a deeply nested value": ("[gate]\nid = " + "[" * 40 + "]" * 40 + "\n", "gate.id", "nested more than"),
    "a value too deep for TOML": ("[gate]\nid = " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply", "at most"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_config_check_refuses_a_meaningless_value_naming_file_key_and_what_is_allowed(case, tmp_path: Path, capsys):
    text, key, allowed = CASES[case]
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(text, encoding="utf-8")
    assert main(["config", "check", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert str(cfg) in err and key in err and allowed in err, err
    assert "Traceback" not in err


def test_a_kiosk_configured_for_mars_time_does_not_start_and_says_why(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[gate]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    assert main(["kiosk", "--config", str(cfg), "--window"]) == 2
    err = capsys.readouterr().err
    assert "gate.timezone" in err and "Mars/Olympus" in err


def test_meaningful_values_and_the_shipped_template_still_pass(tmp_path: Path, capsys):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[gate]\nid = "east-2"\ntimezone = "Asia/Urumqi"\n[reader]\npoll_interval_s = 0.0\n'
                   "[camera]\nmax_fps = 0.5\n", encoding="utf-8")
    assert main(["config", "check", str(cfg)]) == 0
    root = Path(__file__).resolve().parents[1]
    assert main(["config", "check", str(root / "config" / "kiosk.toml")]) == 0


def test_the_gate_and_the_office_share_one_gate_id_rule():
    import office.console.logview as logview
    import office.records as records

    assert records.GATE_ID is GATE_ID and logview.GATE_ID is GATE_ID
    assert GATE_ID.fullmatch("north") and not GATE_ID.fullmatch("north\n")
