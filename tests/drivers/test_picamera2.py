"""The picamera2 source for CSI camera modules.

picamera2 is not installed here (it comes from Raspberry Pi OS's apt), which makes the
refusal real: the kiosk and `gatepass scan` are run as an installer would run them and
must stop with the way to fix it. The frame adaptation is tested on arrays laid out as
picamera2's `make_array` lays them out (request.py: YUV420 as (height * 3/2, stride) with
the row padding left in; RGB888 as (height, width, 3) in B, G, R order), built from a
real slip image with OpenCV's own YUV conversion, and read by the project's decoder.
Two tests use a stand-in `picamera2` module (marked below): one for the numpy-mismatch
message, one for the source's open / read / close calls; no camera module was attached.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from domain.errors import DriverError
from drivers import make_scanner, synth
from drivers.camera import CameraScanner, SourceLost, open_source, picamera2_frame, picamera2_index
from drivers.config import CameraConfig
from drivers.events import DeviceHealth, SlipScanned
from drivers.qr import decode_frame, make_decoder

from .ptys import Events

ROOT = Path(__file__).resolve().parents[2]
SLIP = "GP1.eyJzbGlwIjoiUi1LRjAwMS0wMDA0MiIsInVuaXQiOiIzLTIwMSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtNjQtYnl0ZXM"


def yuv420_as_picamera2_gives_it(bgr: np.ndarray, stride: int) -> np.ndarray:
    """The (h * 3/2, stride) array picamera2 returns for a YUV420 main stream: I420 planes,
    each row padded to the stride with bytes that are not image."""
    h, w = bgr.shape[:2]
    i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)          # (h * 3/2, w): Y, then U, then V
    out = np.full((h * 3 // 2, stride), 7, dtype=np.uint8)    # padding: not image
    out[:, :w] = i420
    return out


# ---------------------------------------------------------------------- frames as picamera2 gives them


def test_a_yuv420_frame_with_row_padding_is_the_grey_image_and_the_slip_reads():
    bgr = synth.slip_frame(SLIP, 640, 480)
    array = yuv420_as_picamera2_gives_it(bgr, stride=704)
    frame = picamera2_frame(array, "YUV420", (640, 480))
    assert frame.shape == (480, 640) and frame.flags["C_CONTIGUOUS"]
    assert np.array_equal(frame, cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)[:480])   # the Y plane, no padding
    assert decode_frame(make_decoder("zxing"), frame) == [SLIP]


def test_an_rgb888_frame_is_already_opencvs_bgr_and_the_slip_reads():
    bgr = synth.slip_frame(SLIP, 640, 480)
    bgr[:, :, 2] = np.maximum(bgr[:, :, 2], 60)          # a reddish cast: channel order matters
    frame = picamera2_frame(bgr.copy(), "RGB888", (640, 480))
    assert np.array_equal(frame, bgr)
    assert decode_frame(make_decoder("zxing"), frame) == [SLIP]
    xrgb = np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)])
    assert np.array_equal(picamera2_frame(xrgb, "XRGB8888", (640, 480)), bgr)


def test_the_scanner_reads_a_slip_from_a_yuv420_frame_and_previews_it():
    events = Events()
    scanner = CameraScanner(CameraConfig(source="unused-folder"), events)
    frame = picamera2_frame(yuv420_as_picamera2_gives_it(synth.slip_frame(SLIP), 704), "YUV420", (640, 480))
    assert scanner.feed(frame, now=1.0) == [SLIP]
    assert SlipScanned(SLIP, "zxing") in events.drain(0.05)
    preview = scanner.preview()
    assert preview is not None and preview.shape == (120, 160, 3)


@pytest.mark.parametrize("shape, fmt", [((480, 640), "YUV420"), ((720, 600), "YUV420"), ((480, 640), "RGB888"),
                                        ((480, 640, 3), "NV12")])
def test_a_frame_not_shaped_as_its_format_is_a_lost_camera_saying_why(shape, fmt):
    with pytest.raises(SourceLost, match="picamera2"):
        picamera2_frame(np.zeros(shape, np.uint8), fmt, (640, 480))


# ---------------------------------------------------------------------- which source, and refusal


def test_the_source_names_a_csi_camera_by_number():
    assert picamera2_index("picamera2") == 0
    assert picamera2_index("picamera2:1") == 1
    assert picamera2_index("/dev/video0") is None and picamera2_index("0") is None
    with pytest.raises(DriverError, match='"picamera2:N"'):
        picamera2_index("picamera2:front")


def test_without_picamera2_the_scanner_is_refused_saying_how_to_get_it():
    with pytest.raises(DriverError) as refused:
        make_scanner(CameraConfig(source="picamera2"), print)
    text = str(refused.value)
    assert "No module named 'picamera2'" in text
    assert "sudo apt install python3-picamera2" in text and "--system-site-packages" in text
    assert "simplejpeg" in text and "numpy" in text and "无法导入 picamera2" in text


def _gatepass(*args: str, pythonpath: str = "") -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "LANG": "C.UTF-8"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_kiosk_configured_for_a_csi_camera_without_picamera2_does_not_start_and_says_why(tmp_path):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[store]\nreplica = "{tmp_path}/replica.db"\nexit_log = "{tmp_path}/exitlog.db"\n'
                   f'keys = "{tmp_path}/keys"\n'
                   f'[sync]\nstatus_file = "{tmp_path}/sync.json"\nkiosk_health_file = "{tmp_path}/health.json"\n'
                   '[reader]\nport = "/dev/ttyAMA0"\n[camera]\nsource = "picamera2"\n[gpio]\npin_factory = "lgpio"\n',
                   encoding="utf-8")
    done = _gatepass("kiosk", "--config", str(cfg), "--window")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "cannot import picamera2" in done.stderr and "--system-site-packages" in done.stderr, done.stderr


def test_gatepass_scan_with_a_csi_camera_without_picamera2_fails_saying_why():
    done = _gatepass("scan", "--camera", "picamera2")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "sudo apt install python3-picamera2" in done.stderr, done.stderr


def test_a_picamera2_built_for_another_numpy_is_named_as_that(tmp_path):
    """Stand-in: a `picamera2` package failing as the apt one does under the venv's numpy 2
    (raspberrypi/picamera2 issues 1088, 1211: simplejpeg's ValueError)."""
    pkg = tmp_path / "picamera2"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        'raise ValueError("numpy.dtype size changed, may indicate binary incompatibility. '
        'Expected 96 from C header, got 88 from PyObject")\n', encoding="utf-8")
    done = _gatepass("scan", "--camera", "picamera2", pythonpath=str(tmp_path))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "numpy.dtype size changed" in done.stderr and "numpy 1.x" in done.stderr and "simplejpeg" in done.stderr


