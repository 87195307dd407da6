"""QR decoding behind one small interface: zxing-cpp or pyzbar, both restricted to QR.

Restricting to QR matters twice: it is faster, and a gate must not act on a 1-D
barcode that happens to be on a parcel. The default is zxing-cpp because the bench
(bench/drivers.py, figures in docs/drivers.md) finds it several times faster and
more reliable on tilted, blurred and badly lit slips; pyzbar stays selectable.

`decode_frame` is THE decoder: the camera thread, `gatepass scan` and `gatepass check
--slip-image` all call it. One plain pass first (the bare zxing-cpp call, on grey; on a
frame with nothing brighter than mid-grey, on the frame doubled, see 2.); only
when it reads nothing does it escalate, and only where there is evidence of a symbol, so
a frame with no code in view costs about one library call (bench: "empty-frame cost"):

1. the plain pass searches the whole QR family (Micro QR and rMQR too, at no extra
   cost) and asks for the symbols it found but could not decode (`return_errors=True`);
   only a QR Model 2 text is ever taken, every other symbol is a position to look at;
2. an evidence look, at most two cheap zxing calls (no rotations, no downscaling): the
   frame with its grey levels doubled (a shadowed, dim or faded slip's modules are too
   close for zxing's local binarizer), then FixedThreshold on a half-size copy (noise,
   halftone dots, moiré averaged away); no symbol seen by either: the frame has no code,
   stop. A frame with nothing brighter than mid-grey loses nothing when doubled, so its
   plain pass is already on the doubled frame and the look does not repeat it;
3. on each region seen (cropped with a margin), a short ladder of the libraries' own
   options and simple views, first success wins: zxing on a 2x upscale, on an
   unsharp-masked copy, with the GlobalHistogram binarizer, on a smoothed copy
   (halftone dots, moiré, noise); then pyzbar on the sharpened, upscaled,
   Otsu-thresholded and CLAHE views;
4. last, the other libraries' own plain calls on the whole frame (pyzbar, OpenCV's
   QRCodeDetectorAruco and QRCodeDetector): a slip any of them reads, the gate reads,
   once there is a sign of a symbol. Tens of ms, so only then.

Every library only returns a text whose Reed-Solomon check passed, so a view can make a
code unreadable but not make it read as another text; a damaged code gives nothing
(tests/drivers/test_hard_decode.py).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import cv2
import numpy as np

from domain.errors import DriverError

DECODERS = ("zxing", "pyzbar")


class Decoder(Protocol):
    name: str

    def decode(self, gray: np.ndarray) -> list[str]:
        """Texts of the QR codes in an 8-bit grayscale image (empty list: none)."""
        ...


Box = tuple[int, int, int, int]   # x0, y0, x1, y1


class ZxingDecoder:
    name = "zxing"

    def __init__(self) -> None:
        import zxingcpp
        self._read = zxingcpp.read_barcodes
        # a slip is a full-size QR code (Model 2): only those texts are taken. But the search
        # is for the whole QR family (zxing-cpp 3.x "QRCode": Models 1 and 2, Micro QR, rMQR),
        # at no extra cost: a shadowed or damaged slip is often seen as a Micro QR or rMQR
        # symbol that fails to decode (or decodes as "738", as the bench once found), and
        # its position is the evidence the escalation needs. A Model 2 symbol's format is
        # reported as QRCode; Micro QR and rMQR symbols with formats of their own.
        self._family = zxingcpp.BarcodeFormat.QRCode
        self._only = zxingcpp.BarcodeFormat.QRCode
        self._binarizers = zxingcpp.Binarizer

    def decode(self, gray: np.ndarray) -> list[str]:
        return self.sight(gray)[0]

    def sight(self, gray: np.ndarray, cheap: bool = False, binarizer: str = "",
              invert: bool = True) -> tuple[list[str], list[Box]]:
        """Texts of the QR Model 2 symbols decoded, and boxes of the QR-family symbols
        found that gave no such text (failed to decode, or Micro QR / rMQR).

        `cheap`: no rotated or downscaled retries; `binarizer`: a zxingcpp.Binarizer name
        (LocalAverage, the default; GlobalHistogram; FixedThreshold; BoolCast); `invert`:
        also look for light-on-dark symbols (zxing's `try_invert`, the default)."""
        kw: dict[str, Any] = {"return_errors": True}
        if cheap:
            kw.update(try_rotate=False, try_downscale=False)
        if not invert:
            kw["try_invert"] = False
        if binarizer:
            kw["binarizer"] = getattr(self._binarizers, binarizer)
        # a single BarcodeFormat is accepted by every zxing-cpp >= 2.2 at run time;
        # the 3.x stubs only admit the BarcodeFormats set type
        found = self._read(gray, formats=self._family, **kw)  # type: ignore[arg-type]
        texts = [b.text for b in found if b.valid and b.format == self._only]
        boxes = [] if texts else [_box(b.position) for b in found]
        return texts, boxes


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


def sharpen(gray: np.ndarray, sigma: float = 3.0, amount: float = 1.0) -> np.ndarray:
    """Unsharp mask: restores module edges softened by focus or hand movement."""
    return cv2.addWeighted(gray, 1.0 + amount, cv2.GaussianBlur(gray, (0, 0), sigma), -amount, 0)


def _box(position: Any) -> Box:
    xs = [p.x for p in (position.top_left, position.top_right, position.bottom_right, position.bottom_left)]
    ys = [p.y for p in (position.top_left, position.top_right, position.bottom_right, position.bottom_left)]
    return min(xs), min(ys), max(xs), max(ys)


def _crop(gray: np.ndarray, box: Box, margin: float = 0.3) -> np.ndarray:
    x0, y0, x1, y1 = box
    m = int(max(x1 - x0, y1 - y0) * margin) + 8
    h, w = gray.shape[:2]
    return gray[max(0, y0 - m):min(h, y1 + m), max(0, x0 - m):min(w, x1 + m)]


def _upscale(gray: np.ndarray, limit: int = 1400) -> np.ndarray:
    scale = min(2.0, limit / max(gray.shape[:2]))
    if scale <= 1.0:
        return gray
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def _otsu(gray: np.ndarray) -> np.ndarray:
    return cv2.threshold(cv2.GaussianBlur(gray, (0, 0), 1.5), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]


def _clahe(gray: np.ndarray) -> np.ndarray:
    return cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(gray)


class _Ladder:
    """The escalation's views of one region, each tried until one reads."""

    def __init__(self) -> None:
        self._zxing: ZxingDecoder | None = None
        self._pyzbar: PyzbarDecoder | None = None
        self._pyzbar_missing = False
        self._opencv: list[Any] | None = None

    def zxing(self) -> ZxingDecoder:
        if self._zxing is None:
            self._zxing = ZxingDecoder()
        return self._zxing

    def pyzbar(self) -> PyzbarDecoder | None:
        if self._pyzbar is None and not self._pyzbar_missing:
            try:
                self._pyzbar = PyzbarDecoder()
            except DriverError:   # no libzbar: the ladder does without its second opinion
                self._pyzbar_missing = True
        return self._pyzbar

    def read(self, region: np.ndarray) -> list[str]:
        z = self.zxing()
        up = _upscale(region)
        steps = [
            lambda: z.sight(up)[0],
            lambda: z.sight(sharpen(region, 2.0, 2.0))[0],
            lambda: z.sight(region, binarizer="GlobalHistogram")[0],
            lambda: z.sight(cv2.GaussianBlur(up, (0, 0), 2.0))[0],
        ]
        pz = self.pyzbar()
        if pz is not None:
            steps += [
                lambda: pz.decode(sharpen(up)),
                lambda: pz.decode(up),
                lambda: pz.decode(_otsu(up)),
                lambda: pz.decode(_clahe(region)),
            ]
        for step in steps:
            texts = step()
            if texts:
                return texts
        return []

    def backstop(self, gray: np.ndarray) -> list[str]:
        """The other libraries' own plain calls on the whole frame, last, when a symbol was
        seen and no view of its region read it: whatever bare pyzbar or bare OpenCV
        (QRCodeDetectorAruco, QRCodeDetector) reads, the gate reads too. Dear (tens of ms),
        so never on a frame without a sign of a symbol."""
        pz = self.pyzbar()
        if pz is not None:
            texts = pz.decode(gray)
            if texts:
                return texts
        for detector in self.opencv():
            text = detector.detectAndDecode(gray)[0]
            if text:
                return [text]
        return []

    def opencv(self) -> list[Any]:
        if self._opencv is None:
            self._opencv = [make() for make in (getattr(cv2, "QRCodeDetectorAruco", None), cv2.QRCodeDetector)
                            if make is not None]
        return self._opencv


_LADDER = _Ladder()


def doubled(gray: np.ndarray) -> np.ndarray:
    """Every grey level doubled, saturating at white (cv2.add: a hundredth of a zxing pass).
    zxing's local binarizer leaves an 8x8 block whose range is under 24 grey levels blank;
    in a hard shadow, a dim booth or a faded print the slip's modules are less apart than
    that, doubled they are not. Where the range was 24 or more, the binarization is the
    same (the local threshold scales with the image), but for what saturates."""
    return cv2.add(gray, gray)


def evidence_look(gray: np.ndarray, doubled_done: bool = False) -> tuple[list[str], list[Box]]:
    """Is a QR symbol here that the plain pass did not find? At most two zxing calls
    without rotations or downscaling (`try_rotate=False, try_downscale=False`), each
    looking for the whole QR family, first sight wins:

    1. the frame `doubled`, LocalAverage binarizer, not inverted (a shadowed, dim or faded
       slip), unless the plain pass already ran on it (`doubled_done`) or the frame has
       nothing darker than mid-grey, which doubling would only turn white;
    2. a half-size copy (averaging away noise, halftone dots and moiré) with the
       FixedThreshold binarizer.

    Each may also read the slip outright (a Reed-Solomon checked text)."""
    zx = _LADDER.zxing()
    if not doubled_done and cv2.minMaxLoc(gray)[0] < 128:
        texts, boxes = zx.sight(doubled(gray), cheap=True, invert=False)
        if texts or boxes:
            return texts, boxes
    half = cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2), interpolation=cv2.INTER_AREA)
    texts, small = zx.sight(half, cheap=True, binarizer="FixedThreshold", invert=False)
    return texts, [(2 * x0, 2 * y0, 2 * x1, 2 * y1) for x0, y0, x1, y1 in small]


