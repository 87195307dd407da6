"""`make office`: the demo office starts with its data and a console a new user can sign in to."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx

from domain.clock import FixedClock
from office.demo import DEMO_PASSWORD, STAFF, seed
from office.server import ThreadedServer, build
from tests.office.harness import ROOT

#: 20:00 UTC: already tomorrow in Shanghai, so "yesterday" is the estate's, not the machine's.
CLOCK = FixedClock(datetime.fromisoformat("2026-12-01T20:00:00+00:00"))


def test_the_demo_office_has_a_day_of_records_slips_alerts_and_accounts(tmp_path: Path) -> None:
    demo = seed(tmp_path / "demo", CLOCK)
    app, engine = build(demo.cfg, CLOCK)
    server = ThreadedServer(app)
    server.start()
    try:
        for username, _name, _role, _what in STAFF:
            with httpx.Client(base_url=server.url, timeout=10) as c:
                assert c.post("/console/login", data={"username": username, "password": DEMO_PASSWORD}).status_code == 303
        with httpx.Client(base_url=server.url, timeout=10) as c:
            c.post("/console/login", data={"username": "qiantai", "password": DEMO_PASSWORD})
            yesterday = c.get("/console/yesterday").text
            assert "日期 2026-12-01" in yesterday and demo.slips["released_yesterday"] in yesterday
            alerts = c.get("/console/alerts").text
            assert "主管强制放行" in alerts and "岗亭上报" in alerts
            slips = c.get("/console/slips").text
            assert "待审批" in slips and demo.slips["pending"] in slips
            assert "深圳市星河贸易有限公司" in c.get("/console/memos").text          # a commercial tenant's memo
            commercial = c.get(f"/console/slips/{demo.slips['commercial']}").text
            assert "深圳市星河贸易有限公司" in commercial and "与备忘表核对" in commercial
            log = c.get("/console/log", params={"from": "2026-12-01", "to": "2026-12-02"}).text
            assert "翠湖苑" in log and "北门" in log and "刘保安" in log
    finally:
        server.stop()
        engine.dispose()
    assert demo.credentials["north"].read_text().startswith("default/north.")


def test_the_demo_command_prints_how_to_sign_in(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "kiosk.cli", "office", "demo", "--dir", str(tmp_path / "d"), "--no-serve"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "http://127.0.0.1:8080/console" in out.stdout and DEMO_PASSWORD in out.stdout and "qiantai" in out.stdout
