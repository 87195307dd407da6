"""The console's pages as Jinja2 templates (issue 12): what a person typed or a gate sent shows as text.

A real office on loopback (SQLite, and PostgreSQL with GATEPASS_PG_URL). Each hostile value is put
where a person or a gate would put it (a staff name, a slip's unit and applicant, a gate's name, a
flag's message) and every page that shows it is read back: the text is there, escaped, and no
script tag reached the page from it.
"""
from __future__ import annotations

import html
import re

from sqlalchemy import update

from office import schema
from office.console.auth import add_staff
from tests.office.harness import OfficeServer
from tests.office.test_console import PASSWORD, Desk, desk  # noqa: F401  (desk: fixture)

HOSTILE = '<script>alert("x")</script>'


def scripts(page: str) -> list[str]:
    """The script tags of a page (the alerts page has its one, served from the console)."""
    return re.findall(r"<script[^>]*>", page)


def shown(page: str, text: str) -> bool:
    """``text`` is on the page as text: escaped, and read back the same."""
    return text not in page and text in html.unescape(page)


def test_hostile_names_and_messages_show_as_text_on_every_page(desk: Desk, office: OfficeServer) -> None:
    with office.engine.begin() as conn:
        add_staff(conn, "default", "evil", HOSTILE, PASSWORD, "admin")
        conn.execute(update(schema.slips).where(schema.slips.c.slip_id == desk.slip_id)
                     .values(unit_id="<i>3-2</i>", applicant_name=HOSTILE, mover_name=HOSTILE))
        conn.execute(update(schema.gates).where(schema.gates.c.gate_id == "north").values(name=HOSTILE))
        conn.execute(update(schema.flags).values(message=HOSTILE))
    with desk.signed_in("evil") as c:
        for path in ("/console/log", "/console/flags", "/console/gates", "/console/slips", "/console/yesterday",
                     "/console/alerts", "/console/staff", "/console/audit"):
            r = c.get(path)
            assert r.status_code == 200, (path, r.text)
            assert shown(r.text, HOSTILE), path                                    # the header's name, at least
            assert scripts(r.text) == ([] if path != "/console/alerts" else ['<script src="/console/static/alerts.js">'])
        slips = c.get("/console/slips").text
        assert shown(slips, "<i>3-2</i>") and slips.count("&lt;script&gt;") >= 3   # name in header, applicant, carrier
        assert c.get("/console/flags").text.count("&lt;script&gt;") >= 2          # header and each flag's message
        assert c.get("/console/gates").text.count("&lt;script&gt;") >= 2          # header and north's name
        log = c.get("/console/log", params={"from": desk.yesterday, "to": desk.today}).text
        assert log.count("&lt;script&gt;") >= 3        # header, the override's guard, its supervisor among the reasons
        override = re.search(r'<tr class="override"><td class="time"><a href="([^"]+)"', log)
        assert override, "no override row on the log"
        event = c.get(override.group(1))
        assert event.status_code == 200 and shown(event.text, HOSTILE) and scripts(event.text) == []
        assert event.text.count("&lt;script&gt;") >= 3  # header, guard, the supervisor who authorised it


def test_the_layout_shows_the_pages_a_role_may_open_and_the_open_flag_count(desk: Desk) -> None:
    with desk.signed_in() as c:                        # the front desk: no Staff or Audit links
        page = c.get("/console/gates").text
        assert 'href="/console/gates" class="on"' in page and 'href="/console/slips"' in page
        assert 'href="/console/staff"' not in page and 'href="/console/audit"' not in page
        open_n = re.search(r'<span class="count" title="(\d+) 条未处理 open">(\d+)</span>', page)
        assert open_n and open_n.group(1) == open_n.group(2) and int(open_n.group(1)) > 0
        assert f"未处理 {open_n.group(1)} 条" in c.get("/console/flags").text
        assert re.search(r'<form method="post" action="/console/logout"><input type="hidden" name="csrf" value="[^"]+">', page)
    with desk.client() as c:                           # signed out: the sign-in form only, no navigation
        page = c.get("/console/login").text
        assert 'action="/console/login"' in page and 'name="username"' in page and 'name="password"' in page
        assert "<nav" not in page and "员工登录" in page
