"""The live frame loop (SDL dummy screen) recording releases on a slow exit log, for the
kill -9 test of pending commits. Run: python -m tests.faults.slow_commit_harness DATA_DIR

Every COMMIT of the exit log waits 50-300 ms before it runs (a slow SD card: the row is
in the open transaction, not yet durable). Prints "ready SEQ" once assembled, then for
each release "pending SLIP" when the screen first shows "recording", and
"shown SEQ EVENT_ID SLIP" after the frame that shows "released" was flipped. A line
counts only if it was written whole.
"""
from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from domain import slip_token  # noqa: E402
from domain.keyfiles import load_private  # noqa: E402
from domain.model import SlipKind, TokenClaims  # noqa: E402
from drivers.events import CardRead, SlipScanned  # noqa: E402
from kiosk.app import SimClock, assemble  # noqa: E402
from kiosk.core.events import Action, Press  # noqa: E402
from kiosk.core.flow import Scene  # noqa: E402
from kiosk.demo import default_now  # noqa: E402
from kiosk.ui.loop import FrameLoop  # noqa: E402
from tests.faults.kiosk_harness import config_in  # noqa: E402

BADGE, PIN = "7F00000001", "1234"


def main(data_dir: Path) -> None:
    cfg = config_in(data_dir)
    kiosk = assemble(cfg, monitor_thread=False)
    kiosk.exit_log.verify()
    start = kiosk.exit_log.last_seq
    rng = random.Random(os.getpid())
    kiosk.exit_log.db.conn.set_trace_callback(
        lambda sql: time.sleep(rng.uniform(0.05, 0.3)) if sql.strip().lower() == "commit" else None)
    clock = SimClock(default_now())
    loop = FrameLoop(kiosk, clock, False, {}, ())
    c, s = kiosk.controller, loop.session
    print("ready", start, flush=True)

    def until(done: Callable[[], bool]) -> None:
        while not done():
            loop.frame()

    c.emit(CardRead(BADGE))
    until(lambda: s.scene is Scene.SIGN_IN_PIN)
    for d in PIN:
        s.press(Press(Action.DIGIT, d), clock.now())
    s.press(Press(Action.PIN_SUBMIT), clock.now())
    until(lambda: c.state.guard is not None and not c.recording)
    key = load_private(data_dir / "keys")
    now = clock.now()
    for i in range(1, 10**9):
        slip_id = f"P{start + i:09d}"
        text = slip_token.sign(TokenClaims(slip_id, SlipKind.OWNER, "1-1-201", now - timedelta(hours=1),
                                           now + timedelta(days=1), 2, "00" * 8, ""), key)
        c.emit(SlipScanned(text))
        until(lambda: s.scene is Scene.SLIP_ITEMS)
        s.press(Press(Action.ALL_MATCH), clock.now())
        s.press(Press(Action.CONFIRM_IDENTITY), clock.now())
        c.emit(CardRead(BADGE))                          # the guard signs off with the badge
        until(lambda: c.recording)
        assert "正在记录…" in s.frame.drawn             # that frame drew the recording screen
        print("pending", slip_id, flush=True)
        until(lambda: s.scene is Scene.RELEASED)
        assert "已放行" in s.frame.drawn                 # drawn and flipped by that frame
        row = kiosk.exit_log.recent(1)[0]
        assert row["slip_id"] == slip_id and row["kind"] == "release"
        print("shown", row["seq"], row["event_id"], slip_id, flush=True)
        s.press(Press(Action.CANCEL), clock.now())
        clock.advance(10)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
