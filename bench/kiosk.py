"""Kiosk benchmarks: decision latency, frame rate, memory. `python -m bench.kiosk [--quick]`.

Measured in-process with SDL's dummy video driver, so "flip" costs nothing here; on a
Pi with kmsdrm add the panel's flip time. Latency is measured the way a guard sees it:
a reader thread presents cards at random moments while the real frame loop runs at
the configured 30 fps, and the clock stops when the first frame showing the decision
has been flipped. Memory is measured in a fresh child process so that building the
demo estate (OpenCV, 100,000 rows) does not count against the kiosk.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

PERMITS = 100_000
SIZE = (800, 480)


def _result(name: str, value: float, unit: str, target: str | None, met: bool | None) -> dict[str, Any]:
    from bench.common import figure

    return figure(name, round(float(value), 2), unit, target, met)


def _kiosk(data_dir: Path, demo: Any) -> Any:
    from kiosk.app import assemble, demo_config
    from kiosk.config import KioskConfig

    for suffix in ("", "-wal", "-shm"):
        (data_dir / f"exitlog.db{suffix}").unlink(missing_ok=True)
    return assemble(demo_config(KioskConfig(), data_dir), demo=demo, monitor_thread=False)


def _uids(n_permits: int, k: int, rng: random.Random) -> list[str]:
    """Card UIDs of random residents, as kiosk/demo.py numbers them."""
    return [f"{0x3C00000000 + i * 7919 + 17:010X}" for i in (rng.randrange(n_permits) for _ in range(k))]


def bench_latency(kiosk: Any, demo: Any, samples: int, n_permits: int) -> list[dict[str, Any]]:
    import pygame

    from drivers.events import CardRead
    from kiosk.app import OffsetClock
    from kiosk.core.events import Action, Press
    from kiosk.ui.loop import make_session

    pygame.display.init()
    screen = pygame.display.set_mode(SIZE)
    session = make_session(kiosk, SIZE)
    clock = OffsetClock(demo.now)
    badge, pin, _, _ = demo.guards[0]
    c = kiosk.controller
    c.handle_raw(CardRead(badge), clock.now())
    for d in pin:
        c.press(Press(Action.DIGIT, d), clock.now())
    c.press(Press(Action.PIN_SUBMIT), clock.now())

    rng = random.Random(1)
    uids = _uids(n_permits, samples, rng)
    sent: list[float] = []          # emit times, in order (the loop handles cards in order)
    lock = threading.Lock()
    done = threading.Event()

    # The card comes in as a real RDM6300 frame written to a pseudo-terminal, read by the
    # real serial driver, so the figure runs from the frame's last byte to the flipped frame.
    import os
    import tty

    from drivers.config import ReaderConfig
    from drivers.reader import SerialCardReader

    master, slave = os.openpty()
    tty.setraw(slave)
    serial_reader = SerialCardReader(ReaderConfig(port=os.ttyname(slave), removal_gap_s=0.02), c.emit)
    serial_reader.start()

    def reader() -> None:
        time.sleep(0.5)                       # the driver opens the port
        for uid in uids:
            time.sleep(rng.uniform(0.03, 0.09))
            raw = bytes.fromhex(uid)
            xor = 0
            for b in raw:
                xor ^= b
            frame = b"\x02" + (uid + f"{xor:02X}").encode() + b"\x03"
            os.write(master, frame)
            with lock:
                sent.append(time.perf_counter())
        done.set()

    handled: list[str] = []
    original = c.handle_raw

    def tracking(raw: object, now: Any) -> None:
        original(raw, now)
        if isinstance(raw, CardRead):
            handled.append(raw.uid)

    c.handle_raw = tracking
    latencies: list[float] = []
    period = 1.0 / kiosk.cfg.display.fps
    for _ in range(3):          # warm up: first frames open fonts and fill glyph caches
        session.update(clock.now())
        session.draw(screen, clock.now())
    threading.Thread(target=reader, daemon=True).start()
    deadline = time.monotonic() + samples * 0.2 + 10
    while (not done.is_set() or sent) and time.monotonic() < deadline:
        started = time.monotonic()
        pygame.event.pump()
        now = clock.now()
        session.update(now)
        session.draw(screen, now)
        pygame.display.flip()
        flipped = time.perf_counter()
        with lock:
            for _uid in handled:
                latencies.append((flipped - sent.pop(0)) * 1000)
        handled.clear()
        if done.is_set() and not c.events.qsize() and not sent:
            break
        c.wait(period - (time.monotonic() - started))      # as the live loop does (kiosk/ui/loop.py)
    c.handle_raw = original
    serial_reader.stop()
    os.close(master)
    os.close(slave)
    from bench.common import percentile

    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    limit = 2 * 1000 / kiosk.cfg.display.fps
    return [
        _result("card_decision_latency_p50", p50, "ms", f"<= {limit:.0f} (2 frames)", p50 <= limit),
        _result("card_decision_latency_p99", p99, "ms", f"<= {limit:.0f} (2 frames)", p99 <= limit),
        _result("card_decision_samples", len(latencies), f"cards, {n_permits} permits in replica", None, None),
        _result("card_decision_lost", len(uids) - len(latencies), "cards", "0", len(uids) == len(latencies)),
    ]


def bench_fps(kiosk: Any, demo: Any, seconds: float) -> list[dict[str, Any]]:
    """Uncapped draw+flip rate of the idle scene (new camera preview every frame), a slip scene, and
    the visitor form's plate pad (the screen with the most keys: 36 of them and three buttons)."""
    import numpy as np
    import pygame

    from drivers.events import CardRead, SlipScanned
    from kiosk.app import OffsetClock
    from kiosk.core.events import Action, Press
    from kiosk.core.flow import Scene
    from kiosk.ui.loop import make_session

    pygame.display.init()
    screen = pygame.display.set_mode(SIZE)
    frames = [np.random.default_rng(i).integers(0, 255, (120, 160, 3), dtype=np.uint8) for i in range(8)]

    class Camera:
        n = 0

        def preview(self) -> Any:
            self.n += 1
            return frames[self.n % len(frames)]

    session = make_session(kiosk, SIZE)
    session.scanner = Camera()
    clock = OffsetClock(demo.now)
    out = []
    c = kiosk.controller
    for name, setup in (("idle", None), ("slip", "owner"), ("visitor_plate", "visitor")):
        if setup == "visitor":
            c.press(Press(Action.CANCEL), clock.now())
            if c.state.guard is None:                # the form is the guard's: sign one in first
                badge, pin, _, _ = next(g for g in demo.guards if g[2] != "supervisor")
                c.handle_raw(CardRead(badge), clock.now())
                for d in pin:
                    c.press(Press(Action.DIGIT, d), clock.now())
                c.press(Press(Action.PIN_SUBMIT), clock.now())
            deadline = time.monotonic() + 30
            while (c.state.guard is None or c.recording) and time.monotonic() < deadline:
                session.update(clock.now())          # the shift_start row commits on the writer thread
                time.sleep(0.01)
            c.press(Press(Action.CANCEL), clock.now())
            for press in (Press(Action.VISITOR), Press(Action.KEY, "粤"), Press(Action.KEY, "B")):
                c.press(press, clock.now())
        elif setup:
            c.press(Press(Action.CANCEL), clock.now())
            c.handle_raw(SlipScanned(demo.slips[setup]), clock.now())
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            pygame.event.pump()
            now = clock.now()
            session.update(now)
            session.draw(screen, now, force=True)      # the cost of a full repaint, every frame
            pygame.display.flip()
            n += 1
        fps = n / (time.perf_counter() - t0)
        assert name != "slip" or session.scene in (Scene.SLIP_ITEMS, Scene.REFUSED)
        assert name != "visitor_plate" or session.scene is Scene.VISITOR_PLATE, session.scene
        out.append(_result(f"fps_{name}_{SIZE[0]}x{SIZE[1]}", fps, "fps", ">= 30", fps >= 30))
    return out


