"""`gatepass office serve` as an operator starts it: migrates a fresh database and answers on loopback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

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
