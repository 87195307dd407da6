"""The staff console as a clerk uses it: a real office server on loopback, real HTTP, a real database."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from domain.contracts import DeviceHealth, DeviceState, HeartbeatBody
from domain.exitrow import EntryKind, LogEntry
from domain.model import Role
from kiosk.exitlog import ExitLog
from office import schema
from office.console.auth import add_staff
from office.records import add_guard
from tests.office.harness import CST, OfficeServer

PASSWORD = "correct horse 1"
ID_NUMBER = "440101199001011234"
HOSTILE = '<script>alert("x")</script>'


@dataclass
class Desk:
    """An office with two gates, a day of events, a flag, and a clerk's account."""

    office: OfficeServer
    slip_id: str
    today: str
    yesterday: str

    @property
    def url(self) -> str:
        return self.office.url

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, follow_redirects=False)

    @contextmanager
    def signed_in(self, username: str = "wangli", password: str = PASSWORD) -> Iterator[httpx.Client]:
        with self.client() as c:
            r = c.post("/console/login", data={"username": username, "password": password, "next": "/console/log"})
            assert r.status_code == 303, r.text
            yield c


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def push(office: OfficeServer, credential: str, log: ExitLog) -> None:
    with httpx.Client(base_url=office.url + "/api/v1", headers={"Authorization": f"Bearer {credential}"}) as c:
        r = c.post("/events", json={"events": list(log.rows())})
        assert r.status_code == 200, r.text


def make_desk(office: OfficeServer) -> Desk:
    """Build the clerk's morning: what the gates recorded yesterday and today, pushed through the gate API."""
    north, south = office.add_gate("north"), office.add_gate("south")
    with office.engine.begin() as conn:
        conn.execute(update(schema.gates).where(schema.gates.c.gate_id == "north").values(name="北门"))
        add_guard(conn, "default", "g1", "刘保安", "B1", "1234")
        add_guard(conn, "default", "g2", HOSTILE, "B2", "1234", Role.SUPERVISOR)
        add_staff(conn, "default", "wangli", "王丽", PASSWORD, "front_desk")
        add_staff(conn, "default", "gone", "离职", PASSWORD, "front_desk")
        from office.console.schema import staff

        conn.execute(update(staff).where(staff.c.username == "gone").values(active=0))
    permit = office.issue_permit("04A1B2", holder_name="<b>赵六</b>", id_number=ID_NUMBER)
    slip_id = office.issue_slip()
    now = datetime.now(CST)
    earlier = now - timedelta(days=1)
    n = ExitLog.memory("north")
    for entry in (
        LogEntry(EntryKind.SHIFT_START, earlier, guard_id="g1"),
        LogEntry(EntryKind.RELEASE, earlier, guard_id="g1", slip_id="S000000001", reasons=("slip.valid",)),
        LogEntry(EntryKind.REFUSAL, earlier, guard_id="g1", slip_id="S000000002", reasons=("slip.items_mismatch",),
                 detail={"mismatch": "extra_items"}),
        LogEntry(EntryKind.CARD_PASS, now, guard_id="g1", card_uid="04A1B2", permit_id=permit["permit_id"],
                 reasons=("card.valid",)),
        LogEntry(EntryKind.CARD_DENIED, now, guard_id="g1", card_uid="FFEE01", reasons=("card.unknown",)),
        LogEntry(EntryKind.REFUSAL, now, guard_id="g1", slip_id=slip_id, reasons=("slip.outside_hours",)),
        LogEntry(EntryKind.OVERRIDE, now, guard_id="g2", slip_id=slip_id, reasons=("slip.outside_hours",),
                 detail={"supervisor_id": "g2", "override_reason": "emergency", "flagged": True}),
        LogEntry(EntryKind.REPORT, now, guard_id="g1", detail={"report": "suspicious_person", "scene": "idle"}),
    ):
        n.append(entry, clock_synced=True)
    push(office, north, n)
    s = ExitLog.memory("south")
    s.append(LogEntry(EntryKind.RELEASE, earlier, guard_id="g1", slip_id="S000000001", reasons=("slip.valid",)),
             clock_synced=True)
    s.append(LogEntry(EntryKind.RELEASE, now, guard_id="g1", slip_id=slip_id, reasons=("slip.valid",)),
             clock_synced=True)
    push(office, south, s)                      # the slip the north gate let out goes out again: double use
    # Heartbeats as the sync daemon sends them (the whole path, kiosk to console: tests/sync/test_health_seam.py)
    reader, camera = "/dev/gatepass-reader open (rdm6300)", "/dev/video0 missing"
    north_beat = HeartbeatBody(DeviceHealth(DeviceState.ONLINE, reader, now), DeviceHealth(DeviceState.OFFLINE, camera, now),
                               versions={"kiosk": "0.1.0"}, outbox_depth=3, clock_offset_s=-1.25, sent_at=now)
    quiet = now - timedelta(minutes=10)            # the south kiosk's last reports, before it went silent
    south_beat = HeartbeatBody(DeviceHealth(DeviceState.ONLINE, reader, quiet), DeviceHealth(DeviceState.ONLINE, "", quiet),
                               sent_at=quiet)
    for credential, beat in ((north, north_beat), (south, south_beat)):
        with httpx.Client(base_url=office.url + "/api/v1", headers={"Authorization": f"Bearer {credential}"}) as c:
            assert c.post("/heartbeat", json=beat.to_json()).status_code == 200
    office.add_gate("east")                     # registered, never heard from
    with office.engine.begin() as conn:         # and the south gate has been silent for ten minutes
        conn.execute(update(schema.gates).where(schema.gates.c.gate_id == "south").values(
            last_seen=(datetime.now(UTC) - timedelta(minutes=10)).isoformat()))
    return Desk(office, slip_id, now.date().isoformat(), earlier.date().isoformat())


