"""Staff see only their estates: one office, estates default and west, clerks of each, one who
works for both, an admin. Real office on loopback (SQLite, and PostgreSQL with GATEPASS_PG_URL).

Before, the console served the config's estate only, and a clerk of west could not sign in at all;
now each page shows the chosen estate's data, and another estate's pages and ids are refused
(403 for an estate not theirs, 404 for an id not in their estate), never 500.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from domain.keyfiles import load_hmac_key, load_private, new_keys
from domain.model import Approval, ApprovalRole, SlipItem, SlipKind
from office import schema
from office.console.auth import add_staff
from office.db import ensure_estate
from office.ingest import raise_flag
from office.records import add_unit, import_public_keys
from office.slips import SlipRequest, issue_slip
from tests.office.harness import CST, OfficeServer

PASSWORD = "correct horse 1"


@contextmanager
def signed_in(office: OfficeServer, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=office.url, timeout=10, follow_redirects=False) as c:
        r = c.post("/console/login", data={"username": username, "password": PASSWORD, "next": "/console/log"})
        assert r.status_code == 303, r.text
        yield c


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m
    return m.group(1)


@pytest.fixture
def two(office: OfficeServer, tmp_path: Path) -> dict[str, object]:
    """Estate west beside default: its own key, unit and slip, and a flag in each estate."""
    west_keys = tmp_path / "west-keys"
    new_keys(west_keys)
    now = datetime.now(CST)
    req = SlipRequest(kind=SlipKind.OWNER, unit_id="3-2-1502", applicant_name="西区张三", mover_name="西区张三",
                      items=[SlipItem("钢琴", 1, "")], valid_from=now, valid_until=now + timedelta(days=1),
                      approvals=[Approval(ApprovalRole.HANDLER, "李"), Approval(ApprovalRole.BUTLER_HEAD, "王")])
    default_slip = office.issue_slip()
    with office.engine.begin() as conn:
        ensure_estate(conn, "west", "西区")
        import_public_keys(conn, "west", west_keys)
        add_unit(conn, "west", "3-2-1502")
        west_slip = issue_slip(conn, "west", req, private=load_private(west_keys), hmac_key=load_hmac_key(west_keys),
                               out_dir=tmp_path / "west-slips", now=now).slip_id
        raise_flag(conn, "default", "gap", "gap:north:1", "default's flag", now=now.isoformat(), gate_id="north")
        raise_flag(conn, "west", "gap", "gap:north:1", "west's flag", now=now.isoformat(), gate_id="north")
        add_staff(conn, "default", "wangli", "王丽", PASSWORD)
        add_staff(conn, "west", "zhaomin", "赵敏", PASSWORD)
        add_staff(conn, "west", "liuyang", "刘洋", PASSWORD)
        add_staff(conn, "default", "liuyang", "刘洋", PASSWORD)       # works for both; shown default first
        add_staff(conn, "default", "boss", "总经理", PASSWORD, "admin")
        flags = {r.estate: r.flag_id for r in conn.execute(select(schema.flags.c.estate, schema.flags.c.flag_id))}
    assert default_slip == west_slip          # each estate numbers its own slips
    return {"slip": west_slip, "flags": flags}


def test_a_clerk_sees_only_their_estate_and_is_refused_the_other(office: OfficeServer, two: dict) -> None:
    with signed_in(office, "zhaomin") as c:          # west's clerk: could not sign in at all before
        page = c.get("/console/slips")
        assert page.status_code == 200 and "钢琴" in page.text and "冰箱" not in page.text
        flags = c.get("/console/flags").text
        assert "west&#39;s flag" in flags or "west&#x27;s flag" in flags or "west's flag" in flags   # Jinja2 writes &#39;
        assert "default&#39;s flag" not in flags and "default&#x27;s flag" not in flags and "default's flag" not in flags
        assert c.get("/console/slips?estate=default").status_code == 403
        assert c.get("/console/estate?to=default").status_code == 403
        assert c.get("/console/log?estate=nosuch").status_code == 403
    with signed_in(office, "wangli") as c:
        page = c.get("/console/slips")
        assert "冰箱" in page.text and "钢琴" not in page.text
        assert c.get("/console/flags?estate=west").status_code == 403
        # West's flag id in a form of default's clerk: no such flag here (404), and it stays open.
        csrf = csrf_of(c.get("/console/flags").text)
        r = c.post(f"/console/flags/{two['flags']['west']}/resolve", data={"csrf": csrf})
        assert r.status_code == 404
        r = c.post(f"/console/flags/{two['flags']['west']}/resolve?estate=west", data={"csrf": csrf})
        assert r.status_code == 403
    with office.engine.connect() as conn:
        open_flags = {r.estate for r in conn.execute(select(schema.flags.c.estate).where(schema.flags.c.resolved_at.is_(None)))}
        west_status = conn.execute(select(schema.slips.c.status).where(
            schema.slips.c.estate == "west", schema.slips.c.slip_id == two["slip"])).scalar_one()
    assert open_flags == {"default", "west"} and west_status == "issued"


def test_staff_of_two_estates_switch_between_them_and_an_admin_sees_every_estate(office: OfficeServer, two: dict) -> None:
    with signed_in(office, "liuyang") as c:
        first = c.get("/console/slips").text
        assert "冰箱" in first and "/console/estate?to=west" in first and "西区" in first
        assert c.get("/console/slips?estate=west").status_code == 200
        r = c.get("/console/estate?to=west")
        assert r.status_code == 303
        page = c.get("/console/slips").text                 # the choice is kept
        assert "钢琴" in page and "冰箱" not in page
        csrf = csrf_of(page)
        assert c.post(f"/console/slips/{two['slip']}/cancel", data={"csrf": csrf}).status_code == 303
    with office.engine.connect() as conn:
        status = dict(conn.execute(select(schema.slips.c.estate, schema.slips.c.status)).all())
    assert status == {"west": "cancelled", "default": "issued"}      # west's slip, not default's of the same id
    with signed_in(office, "boss") as c:
        assert c.get("/console/slips?estate=west").status_code == 200
        assert c.get("/console/slips?estate=default").status_code == 200
