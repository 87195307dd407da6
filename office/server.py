"""Run the office API under uvicorn: migrate, publish keys, serve (in one process or several)."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
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
    engine = open_office(cfg.database.url, cfg.estate, pool_size=cfg.database.pool_size,
                         max_overflow=cfg.database.max_overflow)
    with engine.begin() as conn:
        import_public_keys(conn, cfg.estate, cfg.keys)
    app = create_app(cfg, engine, clock)
    from office.console import mount  # the staff console under /console (docs/console.md)

    mount(app, cfg, engine, clock)
    return app, engine


#: How `serve` tells its worker processes which settings to load: the TOML file ("" for the
#: embedded defaults) and the estate the command line chose.
CONFIG_ENV = "GATEPASS_OFFICE_CONFIG"
ESTATE_ENV = "GATEPASS_OFFICE_ESTATE"


def app_from_env() -> FastAPI:
    """The app of one worker process (uvicorn's factory): settings from CONFIG_ENV and ESTATE_ENV.

    The parent process has already migrated the database and published the keys, so each
    worker only finds the schema at its head and the keys present."""
    from dataclasses import replace

    from domain.settings import load

    cfg = load(OfficeConfig, os.environ.get(CONFIG_ENV) or None)
    if os.environ.get(ESTATE_ENV):
        cfg = replace(cfg, estate=os.environ[ESTATE_ENV])
    app, _engine = build(cfg)
    return app


def serve(cfg: OfficeConfig, host: str | None = None, port: int | None = None, clock: Clock | None = None,
          *, workers: int | None = None, config_path: str | None = None) -> None:
    """Serve until stopped. With more than one worker, ``config_path`` (the file ``cfg`` was read
    from, None for the defaults) is what each worker process loads."""
    import uvicorn

    workers = workers or cfg.server.workers
    host, port = host or cfg.server.host, port or cfg.server.port
    if workers < 1:
        raise OfficeError(f"服务进程数(workers)至少为 1,不是 {workers}\nworkers must be at least 1, not {workers}")
    if workers == 1:
        app, _engine = build(cfg, clock)
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False, server_header=False)
        return
    if clock is not None:
        raise OfficeError("注入的时钟只能用于单个进程:请用 workers = 1\nan injected clock works in one process only: serve it with workers = 1")
    if cfg.database.url.startswith("sqlite"):
        raise OfficeError(f"{workers} 个服务进程需要 PostgreSQL(SQLite 只有一个写入者):请设置 [database] url,或用 workers = 1\n"
                          f"{workers} workers need PostgreSQL: SQLite has one writer (set [database] url, or workers = 1)")
    _app, engine = build(cfg)      # migrate and publish keys once, before the workers race to
    engine.dispose()
    os.environ[CONFIG_ENV] = str(Path(config_path).resolve()) if config_path else ""
    os.environ[ESTATE_ENV] = cfg.estate
    uvicorn.run("office.server:app_from_env", factory=True, workers=workers, host=host, port=port,
                log_level="info", proxy_headers=False, server_header=False)


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