@pytest.fixture
def desk(office: OfficeServer) -> Iterator[Desk]:
    yield make_desk(office)


def rows_of(html: str) -> list[str]:
    return re.findall(r"<tr[^>]*>.*?</tr>", html, re.S)


def device_cells(row: str) -> list[str]:
    """The card reader's and the camera's cells of a gate's row on /console/gates."""
    return re.findall(r'<td class="device">.*?</td>', row, re.S)


# ---------------------------------------------------------------- sign-in


def test_every_console_page_needs_a_signed_in_clerk(desk: Desk) -> None:
    with desk.client() as c:
        for path in ("/console/log", "/console/yesterday", "/console/flags", "/console/gates", "/console/slips"):
            r = c.get(path, headers={"accept": "text/html"})
            assert r.status_code == 303 and r.headers["location"].startswith("/console/login?next="), path
        assert c.get("/console/log.csv", headers={"accept": "text/csv"}).status_code == 401
        assert c.post("/console/flags/1/resolve", data={"csrf": "x"}).status_code == 401
        assert c.post("/console/slips/S1/cancel", data={"csrf": "x"}).status_code == 401
        # a forged cookie is no session
        c.cookies.set("gatepass_staff", "eyJ1Ijoid2FuZ2xpIn0.AAAA", path="/console")
        assert c.get("/console/log").status_code == 303
    with httpx.Client(base_url=desk.url) as api:            # the gate API is unaffected: its own credential
        assert api.get("/api/v1/health").status_code == 200
        assert api.get("/api/v1/replica").status_code == 401


def test_a_wrong_password_or_a_disabled_account_is_refused(desk: Desk) -> None:
    with desk.client() as c:
        for user, pw in (("wangli", "wrong password"), ("nobody", PASSWORD), ("gone", PASSWORD)):
            r = c.post("/console/login", data={"username": user, "password": pw})
            assert r.status_code == 401, user
            assert "用户名或密码错误" in r.text and "gatepass_staff" not in r.headers.get("set-cookie", "")
        assert c.get("/console/log").status_code == 303


