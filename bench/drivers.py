"""Benchmarks of the hardware edge: reader latency, QR decode cost and decode rate.

`run(quick)` returns rows {"name", "value", "unit", "target", "met"}; run standalone
with `python -m bench.drivers [--quick]`, which prints them as JSON. Everything is
generated here (a pty pair for the reader, synthetic slips for the camera), so the
figures are reproducible on any machine; docs/drivers.md records one run.
"""
from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
import tty
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

SLIP = ("GP1.eyJzbGlwIjoiUi1LRjAwMS0yMDI2LTAwMDQyIiwidW5pdCI6IjMtMjAxIiwidiI6MX0."
        "Q2hhcmFjdGVycy1vZi1hbi1lZDI1NTE5LXNpZ25hdHVyZS1pbi1iYXNlNjR1cmwtZm9ybQ")


def row(name: str, value: float, unit: str, target: str | None = None, met: bool | None = None) -> dict[str, Any]:
    return {"name": name, "value": round(float(value), 3), "unit": unit, "target": target, "met": met}


def pct(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


# ---------------------------------------------------------------------- reader

class CardLatch:
    """The reader's emit for a latency run: when the reader is online, and when each CardRead arrives."""

    def __init__(self) -> None:
        from drivers.events import CardRead, DeviceHealth

        self._card, self._health = CardRead, DeviceHealth
        self.online = threading.Event()
        self._got = threading.Event()
        self._stamp: list[float] = []

    def emit(self, ev: Any) -> None:
        if isinstance(ev, self._card):
            self._stamp.append(time.perf_counter())
            self._got.set()
        elif isinstance(ev, self._health) and ev.online:
            self.online.set()

    def run(self, samples: int, send: Callable[[int], None], last: Callable[[int], None]) -> tuple[list[float], int]:
        """Per sample: ``send(i)`` what comes before the card's last byte, then time ``last(i)`` -> CardRead.
        Returns the latencies (ms) and how many never arrived within a second."""
        latencies: list[float] = []
        lost = 0
        for i in range(samples):
            send(i)
            self._got.clear()
            self._stamp.clear()
            last(i)
            t0 = time.perf_counter()
            if self._got.wait(1.0):
                latencies.append((self._stamp[0] - t0) * 1000)
            else:
                lost += 1
            time.sleep(0.005)
        return latencies, lost


def reader_latency(samples: int) -> list[dict[str, Any]]:
    """Last byte of an RDM6300 frame written to the pty master -> CardRead delivered."""
    from drivers.config import ReaderConfig
    from drivers.reader import SerialCardReader

    master, slave = os.openpty()
    tty.setraw(slave)
    latch = CardLatch()
    reader = SerialCardReader(ReaderConfig(port=os.ttyname(slave), removal_gap_s=5.0), latch.emit)
    reader.start()

    def frame(i: int) -> None:
        uid = (0x0A00000000 + i).to_bytes(5, "big")   # a new card each time: one event each
        xor = 0
        for b in uid:
            xor ^= b
        os.write(master, b"\x02" + (uid.hex().upper() + f"{xor:02X}").encode() + b"\x03")

    try:
        if not latch.online.wait(5):
            raise RuntimeError("bench: reader did not open the pty")
        latencies, lost = latch.run(samples, lambda i: None, frame)
    finally:
        reader.stop()
        os.close(master)
        os.close(slave)
    p50, p99 = pct(latencies, 50), pct(latencies, 99)
    return [row("reader latency p50 (pty, rdm6300)", p50, "ms", "<= 10 ms", p50 <= 10),
            row("reader latency p99 (pty, rdm6300)", p99, "ms", "<= 50 ms", p99 <= 50),
            row("reader frames lost", lost, "frames", "0", lost == 0)]


def hid_latency(samples: int) -> list[dict[str, Any]]:
    """Enter's key-down record written to the reader's FIFO -> CardRead delivered (protocol hid).

    No input device can be made here (no /dev/uinput): the records go through a FIFO and
    evdev's own C reader (drivers/keypipe.py). A real wedge reader adds its typing time on
    top (11 keys at the pace of its USB reports), not measured here.
    """
    import tempfile
    from pathlib import Path

    from drivers.config import ReaderConfig
    from drivers.hid import HidCardReader
    from drivers.keypipe import FifoOpener, WedgeTyper, keystrokes

    latch = CardLatch()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "usb-reader-event-kbd"
        typer = WedgeTyper(path)
        reader = HidCardReader(ReaderConfig(port=str(path), protocol="hid", removal_gap_s=5.0), latch.emit, None,
                               FifoOpener())
        reader.start()
        cards: dict[int, list] = {}

        def digits(i: int) -> None:
            cards[i] = keystrokes(f"{1_000_000 + i:010d}\n", start=time.monotonic(), every=0.0)  # a new card each time
            typer.write(cards[i][:-4])              # the digits, and Enter's scan code

        try:
            if not latch.online.wait(5):
                raise RuntimeError("bench: hid reader did not open its FIFO")
            # Enter down (the number ends here), sync, up, sync
            latencies, lost = latch.run(samples, digits, lambda i: typer.write(cards.pop(i)[-4:]))
        finally:
            reader.stop()
            typer.close()
    p50, p99 = pct(latencies, 50), pct(latencies, 99)
    return [row("reader latency p50 (FIFO, hid)", p50, "ms", "<= 10 ms", p50 <= 10),
            row("reader latency p99 (FIFO, hid)", p99, "ms", "<= 50 ms", p99 <= 50),
            row("hid numbers lost", lost, "numbers", "0", lost == 0)]


# ---------------------------------------------------------------------- camera

def random_frames(n: int, width: int, height: int, seed: int = 1) -> list[tuple[str, np.ndarray]]:
    """Slips under 1-3 random distortions each, as a gate camera may see them."""
    from drivers import synth as s
    rng = random.Random(seed)
    ops: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
        "rotate": lambda f, i: s.rotate(f, rng.uniform(-45, 45)),
        "perspective": lambda f, i: s.perspective(f, rng.uniform(0.1, 0.5)),
        "blur": lambda f, i: s.blur(f, rng.uniform(0.8, 3.0)),
        "motion": lambda f, i: s.motion_blur(f, rng.randint(3, 11)),
        "noise": lambda f, i: s.noise(f, rng.uniform(5, 40), seed=i),
        "light": lambda f, i: s.uneven_light(f, rng.uniform(0.15, 0.7)),
        "crease": lambda f, i: s.crease(f),
        "close": lambda f, i: s.too_close(f, rng.uniform(1.2, 1.8)),
    }
    out = []
    for i in range(n):
        frame = s.slip_frame(SLIP, width, height, fill=rng.uniform(0.3, 0.7))
        names = rng.sample(sorted(ops), k=rng.randint(1, 3))
        for name in names:
            frame = ops[name](frame, i)
        out.append(("+".join(names), frame))
    return out


