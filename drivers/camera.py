"""Camera capture + QR decode on a background thread, with reopen on loss.

Sources: a V4L2 device (index "0" or path /dev/video0), a video file (looped, for
demos and tests) or a folder of images (cycled). Each frame is decoded off the UI
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
import threading
import time
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

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


def open_source(spec: str, cfg: CameraConfig) -> FrameSource:
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
        texts = decode_frame(self.decoder, frame, self.cfg.fallback)
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

