"""Camera capture + QR decode on a background thread, with reopen on loss.

Sources: a V4L2 device (index "0" or path /dev/video0), a CSI camera module through
picamera2 ("picamera2" or "picamera2:N", imported only when configured), a video file
(looped, for demos and tests) or a folder of images (cycled). Each frame is decoded off the UI
thread; the UI only takes `preview()` (a small RGB copy) and SlipScanned events.
The same slip held in view is one scan: `Presence` keeps it until it has been out
of view for `repeat_gap_s`, while a different slip is reported at once.

Online means frames are arriving, not that the device opened: a camera is reported
online at its first good frame, offline with the reason when it opened but gave no frame
within `frame_timeout_s` (cv2.VideoCapture opens a CSI module under libcamera and then
never delivers), and offline again when its frames stop for that long (a read that hangs
is noticed by a watchdog, since nothing can interrupt it).
"""
from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from domain.errors import DriverError
from domain.images import HEADER_BYTES, ImageRefused, check_image
from drivers.config import CameraConfig
from drivers.events import SlipScanned
from drivers.interfaces import Emit
from drivers.presence import Presence
from drivers.qr import decode_frame, make_decoder
from drivers.supervised import SupervisedDevice

log = logging.getLogger("gatepass.drivers.camera")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
BAD_FRAME_LOG_EVERY = 100
#: the decoder's last step (pyzbar's and OpenCV's bare calls on the whole frame, tens of ms
#: here, a few times that on a Pi) runs at most this often: a slip that only it reads is
#: still read within a second of being held up, and a slip no library reads does not slow
#: every frame down while it is in view
BACKSTOP_EVERY_S = 1.0



class SourceLost(Exception):
    """The camera or file cannot be opened or stopped giving frames."""


def read_image(path: str | Path) -> np.ndarray | None:
    """An image file decoded as BGR, after its header has shown it is small enough to decode.

    ImageRefused (naming the file, its pixel size and its byte size) for an image past
    domain.images' limits or of no known format; None if OpenCV cannot decode it; OSError
    if it cannot be read. Nothing is decoded before the size is known.
    """
    p = Path(path)
    with p.open("rb") as f:
        head = f.read(HEADER_BYTES)
        file_bytes = p.stat().st_size
    check_image(head, str(p), file_bytes)
    return cv2.imread(str(p), cv2.IMREAD_COLOR)


class FrameSource(Protocol):
    def open(self) -> None: ...
    def read(self) -> np.ndarray: ...
    def close(self) -> None: ...


class DeviceSource:
    """A V4L2 camera through OpenCV, asked for the configured size."""

    def __init__(self, spec: str, width: int, height: int) -> None:
        self.spec = int(spec) if spec.isdigit() else spec
        self.size = (width, height)
        self.cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        self.cap = cv2.VideoCapture(self.spec, cv2.CAP_V4L2)
        if not self.cap.isOpened():
            raise SourceLost(f"cannot open camera {self.spec}")
        self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
        self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        self.cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)   # decode the newest frame, not a stale queue

    def read(self) -> np.ndarray:
        assert self.cap is not None
        ok, frame = self.cap.read()
        if not ok or frame is None:
            raise SourceLost(f"camera {self.spec} stopped delivering frames")
        return frame

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