def decode_frame(decoder: Decoder, frame: np.ndarray, fallback: bool = True,
                 backstop: bool | Callable[[], bool] = True) -> list[str]:
    """Decode a BGR or grayscale frame: a plain pass, then (`fallback`) the escalation,
    only where a symbol was seen but not read. The one decoder of the project.

    `backstop`: whether the last step (the other libraries' bare calls on the whole frame,
    tens of ms) may run; a callable is asked only when it would, so a camera can let it run
    on some frames only (drivers/camera.py: once a second while a slip is in view)."""
    gray = to_gray(frame)
    dark = False
    if isinstance(decoder, ZxingDecoder):
        # a frame with nothing brighter than mid-grey loses nothing when doubled (no level
        # saturates) and gains every block a dim scene left under zxing's contrast floor:
        # the plain pass reads it doubled, and the evidence look need not double it again
        dark = fallback and cv2.minMaxLoc(gray)[1] < 128
        texts, boxes = decoder.sight(doubled(gray) if dark else gray)
    else:
        texts, boxes = decoder.decode(gray), []
    if texts or not fallback:
        return texts
    texts, seen = evidence_look(gray, doubled_done=dark)
    if texts:
        return texts
    if not boxes and not seen:
        return []      # no sign of a QR symbol: a frame with no code ends here
    # the plain pass's failed symbols may be fragments (a Micro QR in a corner of the
    # slip): the evidence look's come first, then theirs
    for box in dict.fromkeys(_regions(seen) + _regions(boxes)):
        texts = _LADDER.read(_crop(gray, box))
        if texts:
            return texts
    if backstop is True or (callable(backstop) and backstop()):
        return _LADDER.backstop(gray)
    return []


def _regions(boxes: list[Box]) -> list[Box]:
    """Where to look harder: all the failed symbols' boxes together first (zxing may report
    a finder pattern's corner, or a fragment of a symbol, as a symbol of its own), then the
    largest of them alone; at most three regions, so escalation stays bounded."""
    if not boxes:
        return []
    union = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    largest = sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)
    return list(dict.fromkeys([union, *largest]))[:3]
