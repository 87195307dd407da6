"""Issue 11: an image's declared size is read before anything is decoded.

A 1 MB PNG that declares 32000×32000 pixels took 6.2 GB to decode (a Pi is killed);
a 1,000,000×1 strip and a non-UTF-8 --card gave tracebacks. Real PNG files, the real
CLI in a subprocess, the real camera thread on a folder.
"""
from __future__ import annotations

import logging
import os
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import pytest

from domain.images import MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, ImageRefused, check_image
from drivers import synth
from drivers.camera import CameraScanner
from drivers.config import CameraConfig
from drivers.events import DeviceHealth, SlipScanned

from .ptys import Events

ROOT = Path(__file__).resolve().parents[2]
SLIP = "GP1.eyJzbGlwIjoiUi1LRjAwMS0wMDA0MiIsInVuaXQiOiIzLTIwMSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtNjQtYnl0ZXM"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_of(path: Path, width: int, height: int) -> Path:
    """A valid 1-bit grey PNG of that size: all white, compressed small."""
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    z = zlib.compressobj(9)
    body = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    return png_of(tmp_path_factory.mktemp("bomb") / "bomb.png", 32000, 32000)


@pytest.fixture(scope="module")
def strip(tmp_path_factory) -> Path:
    return png_of(tmp_path_factory.mktemp("strip") / "strip.png", 1_000_000, 1)


def _gatepass(*args: str | bytes) -> subprocess.CompletedProcess:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy")
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          timeout=120)


def test_the_bomb_is_small_on_disk_and_huge_when_decoded(bomb):
    assert bomb.stat().st_size < 2_000_000
    assert 32000 * 32000 > MAX_IMAGE_PIXELS


@pytest.mark.parametrize("which", ["bomb", "strip"])
def test_gatepass_scan_refuses_an_oversized_image_by_name_and_size_without_decoding_it(which, request):
    path: Path = request.getfixturevalue(which)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    run = _gatepass("scan", str(path))
    out, err = run.stdout.decode(), run.stderr.decode()
    assert run.returncode != 0
    assert "Traceback" not in err, err
    assert str(path) in out and "too large" in out and "未解码" in out
    assert ("32000×32000" if which == "bomb" else "1000000×1") in out
    assert f"{path.stat().st_size} bytes" in out
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert after < 1_000_000 or after == before          # KiB: the scan never came near a gigabyte


@pytest.mark.parametrize("which", ["bomb", "strip"])
def test_gatepass_check_refuses_an_oversized_slip_image_by_name_and_size(which, request, demo):
    path: Path = request.getfixturevalue(which)
    run = _gatepass("check", "--db", str(demo.replica_path), "--slip-image", str(path), "--json")
    err = run.stderr.decode()
    assert run.returncode == 2
    assert "Traceback" not in err, err
    assert str(path) in err and "too large" in err and "图片过大" in err


def test_a_card_argument_that_is_not_utf8_is_refused_by_name(demo):
    run = _gatepass("check", "--db", str(demo.replica_path), "--card", b"\xff\xfe\x01")
    err = run.stderr.decode()
    assert run.returncode == 2
    assert "Traceback" not in err, err
    assert "--card" in err and "UTF-8" in err


def test_the_limits_refuse_by_side_and_by_area_and_keep_ordinary_photos(tmp_path):
    ok = png_of(tmp_path / "ok.png", 4000, 3000)               # a phone photo of a slip
    assert check_image(ok.read_bytes(), "ok.png").pixels == 12_000_000
    too_wide = png_of(tmp_path / "wide.png", MAX_IMAGE_SIDE + 1, 1)
    with pytest.raises(ImageRefused, match="wide.png"):
        check_image(too_wide.read_bytes(), "wide.png")
    with pytest.raises(ImageRefused, match="not a PNG, JPEG"):
        check_image(b"GIF89a....", "x.gif")
    jpeg = tmp_path / "slip.jpg"
    cv2.imwrite(str(jpeg), synth.slip_frame(SLIP))
    size = check_image(jpeg.read_bytes(), "slip.jpg")
    assert size.kind == "JPEG" and size.width > 0 and size.height > 0


def test_the_folder_camera_skips_an_oversized_image_logs_it_and_keeps_scanning(tmp_path, bomb, caplog):
    folder = tmp_path / "camera"
    folder.mkdir()
    os.link(bomb, folder / "0001-bomb.png")
    cv2.imwrite(str(folder / "0002.png"), synth.slip_frame(SLIP))
    events = Events()
    scanner = CameraScanner(CameraConfig(source=str(folder), max_fps=50), events)
    with caplog.at_level(logging.WARNING, logger="gatepass.drivers.camera"):
        scanner.start()
        try:
            assert events.wait_for(lambda e: isinstance(e, SlipScanned)).text == SLIP
            assert scanner.online
            assert not any(isinstance(e, DeviceHealth) and not e.online for e in events.drain())
        finally:
            scanner.stop()
    skipped = [r for r in caplog.records if "0001-bomb.png" in r.getMessage() and "too large" in r.getMessage()]
    assert len(skipped) == 1          # said once, not at every pass over the folder
