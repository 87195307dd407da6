"""Hard photos of real slips: a deterministic corpus for the decoder's tests and bench.

Each frame shows a genuine slip token (signed with `domain.slip_token.sign` and a fixed
test key, rendered with segno at error level Q as the office prints it) degraded the
way a gate camera or a resident's photo degrades it: tilt and perspective, motion and
defocus blur, uneven light and glare, low-quality JPEG, small in frame, noise, a hard
shadow, a slip printed with a halftone screen and then photographed, a dim booth at night
(low light: little signal, amplified sensor noise), a slip from a printer low on toner
(faded print with pale streaks), a slip that will not lie flat (curved), and a slip
shown on a phone (dark mode, moiré from the screen's pixel grid, screen glare, low
contrast).

Two parts, never mixed: `TUNED` (seed 1, the ranges below) is what the decoder's
escalation was developed against; `HELD_OUT` (other seeds and shifted ranges) is only
ever measured, so its figure says how the decoder does on photos nobody tuned for.
Nothing here is stored: frames are made on demand, a few milliseconds each.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import segno

from drivers import synth as s

PAPER = 190


@dataclass(frozen=True)
class Part:
    name: str
    seed: int
    #: multiplies the strength of every degradation (1.0: the tuned ranges)
    strength: float
    #: range of the code's height as a fraction of the frame
    fill: tuple[float, float]


TUNED = Part("tuned", seed=1, strength=1.0, fill=(0.25, 0.55))
HELD_OUT = Part("held-out", seed=7919, strength=1.15, fill=(0.2, 0.6))


def tokens(n: int, seed: int) -> list[str]:
    """`n` real slip tokens, signed with a fixed test key (not any office's key)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from domain import slip_token as tok
    from domain.model import SlipItem, TokenClaims

    rng = random.Random(seed)
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    kinds = list(tok.KIND_CODES.values())
    out = []
    for i in range(n):
        start = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(60 * 24 * 60))
        claims = TokenClaims(
            slip_id=f"S{rng.randrange(10**9):09d}", kind=rng.choice(kinds),
            unit_id=f"{rng.randint(1, 30)}-{rng.randint(1, 6)}-{rng.randint(101, 3302)}",
            valid_from=start, valid_until=start + timedelta(hours=rng.choice((4, 24, 72))),
            item_count=rng.randint(1, 12), items_digest=tok.items_digest([SlipItem(f"item{i}", 1, "")]),
            key_id="", exit_gate_id=rng.choice(("", "G1", "EAST2")))
        out.append(tok.sign(claims, key))
    return out


def office_qr(token: str) -> np.ndarray:
    """The QR as the office renders it (segno, level Q, 4-module border), one pixel a module."""
    matrix = np.array(segno.make(token, error="q", boost_error=False).matrix, dtype=np.uint8)
    return np.where(np.pad(matrix, 4) > 0, 0, 255).astype(np.uint8)


