"""Run the office API under uvicorn: migrate, publish keys, serve."""
from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from office.api import create_app
from office.config import OfficeConfig
from office.db import open_office
from office.records import import_public_keys


def build(cfg: OfficeConfig) -> tuple[FastAPI, Engine]:
    """The app and its engine, with migrations applied and the estate's public keys published."""
    engine = open_office(cfg.database.url, cfg.estate)
    with engine.begin() as conn:
        import_public_keys(conn, cfg.estate, cfg.keys)
    return create_app(cfg, engine), engine


def serve(cfg: OfficeConfig, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    app, _engine = build(cfg)
    uvicorn.run(app, host=host or cfg.server.host, port=port or cfg.server.port, log_level="info",
                proxy_headers=False, server_header=False)
