"""Real pseudo-terminals standing in for USB serial readers, and an event recorder.

The reader under test opens `link`, a symlink to the pty slave, the way a gate opens
/dev/gatepass-reader; unplugging removes the link and closes both ends, so the open
port fails with EIO and reopening fails until `plug()` makes a new pair.
"""
from __future__ import annotations

import os
import queue
import select
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers import pn532

WAIT_S = 5.0   # generous: how long a test waits for an event before failing


class Events:
    """Collects what a driver emits, from its thread, for the test to wait on."""

    def __init__(self) -> None:
        self.q: queue.Queue[Any] = queue.Queue()
        self.seen: list[Any] = []

    def __call__(self, event: Any) -> None:
        self.q.put(event)

    def wait_for(self, pred: Callable[[Any], bool], timeout: float = WAIT_S) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching event within {timeout} s; seen: {self.seen}")
            try:
                ev = self.q.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(ev)
            if pred(ev):
                return ev

    def drain(self, settle: float = 0.3) -> list[Any]:
        """Everything emitted until the driver has been quiet for `settle` seconds."""
        out = []
        while True:
            try:
                ev = self.q.get(timeout=settle)
            except queue.Empty:
                self.seen += out
                return out
            out.append(ev)


class PtyPort:
    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = self.slave = -1
        self.plug()

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.symlink(os.ttyname(self.slave), self.link)

    def unplug(self) -> None:
        os.unlink(self.link)
        os.close(self.master)
        os.close(self.slave)
        self.master = self.slave = -1

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.master >= 0:
            self.unplug()


class Pn532Module(threading.Thread):
    """A PN532 on the far side of the pty: ACKs and answers the host's commands.

    `card` is the UID in the field (None: no card); `silent` makes it stop answering.
    Like a real card, one that has been listed stays selected (ISO 14443-3 ACTIVE,
    deaf to the next poll) until the host sends InDeselect or InRelease.
    """

    def __init__(self, port: PtyPort) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.card: bytes | None = None
        self.silent = False
        self.stopping = threading.Event()
        self.commands: list[int] = []
        self.selected = False

    def run(self) -> None:
        buf = b""
        while not self.stopping.is_set():
            fd = self.port.master
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(fd, 512)
            except (OSError, ValueError):   # unplugged under us
                time.sleep(0.02)
                continue
            parsed = pn532.parse_pn532(buf + data)
            buf = parsed.rest
            for frame in parsed.frames:
                if frame.kind == "info" and not self.silent:
                    self._answer(frame.data)

    def _answer(self, data: bytes) -> None:
        code = data[0]
        self.commands.append(code)
        reply = bytes([code + 1])
        if code == pn532.IN_LIST_PASSIVE_TARGET:
            if self.card is None:
                self.selected = False      # a card that left the field has lost power, and its selection
            uid = None if self.selected else self.card
            self.selected = self.selected or uid is not None
            reply += (bytes([1, 1, 0x00, 0x04, 0x08, len(uid)]) + uid) if uid else b"\x00"
        elif code in (pn532.IN_DESELECT, 0x52):   # InDeselect, InRelease: status OK
            self.selected = False
            reply += b"\x00"
        try:
            self.port.write(pn532.ACK + pn532.build_frame(reply, pn532.CHIP_TFI))
        except OSError:
            pass

    def stop(self) -> None:
        self.stopping.set()
        self.join()
