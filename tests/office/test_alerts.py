"""Alerts reach the security and butler roles' open page by themselves, and are acknowledged there."""
from __future__ import annotations

import time
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from domain.exitrow import EntryKind, LogEntry
from kiosk.exitlog import ExitLog
from office import schema
from office.console.auth import add_staff
from tests.office.browser import chromium, needs_chromium, shoot, signed_in  # noqa: F401  (chromium: fixture)
from tests.office.harness import CST, OfficeServer
from tests.office.test_api import client
from tests.office.test_ingest import push

PASSWORD = "correct horse 1"


def staff(office: OfficeServer) -> str:
    with office.engine.begin() as conn:
        add_staff(conn, "default", "baoan", "保安部张队", PASSWORD, "security")
        add_staff(conn, "default", "qiantai", "前台小李", PASSWORD, "front_desk")
    return office.add_gate("north")


def push_report(office: OfficeServer, credential: str, log: ExitLog, kind: EntryKind = EntryKind.REPORT) -> int:
    detail = {"report": "suspicious_person", "scene": "idle"} if kind is EntryKind.REPORT else \
        {"supervisor_id": "g2", "override_reason": "emergency", "flagged": True}
    row = log.append(LogEntry(kind, datetime.now(CST), guard_id="g1", detail=detail,
                              slip_id="" if kind is EntryKind.REPORT else "S261201001"), clock_synced=True)
    with client(office, credential) as c:
        assert push(c, [row])["accepted"] == 1
    with office.engine.connect() as conn:
        return int(conn.execute(select(schema.flags.c.flag_id).order_by(schema.flags.c.flag_id.desc())).scalars().first())


def signed_in_client(office: OfficeServer, username: str) -> httpx.Client:
    c = httpx.Client(base_url=office.url, timeout=30)
    assert c.post("/console/login", data={"username": username, "password": PASSWORD}).status_code == 303
    return c


def test_an_open_event_stream_hears_of_a_new_alert(office: OfficeServer) -> None:
    credential = staff(office)
    log = ExitLog.memory("north")
    with closing(signed_in_client(office, "baoan")) as c, c.stream("GET", "/console/alerts/stream", params={"seen": 0}) as events:
        assert events.status_code == 200 and events.headers["content-type"].startswith("text/event-stream")
        lines = events.iter_lines()
        assert next(lines).startswith("retry:")
        flag_id = push_report(office, credential, log)
        deadline = time.monotonic() + 20
        got = []
        for line in lines:
            got.append(line)
            if line == f"data: {flag_id}" or time.monotonic() > deadline:
                break
        assert "event: alert" in got and f"data: {flag_id}" in got


@needs_chromium
def test_security_sees_an_alert_arrive_and_acknowledges_it(office: OfficeServer, tmp_path: Path,
                                                            chromium: Any) -> None:  # noqa: F811
    credential = staff(office)
    log = ExitLog.memory("north")
    page = signed_in(chromium, office.url, "baoan", PASSWORD, viewport={"width": 1366, "height": 768})
    page.goto("/console/alerts")
    assert "没有待确认的警报" in page.inner_text("main")
    flag_id = push_report(office, credential, log, EntryKind.OVERRIDE)     # a supervisor overrode at the gate
    row = page.wait_for_selector(f"tr[data-flag='{flag_id}']", timeout=20_000)  # no reload by hand: the page is live
    assert row is not None and "主管强制放行" in row.inner_text()
    shoot(page, tmp_path, "console-alerts-1366x768")
    page.locator(f"tr[data-flag='{flag_id}'] button").click()
    page.wait_for_url("**/console/alerts?done=*")
    assert page.locator(f"tr[data-flag='{flag_id}']").count() == 0
    with office.engine.connect() as conn:
        assert conn.execute(select(schema.flags.c.resolved_at).where(schema.flags.c.flag_id == flag_id)).scalar()
    page.context.close()

    second = push_report(office, credential, log)
    with closing(signed_in_client(office, "qiantai")) as c:                      # the front desk sees, but does not acknowledge
        html = c.get("/console/alerts").text
        assert f'data-flag="{second}"' in html and "/ack" not in html
        import re
        csrf = re.search(r'name="csrf" value="([^"]+)"', html)
        assert csrf is not None
        assert c.post(f"/console/alerts/{second}/ack", data={"csrf": csrf.group(1)}).status_code == 403