class FileSource:
    """A video file (looped) or a folder of images (cycled in name order).

    Which of the two is decided at each open, so a folder that is missing at start
    or removed and restored behaves like a camera unplugged and plugged back.
    """

    def __init__(self, spec: str) -> None:
        self.path = Path(spec)
        self.images: list[Path] = []
        self.refused: set[Path] = set()      # images too large to decode, logged once each
        self.index = 0
        self.cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        if self.path.is_dir():
            self.images = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            self.index = 0
            if not self.images:
                raise SourceLost(f"no images in folder {self.path}")
            return
        if not self.path.exists():
            raise SourceLost(f"{self.path} does not exist")
        self.cap = cv2.VideoCapture(str(self.path))
        if not self.cap.isOpened():
            raise SourceLost(f"cannot open video file {self.path}")

    def read(self) -> np.ndarray:
        if self.cap is None:
            return self._next_image()
        ok, frame = self.cap.read()
        if not ok:   # end of file: loop
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self.cap.read()
        if not ok or frame is None:
            raise SourceLost(f"cannot read video file {self.path}")
        return frame

    def _next_image(self) -> np.ndarray:
        """The next readable image of the folder.

        A damaged or vanished file is skipped like a bad frame: taking it for a lost
        camera made the source flap offline/online at that file, restart at the first
        image and never reach the ones after it. The folder itself gone, or not one
        readable image left in it, is a lost camera.
        """
        for _ in range(len(self.images)):
            path = self.images[self.index % len(self.images)]
            self.index += 1
            try:
                frame = read_image(path)
            except ImageRefused as exc:
                if path not in self.refused:
                    self.refused.add(path)
                    log.warning("skipping %s", exc)
                frame = None
            except OSError as exc:
                log.warning("skipping %s: %s", path, exc.strerror)
                frame = None
            if frame is not None:
                return frame
            if not self.path.is_dir():
                raise SourceLost(f"folder {self.path} is gone")
        raise SourceLost(f"no readable image in folder {self.path}")

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


# ---------------------------------------------------------------------- CSI camera modules

PICAMERA2_SPEC = re.compile(r"picamera2(?::(\d+))?")
#: The main stream's format: YUV420's first plane is the grey image the QR decoder wants,
#: with no colour conversion at all (picamera2's RGB888 would cost a BGR->grey per frame).
PICAMERA2_FORMAT = "YUV420"

#: How to make picamera2 importable from the gate's venv (docs/install.md, camera section).
PICAMERA2_HOWTO_ZH = ("sudo apt install python3-picamera2;用 --system-site-packages 重建 venv;"
                      "在 venv 中安装 simplejpeg>=1.9(系统的 simplejpeg 按 numpy 1.x 编译,venv 的 numpy 是 2.x)")
PICAMERA2_HOWTO_EN = ("sudo apt install python3-picamera2; recreate the venv with --system-site-packages "
                      "(python3 -m venv --system-site-packages /opt/gatepass/.venv, then the lock again); "
                      "pip install 'simplejpeg>=1.9,<2' into the venv (the system's simplejpeg is built for "
                      "numpy 1.x, the venv's numpy is 2.x); see docs/install.md, the camera section")


def load_picamera2() -> Any:
    """picamera2's `Picamera2` class, or a DriverError saying how to make it importable.

    picamera2 comes from Raspberry Pi OS's apt (python3-picamera2, with libcamera's
    Python bindings), not from PyPI, so a venv sees it only when made with
    --system-site-packages; and the apt package's compiled helpers (simplejpeg) are built
    for the system's numpy 1.x, which the venv's numpy 2.x replaces.
    """
    try:
        from picamera2 import Picamera2
    except Exception as exc:  # noqa: BLE001 - ImportError, or ValueError from a numpy ABI mismatch
        why = f"{type(exc).__name__}: {exc}"
        hint = ""
        if "numpy" in str(exc) or "binary incompatib" in str(exc):
            hint = " (a numpy 1.x build meeting the venv's numpy 2.x) / (numpy 版本不匹配)"
        raise DriverError(f"camera picamera2: 无法导入 picamera2{hint}:{why}\n  {PICAMERA2_HOWTO_ZH}\n"
                          f"camera picamera2: cannot import picamera2{hint}: {why}\n  {PICAMERA2_HOWTO_EN}") from None
    return Picamera2


def picamera2_frame(array: np.ndarray, fmt: str, size: tuple[int, int]) -> np.ndarray:
    """A frame as the decoder takes it (grey, or BGR), from what `capture_array` returned.

    picamera2 (request.py, `make_array`) returns YUV420 as one (height * 3/2, stride) array:
    `height` rows of Y, then the U and V planes, with the row padded to `stride` bytes;
    the Y rows without the padding are the grey image. RGB888 is (height, width, 3) in
    B, G, R order, which is OpenCV's BGR as it is; XRGB8888 is the same with a 4th byte.
    """
    w, h = size
    if fmt in ("YUV420", "YVU420"):
        if array.ndim != 2 or array.shape[0] != h * 3 // 2 or array.shape[1] < w:
            raise SourceLost(f"picamera2 gave a {array.shape} array for {fmt} {w}x{h}, not ({h * 3 // 2}, >= {w})")
        return np.ascontiguousarray(array[:h, :w])
    if fmt in ("RGB888", "XRGB8888"):
        if array.ndim != 3 or array.shape[:2] != (h, w) or array.shape[2] < 3:
            raise SourceLost(f"picamera2 gave a {array.shape} array for {fmt} {w}x{h}")
        return np.ascontiguousarray(array[:, :, :3])
    raise SourceLost(f"picamera2 format {fmt} is not one the decoder takes")


