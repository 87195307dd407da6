"""Demo-mode stand-ins for the reader and the camera (port / source "fake").

They emit exactly the events the real drivers emit, so the kiosk runs a full gate
procedure on a laptop; a demo script or a debug key calls `present()` / `show()`.
GPIO needs no fake of ours: pin_factory "mock" is gpiozero's own MockFactory.
"""
from __future__ import annotations

import threading

import cv2
import numpy as np

from drivers.config import CameraConfig
from drivers.events import CardRead, CardRemoved, DeviceHealth, SlipScanned
from drivers.interfaces import Emit


class FakeReader:
    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self._online = False
        self._present: str | None = None

    @property
    def online(self) -> bool:
        return self._online

    def start(self) -> None:
        self._online = True
        self._emit(DeviceHealth("reader", True, "fake reader (demo)"))

    def stop(self) -> None:
        self._online = False

    def present(self, uid: str) -> None:
        """A card laid on the reader: CardRead (after CardRemoved of a card still lying there)."""
        if self._present == uid:
            return
        self.remove()
        self._present = uid
        self._emit(CardRead(uid, "fake"))

    def remove(self) -> None:
        if self._present is not None:
            self._emit(CardRemoved(self._present))
            self._present = None


class FakeScanner:
    def __init__(self, emit: Emit, cfg: CameraConfig | None = None) -> None:
        self._emit = emit
        self._cfg = cfg or CameraConfig()
        self._online = False
        self._lock = threading.Lock()
        self._preview = self._frame("")

    @property
    def online(self) -> bool:
        return self._online

    def start(self) -> None:
        self._online = True
        self._emit(DeviceHealth("camera", True, "fake camera (demo)"))

    def stop(self) -> None:
        self._online = False

    def show(self, text: str) -> None:
        """A slip held up to the camera: SlipScanned, and the preview shows its QR code."""
        with self._lock:
            self._preview = self._frame(text)
        self._emit(SlipScanned(text, "fake"))

    def preview(self) -> np.ndarray:
        with self._lock:
            return self._preview

    def _frame(self, text: str) -> np.ndarray:
        """Grey paper, with the QR of `text` when one is shown, in preview size and RGB."""
        w, h = self._cfg.preview_width, self._cfg.preview_height
        frame = np.full((h, w, 3), 190, np.uint8)
        if text:
            from drivers.synth import qr_image
            side = h - 10
            code = cv2.resize(qr_image(text, 1), (side, side), interpolation=cv2.INTER_AREA)
            x = (w - side) // 2
            frame[5:5 + side, x:x + side] = code[:, :, None]
        return frame