def place(code: np.ndarray, width: int, height: int, fill: float, rng: random.Random,
          paper: int = PAPER) -> np.ndarray:
    """Grayscale frame with the code `fill` of the frame height, somewhere near the centre."""
    frame = np.full((height, width), paper, np.uint8)
    size = max(code.shape[0], int(height * fill))
    img = cv2.resize(code, (size, size), interpolation=cv2.INTER_AREA if size < code.shape[0] * 2
                     else cv2.INTER_NEAREST)
    y = max(0, min(height - size, (height - size) // 2 + rng.randint(-height // 10, height // 10)))
    x = max(0, min(width - size, (width - size) // 2 + rng.randint(-width // 8, width // 8)))
    frame[y:y + size, x:x + size] = img
    return frame


# ------------------------------------------------------------ degradations (grayscale)

def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else None
    if out is None:
        raise RuntimeError("JPEG round trip failed")
    return np.asarray(out, dtype=np.uint8)


def glare(img: np.ndarray, rng: random.Random, strength: float) -> np.ndarray:
    """A bright specular spot washing out part of the code."""
    h, w = img.shape[:2]
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    r = rng.uniform(0.08, 0.18) * h * strength
    yy, xx = np.mgrid[0:h, 0:w]
    spot = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r)).astype(np.float32)
    return np.clip(img.astype(np.float32) + spot * 200 * min(1.0, strength), 0, 255).astype(np.uint8)


def shadow(img: np.ndarray, rng: random.Random, strength: float) -> np.ndarray:
    """A hard-edged shadow (a hand, the booth's edge) over part of the code."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    offset = rng.uniform(-0.15, 0.15) * w
    side = (xx - w / 2) * np.cos(angle) + (yy - h / 2) * np.sin(angle) > offset
    dark = max(0.12, 1.0 - rng.uniform(0.55, 0.75) * strength)
    mask = cv2.GaussianBlur(side.astype(np.float32), (0, 0), 2)
    return np.clip(img.astype(np.float32) * (1 - mask * (1 - dark)), 0, 255).astype(np.uint8)


def halftone(img: np.ndarray, cell: int, angle: float) -> np.ndarray:
    """Printed with a dot screen (a cheap office printer, a photocopy), then photographed."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.radians(angle)
    u, v = xx * np.cos(a) + yy * np.sin(a), -xx * np.sin(a) + yy * np.cos(a)
    screen = (np.cos(2 * np.pi * u / cell) * np.cos(2 * np.pi * v / cell) + 1) * 127.5
    return np.where(img.astype(np.float32) > screen, 235, 25).astype(np.uint8)


def phone_screen(code: np.ndarray, width: int, height: int, fill: float, rng: random.Random,
                 dark_mode: bool) -> np.ndarray:
    """A slip shown on a phone, photographed: a bright or dark-mode screen in a dark surround."""
    shown = 255 - code if dark_mode else code
    lo, hi = (20, 200) if not dark_mode else (15, 170)
    shown = (lo + shown.astype(np.float32) * (hi - lo) / 255).astype(np.uint8)
    frame = place(shown, width, height, fill, rng, paper=40)
    return frame


def moire(img: np.ndarray, rng: random.Random, strength: float) -> np.ndarray:
    """The screen's pixel grid beating against the camera's sensor: rippling bands."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, np.pi)
    period = rng.uniform(3.0, 9.0)
    wave = np.sin(2 * np.pi * (xx * np.cos(a) + yy * np.sin(a)) / period)
    grid = np.sin(2 * np.pi * xx / 2.1) * np.sin(2 * np.pi * yy / 2.1)
    depth = 0.25 * strength
    out = img.astype(np.float32) * (1 + depth * wave + 0.1 * strength * grid)
    return np.clip(out, 0, 255).astype(np.uint8)


def low_contrast(img: np.ndarray, span: float) -> np.ndarray:
    """Range squeezed to `span` of itself around mid-grey (a dim screen, a washed-out photo)."""
    f = img.astype(np.float32)
    return np.clip(128 + (f - 128) * span, 0, 255).astype(np.uint8)


def low_light(img: np.ndarray, rng: random.Random, strength: float) -> np.ndarray:
    """A dim booth at night: the sensor gets a fraction of the light, its read and shot noise
    on top, and the camera's auto gain stretches it all (noise included) back up."""
    gain = max(0.05, rng.uniform(0.1, 0.18) / strength)
    dim = img.astype(np.float32) * gain
    shot = np.random.default_rng(rng.randrange(2**31)).normal(0, 1, img.shape).astype(np.float32)
    dim = dim + shot * (np.sqrt(np.maximum(dim, 1)) * 0.6 + 1.2 * strength)
    out = np.clip(dim, 0, 255) * rng.uniform(0.6, 0.9) / gain
    return np.clip(s.blur(out, 0.7), 0, 255).astype(np.uint8)


def faded_print(img: np.ndarray, rng: random.Random, strength: float) -> np.ndarray:
    """A slip from a printer low on toner: grey instead of black, with the pale streaks of a
    worn drum running across it, then photographed slightly soft."""
    h, w = img.shape[:2]
    ink = 1.0 - min(0.8, rng.uniform(0.35, 0.5) * strength)     # fraction of black left
    f = img.astype(np.float32)
    f = 255 - (255 - f) * ink
    streaks = np.ones(h, np.float32)
    for _ in range(rng.randint(2, 5)):
        y, t = rng.randrange(h), rng.randint(2, 8)
        streaks[y:y + t] = rng.uniform(0.3, 0.7)
    f = 255 - (255 - f) * streaks[:, None]
    return np.clip(s.blur(f, 1.0 * strength), 0, 255).astype(np.uint8)


def curved(img: np.ndarray, rng: random.Random, strength: float) -> np.ndarray:
    """A slip that will not lie flat (folded in a pocket, held by one edge): bowed about a
    vertical axis, so its rows bend and its columns bunch up towards the edges."""
    h, w = img.shape[:2]
    bow = rng.uniform(0.04, 0.07) * h * strength                  # how far the middle sags
    bunch = rng.uniform(0.15, 0.3) * strength                      # how much the edges crowd
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    u = (xx - w / 2) / (0.3 * w)                                   # about -1 .. 1 across the slip
    src_x = w / 2 + (xx - w / 2) * (1 + bunch * u * u)
    src_y = yy - bow * (1 - np.minimum(u * u, 4.0) / 2)
    return cv2.remap(img, src_x.astype(np.float32), src_y.astype(np.float32), cv2.INTER_LINEAR,
                     borderValue=PAPER)


def gray_of(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


def bgr(gray: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


# ------------------------------------------------------------ the corpus

Degrade = Callable[[np.ndarray, random.Random, float], np.ndarray]

#: the photo's main fault: name -> function(gray frame, rng, strength)
FAULTS: dict[str, Degrade] = {
    "tilt": lambda g, r, k: gray_of(s.tip(bgr(g), min(80.0, r.uniform(55, 68) * k))),
    "perspective": lambda g, r, k: gray_of(s.perspective(bgr(g), min(0.8, r.uniform(0.45, 0.6) * k))),
    "motion": lambda g, r, k: gray_of(s.motion_blur(s.rotate(bgr(g), r.uniform(-40, 40)), int(r.uniform(5, 9) * k))),
    "defocus": lambda g, r, k: s.blur(g, r.uniform(1.8, 2.8) * k),
    "light+glare": lambda g, r, k: glare(gray_of(s.uneven_light(bgr(g), max(0.08, r.uniform(0.15, 0.3) / k))), r, k),
    "jpeg": lambda g, r, k: jpeg(s.blur(g, 0.8 * k), max(3, int(r.uniform(6, 14) / k))),
    "small": lambda g, r, k: cv2.resize(cv2.resize(g, None, fx=0.55 / k, fy=0.55 / k, interpolation=cv2.INTER_AREA),
                                        (g.shape[1], g.shape[0]), interpolation=cv2.INTER_LINEAR),
    "noise": lambda g, r, k: s.noise(s.blur(g, 1.2 * k), r.uniform(35, 55) * k, seed=r.randrange(2**31)),
    "shadow": lambda g, r, k: shadow(s.blur(g, 1.0), r, k),
    "halftone": lambda g, r, k: s.blur(halftone(s.blur(g, 1.0), r.choice((3, 4)), r.uniform(15, 75)), 1.3 * k),
    "low light": lambda g, r, k: low_light(g, r, k),
    "faded print": lambda g, r, k: faded_print(g, r, k),
    "curved": lambda g, r, k: s.blur(curved(g, r, k), 0.8),
}

#: a phone's screen instead of paper: name -> function(code, rng, strength, part) -> gray frame
SCREENS = ("dark mode", "moiré", "screen glare", "low contrast")
#: every kind of photo, in the order `corpus` cycles through them
KINDS = (*FAULTS, *SCREENS)


def _screen(kind: str, code: np.ndarray, rng: random.Random, k: float, part: Part,
            width: int, height: int) -> np.ndarray:
    fill = rng.uniform(*part.fill)
    if kind == "dark mode":
        g = phone_screen(code, width, height, fill, rng, dark_mode=True)
        return s.noise(s.blur(g, 1.5 * k), 12 * k, seed=rng.randrange(2**31))
    if kind == "moiré":
        g = phone_screen(code, width, height, fill, rng, dark_mode=rng.random() < 0.5)
        return s.blur(moire(g, rng, k), 0.7)
    if kind == "screen glare":
        g = phone_screen(code, width, height, fill, rng, dark_mode=rng.random() < 0.5)
        return glare(s.blur(g, 1.0), rng, 1.3 * k)
    g = phone_screen(code, width, height, fill, rng, dark_mode=rng.random() < 0.5)
    return s.noise(low_contrast(s.blur(g, 1.2), max(0.08, 0.2 / k)), 4 * k, seed=rng.randrange(2**31))


def corpus(part: Part, n: int, width: int = 640, height: int = 480) -> list[tuple[str, str, np.ndarray]]:
    """`n` (kind, token, grayscale frame) of one part, cycling through every fault."""
    rng = random.Random(part.seed)
    texts = tokens(n, part.seed)
    kinds = list(KINDS)
    out = []
    for i, text in enumerate(texts):
        kind = kinds[i % len(kinds)]
        code = office_qr(text)
        k = part.strength * rng.uniform(0.9, 1.1)
        if kind in FAULTS:
            g = place(code, width, height, rng.uniform(*part.fill), rng)
            g = FAULTS[kind](g, rng, k)
        else:
            g = _screen(kind, code, rng, k, part, width, height)
        if rng.random() < 0.5:    # a photo is often sent on as a JPEG
            g = jpeg(g, rng.randint(35, 80))
        out.append((kind, text, g))
    return out


def empty_frames(width: int = 640, height: int = 480, seed: int = 3) -> list[np.ndarray]:
    """Frames with no code in view: a grey booth, a textured wall, a noisy dim scene, printed text."""
    rng = np.random.default_rng(seed)
    flat = np.full((height, width), 120, np.uint8)
    wall = cv2.GaussianBlur(rng.integers(60, 200, (height, width), dtype=np.uint8), (0, 0), 3)
    dim = np.clip(rng.normal(40, 12, (height, width)), 0, 255).astype(np.uint8)
    page = np.full((height, width), 200, np.uint8)
    for y in range(40, height - 40, 22):
        cv2.putText(page, "Item release slip  No. 2026-00042  unit 3-201", (30, y), cv2.FONT_HERSHEY_SIMPLEX,
                    0.55, 30, 1, cv2.LINE_AA)
    return [flat, wall, dim, page]
