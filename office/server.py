"""Run the office API under uvicorn: migrate, publish keys, serve."""
from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from domain.clock import Clock
from office.api import create_app
from office.config import OfficeConfig
from office.db import open_office
from office.errors import OfficeError
from office.records import import_public_keys


def build(cfg: OfficeConfig, clock: Clock | None = None) -> tuple[FastAPI, Engine]:
    """The app and its engine, with migrations applied and the estate's public keys published;
    ``clock`` is where the API and the console read the time (the system's by default)."""
    engine = open_office(cfg.database.url, cfg.estate)
    with engine.begin() as conn:
        import_public_keys(conn, cfg.estate, cfg.keys)
    app = create_app(cfg, engine, clock)
    from office.console import mount  # the staff console under /console (docs/console.md)

    mount(app, cfg, engine, clock)
    return app, engine


def serve(cfg: OfficeConfig, host: str | None = None, port: int | None = None, clock: Clock | None = None) -> None:
    import uvicorn

    app, _engine = build(cfg, clock)
    uvicorn.run(app, host=host or cfg.server.host, port=port or cfg.server.port, log_level="info",
                proxy_headers=False, server_header=False)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (tests and benchmarks; racy by nature, fine on loopback)."""
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ThreadedServer:
    """uvicorn in a background thread on loopback: for tests and benchmarks (stop/start keep the port)."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        port = port or free_port(host)
        self.app, self.host, self.port = app, host, port
        self.url = f"http://{host}:{port}"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        import uvicorn

        self._server = uvicorn.Server(uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning",
                                                     lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise OfficeError(f"office server did not start on {self.url}")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