def test_sign_in_sets_a_strict_httponly_cookie_and_sign_out_voids_it(desk: Desk) -> None:
    with desk.client() as c:
        r = c.post("/console/login", data={"username": "wangli", "password": PASSWORD, "next": "https://evil.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/console/log"      # no open redirect
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        page = c.get("/console/log")
        assert page.status_code == 200 and "王丽" in page.text
        stolen = c.cookies.get("gatepass_staff")
        assert c.post("/console/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
    with desk.client() as other:
        other.cookies.set("gatepass_staff", stolen, path="/console")
        assert other.get("/console/log").status_code == 303                          # the old cookie no longer works


def test_repeated_wrong_passwords_lock_the_username_for_a_while(desk: Desk) -> None:
    with desk.client() as c:
        for _ in range(5):
            assert c.post("/console/login", data={"username": "wangli", "password": "nope"}).status_code == 401
        assert c.post("/console/login", data={"username": "wangli", "password": PASSWORD}).status_code == 429


def test_a_post_without_the_sessions_csrf_token_or_from_elsewhere_is_refused(desk: Desk) -> None:
    flag_id = desk.office.flags("double_use")[0]["flag_id"]
    with desk.signed_in() as c:
        assert c.post(f"/console/flags/{flag_id}/resolve").status_code == 403
        assert c.post(f"/console/flags/{flag_id}/resolve", data={"csrf": "forged"}).status_code == 403
        token = csrf_of(c.get("/console/flags").text)
        r = c.post(f"/console/flags/{flag_id}/resolve", data={"csrf": token}, headers={"origin": "http://evil.example"})
        assert r.status_code == 403
        assert desk.office.flags("double_use")[0]["resolved_at"] is None
    with desk.signed_in() as other:                                 # another session's token is no good either
        assert other.post(f"/console/flags/{flag_id}/resolve", data={"csrf": token}).status_code == 403


# ---------------------------------------------------------------- the exit log


def test_todays_log_shows_reasons_in_chinese_and_highlights_overrides_and_reports(desk: Desk) -> None:
    with desk.signed_in() as c:
        html = c.get("/console/log").text
    rows = rows_of(html)
    override = [r for r in rows if 'class="override"' in r]
    report = [r for r in rows if 'class="report"' in r]
    assert len(override) == 1 and "主管强制放行" in override[0] and "紧急情况" in override[0]
    assert "夜间及非工作日不得搬出大件物品" in override[0]                # the refusal it overrode, in Chinese
    assert len(report) == 1 and "可疑人员" in report[0]
    refusal = [r for r in rows if 'class="refusal"' in r]
    assert len(refusal) == 1 and "夜间及非工作日不得搬出大件物品" in refusal[0] and desk.slip_id in refusal[0]
    denied = [r for r in rows if 'class="card_denied"' in r][0]
    assert "未登记的卡" in denied and "FFEE01" in denied
    assert "北门" in html and "刘保安" in html
    assert "S000000002" not in html                                 # yesterday's refusal is not today's
    assert "tr.override td{background" in html                      # and the highlight is styled


def test_filters_by_date_range_gate_and_kind(desk: Desk) -> None:
    with desk.signed_in() as c:
        y = c.get("/console/log", params={"from": desk.yesterday, "to": desk.yesterday}).text
        assert "S000000002" in y and "物品与放行条不符" in y and "物品多于放行条" in y and desk.slip_id not in y
        both = c.get("/console/log", params={"from": desk.yesterday, "to": desk.today}).text
        assert "S000000002" in both and desk.slip_id in both
        south = c.get("/console/log", params={"from": desk.yesterday, "to": desk.today, "gate": "south"}).text
        assert all("north" not in r for r in rows_of(south)[1:]) and len(rows_of(south)) == 3
        refusals = c.get("/console/log", params={"from": desk.yesterday, "to": desk.today, "kind": "refusal"}).text
        body = rows_of(refusals)[1:]
        assert len(body) == 2 and all('class="refusal"' in r for r in body)
        bad = c.get("/console/log", params={"from": "yesterday"})
        assert bad.status_code == 200 and "日期格式" in bad.text


def test_the_csv_download_is_the_export_with_a_byte_order_mark(desk: Desk) -> None:
    with desk.signed_in() as c:
        r = c.get("/console/log.csv", params={"from": desk.yesterday, "to": desk.today, "kind": "override"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["kind"] for row in rows] == ["override"] and rows[0]["slip_id"] == desk.slip_id


def test_yesterdays_summary_counts_per_gate_and_kind_and_lists_the_slips_to_file(desk: Desk) -> None:
    with desk.signed_in() as c:
        html = c.get("/console/yesterday").text
    assert desk.yesterday in html and "08:30" in html
    north = [r for r in rows_of(html) if "北门" in r][0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", north, re.S)
    numbers = [re.sub(r"<[^>]+>", "", x) for x in cells[1:]]
    assert numbers == ["1", "1", "0", "0", "0", "0", "0", "2"]     # release, refusal, ..., visitor, total
    # released at both gates: two paper slips to tick off
    assert len(re.findall(r'name="shown" value="[a-z0-9_-]+:\d+:S000000001"', html)) == 2


def test_no_national_id_number_reaches_any_page(desk: Desk) -> None:
    with desk.signed_in() as c:
        for path in ("/console/log", "/console/yesterday", "/console/flags?all=1", "/console/gates", "/console/slips"):
            r = c.get(path, params={"from": desk.yesterday, "to": desk.today})
            assert r.status_code == 200, path
            assert ID_NUMBER not in r.text and ID_NUMBER[:14] not in r.text, path
        assert ID_NUMBER not in c.get("/console/log.csv").text


def test_names_from_users_are_escaped(desk: Desk) -> None:
    with desk.signed_in() as c:
        html = c.get("/console/log").text
    assert "<script>" not in html and ("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html        # Jinja2's quote
                                       or "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html)
    assert "<b>赵六</b>" not in html and "&lt;b&gt;赵六&lt;/b&gt;" in html
    assert "Content-Security-Policy" not in html                    # sent as a header, not relied on alone


# ---------------------------------------------------------------- flags, gates, slips


def test_flags_say_what_happened_and_resolve_with_the_form(desk: Desk) -> None:
    flags = desk.office.flags("double_use")
    assert len(flags) == 2                      # today's slip at north and south, yesterday's S000000001 too
    flag = [f for f in flags if f["slip_id"] == desk.slip_id][0]
    with desk.signed_in() as c:
        html = c.get("/console/flags").text
        assert "放行条重复使用" in html and desk.slip_id in html and "north" in html and "south" in html
        # the seeded override and report are flags too: 2 double uses + 1 override + 1 report
        assert "未处理 4 条" in html and "主管强制放行" in html and "岗亭上报" in html
        r = c.post(f"/console/flags/{flag['flag_id']}/resolve", data={"csrf": csrf_of(html)})
        assert r.status_code == 303
        after = c.get(r.headers["location"]).text
        assert f"已处理异常 #{flag['flag_id']}" in after and "未处理 3 条" in after
        everything = c.get("/console/flags?all=1").text
        assert [r for r in rows_of(everything) if f"#{flag['flag_id']}<" in r and "已处理" in r]
        assert c.post(f"/console/flags/{flag['flag_id']}/resolve", data={"csrf": csrf_of(after)}).status_code == 404
    assert [f for f in desk.office.flags("double_use") if f["flag_id"] == flag["flag_id"]][0]["resolved_at"]


def test_gates_show_health_and_a_silent_gate_in_red(desk: Desk) -> None:
    with desk.signed_in() as c:
        html = c.get("/console/gates").text
    north = [r for r in rows_of(html) if "北门" in r][0]
    south = [r for r in rows_of(html) if ">south<" in r][0]
    east = [r for r in rows_of(html) if ">east<" in r][0]
    assert "stale" not in north and "-1.2" in north and ">3<" in north
    reader, camera = device_cells(north)
    assert 'class="good"' in reader and "正常" in reader and "/dev/gatepass-reader open (rdm6300)" in reader
    assert 'class="bad"' in camera and "离线" in camera and "/dev/video0 missing" in camera
    assert 'class="stale"' in south and "10 分钟前" in south
    # the south kiosk's reports are ten minutes old: grey 过期, with when it last reported, in the estate's zone
    for cell in device_cells(south):
        m = re.search(r"过期\(最后报告 (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\)", cell)
        assert m and 'class="quiet note"' in cell, cell
        ago = datetime.now(CST) - datetime.fromisoformat(m.group(1)).replace(tzinfo=CST)   # shown in the estate's zone
        assert timedelta(minutes=9) < ago < timedelta(minutes=11)
    assert "正常" not in south
    assert 'class="stale"' in east and "从未联系" in east
    assert all("未知" in d and 'class="quiet note"' in d for d in device_cells(east))
    assert "tr.stale td.seen{color:#fff;background:#c62828" in html.replace(".stale td.seen", "tr.stale td.seen")


def test_a_clerk_cancels_a_slip_from_the_slips_page(desk: Desk) -> None:
    other = desk.office.issue_slip()
    with desk.signed_in() as c:
        html = c.get("/console/slips").text
        assert other in html and "冰箱×1" in html
        r = c.post(f"/console/slips/{other}/cancel", data={"csrf": csrf_of(html)})
        assert r.status_code == 303
        assert "已作废" in c.get(r.headers["location"]).text
    with desk.office.engine.connect() as conn:
        assert conn.execute(select(schema.slips.c.status).where(schema.slips.c.slip_id == other)).scalar() == "cancelled"


def test_add_staff_makes_an_account_that_signs_in_and_stores_no_plain_password(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from office.__main__ import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "office.toml").write_text('keys = "keys"\n[database]\nurl = "sqlite:///office.db"\n')
    monkeypatch.setenv("GATEPASS_STAFF_PASSWORD", "s3cret-desk-pw")
    assert main(["init", "--config", "office.toml"]) == 0
    assert main(["add-staff", "zhaomin", "--name", "赵敏", "--role", "butler", "--config", "office.toml"]) == 0
    assert "zhaomin" in capsys.readouterr().out
    assert b"s3cret-desk-pw" not in (tmp_path / "office.db").read_bytes()
    monkeypatch.setenv("GATEPASS_STAFF_PASSWORD", "short")
    assert main(["add-staff", "zhaomin", "--config", "office.toml"]) == 2       # too short: refused
    from office.console.auth import check_password
    from office.db import open_office

    engine = open_office("sqlite:///office.db")
    with engine.connect() as conn:
        assert check_password(conn, "default", "zhaomin", "s3cret-desk-pw")["role"] == "butler"
        assert check_password(conn, "default", "zhaomin", "wrong") is None
    engine.dispose()
