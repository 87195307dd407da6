"""systemd's notify protocol by hand: READY=1 once, WATCHDOG=1 from the frame loop.

A datagram to $NOTIFY_SOCKET is all it takes; no dependency. Pinging from the frame
loop (not a side thread) means a hung loop stops the pings and systemd restarts us.
"""
from __future__ import annotations

import os
import socket
import time


class Notifier:
    def __init__(self, address: str | None = None, every_s: float = 1.0) -> None:
        # Taken out of the environment (as sd_notify's unset_environment does) so that
        # child processes such as timedatectl do not report to our unit's socket.
        self.address = address if address is not None else os.environ.pop("NOTIFY_SOCKET", "")
        self.every_s = every_s
        self._last = 0.0
        self._sock: socket.socket | None = None
        if self.address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def _send(self, message: str) -> None:
        if self._sock is None:
            return
        addr = self.address
        if addr.startswith("@"):
            addr = "\0" + addr[1:]       # abstract namespace
        try:
            self._sock.sendto(message.encode("ascii"), addr)
        except OSError:
            pass

    def ready(self) -> None:
        self._send("READY=1")

    def status(self, text: str) -> None:
        self._send(f"STATUS={text}")

    def ping(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self._send("WATCHDOG=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")
