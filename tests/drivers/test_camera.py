"""QR decoding and the camera scanner, on real images and a real video file."""
from __future__ import annotations

import os
import shutil

import cv2
import numpy as np
import pytest
import zxingcpp

from domain.errors import DriverError
from drivers import synth
from drivers.camera import CameraScanner
from drivers.config import CameraConfig
from drivers.events import DeviceHealth, SlipScanned
from drivers.qr import decode_frame, make_decoder

from .ptys import Events

SLIP_A = "GP1.eyJzbGlwIjoiUi1LRjAwMS0wMDA0MiIsInVuaXQiOiIzLTIwMSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtNjQtYnl0ZXM"
SLIP_B = "GP1.eyJzbGlwIjoiUi1LRjAwMS0wMDA0MyIsInVuaXQiOiI1LTExMDIifQ.b3RoZXItc2lnbmF0dXJlLWJ5dGVzLWhlcmU"

# what a guard's camera sees, and which decoder reads it (from the bench's distorted set)
BOTH_READ = ["plain", "rotate 30°", "rotate 45°", "perspective 0.35", "tipped back 30°", "blur σ1.5", "noise σ50",
             "uneven light 0.15", "crease + rotate 20°", "too close x1.9"]
ONLY_ZXING_READS = ["perspective 0.5", "tipped back 45°", "tipped back 60°", "motion blur 9px", "blur σ3.0"]


def frames_named(names):
    table = dict(synth.distorted_frames(SLIP_A))
    return [pytest.param(table[n], id=n) for n in names]


@pytest.mark.parametrize("decoder", ["zxing", "pyzbar"])
@pytest.mark.parametrize("frame", frames_named(BOTH_READ))
def test_both_decoders_read_a_slip_under_ordinary_gate_conditions(decoder, frame):
    assert decode_frame(make_decoder(decoder), frame) == [SLIP_A]


@pytest.mark.parametrize("frame", frames_named(ONLY_ZXING_READS))
def test_the_default_decoder_reads_steep_dim_or_small_slips_that_pyzbar_misses(frame):
    assert decode_frame(make_decoder(CameraConfig().decoder), frame) == [SLIP_A]
    assert decode_frame(make_decoder("pyzbar"), frame) == []


@pytest.mark.parametrize("decoder, blurred", [("zxing", "blur σ3.0"), ("pyzbar", "blur σ2.5")])
def test_the_sharpening_fallback_recovers_a_blurred_slip_the_plain_pass_misses(decoder, blurred):
    frame = dict(synth.distorted_frames(SLIP_A))[blurred]
    dec = make_decoder(decoder)
    assert decode_frame(dec, frame, fallback=False) == []
    assert decode_frame(dec, frame, fallback=True) == [SLIP_A]


@pytest.mark.parametrize("decoder", ["zxing", "pyzbar"])
def test_a_one_dimensional_barcode_is_not_taken_for_a_slip(decoder):
    code128 = zxingcpp.write_barcode_to_image(zxingcpp.create_barcode("R-KF001-00042", zxingcpp.BarcodeFormat.Code128), scale=3)
    img = np.pad(np.asarray(code128, dtype=np.uint8), 40, constant_values=255)
    assert zxingcpp.read_barcodes(img)        # the image really holds a readable barcode
    assert decode_frame(make_decoder(decoder), img) == []


def test_an_unknown_decoder_is_a_driver_error():
    with pytest.raises(DriverError, match="decoder 'zbar'"):
        make_decoder("zbar")


def test_a_slip_held_in_view_is_one_scan_and_a_new_slip_or_a_return_is_another(tmp_path):
    events = Events()
    scanner = CameraScanner(CameraConfig(source=str(tmp_path), repeat_gap_s=2.0), events)
    a, b = synth.slip_frame(SLIP_A), synth.slip_frame(SLIP_B)
    empty = np.full_like(a, 190)
    for now, frame in [(0.0, a), (0.1, a), (0.2, empty), (0.3, a), (0.4, b), (0.5, a), (3.0, empty), (3.1, a)]:
        scanner.feed(frame, now)
    assert events.drain(0.05) == [SlipScanned(SLIP_A, "zxing"), SlipScanned(SLIP_B, "zxing"), SlipScanned(SLIP_A, "zxing")]
    assert scanner.preview().shape == (120, 160, 3)


def write_video(path, frames, fps=10.0):
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()


@pytest.mark.parametrize("decoder", ["zxing", "pyzbar"])
def test_a_video_source_yields_a_scan_and_a_preview_from_the_background_thread(tmp_path, decoder):
    video = tmp_path / "gate.avi"
    empty = np.full((480, 640, 3), 190, np.uint8)
    write_video(video, [empty] * 3 + [synth.rotate(synth.slip_frame(SLIP_A), 15)] * 10)
    events = Events()
    scanner = CameraScanner(CameraConfig(source=str(video), decoder=decoder, max_fps=50), events)
    scanner.start()
    try:
        events.wait_for(lambda e: isinstance(e, DeviceHealth) and e.online)
        assert events.wait_for(lambda e: isinstance(e, SlipScanned)) == SlipScanned(SLIP_A, decoder)
        assert scanner.online
        assert scanner.preview().shape == (120, 160, 3)
    finally:
        scanner.stop()


