"""QR decoding behind one small interface: zxing-cpp or pyzbar, both restricted to QR.

Restricting to QR matters twice: it is faster, and a gate must not act on a 1-D
barcode that happens to be on a parcel. The default is zxing-cpp because the bench
(bench/drivers.py, figures in docs/drivers.md) finds it several times faster and
more reliable on tilted, blurred and badly lit slips; pyzbar stays selectable.

When the plain pass finds nothing, one cheap retry on an unsharp-masked copy
recovers slightly blurred slips (the commonest failure when a hand is moving). It
was chosen over CLAHE, Otsu and adaptive thresholding by decode rate on the
bench's distorted frames; it costs nothing on frames that decode at once.
"""
from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from domain.errors import DriverError

DECODERS = ("zxing", "pyzbar")


class Decoder(Protocol):
    name: str

    def decode(self, gray: np.ndarray) -> list[str]:
        """Texts of the QR codes in an 8-bit grayscale image (empty list: none)."""
        ...


class ZxingDecoder:
    name = "zxing"

    def __init__(self) -> None:
        import zxingcpp
        self._read = zxingcpp.read_barcodes
        self._qr = zxingcpp.BarcodeFormat.QRCode

    def decode(self, gray: np.ndarray) -> list[str]:
        # a single BarcodeFormat is accepted by every zxing-cpp >= 2.2 at run time;
        # the 3.x stubs only admit the BarcodeFormats set type
        return [b.text for b in self._read(gray, formats=self._qr)]  # type: ignore[arg-type]


class PyzbarDecoder:
    name = "pyzbar"

    def __init__(self) -> None:
        try:
            from pyzbar import pyzbar
        except ImportError as exc:  # libzbar0 missing raises ImportError from ctypes lookup
            raise DriverError(f"camera: decoder 'pyzbar' cannot load libzbar ({exc}); "
                              "install it with: sudo apt-get install libzbar0") from None
        self._decode = pyzbar.decode
        self._qr = [pyzbar.ZBarSymbol.QRCODE]

    def decode(self, gray: np.ndarray) -> list[str]:
        return [d.data.decode("utf-8", errors="replace") for d in self._decode(gray, symbols=self._qr)]


def make_decoder(name: str) -> Decoder:
    if name == "zxing":
        return ZxingDecoder()
    if name == "pyzbar":
        return PyzbarDecoder()
    raise DriverError(f"camera: decoder {name!r} is not one of: {', '.join(DECODERS)}")


def to_gray(frame: np.ndarray) -> np.ndarray:
    """Both decoders binarise grayscale internally; converting once saves them the work."""
    if frame.ndim == 2:
        return frame
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def sharpen(gray: np.ndarray) -> np.ndarray:
    """Unsharp mask: restores module edges softened by focus or hand movement."""
    return cv2.addWeighted(gray, 2.0, cv2.GaussianBlur(gray, (0, 0), 3), -1.0, 0)


def decode_frame(decoder: Decoder, frame: np.ndarray, fallback: bool = True) -> list[str]:
    """Decode a BGR or grayscale frame; retry sharpened only if the plain pass finds nothing."""
    gray = to_gray(frame)
    texts = decoder.decode(gray)
    if not texts and fallback:
        texts = decoder.decode(sharpen(gray))
    return texts
