"""Staff accounts in the browser, roles that restrict, the audit trail.

A real office on loopback (SQLite, and PostgreSQL with GATEPASS_PG_URL), real HTTP with httpx,
and one walk in the system Chromium. Before: accounts were made only with `gatepass office
add-staff`, disabling one meant editing the database, every role could cancel any slip, and the
audit trail had no page.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from office import schema
from office.console import accounts, roles
from office.console.accounts import AccountRefused
from office.console.auth import add_staff
from office.console.schema import console_audit, staff
from office.ingest import raise_flag
from tests.office.browser import chromium, needs_chromium, shoot, signed_in  # noqa: F401  (chromium: fixture)
from tests.office.harness import OfficeServer

PASSWORD = "correct horse 1"
ROLES = ("front_desk", "butler", "customer_service", "security", "company_office", "company_finance", "admin")


def staff_of(office: OfficeServer) -> None:
    with office.engine.begin() as conn:
        for role in ROLES:
            add_staff(conn, "default", role.replace("_", ""), f"员工{role}", PASSWORD, role)


@contextmanager
def client(office: OfficeServer, username: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=office.url, timeout=20, follow_redirects=False) as c:
        r = c.post("/console/login", data={"username": username, "password": password, "next": "/console/log"})
        assert r.status_code == 303, r.text
        yield c


def csrf(c: httpx.Client, path: str = "/console/account") -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', c.get(path).text)
    assert m
    return m.group(1)


def post(c: httpx.Client, path: str, **data: Any) -> httpx.Response:
    return c.post(path, data={"csrf": csrf(c), **data})


# ---------------------------------------------------------------- roles × actions

#: What each role may do, written out here (not read from office/console/roles.py): the test is the spec.
ALLOWED = {
    "make_slip": {"front_desk", "admin"},
    "cancel_slip": {"front_desk", "admin"},
    "phone_link": {"front_desk", "admin"},
    "approve_slip": {"front_desk", "butler", "customer_service", "security", "company_office", "company_finance"},
    "ack_alert": {"security", "butler", "admin"},
    "resolve_flag": {"front_desk", "security", "butler", "admin"},
    "archive_ticks": {"front_desk", "butler", "admin"},
    "manage_staff": {"admin"},
    "own_password": set(ROLES),
}
#: One POST per action, at an id that does not exist (or an empty form): allowed answers 4xx other than 403.
PROBES = {
    "make_slip": ("/console/slips/new", {}),
    "cancel_slip": ("/console/slips/S999999/cancel", {}),
    "phone_link": ("/console/slips/S999999/phone", {}),
    "approve_slip": ("/console/slips/S999999/approve", {}),
    "ack_alert": ("/console/alerts/999999/ack", {}),
    "resolve_flag": ("/console/flags/999999/resolve", {}),
    "archive_ticks": ("/console/yesterday/ticks", {"day": "nonsense"}),
    "manage_staff": ("/console/staff/nobody/active", {"active": "0"}),
    "own_password": ("/console/account", {"current": "wrong wrong wrong"}),
}


def test_each_role_may_do_only_its_own_actions(office: OfficeServer) -> None:
    staff_of(office)
    seen = {}
    for role in ROLES:
        with client(office, role.replace("_", "")) as c:
            token = csrf(c)
            for action, (path, data) in PROBES.items():
                r = c.post(path, data={"csrf": token, **data})
                assert r.status_code < 500, (role, action, r.status_code)
                refused = r.status_code == 403
                seen[(role, action)] = not refused
                if refused:
                    assert 'class="error"' in r.text and 'class="en"' in r.text   # a page that says so, in both languages
    wrong = {k: v for k, v in seen.items() if v != (k[0] in ALLOWED[k[1]])}
    assert not wrong, f"role x action answered otherwise than the table: {wrong}"


def test_a_refused_role_changes_nothing(office: OfficeServer) -> None:
    """Security cannot cancel a slip; the front desk cannot acknowledge an alert: both stay as they were."""
    staff_of(office)
    slip_id = office.issue_slip()
    with office.engine.begin() as conn:
        raise_flag(conn, "default", "override", "override:north:1", "override", gate_id="north",
                   now=office.app.state.clock.now().isoformat())
        flag_id = conn.execute(select(schema.flags.c.flag_id)).scalar()
    with client(office, "security") as c:
        assert post(c, f"/console/slips/{slip_id}/cancel").status_code == 403
        assert "作废 Cancel" not in c.get("/console/slips").text             # no button to be refused by
    with client(office, "frontdesk") as c:
        assert post(c, f"/console/alerts/{flag_id}/ack").status_code == 403
    with office.engine.connect() as conn:
        sl, f = schema.slips, schema.flags
        assert conn.execute(select(sl.c.status).where(sl.c.slip_id == slip_id)).scalar() == "issued"
        assert conn.execute(select(f.c.resolved_at).where(f.c.flag_id == flag_id)).scalar() is None
    with client(office, "frontdesk") as c:
        assert post(c, f"/console/slips/{slip_id}/cancel").status_code == 303
    with office.engine.connect() as conn:
        assert conn.execute(select(schema.slips.c.status).where(schema.slips.c.slip_id == slip_id)).scalar() == "cancelled"


def test_every_post_route_is_in_the_role_table(office: OfficeServer) -> None:
    def walk(routes: list[Any]) -> Iterator[Any]:
        for r in routes:
            inner = getattr(r, "original_router", None)         # an included router (newer FastAPI)
            yield from walk(inner.routes) if inner is not None else [r]

    posts = {r.path for r in walk(office.app.routes)
             if "POST" in (getattr(r, "methods", None) or set()) and r.path.startswith("/console")}
    assert "/console/slips/{slip_id}/cancel" in posts
    missing = posts - set(roles.POST_ROUTES) - {"/console/login"}
    assert not missing, f"add these POST routes and their action to office/console/roles.py: {sorted(missing)}"
    assert set(roles.POST_ROUTES) <= posts          # and the table names no route that is gone


def test_non_admins_get_a_page_saying_no_for_the_admin_pages(office: OfficeServer) -> None:
    staff_of(office)
    with client(office, "butler") as c:
        for path in ("/console/staff", "/console/staff/admin", "/console/audit"):
            r = c.get(path)
            assert r.status_code == 403 and "管理员工账号" in r.text, path
        assert ">员工<" not in c.get("/console/log").text                   # and no link to them


# ---------------------------------------------------------------- accounts


def test_admin_makes_an_account_that_signs_in(office: OfficeServer) -> None:
    staff_of(office)
    with client(office, "admin") as c:
        r = post(c, "/console/staff/new", username="zhaomin", name="赵敏", role="butler", estates="default",
                 password="zhaomin-pass-1")
        assert r.status_code == 422 and "密码不能包含用户名" in r.text                  # refused, in words
        assert 'value="赵敏"' in r.text and 'value="zhaomin"' in r.text              # nothing typed is lost
        r = post(c, "/console/staff/new", username="zhaomin", name="赵敏", role="butler", estates="default",
                 password="short1")
        assert r.status_code == 422 and "密码至少 10 个字符" in r.text
        r = post(c, "/console/staff/new", username="zhaomin", name="赵敏", role="butler", estates="default")
        assert r.status_code == 200
        shown = re.search(r'<code class="password">([^<]+)</code>', r.text)
        assert shown, "a generated password is shown once"
        assert "赵敏" in c.get("/console/staff").text
        assert 'class="password"' not in c.get("/console/staff").text          # and only once
        r = post(c, "/console/staff/new", username="zhaomin", name="又一个", role="butler", estates="default",
                 password="another-good-pw")
        assert r.status_code == 422 and "已被使用" in r.text
        r = post(c, "/console/staff/new", username="mars1", name="火星", role="butler", estates="mars",
                 password="another-good-pw")
        assert r.status_code == 422 and "只能选择您负责的小区" in r.text      # a forged estate id
        r = post(c, "/console/staff/new", username="nowhere", name="无", role="butler", password="another-good-pw")
        assert r.status_code == 422 and "请至少选择一个小区" in r.text
        r = post(c, "/console/staff/new", username="new", name="新", role="butler", estates="default",
                 password="another-good-pw")
        assert r.status_code == 422 and "保留" in r.text            # /console/staff/new could never open it
    with client(office, "zhaomin", shown.group(1)) as c:
        assert "赵敏" in c.get("/console/log").text
    with office.engine.connect() as conn:
        assert conn.execute(select(staff.c.role).where(staff.c.username == "zhaomin")).scalar() == "butler"


def test_disabling_ends_sessions_at_once_and_enabling_lets_them_back(office: OfficeServer) -> None:
    staff_of(office)
    with client(office, "admin") as admin, client(office, "frontdesk") as desk:
        assert desk.get("/console/log").status_code == 200
        r = post(admin, "/console/staff/frontdesk/active", active="0")
        assert r.status_code == 303
        assert desk.get("/console/log").status_code == 303                   # their open page: signed out now
        with httpx.Client(base_url=office.url, follow_redirects=False) as again:
            r = again.post("/console/login", data={"username": "frontdesk", "password": PASSWORD})
            assert r.status_code == 401
        assert "已停用" in admin.get("/console/staff").text
        assert post(admin, "/console/staff/frontdesk/active", active="1").status_code == 303
    with client(office, "frontdesk") as desk:
        assert desk.get("/console/log").status_code == 200


def test_an_admin_cannot_disable_or_demote_themselves(office: OfficeServer) -> None:
    staff_of(office)
    with client(office, "admin") as c:
        r = post(c, "/console/staff/admin/active", active="0")
        assert r.status_code == 409 and "不能停用自己的账号" in r.text
        r = post(c, "/console/staff/admin", role="front_desk", estates="default")
        assert r.status_code == 422 and "不能更改自己的角色" in r.text
        assert c.get("/console/staff").status_code == 200                    # still an admin


def test_the_last_admin_stays_one(office: OfficeServer) -> None:
    staff_of(office)
    with office.engine.begin() as conn:
        with pytest.raises(AccountRefused, match="last administrator"):
            accounts.set_active(conn, "someone", "admin", False)
        with pytest.raises(AccountRefused, match="last administrator"):
            accounts.set_role_and_estates(conn, "someone", "admin", "butler", ["default"], ("default",))
        add_staff(conn, "default", "boss2", "二号管理员", PASSWORD, "admin")
        accounts.set_active(conn, "someone", "admin", False)                 # another admin is left: allowed


def test_two_admins_disabling_each_other_at_once_leave_one(office: OfficeServer) -> None:
    import threading

    with office.engine.begin() as conn:
        add_staff(conn, "default", "boss1", "一号", PASSWORD, "admin")
        add_staff(conn, "default", "boss2", "二号", PASSWORD, "admin")
    for _ in range(4):
        with office.engine.begin() as conn:
            conn.execute(staff.update().values(active=1))
        start: threading.Barrier = threading.Barrier(2)
        outcome: dict[str, str] = {}

        def disable(me: str, other: str, start: threading.Barrier = start, outcome: dict[str, str] = outcome) -> None:
            start.wait()
            try:
                with office.engine.begin() as conn:
                    accounts.set_active(conn, me, other, False)
                outcome[me] = "done"
            except AccountRefused:
                outcome[me] = "refused"

        threads = [threading.Thread(target=disable, args=pair) for pair in (("boss1", "boss2"), ("boss2", "boss1"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with office.engine.connect() as conn:
            left = conn.execute(select(staff.c.username).where(staff.c.role == "admin", staff.c.active == 1)).scalars().all()
        assert len(left) == 1 and sorted(outcome.values()) == ["done", "refused"], (left, outcome)


def test_reset_password_and_role_change_take_effect(office: OfficeServer) -> None:
    staff_of(office)
    with client(office, "admin") as admin, client(office, "security") as guard:
        r = post(admin, "/console/staff/security/password", password="new-guard-pass-9")
        assert r.status_code == 200 and "已重置" in r.text
        assert guard.get("/console/log").status_code == 303                  # the old session ended
        r = post(admin, "/console/staff/security", role="front_desk", estates="default")
        assert r.status_code == 303
    with client(office, "security", "new-guard-pass-9") as c:
        assert post(c, "/console/slips/new").status_code == 422              # a front desk now: the form answers


def test_everyone_changes_their_own_password(office: OfficeServer) -> None:
    staff_of(office)
    with client(office, "companyfinance") as c, client(office, "companyfinance") as other:
        r = post(c, "/console/account", current="not my password", password="finance-new-pw", repeat="finance-new-pw")
        assert r.status_code == 422 and "当前密码不对" in r.text
        r = post(c, "/console/account", current=PASSWORD, password="finance-new-pw", repeat="finance-new-px")
        assert r.status_code == 422 and "不一样" in r.text
        r = post(c, "/console/account", current=PASSWORD, password="abc", repeat="abc")
        assert r.status_code == 422 and "至少 10" in r.text
        r = post(c, "/console/account", current=PASSWORD, password="finance-new-pw", repeat="finance-new-pw")
        assert r.status_code == 200 and "密码已修改" in r.text
        assert c.get("/console/log").status_code == 200                      # this browser stays signed in
        assert other.get("/console/log").status_code == 303                  # the other one is signed out
    with client(office, "companyfinance", "finance-new-pw") as c:
        assert c.get("/console/log").status_code == 200


def test_guessing_the_current_password_locks_like_sign_in(office: OfficeServer) -> None:
    """A session left open on a shared PC does not let someone try password after password."""
    staff_of(office)
    with client(office, "butler") as c:
        for _ in range(5):
            assert "当前密码不对" in post(c, "/console/account", current="guess guess guess", password="x" * 12,
                                         repeat="x" * 12).text
        r = post(c, "/console/account", current=PASSWORD, password="butler-new-pw", repeat="butler-new-pw")
        assert r.status_code == 422 and "密码错误次数过多" in r.text
    with httpx.Client(base_url=office.url, follow_redirects=False) as again:
        assert again.post("/console/login", data={"username": "butler", "password": PASSWORD}).status_code == 429


def test_the_audit_page_lists_actions_newest_first_and_filters(office: OfficeServer) -> None:
    staff_of(office)
    with client(office, "security"):
        pass                                                                   # a sign-in of someone else
    with client(office, "admin") as c:
        post(c, "/console/staff/new", username="liuyang", name="刘洋", role="security", estates="default",
             password="a-good-password")
        post(c, "/console/staff/liuyang/active", active="0")
        page = table(c.get("/console/audit").text)
        assert page.index("停用账号") < page.index("新建账号")                 # newest first
        only = table(c.get("/console/audit", params={"action": "create_staff"}).text)
        assert "新建账号" in only and "停用账号" not in only and "liuyang" in only
        mine = table(c.get("/console/audit", params={"user": "admin"}).text)
        assert "新建账号" in mine and "员工security" not in mine
        theirs = table(c.get("/console/audit", params={"user": "security"}).text)
        assert "员工security" in theirs and "新建账号" not in theirs
        with office.engine.connect() as conn:
            day = conn.execute(select(console_audit.c.at).order_by(console_audit.c.audit_id.desc())).scalar()
        assert day is not None
        other = c.get("/console/audit", params={"day": "2001-01-01"}).text
        assert "没有符合条件的记录" in other
        bad = c.get("/console/audit", params={"day": "29-11-2026"})
        assert bad.status_code == 200 and "日期格式" in bad.text


def table(page: str) -> str:
    """The audit table of a page (the filter's options above it name every action too)."""
    return page.split('<table class="audit">')[1] if '<table class="audit">' in page else ""


@needs_chromium
def test_an_admin_walks_through_the_staff_pages(office: OfficeServer, tmp_path: Path, chromium: Any) -> None:  # noqa: F811
    staff_of(office)
    admin = signed_in(chromium, office.url, "admin", PASSWORD, viewport={"width": 1366, "height": 768})
    admin.click("text=员工")
    admin.wait_for_url("**/console/staff")
    admin.fill("input[name=username]", "wangwu")
    admin.fill("input[name=name]", "王五")
    admin.select_option("select[name=role]", "security")
    admin.click("text=创建账号 Create account")
    password = admin.locator("code.password").inner_text()
    assert len(password) >= 10
    assert "王五" in admin.locator("table.staff-list").inner_text()
    shoot(admin, tmp_path, "console-staff-1366x768", full_page=True)
    admin.click("tr:has-text('王五') >> text=管理 Manage")
    admin.wait_for_url("**/console/staff/wangwu")
    shoot(admin, tmp_path, "console-staff-edit-1366x768", full_page=True)
    guard = signed_in(chromium, office.url, "wangwu", password, viewport={"width": 1366, "height": 768})
    assert "员工" not in guard.locator("nav").first.inner_text()
    admin.click("text=停用账号 Disable")
    admin.wait_for_url("**/console/staff/wangwu?done=disabled")
    guard.goto("/console/log")
    assert "/console/login" in guard.url                                      # signed out at once
    guard.goto("/console/account")
    admin.click("text=操作记录")
    admin.wait_for_url("**/console/audit")
    assert "停用账号" in admin.inner_text("table.audit")
    shoot(admin, tmp_path, "console-audit-1366x768", full_page=True)
    admin.goto("/console/account")
    shoot(admin, tmp_path, "console-account-1366x768")
    assert admin.evaluate("document.documentElement.scrollWidth") <= 1366


def test_every_action_the_console_audits_has_words_on_the_audit_page() -> None:
    """The audit page names each action in Chinese and English (staffpages.AUDIT_ACTIONS); an action some page
    records with no words there showed as its raw code (register_memo) and could not be chosen in the filter."""
    import ast

    from office.console.staffpages import AUDIT_ACTIONS

    recorded: dict[str, str] = {}
    for path in Path("office").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "audit" \
                    and len(node.args) >= 4 and isinstance(node.args[3], ast.Constant):
                recorded[node.args[3].value] = str(path)
    assert len(recorded) >= 15, recorded                    # the scan finds the calls it is about
    unnamed = {action: where for action, where in recorded.items() if action not in AUDIT_ACTIONS}
    assert unnamed == {}
