"""Synthetic camera frames of a slip's QR code: for the demo scanner's preview, the
tests and the bench.

A guard's camera sees a printed slip at an angle, in poor light, slightly out of
focus, creased, or held too close; these functions make such frames from a text
with segno and OpenCV, so decoders are judged on what a gate really sees.
"""
from __future__ import annotations

import cv2
import numpy as np
import segno


def qr_image(text: str, module_px: int, border: int = 4) -> np.ndarray:
    """Black-on-white grayscale QR of `text`, `module_px` pixels per module."""
    matrix = np.array(segno.make_qr(text, error="m").matrix, dtype=np.uint8)
    matrix = np.pad(matrix, border)
    img = np.where(matrix > 0, 0, 255).astype(np.uint8)
    return np.kron(img, np.ones((module_px, module_px), dtype=np.uint8))


def slip_frame(text: str, width: int = 640, height: int = 480, fill: float = 0.5) -> np.ndarray:
    """A BGR frame: a QR covering `fill` of the frame height, centred on grey paper."""
    frame = np.full((height, width), 190, dtype=np.uint8)
    size = int(height * fill)
    code = qr_image(text, 1)
    code = cv2.resize(code, (size, size), interpolation=cv2.INTER_NEAREST)
    y, x = (height - size) // 2, (width - size) // 2
    frame[y:y + size, x:x + size] = code
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


def rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(img, m, (w, h), borderValue=(190, 190, 190))


def perspective(img: np.ndarray, tilt: float) -> np.ndarray:
    """Slip tipped back: the top edge shrinks by `tilt` (0..1) of the width."""
    h, w = img.shape[:2]
    d = tilt * w / 2
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    dst = np.array([[d, tilt * h * 0.2], [w - d, tilt * h * 0.2], [w, h], [0, h]], dtype=np.float32)
    return cv2.warpPerspective(img, cv2.getPerspectiveTransform(src, dst), (w, h),
                               borderValue=(190, 190, 190))


def tip(img: np.ndarray, degrees: float) -> np.ndarray:
    """Slip tipped back by `degrees` about its horizontal centre line, seen by a
    pinhole camera with a 53° horizontal field of view (focal length = frame width)."""
    h, w = img.shape[:2]
    f = float(w)
    a = np.radians(degrees)
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], dtype=np.float64)
    y, z = corners[:, 1] * np.cos(a), corners[:, 1] * np.sin(a) + f
    projected = np.stack([f * corners[:, 0] / z + w / 2, f * y / z + h / 2], axis=1)
    src = (corners + [w / 2, h / 2]).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, projected.astype(np.float32))
    return cv2.warpPerspective(img, m, (w, h), borderValue=(190, 190, 190))


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma)


def motion_blur(img: np.ndarray, length: int) -> np.ndarray:
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    return cv2.filter2D(img, -1, kernel)


def noise(img: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(img.astype(np.float32) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def uneven_light(img: np.ndarray, dark: float) -> np.ndarray:
    """Dim, low-contrast light falling off across the frame (a lamp to one side)."""
    h, w = img.shape[:2]
    ramp = np.linspace(1.0, dark, w, dtype=np.float32)[None, :, None]
    out = img.astype(np.float32) * 0.45 * ramp + 20
    return np.clip(out, 0, 255).astype(np.uint8)


def crease(img: np.ndarray) -> np.ndarray:
    """A fold across the slip: a shadowed band with the halves slightly shifted."""
    h, w = img.shape[:2]
    out = img.copy()
    y = h // 2 + h // 10
    out[y:] = np.roll(img[y:], 2, axis=1)
    out[y - 3:y + 3] = (out[y - 3:y + 3].astype(np.float32) * 0.55).astype(np.uint8)
    return out


def too_close(img: np.ndarray, zoom: float) -> np.ndarray:
    """The slip held close: the frame shows the centre `1/zoom` of the scene."""
    h, w = img.shape[:2]
    ch, cw = int(h / zoom), int(w / zoom)
    y, x = (h - ch) // 2, (w - cw) // 2
    return cv2.resize(img[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_LINEAR)


def distorted_frames(text: str, width: int = 640, height: int = 480) -> list[tuple[str, np.ndarray]]:
    """Named frames of one slip as a gate camera may see it, from mild to hard."""
    base = slip_frame(text, width, height, fill=0.55)
    small = slip_frame(text, width, height, fill=0.4)
    out = [("plain", base)]
    out += [(f"rotate {a}°", rotate(base, a)) for a in (10, 20, 30, 45)]
    out += [(f"perspective {t}", perspective(base, t)) for t in (0.2, 0.35, 0.5)]
    out += [(f"tipped back {a}°", tip(base, a)) for a in (30, 45, 60)]
    out += [(f"blur σ{s}", blur(base, s)) for s in (1.5, 2.5, 3.0, 3.5)]
    out += [(f"motion blur {n}px", motion_blur(base, n)) for n in (7, 9, 13)]
    out += [(f"noise σ{s}", noise(base, s)) for s in (25, 50)]
    out += [(f"uneven light {d}", uneven_light(base, d)) for d in (0.5, 0.3, 0.15)]
    out += [("crease", crease(base)), ("crease + rotate 20°", crease(rotate(base, 20)))]
    out += [(f"too close x{z}", too_close(base, z)) for z in (1.6, 1.9)]
    out += [("small + blur + noise", noise(blur(small, 1.5), 20)),
            ("dim + perspective + noise", noise(perspective(uneven_light(base, 0.4), 0.3), 15))]
    return out