def test_a_lost_camera_is_reported_and_reopened_when_it_returns(tmp_path):
    folder = tmp_path / "camera"
    folder.mkdir()
    cv2.imwrite(str(folder / "0001.png"), synth.slip_frame(SLIP_A))
    events = Events()
    scanner = CameraScanner(CameraConfig(source=str(folder), max_fps=50, reopen_min_s=0.05, reopen_max_s=0.2), events)
    scanner.start()
    try:
        events.wait_for(lambda e: isinstance(e, SlipScanned))
        shutil.rmtree(folder)
        lost = events.wait_for(lambda e: isinstance(e, DeviceHealth) and not e.online)
        assert str(folder) in lost.detail and not scanner.online
        folder.mkdir()
        cv2.imwrite(str(folder / "0001.png"), synth.slip_frame(SLIP_B))
        events.wait_for(lambda e: isinstance(e, DeviceHealth) and e.online)
        assert events.wait_for(lambda e: isinstance(e, SlipScanned)).text == SLIP_B
    finally:
        scanner.stop()


def test_a_missing_camera_device_is_reported_offline_not_raised():
    events = Events()
    scanner = CameraScanner(CameraConfig(source="/dev/video-gatepass-missing", reopen_min_s=0.05), events)
    scanner.start()
    try:
        lost = events.wait_for(lambda e: isinstance(e, DeviceHealth))
        assert not lost.online and "video-gatepass-missing" in lost.detail
    finally:
        scanner.stop()


class ScriptedSource:
    """A source handing out given frames, then repeating the last (stands in for a camera's driver)."""

    def __init__(self, frames):
        self.frames = list(frames)

    def open(self):
        pass

    def read(self):
        return self.frames.pop(0) if len(self.frames) > 1 else self.frames[0]

    def close(self):
        pass


def test_a_frame_the_decoder_chokes_on_is_skipped_and_the_camera_stays_online():
    events = Events()
    broken = np.zeros((0, 0, 3), np.uint8)
    scanner = CameraScanner(CameraConfig(source="scripted", max_fps=50), events,
                            source=ScriptedSource([broken, broken, synth.slip_frame(SLIP_A)]))
    scanner.start()
    try:
        assert events.wait_for(lambda e: isinstance(e, SlipScanned)).text == SLIP_A
        assert scanner.bad_frames == 2
        assert [e.online for e in events.seen if isinstance(e, DeviceHealth)] == [True]
    finally:
        scanner.stop()


def test_an_app_handler_that_raises_does_not_end_the_camera(tmp_path):
    events = Events()

    def emit(ev):
        if isinstance(ev, DeviceHealth):
            raise RuntimeError("bug in the app's health handler")
        events(ev)
    scanner = CameraScanner(CameraConfig(source="scripted", max_fps=50), emit,
                            source=ScriptedSource([synth.slip_frame(SLIP_A)]))
    scanner.start()
    try:
        assert events.wait_for(lambda e: isinstance(e, SlipScanned)).text == SLIP_A
    finally:
        scanner.stop()


# ---------------------------------------------------------------- online means frames arriving
#
# A FIFO in a folder source is a real file whose read blocks until someone writes to it:
# cv2.imread waits on it the way cv2.VideoCapture.read waits on a CSI module that libcamera
# opened and never feeds. Opening it for writing and closing it ends the wait (no image).


class _Hang:
    """A FIFO among a folder's images; release() lets a read blocked on it return empty."""

    def __init__(self, path):
        self.path = path
        os.mkfifo(path)

    def release(self):
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))   # ENXIO: nobody is waiting on it
        except OSError:
            pass


def _health(events):
    return [e for e in events.seen if isinstance(e, DeviceHealth)]


def test_a_camera_that_opens_but_never_gives_a_frame_is_offline_with_the_reason_never_online(tmp_path):
    folder = tmp_path / "camera"
    folder.mkdir()
    hang = _Hang(folder / "0001.png")
    events = Events()
    scanner = CameraScanner(CameraConfig(source=str(folder), frame_timeout_s=0.3), events)
    scanner.start()
    try:
        first = events.wait_for(lambda e: isinstance(e, DeviceHealth))
        assert not first.online and "opened but no frame in 0.3 s" in first.detail and str(folder) in first.detail
        events.drain(settle=0.6)
        assert [e.online for e in _health(events)] == [False] and not scanner.online
    finally:
        scanner._stop.set()
        hang.release()
        scanner.stop()


def test_a_camera_is_online_from_its_first_frame_and_offline_when_frames_stop(tmp_path):
    folder = tmp_path / "camera"
    folder.mkdir()
    cv2.imwrite(str(folder / "0001.png"), synth.slip_frame(SLIP_A))
    hang = _Hang(folder / "0002.png")              # the second frame never comes
    events = Events()
    scanner = CameraScanner(CameraConfig(source=str(folder), frame_timeout_s=0.3), events)
    scanner.start()
    try:
        up = events.wait_for(lambda e: isinstance(e, DeviceHealth))
        assert up.online and "frames arriving" in up.detail
        assert events.wait_for(lambda e: isinstance(e, SlipScanned)).text == SLIP_A
        down = events.wait_for(lambda e: isinstance(e, DeviceHealth))
        assert not down.online and "no frame for 0.3 s" in down.detail and not scanner.online
    finally:
        scanner._stop.set()
        hang.release()
        scanner.stop()


def test_a_folder_of_unreadable_images_is_offline_saying_no_frame_came(tmp_path):
    folder = tmp_path / "camera"
    folder.mkdir()
    (folder / "0001.png").write_bytes(b"not a picture")
    events = Events()
    scanner = CameraScanner(CameraConfig(source=str(folder), reopen_min_s=0.05, reopen_max_s=0.1), events)
    scanner.start()
    try:
        lost = events.wait_for(lambda e: isinstance(e, DeviceHealth))
        assert not lost.online and "opened but no frame" in lost.detail and "no readable image" in lost.detail
        events.drain(settle=0.4)
        assert not any(e.online for e in _health(events))
    finally:
        scanner.stop()
