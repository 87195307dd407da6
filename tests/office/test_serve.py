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
