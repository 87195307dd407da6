"""systemd's notify protocol by hand, for the kiosk and the sync daemon: READY, STATUS, WATCHDOG, STOPPING.

A datagram to $NOTIFY_SOCKET (a path, or an abstract socket when it starts with '@');
no dependency. Without the variable (not under systemd, or in tests) every call is a
no-op. Watchdog pings go out only when systemd asked for them: $WATCHDOG_USEC is set
(the unit's WatchdogSec) and, if $WATCHDOG_PID is set, it names this process; then at
most every half of that interval, as sd_watchdog_enabled(3) recommends. Pinging from the
work loop itself (not a side thread) means a hung loop stops the pings and systemd
restarts the service.

The variables are taken out of the environment when read (as sd_notify's
unset_environment does), so that child processes such as timedatectl do not report to
our unit's socket.
"""
from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, MutableMapping


def watchdog_interval_s(env: MutableMapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """Half of WatchdogSec when systemd asked this process to ping, else None."""
    env = os.environ if env is None else env
    usec, owner = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not usec:
        return None
    if owner and owner.strip() != str(os.getpid() if pid is None else pid):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 2_000_000 if value > 0 else None


class Notifier:
    """One service's line to systemd; build it once at start-up with `from_environment()`."""

    def __init__(self, address: str = "", watchdog_s: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.address = address
        self.watchdog_s = watchdog_s
        self.monotonic = monotonic
        self._last_ping: float | None = None

    @classmethod
    def from_environment(cls, env: MutableMapping[str, str] | None = None, unset: bool = True,
                         monotonic: Callable[[], float] = time.monotonic) -> Notifier:
        env = os.environ if env is None else env
        notifier = cls(env.get("NOTIFY_SOCKET", ""), watchdog_interval_s(env), monotonic)
        if unset:
            for key in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
                env.pop(key, None)
        return notifier

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, *states: str) -> bool:
        """Send ``KEY=value`` lines in one datagram; return whether a socket was there to take them."""
        if not self.address:
            return False
        addr = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(addr)
                sock.sendall("\n".join(states).encode("utf-8"))
            return True
        except OSError:
            return False

    def ready(self, status: str | None = None) -> None:
        self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def ping(self, status: str | None = None) -> bool:
        """WATCHDOG=1 (with a STATUS line) if the watchdog is on and half its interval has passed."""
        if not self.address or not self.watchdog_s:
            return False
        now = self.monotonic()
        if self._last_ping is not None and now - self._last_ping < self.watchdog_s:
            return False
        self._last_ping = now
        return self.send("WATCHDOG=1", *([f"STATUS={status}"] if status else []))