def bare_call(decoder: str) -> Callable[[np.ndarray], list[str]]:
    """The least a caller must do to decode a BGR frame with each library alone."""
    if decoder == "zxing":
        import zxingcpp
        # the slip's format, the only texts drivers/qr.py takes
        fmt = getattr(zxingcpp.BarcodeFormat, "QRCodeModel2", zxingcpp.BarcodeFormat.QRCode)
        return lambda f: [b.text for b in zxingcpp.read_barcodes(f, formats=fmt)]  # type: ignore[arg-type]
    if decoder in ("QRCodeDetector", "QRCodeDetectorAruco"):
        detector = getattr(cv2, decoder)()

        def opencv(f: np.ndarray) -> list[str]:
            text = detector.detectAndDecode(f)[0]
            return [text] if text else []
        return opencv
    from pyzbar import pyzbar
    qr = [pyzbar.ZBarSymbol.QRCODE]
    return lambda f: [d.data.decode() for d in pyzbar.decode(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), symbols=qr)]


#: the bare libraries a phone app or a guard's own tool may use: name -> bare_call's name
BARE = {"bare zxing-cpp": "zxing", "bare pyzbar": "pyzbar", "bare OpenCV QRCodeDetector": "QRCodeDetector",
        "bare OpenCV QRCodeDetectorAruco": "QRCodeDetectorAruco"}