STAND_IN_PICAMERA2 = textwrap.dedent('''
    """Stand-in for picamera2's Picamera2, shaped after its API (picamera2.py, request.py):
    serves a slip as a YUV420 main stream at an aligned size, with padded rows."""
    import cv2
    import numpy as np
    from drivers import synth

    SLIP = {slip!r}
    LOG = []

    class Picamera2:
        def __init__(self, camera_num=0):
            if camera_num != 0:
                raise IndexError("list index out of range")
            self.camera_config = None
            LOG.append("init")

        def create_video_configuration(self, main):
            return {{"main": dict(main)}}

        def configure(self, config):
            w, h = config["main"]["size"]
            self.camera_config = {{"main": {{"size": ((w + 63) // 64 * 64, h), "format": config["main"]["format"]}}}}

        def start(self):
            LOG.append("start")

        def capture_array(self, name="main"):
            w, h = self.camera_config["main"]["size"]
            i420 = cv2.cvtColor(synth.slip_frame(SLIP, w, h), cv2.COLOR_BGR2YUV_I420)
            return np.pad(i420, ((0, 0), (0, 64)), constant_values=7)

        def stop(self):
            LOG.append("stop")

        def close(self):
            LOG.append("close")
''')


def test_the_source_configures_the_main_stream_and_reads_through_the_scanner(tmp_path, monkeypatch):
    """Stand-in module (no CSI camera here): checks the calls the source makes and that a
    size the pipeline aligned (600 -> 640 wide) still gives whole frames."""
    pkg = tmp_path / "picamera2"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(STAND_IN_PICAMERA2.format(slip=SLIP), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "picamera2", raising=False)
    import picamera2 as stand_in

    cfg = CameraConfig(source="picamera2", width=600, height=480, reopen_min_s=0.05, reopen_max_s=0.2)
    source = open_source(cfg.source, cfg)
    events = Events()
    scanner = CameraScanner(cfg, events, source)
    scanner.start()
    try:
        assert events.wait_for(lambda e: isinstance(e, SlipScanned)).text == SLIP
        assert source.size == (640, 480)
    finally:
        scanner.stop()
    assert stand_in.LOG[:2] == ["init", "start"] and stand_in.LOG[-2:] == ["stop", "close"]
    assert any(isinstance(e, DeviceHealth) and e.online for e in events.seen)

    other = open_source("picamera2:1", cfg)
    with pytest.raises(SourceLost, match="cannot open CSI camera 1"):
        other.open()