class Picamera2Source:
    """A CSI camera module (libcamera) through picamera2, its main stream at the configured size.

    cv2.VideoCapture opens such a module and then never delivers a frame; picamera2 is
    the way Raspberry Pi OS reads them. picamera2 is imported here, at construction, and
    only when a config names this source: a gate with a USB camera never needs it, and a
    gate configured for it without it refuses to start (`load_picamera2`).
    """

    def __init__(self, index: int, width: int, height: int) -> None:
        self.picamera2 = load_picamera2()
        self.index = index
        self.requested = (width, height)
        self.size = (width, height)        # what the camera gives, once configured
        self.cam: Any = None

    def open(self) -> None:
        try:
            cam = self.picamera2(self.index)
        except Exception as exc:  # noqa: BLE001 - no such camera: IndexError or RuntimeError, as the version has it
            raise SourceLost(f"cannot open CSI camera {self.index}: {type(exc).__name__}: {exc}") from None
        self.cam = cam
        try:
            config = cam.create_video_configuration(main={"size": self.requested, "format": PICAMERA2_FORMAT})
            cam.configure(config)
            main = cam.camera_config["main"]      # the size the pipeline chose (aligned)
            self.size = (int(main["size"][0]), int(main["size"][1]))
            cam.start()
        except Exception as exc:  # noqa: BLE001 - a camera that cannot be configured is a lost camera
            raise SourceLost(f"cannot start CSI camera {self.index}: {type(exc).__name__}: {exc}") from None

    def read(self) -> np.ndarray:
        assert self.cam is not None
        try:
            array = self.cam.capture_array("main")
        except Exception as exc:  # noqa: BLE001 - libcamera errors have no common type
            raise SourceLost(f"CSI camera {self.index} stopped delivering frames: {type(exc).__name__}: {exc}") from None
        return picamera2_frame(array, PICAMERA2_FORMAT, self.size)

    def close(self) -> None:
        if self.cam is not None:
            try:
                self.cam.stop()
            finally:
                self.cam.close()
                self.cam = None


def picamera2_index(spec: str) -> int | None:
    """The camera index of a "picamera2" / "picamera2:N" source; None for any other source."""
    if not spec.startswith("picamera2"):
        return None
    m = PICAMERA2_SPEC.fullmatch(spec)
    if not m:
        raise DriverError(f'camera: source {spec!r}: a CSI camera is "picamera2" or "picamera2:N" (N the camera number, 0 first)')
    return int(m.group(1) or 0)


def open_source(spec: str, cfg: CameraConfig) -> FrameSource:
    index = picamera2_index(spec)
    if index is not None:
        return Picamera2Source(index, cfg.width, cfg.height)
    if spec.isdigit() or spec.startswith("/dev/video") or spec.startswith("/dev/v4l/"):
        return DeviceSource(spec, cfg.width, cfg.height)
    return FileSource(spec)