def bench_slow_card(releases: int) -> list[dict[str, Any]]:
    """The live frame loop (kiosk/ui/loop.py FrameLoop, SDL dummy) releasing slips while its
    exit log sits on a throttled block device (bench/slowdisk.py): how long the guard
    waits for "released" after signing off, and the worst frame meanwhile. The screen
    must keep drawing ("recording…") while the card takes its time to fsync."""
    from dataclasses import replace

    from bench.common import skipped
    from bench.slowdisk import SLOW_CARD_WRITE_IOPS, Unavailable, throttled_dir
    from kiosk.app import OffsetClock, assemble, demo_config
    from kiosk.config import KioskConfig
    from kiosk.demo import build_demo
    from kiosk.ui.loop import FrameLoop

    card_name = f"slow card ({SLOW_CARD_WRITE_IOPS} write IOPS)"
    tmp = Path(tempfile.mkdtemp(prefix="gatepass-bench-slowcard-"))
    try:
        with throttled_dir() as card:
            demo = build_demo(tmp, permits=200)
            cfg = demo_config(KioskConfig(), tmp)
            cfg = replace(cfg, store=replace(cfg.store, exit_log=str(card / "exitlog.db")))
            kiosk = assemble(cfg, demo=demo, monitor_thread=False)
            try:
                loop = FrameLoop(kiosk, OffsetClock(demo.now), False, {}, ())
                return _slow_card_frames(kiosk, demo, loop, releases, card_name)
            finally:
                kiosk.close()
    except Unavailable as exc:
        return [skipped(f"{card_name}: worst frame while a release commits", str(exc))]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _slow_card_frames(kiosk: Any, demo: Any, loop: Any, releases: int, card_name: str) -> list[dict[str, Any]]:
    from datetime import timedelta

    from bench.common import percentile
    from domain import slip_token
    from domain.keyfiles import load_private
    from domain.model import SlipKind, TokenClaims
    from drivers.events import CardRead, SlipScanned
    from kiosk.core.events import Action, Press
    from kiosk.core.flow import Scene

    c, s = kiosk.controller, loop.session
    badge, pin, _, _ = demo.guards[0]
    key = load_private(demo.keys_dir)
    work: list[float] = []          # each frame's own time while a commit is in flight (input to flip)
    gaps: list[float] = []          # time between the starts of consecutive frames meanwhile
    waits: list[float] = []         # sign-off to the flipped frame showing "released"

    def until(done: Any, limit: float = 30.0) -> None:
        deadline = time.monotonic() + limit
        last = time.perf_counter()
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError(f"slow-card bench: stuck on the {s.scene.value} screen")
            started = time.perf_counter()
            busy = c.recording
            loop.frame()
            if busy or c.recording:
                work.append(loop.work_s * 1000)
                gaps.append((started - last) * 1000)
            last = started

    try:
        loop.start()
        c.emit(CardRead(badge))
        until(lambda: s.scene is Scene.SIGN_IN_PIN)
        for d in pin:
            s.press(Press(Action.DIGIT, d), loop.clock.now())
        s.press(Press(Action.PIN_SUBMIT), loop.clock.now())
        until(lambda: c.state.guard is not None and not c.recording)
        now = loop.clock.now()
        for i in range(releases):
            text = slip_token.sign(TokenClaims(f"B{i:09d}", SlipKind.OWNER, "1-1-201", now - timedelta(hours=1),
                                               now + timedelta(days=1), 2, "00" * 8, ""), key)
            c.emit(SlipScanned(text))
            until(lambda: s.scene is Scene.SLIP_ITEMS)
            s.press(Press(Action.ALL_MATCH), loop.clock.now())
            s.press(Press(Action.CONFIRM_IDENTITY), loop.clock.now())
            t0 = time.perf_counter()
            c.emit(CardRead(badge))                        # the guard signs off with the badge
            until(lambda: s.scene is Scene.RELEASED)
            waits.append((time.perf_counter() - t0) * 1000)
            s.press(Press(Action.CANCEL), loop.clock.now())
    finally:
        loop.close()
    wait50 = percentile(waits, 50)
    worst = max(work) if work else 0.0
    gap = max(gaps) if gaps else 0.0
    target = f"< 100 ms while a commit takes ≥ 500 ms (here {wait50:.0f} ms)"
    return [
        _result(f"{card_name}: sign-off to 'released' on screen, p50", wait50, "ms", None, None),
        _result(f"{card_name}: sign-off to 'released' on screen, max", max(waits), "ms", None, None),
        _result(f"{card_name}: worst frame while a release commits", worst, "ms", target, worst < 100),
        _result(f"{card_name}: longest gap between frames while a release commits", gap, "ms", target, gap < 100),
        _result(f"{card_name}: frames drawn while releases committed", len(work), f"frames, {releases} releases",
                None, None),
    ]


