"""`gatepass office serve` as an operator starts it: migrates a fresh database and answers on loopback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from domain.settings import ConfigError, load
from office.config import OfficeConfig
from office.server import free_port
from tests.office.harness import ROOT, wait_for


def test_office_serve_starts_on_a_fresh_database_and_serves_the_api(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "office.toml").write_text(f'keys = "{tmp_path}/keys"\n[database]\nurl = "sqlite:///{tmp_path}/office.db"\n')
    assert subprocess.run([sys.executable, "-m", "office", "init", "--config", str(tmp_path / "office.toml")],
                          cwd=ROOT, capture_output=True, timeout=60).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "office", "serve", "--config", str(tmp_path / "office.toml"),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).json()["ok"] is True
            except httpx.HTTPError:
                return False

        assert wait_for(up, timeout=20)
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/replica").status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)


def test_office_serve_refuses_several_workers_on_sqlite_with_a_clear_message(tmp_path: Path) -> None:
    # SQLite has one writer: worker processes would only queue for its lock, so the operator is told, not left guessing.
    (tmp_path / "office.toml").write_text(f'keys = "{tmp_path}/keys"\n[database]\nurl = "sqlite:///{tmp_path}/office.db"\n')
    proc = subprocess.run([sys.executable, "-m", "office", "serve", "--config", str(tmp_path / "office.toml"),
                           "--port", str(free_port()), "--workers", "3"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "3 个服务进程需要 PostgreSQL" in proc.stderr and "3 workers need PostgreSQL" in proc.stderr


def test_office_settings_refuse_zero_workers_and_an_empty_pool(tmp_path: Path) -> None:
    for bad, name in (("[server]\nworkers = 0\n", "workers"), ("[database]\npool_size = 0\n", "pool_size"),
                      ("[database]\nmax_overflow = -1\n", "max_overflow")):
        (tmp_path / "office.toml").write_text(bad)
        with pytest.raises(ConfigError, match=name):
            load(OfficeConfig, tmp_path / "office.toml")
    (tmp_path / "office.toml").write_text("[server]\nworkers = 4\n[database]\npool_size = 8\nmax_overflow = 0\n")
    cfg = load(OfficeConfig, tmp_path / "office.toml")
    assert (cfg.server.workers, cfg.database.pool_size, cfg.database.max_overflow) == (4, 8, 0)