def timed(fn: Callable[[np.ndarray], Any], frames: list[np.ndarray], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        for f in frames:
            t0 = time.perf_counter()
            fn(f)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def paired(a: Callable[[np.ndarray], Any], b: Callable[[np.ndarray], Any], frames: list[np.ndarray],
           repeat: int) -> tuple[list[float], list[float]]:
    """Time `a` and `b` back to back on each frame, so load from other processes hits both alike."""
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(repeat):
        for f in frames:
            ta += timed(a, [f], 1)
            tb += timed(b, [f], 1)
    return ta, tb


def decode_cost(quick: bool) -> list[dict[str, Any]]:
    from drivers import synth
    from drivers.camera import CameraScanner
    from drivers.config import CameraConfig

    rows = []
    repeat = 3 if quick else 10
    for width, height in ((640, 480), (1280, 720)):
        slips = [f for _, f in synth.distorted_frames(SLIP, width, height)]
        readable = {}
        for decoder in ("zxing", "pyzbar"):
            bare = bare_call(decoder)
            readable[decoder] = [f for f in slips if SLIP in bare(f)]
        # time on frames both decoders read, so neither is charged for giving up
        both = [f for f in readable["zxing"] if any(f is g for g in readable["pyzbar"])]
        empty = [np.full((height, width, 3), v, np.uint8) for v in (120, 190)]
        for decoder in ("zxing", "pyzbar"):
            bare = bare_call(decoder)
            scanner = CameraScanner(CameraConfig(source="bench", decoder=decoder, width=width, height=height),
                                    lambda ev: None, source=_NoSource())
            def through_driver(f: np.ndarray, s: CameraScanner = scanner) -> Any:
                return s.feed(f, 0.0)
            t_bare, t_driver = paired(bare, through_driver, both, repeat)
            t_empty = timed(through_driver, empty, repeat * 5)
            res = f"{width}x{height}"
            rows += [row(f"qr decode {decoder} {res} p50", pct(t_driver, 50), "ms"),
                     row(f"qr decode {decoder} {res} p99", pct(t_driver, 99), "ms"),
                     row(f"qr decode {decoder} {res} no slip in view (with fallback) p50", pct(t_empty, 50), "ms")]
            ratio = pct([d / b for d, b in zip(t_driver, t_bare)], 50)   # median of per-frame ratios
            rows.append(row(f"driver/bare per-frame cost {decoder} {res}", ratio, "ratio", "<= 1.2", ratio <= 1.2))
    return rows


class _NoSource:
    """The bench feeds frames itself; the scanner's thread is never started."""

    def open(self) -> None: ...
    def read(self) -> np.ndarray: raise RuntimeError("not used")
    def close(self) -> None: ...


def decode_rate(quick: bool) -> list[dict[str, Any]]:
    from drivers import synth
    from drivers.qr import decode_frame, make_decoder

    named = synth.distorted_frames(SLIP)
    rand = random_frames(40 if quick else 240, 640, 480)
    rows = []
    for decoder_name in ("zxing", "pyzbar"):
        decoder = make_decoder(decoder_name)
        for fallback in (False, True):
            label = "with fallback" if fallback else "plain"
            ok_named = [SLIP in decode_frame(decoder, f, fallback) for _, f in named]
            ok_rand = [SLIP in decode_frame(decoder, f, fallback) for _, f in rand]
            rows.append(row(f"decode rate {decoder_name} {label}: graded set ({len(named)} frames)",
                            100 * sum(ok_named) / len(named), "%"))
            rows.append(row(f"decode rate {decoder_name} {label}: random distortions ({len(rand)} frames)",
                            100 * sum(ok_rand) / len(rand), "%"))
            if fallback:
                missed = [n for (n, _), ok in zip(named, ok_named) if not ok]
                print(f"bench: {decoder_name} with fallback misses: {', '.join(missed) or 'none'}", file=sys.stderr)
    return rows


def tip_limit() -> list[dict[str, Any]]:
    """Steepest tip (slip tipped back, 5° steps) up to which every angle decodes, plain pass."""
    from drivers import synth
    from drivers.qr import decode_frame, make_decoder

    base = synth.slip_frame(SLIP, fill=0.55)
    rows = []
    for decoder_name in ("zxing", "pyzbar"):
        decoder = make_decoder(decoder_name)
        limit = 0
        for angle in range(5, 85, 5):
            if SLIP not in decode_frame(decoder, synth.tip(base, angle), fallback=False):
                break
            limit = angle
        rows.append(row(f"steepest tip read {decoder_name} 640x480", limit, "degrees"))
    return rows


def hard_photos(quick: bool) -> list[dict[str, Any]]:
    """Decode rate on hard photos of real signed slips (drivers/hardcorpus.py): each bare
    library (zxing-cpp, pyzbar, OpenCV's two QR detectors; OpenCV's WeChat detector is
    only in opencv-contrib, not installed), their union and the gatepass decoder, on the
    tuned part and, per kind, on the held-out part the decoder was never tuned on; the
    photos some bare library reads and gatepass does not (target 0), texts other than the
    slip's (target 0), and what a frame with a code costs gatepass (the camera decodes
    every frame while a slip is in view) next to one bare zxing-cpp call."""
    from drivers import hardcorpus
    from drivers.camera import CameraScanner
    from drivers.config import CameraConfig
    from drivers.qr import decode_frame, make_decoder

    bare = {name: bare_call(lib) for name, lib in BARE.items() if lib in ("zxing", "pyzbar") or hasattr(cv2, lib)}
    gatepass = make_decoder("zxing")
    # the camera's own path: every photo a frame 1/15 s after the last (the last step at
    # most once a second, drivers/camera.py BACKSTOP_EVERY_S)
    camera = CameraScanner(CameraConfig(source="bench"), lambda ev: None, source=_NoSource())
    per_kind = 3 if quick else 20
    n = per_kind * len(hardcorpus.KINDS)
    rows = []
    for part in (hardcorpus.TUNED, hardcorpus.HELD_OUT):
        label = f"{part.name} ({n} photos)"
        got: dict[str, list[bool]] = {name: [] for name in [*bare, "union of bare", "gatepass"]}
        kinds: list[str] = []
        wrong = 0
        t_gate: dict[bool, list[float]] = {True: [], False: []}     # read / not read -> ms
        t_camera: list[float] = []
        ratios: list[float] = []
        for i, (kind, text, gray) in enumerate(hardcorpus.corpus(part, n)):
            frame = hardcorpus.bgr(gray)
            kinds.append(kind)
            for name, read in bare.items():
                texts = read(frame)
                wrong += any(t != text for t in texts)
                got[name].append(text in texts)
            got["union of bare"].append(any(got[name][-1] for name in bare))
            t0 = time.perf_counter()
            texts = decode_frame(gatepass, frame)
            t1 = time.perf_counter()
            bare["bare zxing-cpp"](frame)
            t2 = time.perf_counter()
            wrong += any(t != text for t in texts)
            got["gatepass"].append(text in texts)
            t_gate[text in texts].append((t1 - t0) * 1000)
            ratios.append((t1 - t0) / (t2 - t1))
            if part is hardcorpus.HELD_OUT:
                t0 = time.perf_counter()
                camera.feed(frame, 1000.0 + i / 15)
                t_camera.append((time.perf_counter() - t0) * 1000)
        for name, ok in got.items():
            rows.append(row(f"hard photos decode rate {name}: {label}", 100 * sum(ok) / n, "%"))
        left = [kind for kind, u, g in zip(kinds, got["union of bare"], got["gatepass"]) if u and not g]
        rows.append(row(f"hard photos read by some bare library but not by gatepass: {label}", len(left), "photos",
                        "0", not left))
        if left:
            print(f"bench: hard photos {part.name} left to gatepass: {', '.join(left)}", file=sys.stderr)
        rows.append(row(f"hard photos wrong texts, any decoder: {part.name}", wrong, "texts", "0", wrong == 0))
        if part is hardcorpus.HELD_OUT:
            for kind in hardcorpus.KINDS:
                idx = [i for i, k in enumerate(kinds) if k == kind]
                for name, ok in got.items():
                    rows.append(row(f"hard photos {part.name} {kind}: {name}", sum(ok[i] for i in idx), f"of {len(idx)}"))
            for read_ok, what in ((True, "read"), (False, "not read")):
                ms = t_gate[read_ok]
                if ms:
                    rows += [row(f"frame with a code, gatepass, {what} ({len(ms)}): {part.name} p50", pct(ms, 50), "ms"),
                             row(f"frame with a code, gatepass, {what} ({len(ms)}): {part.name} p90", pct(ms, 90), "ms"),
                             row(f"frame with a code, gatepass, {what} ({len(ms)}): {part.name} max", max(ms), "ms")]
            rows.append(row(f"frame with a code, gatepass/bare zxing, median per frame: {part.name}", pct(ratios, 50),
                            "ratio"))
            rows += [row(f"frame with a code through the camera at 15 fps ({n}): {part.name} {q}", v, "ms")
                     for q, v in (("p50", pct(t_camera, 50)), ("p90", pct(t_camera, 90)), ("max", max(t_camera)))]
    return rows


def empty_frame_cost(quick: bool) -> list[dict[str, Any]]:
    """A frame with no code in view through the gatepass decoder (plain pass + evidence look),
    per frame, divided by the bare zxing-cpp call on the same frame, back to back: the median
    over all four empty frames (the target), and each frame's own median."""
    from drivers import hardcorpus
    from drivers.qr import decode_frame, make_decoder

    zxing = bare_call("zxing")
    decoder = make_decoder("zxing")
    names = ("flat booth", "textured wall", "dim noisy scene", "printed page")   # hardcorpus.empty_frames
    rows = []
    for width, height in ((640, 480), (1280, 720)):
        frames = [hardcorpus.bgr(g) for g in hardcorpus.empty_frames(width, height)]
        every: list[float] = []
        each = []
        t_all: list[float] = []
        for name, frame in zip(names, frames):
            t_bare, t_ours = paired(zxing, lambda f: decode_frame(decoder, f), [frame], 10 if quick else 50)
            r = [o / b for o, b in zip(t_ours, t_bare)]
            every += r
            t_all += t_ours
            each.append(row(f"empty-frame cost gatepass/bare zxing {width}x{height}, {name}", pct(r, 50), "ratio"))
        ratio = pct(every, 50)
        rows += [row(f"empty-frame cost gatepass/bare zxing {width}x{height}", ratio, "ratio", "<= 1.2", ratio <= 1.2),
                 *each, row(f"empty-frame gatepass decoder {width}x{height} p50", pct(t_all, 50), "ms")]
    return rows


def run(quick: bool) -> list[dict[str, Any]]:
    cv2.setNumThreads(1)   # as on the kiosk: decode shares the Pi with the UI loop
    return (reader_latency(60 if quick else 400) + hid_latency(60 if quick else 400) + decode_cost(quick) + decode_rate(quick) + tip_limit()
            + hard_photos(quick) + empty_frame_cost(quick))


if __name__ == "__main__":
    quick = "--quick" in sys.argv[1:]
    print(json.dumps(run(quick), indent=1, ensure_ascii=False))
