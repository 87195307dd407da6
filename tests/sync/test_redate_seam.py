"""A power cut on a gate without an RTC, from the exit-log file to the clerk's screen, every part real.

The gate's exit log (a real SQLite file) records two card passes on the clock the Pi restored at boot,
three days behind; the real sync daemon pushes them to a real office on loopback, and they show as
recorded, unverified. NTP answers: the daemon's next heartbeat says the clock is synced, with the same
boot id and its boot time, and the clerk's /console/log now files both rows under their real day as
已校正 re-dated, the gate's own time beside them. Chromium renders that page for a person to look at.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from domain.boottime import BootStamp
from domain.clock import FixedClock
from domain.exitrow import EntryKind, LogEntry
from domain.settings import load
from kiosk.config import KioskConfig
from kiosk.shell.sdnotify import Notifier
from office.console.auth import add_staff
from sync.cli import load_credential
from sync.daemon import SyncDaemon
from tests.office.harness import CST, GateSite, OfficeServer

BOOT = "3f1e2d4c-5b6a-4789-9abc-def012345678"
PASSWORD = "correct horse 1"
CHROMIUM = Path("/usr/bin/chromium")


def test_rows_from_before_ntp_are_re_dated_at_the_office_once_a_synced_heartbeat_of_their_boot_arrives(
        office: OfficeServer, tmp_path: Path) -> None:
    # when the cards really passed: 95 s before the heartbeat that says so, sent now (within the office's
    # tolerance for a heartbeat's clock, domain.boottime.HEARTBEAT_CLOCK_TOLERANCE)
    true = datetime.now(CST).replace(microsecond=0) - timedelta(seconds=95)
    restored = true - timedelta(days=3)                                        # what the clock said
    gate = GateSite(tmp_path, "north", office)
    gate.log.append(LogEntry(EntryKind.CARD_PASS, restored, card_uid="04A1"), clock_synced=False, boot=BootStamp(BOOT, 25_000))
    gate.log.append(LogEntry(EntryKind.CARD_PASS, restored + timedelta(seconds=30), card_uid="04A2"), clock_synced=False,
                    boot=BootStamp(BOOT, 55_000))
    with office.engine.begin() as conn:
        add_staff(conn, "default", "wangli", "王丽", PASSWORD, "front_desk")

    # the daemon of the same boot: its wall clock and boot time move together; NTP has not answered yet
    wall = FixedClock(restored + timedelta(seconds=40))
    boot = {"ms": 65_000}
    synced = {"now": False}
    cfg = load(KioskConfig, str(gate.config))
    daemon = SyncDaemon(replace(cfg.sync, heartbeat_interval_s=60.0), gate_id="north", replica_path=cfg.store.replica,
                        exit_log_path=cfg.store.exit_log, credential=load_credential(cfg.sync.credential_file),
                        wall=wall, notifier=Notifier(), boot=lambda: BootStamp(BOOT, boot["ms"]),
                        clock_synced=lambda: synced["now"])
    clerk = httpx.Client(base_url=office.url, timeout=10)
    try:
        assert clerk.post("/console/login", data={"username": "wangli", "password": PASSWORD,
                                                  "next": "/console/log"}).status_code == 303

        def page(day: datetime) -> str:
            r = clerk.get("/console/log", params={"from": day.date().isoformat()})
            assert r.status_code == 200
            return r.text

        assert daemon.run_once(), daemon.status.last_error
        assert daemon.status.push_cursor == 2
        before = page(restored)
        assert "04A1" in before and "04A2" in before and "时钟未校准 clock not synced · unverified" in before
        assert "已校正" not in before and "04A1" not in page(true)

        # 120 s into the boot NTP steps the clock to the real time; the next heartbeat says so
        boot["ms"], synced["now"] = 120_000, True
        wall.at = true + timedelta(seconds=95)
        daemon.heartbeat()
        after = page(true)
        assert after.count("已校正 re-dated") == 2
        assert f"原时间 {restored.strftime('%Y-%m-%d %H:%M:%S')}" in after
        assert true.strftime("%H:%M:%S") in after and (true + timedelta(seconds=30)).strftime("%H:%M:%S") in after
        assert "04A1" not in page(restored)                     # filed under the day it really happened
        stored = {e["seq"]: e for e in office.events("north")}
        assert stored[1]["at"] == restored.isoformat()          # the gate's own time, as it signed it
        assert datetime.fromisoformat(stored[1]["at_redated"]) == true

        if CHROMIUM.exists():
            shoot(office.url, clerk, tmp_path, true)
    finally:
        clerk.close()
        daemon.close()


def shoot(url: str, clerk: httpx.Client, tmp_path: Path, day: datetime) -> None:
    """The re-dated rows as a clerk sees them, at a front-desk PC's 1366x768 (kept in GATEPASS_SCREENSHOTS)."""
    from tests.office.test_console_screens import Browser, assert_a_real_page

    browser = Browser(tmp_path / "profile", 1366, 768)
    try:
        browser.open(f"{url}/console/login")
        browser.submit_and_wait(
            "document.querySelector('[name=username]').value='wangli';"
            f"document.querySelector('[name=password]').value='{PASSWORD}';"
            "document.querySelector('form.login').submit()")
        browser.open(f"{url}/console/log?from={day.date().isoformat()}")
        assert "已校正 re-dated" in browser.js("document.body.innerText")
        assert browser.js("document.documentElement.scrollWidth") <= 1366
        png = browser.screenshot(tmp_path / "console-log-redated-1366x768.png")
        assert_a_real_page(png, 1366, 768)
        out = os.environ.get("GATEPASS_SCREENSHOTS")
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            shutil.copy(png, Path(out) / png.name)
    finally:
        browser.close()

