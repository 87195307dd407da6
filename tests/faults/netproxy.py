"""A switchable TCP proxy on loopback, to cut the network between a gate and the office.

Modes (``NetProxy.set_mode``), applied to new *and* already open connections:

* ``pass``      — bytes flow both ways.
* ``drop``      — every open connection is reset (RST) at once; new ones are accepted and reset.
* ``blackhole`` — new connections are accepted and then get nothing (the client's timeout
  fires); open connections stall, and resume if the network comes back before the client
  gives up (as TCP retransmission would do). Stalled new connections are reset when the
  mode changes.
* ``cut``       — requests still reach the office (so it may commit), but each response
  is cut partway: the first chunk from the office is forwarded only in part and the
  connection is reset. The classic "the office stored it, the gate never heard".

``set_latency(seconds)`` delays each chunk from the office to the client (a slow link), in any mode.

Only loopback addresses are accepted. Threads only; ``close()`` stops everything.
"""
from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field

PASS, DROP, BLACKHOLE, CUT = "pass", "drop", "blackhole", "cut"
MODES = (PASS, DROP, BLACKHOLE, CUT)
LOOPBACK = "127.0.0.1"


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), waking any thread blocked in recv on it first."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.shutdown(socket.SHUT_RD)  # wakes a blocked recv without sending anything
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


@dataclass
class Stats:
    connections: int = 0
    resets: int = 0              # connections ended by the proxy (drop, cut, stalled blackhole)
    cut_responses: int = 0       # responses cut partway in ``cut`` mode
    bytes_up: int = 0            # client -> office
    bytes_down: int = 0          # office -> client
    modes: dict[str, int] = field(default_factory=dict)  # how many times each mode was set


class _Conn:
    def __init__(self, proxy: NetProxy, client: socket.socket) -> None:
        self.proxy, self.client = proxy, client
        self.upstream: socket.socket | None = None
        self.closed = False
        self._half_closed = 0

    def abort(self) -> None:
        with self.proxy._cond:
            if self.closed:
                return
            self.closed = True
            self.proxy._conns.discard(self)
            self.proxy.stats.resets += 1
            self.proxy._cond.notify_all()
        _reset(self.client)
        if self.upstream is not None:
            _reset(self.upstream)

    def finish(self) -> None:
        """Normal end (one side closed): close both quietly."""
        with self.proxy._cond:
            if self.closed:
                return
            self.closed = True
            self.proxy._conns.discard(self)
            self.proxy._cond.notify_all()
        for s in (self.client, self.upstream):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass

    def start(self) -> None:
        p = self.proxy
        with p._cond:
            mode = p.mode
        if mode == DROP:
            self.abort()
            return
        if mode == BLACKHOLE:
            # Accept and stall: hold the socket until the mode changes, then reset it.
            with p._cond:
                while not self.closed and p.mode == BLACKHOLE and not p._stopping:
                    p._cond.wait(0.5)
            self.abort()
            return
        try:
            self.upstream = socket.create_connection((LOOPBACK, p.upstream_port), timeout=5)
            self.upstream.settimeout(None)
        except OSError:
            self.abort()
            return
        threading.Thread(target=self._pump, args=(self.upstream, self.client, False), daemon=True).start()
        self._pump(self.client, self.upstream, True)

    def _pump(self, src: socket.socket, dst: socket.socket, up: bool) -> None:
        p = self.proxy
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                self.abort()
                return
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)   # pass the half-close on
                except OSError:
                    pass
                with p._cond:
                    self._half_closed += 1
                    both = self._half_closed >= 2
                if both:
                    self.finish()
                return
            with p._cond:
                while not self.closed and p.mode == BLACKHOLE and not p._stopping:
                    p._cond.wait(0.5)      # stall; resume if the network comes back in time
                mode = p.mode
                if self.closed:
                    return
            if mode == DROP or p._stopping:
                self.abort()
                return
            if not up and p.latency_s > 0:
                time.sleep(p.latency_s)
            if mode == CUT and not up:
                keep = p._rng_cut(len(data))  # outside the lock: _rng_cut takes it
                try:
                    dst.sendall(data[:keep])
                except OSError:
                    pass
                with p._cond:
                    p.stats.cut_responses += 1
                    p.stats.bytes_down += keep
                self.abort()
                return
            try:
                dst.sendall(data)
            except OSError:
                self.abort()
                return
            with p._cond:
                if up:
                    p.stats.bytes_up += len(data)
                else:
                    p.stats.bytes_down += len(data)


class NetProxy:
    """Listen on 127.0.0.1:<port> and forward to 127.0.0.1:``upstream_port``, with switchable faults."""

    def __init__(self, upstream_port: int, *, seed: int = 0) -> None:
        import random

        self.upstream_port = upstream_port
        self._rng = random.Random(seed)
        self._cond = threading.Condition()
        self._conns: set[_Conn] = set()
        self._stopping = False
        self.mode = PASS
        self.latency_s = 0.0
        self.stats = Stats()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _rng_cut(self, n: int) -> int:
        """How many bytes of an office chunk get through before a cut (always fewer than all)."""
        with self._cond:
            return self._rng.randint(0, max(0, n - 1))

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown proxy mode {mode!r}")
        with self._cond:
            self.mode = mode
            self.stats.modes[mode] = self.stats.modes.get(mode, 0) + 1
            victims = list(self._conns) if mode == DROP else []
            self._cond.notify_all()
        for c in victims:
            c.abort()

    def set_latency(self, seconds: float) -> None:
        self.latency_s = max(0.0, float(seconds))

    def open_connections(self) -> int:
        with self._cond:
            return len(self._conns)

    def _accept_loop(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            conn = _Conn(self, client)
            with self._cond:
                if self._stopping:
                    _reset(client)
                    return
                self._conns.add(conn)
                self.stats.connections += 1
            threading.Thread(target=conn.start, daemon=True).start()

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            conns = list(self._conns)
            self._cond.notify_all()
        for c in conns:
            c.abort()
        try:
            self._listener.close()
        except OSError:
            pass
        self._thread.join(5)

    def __enter__(self) -> NetProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