_CHILD = r"""
import json, os, sys, time
from pathlib import Path
os.environ["SDL_VIDEODRIVER"] = "dummy"; os.environ["SDL_AUDIODRIVER"] = "dummy"
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
import pygame
from kiosk.app import SimClock, assemble, demo_config
from kiosk.config import KioskConfig
from drivers.events import CardRead, SlipScanned
from kiosk.core.events import Action, Press
from kiosk.ui.loop import make_session
data = Path(sys.argv[1]); n = int(sys.argv[2]); manifest = json.loads(sys.argv[3])
class Demo:
    now = None
for suffix in ("", "-wal", "-shm"):
    (data / f"exitlog.db{suffix}").unlink(missing_ok=True)
k = assemble(demo_config(KioskConfig(), data), demo=Demo(), monitor_thread=False)
pygame.display.init()
screen = pygame.display.set_mode((800, 480))
s = make_session(k, (800, 480))
from datetime import datetime
clock = SimClock(datetime.fromisoformat(manifest["now"]))
s.update(clock.now()); s.draw(screen, clock.now()); pygame.display.flip()
start = rss()
g = manifest["guards"][0]
k.controller.handle_raw(CardRead(g["badge"]), clock.now())
for d in g["pin"]:
    s.press(Press(Action.DIGIT, d), clock.now())
s.press(Press(Action.PIN_SUBMIT), clock.now())
cards = list(manifest["cards"].values()); slips = [manifest["slips"][x] for x in ("owner", "tenant", "used", "forged")]
warm = None
for i in range(n):
    clock.advance(2)
    if i % 2:
        k.controller.emit(CardRead(cards[i % len(cards)]))
    else:
        k.controller.emit(SlipScanned(slips[i % len(slips)]))
    s.update(clock.now(), force_tick=True); s.draw(screen, clock.now()); pygame.display.flip()
    s.press(Press(Action.CANCEL), clock.now())
    if i == min(1000, n // 4):
        warm = rss()
print(json.dumps({"start": start, "warm": warm, "end": rss(), "rows": k.exit_log.last_seq}))
"""


