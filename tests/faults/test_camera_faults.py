"""The camera taken away and given back, over and over, without restarting the kiosk.

The source is an image folder, the camera source that supports loss without a
V4L2 device: renaming it away is the camera unplugged (the next frame cannot be
read), renaming it back with a new slip in it is the camera plugged in again with a
slip in view. Each cycle must give DeviceHealth offline, then online, then the new
slip. (A video file source does not notice deletion: the open file keeps playing,
which is why the folder is used.) Recovery is timed from the rename back to the
online event, stamped on the camera's thread.

Also: QR codes of injection and random text, and odd image files (1x1, grey,
16-bit, with alpha, 12 megapixels) in view of the running camera.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from domain import slip_token
from domain.model import Gate, LargeItemHours
from domain.rules import SlipEvidence, decide_slip
from drivers import make_scanner, synth
from drivers.camera import CameraScanner
from drivers.config import CameraConfig
from drivers.events import DeviceHealth, SlipScanned
from drivers.qr import decode_frame, make_decoder

from .conftest import StampedEvents, figures
from .test_reader_faults import RECOVERY_BOUND_S, campaign_downtimes
from .test_token_faults import INJECTIONS, KEYS, NOW


def online(flag: bool) -> Callable[[Any], bool]:
    return lambda e: isinstance(e, DeviceHealth) and e.device == "camera" and e.online is flag


def slip_text(k: int) -> str:
    return f"GP1:FAULTCAMPAIGNSLIP{k:04d}"


def _put_slip(folder: Path, k: int) -> None:
    for old in folder.iterdir():
        old.unlink()
    cv2.imwrite(str(folder / f"slip{k:04d}.png"), synth.slip_frame(slip_text(k)))


def _replug_campaign(tmp_path: Path, cfg_kw: dict[str, Any], downtimes: list[float]) -> list[float]:
    camera, away = tmp_path / "camera", tmp_path / "unplugged"
    camera.mkdir()
    _put_slip(camera, 0)
    events = StampedEvents()
    scanner = make_scanner(CameraConfig(source=str(camera), **cfg_kw), events)
    assert isinstance(scanner, CameraScanner)
    recoveries: list[float] = []
    try:
        scanner.start()
        thread = scanner._thread
        events.wait_for(online(True))
        for k, down in enumerate(downtimes):
            text = slip_text(k)
            events.wait_for(lambda e, text=text: isinstance(e, SlipScanned) and e.text == text)
            camera.rename(away)
            events.wait_for(online(False))
            _put_slip(away, k + 1)
            time.sleep(down)
            plugged = time.perf_counter()
            away.rename(camera)
            back = events.wait_for(online(True), timeout=30)
            recoveries.append(events.stamp_of(back) - plugged)
        last = slip_text(len(downtimes))
        events.wait_for(lambda e: isinstance(e, SlipScanned) and e.text == last)
        assert scanner._thread is thread and thread is not None and thread.is_alive(), "the camera was restarted"
    finally:
        scanner.stop()
    health = [e.online for e in events.seen if isinstance(e, DeviceHealth)]
    assert health == [True] + [False, True] * len(downtimes)
    scans = [e.text for e in events.seen if isinstance(e, SlipScanned)]
    assert scans == [slip_text(k) for k in range(len(downtimes) + 1)]
    return recoveries


def test_a_camera_taken_away_and_given_back_a_few_times_comes_back_with_the_slip_in_view(tmp_path):
    _replug_campaign(tmp_path, dict(reopen_min_s=0.05, reopen_max_s=0.2), [0.0, 0.1, 0.3])


@pytest.mark.faults
@pytest.mark.timeout(1800)
def test_a_camera_unplugged_100_times_is_back_within_3_s_each_time(tmp_path):
    recoveries = _replug_campaign(tmp_path, dict(), campaign_downtimes(100, 7))
    figures("camera replug->online, shipped settings", recoveries, "s", 1.0)
    assert max(recoveries) <= RECOVERY_BOUND_S


@pytest.mark.faults
@pytest.mark.timeout(120)
def test_with_the_shipped_backoff_a_camera_unplugged_8_s_is_back_within_3_s(tmp_path):
    recoveries = _replug_campaign(tmp_path, dict(), [8.0])
    figures("camera replug->online after 8 s unplugged, shipped settings", recoveries, "s", 1.0)
    assert max(recoveries) <= RECOVERY_BOUND_S


# ---------------------------------------------------------------- hostile codes in view

def _hostile_texts(n_random: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = [s[:300] for s in INJECTIONS if "\ud800" not in s]
    ranges = [(0x00, 0x7F), (0x80, 0x2FF), (0x4E00, 0x9FFF), (0x1F300, 0x1F6FF), (0x2000, 0x206F)]
    for _ in range(n_random):
        lo, hi = rng.choice(ranges)
        texts.append("".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 120))))
    return list(dict.fromkeys(t for t in texts if t.strip()))


def _hostile_codes(tmp_path: Path, n_random: int, seed: int) -> None:
    """A camera shown QR codes of injection and random text, and odd image files:
    it stays online, reports each code once, and every one is refused as a slip."""
    folder = tmp_path / "camera"
    folder.mkdir()
    decoder = make_decoder("zxing")
    expected: set[str] = set()
    for k, text in enumerate(_hostile_texts(n_random, seed)):
        frame = synth.slip_frame(text, 640, 480, 0.8)
        cv2.imwrite(str(folder / f"code{k:04d}.png"), frame)
        expected.update(decode_frame(decoder, frame))     # what zxing makes of it (control characters as <NUL> etc.)
    odd = {"tiny.png": np.zeros((1, 1, 3), np.uint8), "gray.png": np.full((480, 640), 128, np.uint8),
           "deep.png": np.full((480, 640, 3), 40000, np.uint16), "alpha.png": np.zeros((480, 640, 4), np.uint8),
           "huge.jpg": np.random.default_rng(seed).integers(0, 255, (3000, 4000, 3), dtype=np.uint8)}
    for name, img in odd.items():
        cv2.imwrite(str(folder / name), img)
    events = StampedEvents()
    scanner = make_scanner(CameraConfig(source=str(folder), max_fps=60, repeat_gap_s=600), events)
    assert scanner is not None
    seen: set[str] = set()
    try:
        scanner.start()
        while seen != expected:
            seen.add(events.wait_for(lambda e: isinstance(e, SlipScanned), timeout=30).text)
        assert scanner.online
    finally:
        scanner.stop()
    events.drain(0.05)
    scans = [e.text for e in events.seen if isinstance(e, SlipScanned)]
    assert len(scans) == len(set(scans)), "a code in view was reported twice"
    assert [e.online for e in events.seen if isinstance(e, DeviceHealth)] == [True]
    gate, hours = Gate("north", "北门"), LargeItemHours()
    for text in scans:
        verdict = slip_token.verify(text, KEYS)
        assert not verdict.ok
        ev = SlipEvidence(text=text[:200], token_reason=verdict.reason, hours=hours)
        assert not decide_slip(ev, gate, NOW).allowed
    print(f"[camera hostile codes] images={len(expected) + len(odd)} scans={len(scans)} all refused; "
          f"bad frames={scanner.bad_frames}")


def test_hostile_codes_and_odd_images_in_view_are_read_once_and_refused(tmp_path):
    _hostile_codes(tmp_path, 5, seed=1)


@pytest.mark.faults
@pytest.mark.timeout(600)
def test_a_hundred_and_fifty_hostile_codes_in_view_are_read_once_and_refused(tmp_path):
    _hostile_codes(tmp_path, 110, seed=2026)


def test_one_damaged_image_in_a_folder_source_is_skipped_not_taken_for_a_lost_camera(tmp_path):
    # Before the fix the camera went offline at the damaged file, reopened, went online,
    # and reported the slip in view again: flapping health and a repeated scan every cycle.
    folder = tmp_path / "camera"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), synth.slip_frame(slip_text(1)))
    (folder / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n but the rest is not an image")
    cv2.imwrite(str(folder / "c.png"), synth.slip_frame(slip_text(2)))
    events = StampedEvents()
    scanner = CameraScanner(CameraConfig(source=str(folder), max_fps=50, reopen_min_s=0.05, reopen_max_s=0.2), events)
    scanner.start()
    try:
        for k in (1, 2):
            events.wait_for(lambda e, k=k: isinstance(e, SlipScanned) and e.text == slip_text(k))
        deadline = time.monotonic() + 10    # several passes over the folder, damaged file included
        while scanner.source.index < 4 * 3:
            assert time.monotonic() < deadline, f"the folder source read {scanner.source.index} images"
            time.sleep(0.01)
        assert scanner.online
    finally:
        scanner.stop()
    events.drain(0.05)
    assert [e.online for e in events.seen if isinstance(e, DeviceHealth)] == [True]
    assert sorted(e.text for e in events.seen if isinstance(e, SlipScanned)) == [slip_text(1), slip_text(2)]
