"""The installer commands, run as `gatepass <command>` would run them."""
from __future__ import annotations

import argparse
import json
import threading
import time

import cv2
import numpy as np
import pytest

from drivers import args as cli
from drivers import synth

from .ptys import PtyPort
from .test_frames import rdm_frame


def gatepass(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="gatepass")
    sub = parser.add_subparsers(dest="command", required=True)
    cli.register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_reader_prints_one_json_line_per_presentation_and_rejects_when_verbose(tmp_path, capsys):
    port = PtyPort(tmp_path / "reader")
    stop = threading.Event()

    def card_lying_on_reader():
        while not stop.is_set():
            port.write(b"\x02junk\x03" + rdm_frame(bytes.fromhex("0A00123456")))
            time.sleep(0.05)
    writer = threading.Thread(target=card_lying_on_reader, daemon=True)
    writer.start()
    try:
        assert gatepass("reader", "--port", str(port.link), "--count", "1", "--json", "--verbose") == 0
    finally:
        stop.set()
        writer.join()
        port.close()
    out, err = capsys.readouterr()
    (line,) = out.splitlines()
    record = json.loads(line)
    assert record["uid"] == "0A00123456" and record["protocol"] == "rdm6300" and record["at"]
    assert "rejected" in err and "reader online" in err


def test_scan_prints_text_or_no_code_for_each_image(tmp_path, capsys):
    slip = tmp_path / "slip.png"
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(slip), synth.rotate(synth.slip_frame("GP1.test-slip"), 25))
    cv2.imwrite(str(blank), np.full((480, 640, 3), 200, np.uint8))
    assert gatepass("scan", str(slip), str(blank), "--decoder", "pyzbar") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{slip}: GP1.test-slip  [pyzbar,")
    assert lines[1].startswith(f"{blank}: no code  [pyzbar,")


def test_scan_json_and_an_unreadable_file_fails_the_command(tmp_path, capsys):
    slip = tmp_path / "slip.png"
    cv2.imwrite(str(slip), synth.slip_frame("GP1.test-slip"))
    assert gatepass("scan", "--json", str(slip), str(tmp_path / "missing.png")) == 1
    first, second = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    assert first["texts"] == ["GP1.test-slip"] and first["decoder"] == "zxing" and first["ms"] >= 0
    assert second["error"] == "cannot read image"


def test_scan_with_a_camera_prints_each_slip_once(tmp_path, capsys):
    folder = tmp_path / "cam"
    folder.mkdir()
    cv2.imwrite(str(folder / "1.png"), synth.slip_frame("GP1.live-slip"))
    assert gatepass("scan", "--camera", str(folder), "--count", "1") == 0
    assert "GP1.live-slip  [zxing]" in capsys.readouterr().out


def test_gpio_test_walks_every_output_and_shows_the_inputs(capsys):
    assert gatepass("gpio-test", "--pin-factory", "mock", "--auto", "--step-s", "0") == 0
    out = capsys.readouterr().out
    for name in ("gate relay (GPIO17)", "green LED (GPIO27)", "red LED (GPIO22)", "buzzer (GPIO23)"):
        assert f"ON   {name}" in out and f"off  {name}" in out
    assert "exit button (GPIO24): released" in out
    assert "door contact: not wired" in out
    assert "config.txt" in out and "gpio=17=op,dl" in out      # the default relay is active-high


def test_gpio_test_on_a_machine_without_lgpio_fails_loudly():
    from domain.errors import DriverError
    with pytest.raises(DriverError, match="lgpio"):
        gatepass("gpio-test", "--auto")