def bench_memory(data_dir: Path, demo: Any, presentations: int) -> list[dict[str, Any]]:
    manifest = json.dumps(demo.manifest())
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _CHILD, str(data_dir), str(presentations), manifest],
                         capture_output=True, text=True, env=env, check=True)
    m = json.loads(out.stdout.strip().splitlines()[-1])
    growth = m["end"] - m["warm"]
    return [
        _result("rss_at_start", m["start"], "MB", "<= 200", m["start"] <= 200),
        _result(f"rss_growth_after_{presentations}_presentations", growth, "MB",
                "no growth beyond noise (<= 5 MB after warm-up)", growth <= 5),
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    from kiosk.demo import build_demo

    tmp = Path(tempfile.mkdtemp(prefix="gatepass-bench-"))
    try:
        demo = build_demo(tmp, permits=PERMITS)
        kiosk = _kiosk(tmp, demo)
        try:
            results = bench_latency(kiosk, demo, 100 if quick else 600, PERMITS)
            results += bench_fps(kiosk, demo, 1.5 if quick else 5.0)
        finally:
            kiosk.close()
        # The child is a second process: it needs an exit log of its own (one writer per
        # exit log, and this process still holds the lock on tmp's for its lifetime).
        mem_dir = tmp / "memory"
        shutil.copytree(tmp, mem_dir, ignore=shutil.ignore_patterns("exitlog.db*", "memory"))
        results += bench_memory(mem_dir, demo, 800 if quick else 10_000)
        results += bench_slow_card(2 if quick else 5)
        return results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv[1:]), indent=2, ensure_ascii=False))