def fit(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Shrink a frame larger than the configured size (a phone photo in a folder source)."""
    h, w = frame.shape[:2]
    scale = min(width / w, height / h)
    if scale >= 1:
        return frame
    return cv2.resize(frame, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)


class CameraScanner(SupervisedDevice):
    """SlipScanned / DeviceHealth("camera", ...) from a camera; `preview()` for the UI."""

    device = "camera"

    def __init__(self, cfg: CameraConfig, emit: Emit, source: FrameSource | None = None) -> None:
        super().__init__(emit, f"camera {cfg.source}", cfg.reopen_min_s, cfg.reopen_max_s, log)
        self.cfg = cfg
        self.decoder = make_decoder(cfg.decoder)
        self.source = source or open_source(cfg.source, cfg)
        self._presence = Presence(cfg.repeat_gap_s, single=False)
        self._preview: np.ndarray | None = None
        self.bad_frames = 0
        #: monotonic instants, of this session's open and its last frame (None: closed / none yet)
        self._opened_at: float | None = None
        self._last_frame: float | None = None
        self._watchdog: threading.Thread | None = None
        self._backstop_at = float("-inf")
        self._frame_at = 0.0

    def _backstop_due(self) -> bool:
        """Asked by the decoder when it would run its last step: at most once a second."""
        if self._frame_at - self._backstop_at < BACKSTOP_EVERY_S:
            return False
        self._backstop_at = self._frame_at
        return True

    def start(self) -> None:
        super().start()
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=self._watch_frames, name=f"camera watchdog: {self.cfg.source}",
                                              daemon=True)
            self._watchdog.start()

    def stop(self) -> None:
        super().stop()
        if self._watchdog is not None:
            self._watchdog.join(timeout=5)
            self._watchdog = None

    def preview(self) -> np.ndarray | None:
        """The latest frame, small and RGB, for the guard's screen (None before the first)."""
        return self._preview

    def feed(self, frame: np.ndarray, now: float | None = None) -> list[str]:
        """Handle one frame as the thread does: preview, decode, one event per new slip.

        Returns the texts decoded in this frame. Public so the bench can time exactly
        the driver's per-frame work.
        """
        frame = fit(frame, self.cfg.width, self.cfg.height)
        # INTER_LINEAR, not INTER_AREA: a thumbnail need not be smooth, and AREA costs a
        # quarter of a zxing decode per frame (bench: driver/bare per-frame cost)
        small = cv2.resize(frame, (self.cfg.preview_width, self.cfg.preview_height), interpolation=cv2.INTER_LINEAR)
        self._preview = cv2.cvtColor(small, cv2.COLOR_BGR2RGB) if small.ndim == 3 else cv2.cvtColor(small, cv2.COLOR_GRAY2RGB)
        self._frame_at = time.monotonic() if now is None else now
        texts = decode_frame(self.decoder, frame, self.cfg.fallback, backstop=self._backstop_due)
        now = time.monotonic() if now is None else now
        for text in dict.fromkeys(texts):
            new, _ = self._presence.seen(text, now)
            if new:
                self._emit(SlipScanned(text, self.decoder.name))
        self._presence.expire(now)
        return texts

    def _session(self) -> None:
        self._last_frame = None
        self.source.open()
        self._opened_at = time.monotonic()
        self._capture_loop()

    def _watch_frames(self) -> None:
        """Offline, with the reason, when an open camera gives no frame for frame_timeout_s."""
        limit = self.cfg.frame_timeout_s
        while not self._stop.wait(min(0.25, limit / 4)):
            opened, last, now = self._opened_at, self._last_frame, time.monotonic()
            if opened is None:
                continue
            if last is None and now - opened > limit:
                self._set_online(False, f"{self._label}: opened but no frame in {limit:g} s")
            elif last is not None and now - last > limit:
                self._set_online(False, f"{self._label}: no frame for {limit:g} s")

    def _expected_loss(self, exc: Exception) -> bool:
        return isinstance(exc, SourceLost)

    def _teardown(self) -> None:
        self._opened_at = None
        self._presence.clear()
        self.source.close()

    def _capture_loop(self) -> None:
        # a slip is held up for a second or more: decoding every camera frame would
        # only take CPU from the UI; files and folders play at this rate too
        period = 1.0 / self.cfg.max_fps
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                frame = self.source.read()
            except SourceLost as exc:
                if self._last_frame is None:
                    raise SourceLost(f"opened but no frame: {exc}") from None
                raise
            self._last_frame = time.monotonic()
            self._set_online(True, f"{self.cfg.source} open, frames arriving")
            try:
                self.feed(frame)
            except Exception:  # noqa: BLE001 - a frame the decoder chokes on is not a lost camera
                self.bad_frames += 1
                if self.bad_frames % BAD_FRAME_LOG_EVERY == 1:   # a stream of bad frames must not flood the journal
                    log.exception("camera %s: frame could not be decoded (%d so far)", self.cfg.source, self.bad_frames)
            self._stop.wait(max(0.0, period - (time.monotonic() - started)))

