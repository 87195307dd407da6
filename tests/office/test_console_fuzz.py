"""The console never answers 500 nor drops the connection, whatever a browser (or anyone) sends:
hostile cookies, form fields and query strings, signed in and not. A real office on loopback,
a real SQLite file (and PostgreSQL with GATEPASS_PG_URL); hypothesis makes the inputs."""
from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from office.console.auth import add_staff
from tests.office.conftest import BACKENDS, PG_URL, _wipe
from tests.office.harness import OfficeServer

PASSWORD = "correct horse 1"
FUZZ = settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
PAGES = ["/console/log", "/console/log.csv", "/console/log.xlsx", "/console/yesterday", "/console/flags", "/console/slips",
         "/console/gates", "/console/login", "/console/", "/console/log/north/1", "/console/staff", "/console/audit",
         "/console/account"]
FORMS = ["/console/login", "/console/logout", "/console/flags/1/resolve", "/console/slips/S000000001/cancel"]
KEYS = ["from", "to", "gate", "kind", "day", "all", "done", "next", "csrf", "username", "password", "outcome", "unit",
        "guard", "q", "user", "action", "name", "role", "estates", "active"]


@pytest.fixture(scope="module", params=BACKENDS)
def desk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfficeServer]:
    """One office per database for the module (hypothesis runs many examples against it)."""
    url = None
    if request.param == "postgresql":
        _wipe(PG_URL)
        url = PG_URL
    office = OfficeServer(Path(tmp_path_factory.mktemp("office")), db_url=url)
    office.add_unit()
    office.add_gate("north")
    office.issue_slip()
    with office.engine.begin() as conn:
        add_staff(conn, "default", "wangli", "王丽", PASSWORD)
        add_staff(conn, "default", "boss", "管理员", PASSWORD, "admin")
        add_staff(conn, "default", "target", "被改的账号", PASSWORD, "security")     # what the admin forms act on
    yield office
    office.stop()
    office.engine.dispose()


def raw_request(office: OfficeServer, head: bytes, body: bytes = b"") -> int:
    """Send bytes as they are (no client library to clean them up); the status line's code, or fail."""
    with socket.create_connection(("127.0.0.1", office.port), timeout=10) as s:
        s.sendall(head + b"Host: 127.0.0.1\r\nConnection: close\r\n" +
                  (f"Content-Length: {len(body)}\r\n".encode() if body else b"") + b"\r\n" + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
    assert m, f"connection dropped or no HTTP answer: {data[:200]!r}"
    return int(m.group(1))


def session_cookie(office: OfficeServer, username: str = "wangli") -> tuple[str, str]:
    """A signed-in clerk's (or ``username``'s) cookie and the CSRF token of her pages."""
    with httpx.Client(base_url=office.url, timeout=10) as c:
        r = c.post("/console/login", data={"username": username, "password": PASSWORD})
        assert r.status_code == 303, r.text
        cookie = c.cookies["gatepass_staff"]
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/console/flags").text)
        assert csrf
        return cookie, csrf.group(1)


# ------------------------------------------------------------------ the inputs that gave 500 before

def test_a_cookie_with_non_ascii_bytes_is_no_session_not_a_500(desk: OfficeServer) -> None:
    for cookie in (b"gatepass_staff=\xff\xfe.\xe4\xb8\xad", b"gatepass_staff=abc.\xc3\xa9", b"gatepass_staff=\xe7\x8e\x8b"):
        assert raw_request(desk, b"GET /console/log HTTP/1.1\r\nCookie: " + cookie + b"\r\n") == 303
        assert raw_request(desk, b"GET /console/log.csv HTTP/1.1\r\nCookie: " + cookie + b"\r\n") == 401


def test_a_csrf_field_that_is_not_utf8_is_refused_with_403(desk: OfficeServer) -> None:
    cookie, _csrf = session_cookie(desk)
    with httpx.Client(base_url=desk.url, timeout=10, cookies={"gatepass_staff": cookie}) as c:
        for body in (b"csrf=%ff", b"csrf=%e7%8e", b"csrf=\xff\xfe", b"csrf=%00"):
            r = c.post("/console/flags/1/resolve", content=body,
                       headers={"content-type": "application/x-www-form-urlencoded"})
            assert r.status_code == 403 and "请求被拒绝" in r.text, (body, r.status_code)


@pytest.mark.parametrize("path", ["/console/log?from=9999-12-31", "/console/log?to=9999-12-31&from=9999-12-30",
                                  "/console/log?from=0001-01-01", "/console/log.csv?from=9999-12-31",
                                  "/console/yesterday?day=9999-12-31", "/console/yesterday?day=0001-01-01"])
def test_dates_at_the_calendars_ends_are_refused_with_a_message_not_a_500(desk: OfficeServer, path: str) -> None:
    cookie, _csrf = session_cookie(desk)
    with httpx.Client(base_url=desk.url, timeout=10, cookies={"gatepass_staff": cookie}) as c:
        r = c.get(path)
        assert r.status_code == 200, (path, r.status_code)
        if not path.startswith("/console/log.csv"):
            assert "日期超出范围" in r.text and "out of range" in r.text


# ------------------------------------------------------------------ fuzzed

texts = st.text(max_size=40) | st.sampled_from(["9999-12-31", "0001-01-01", "2026-02-30", "%ff", "\x00", "北门",
                                                 "//evil.example", "/console/log", "-1", "1e9"])
queries = st.dictionaries(st.sampled_from(KEYS), texts, max_size=4)
raw_bytes = st.binary(max_size=60)


@FUZZ
@given(path=st.sampled_from(PAGES), query=queries, signed_in=st.booleans())
def test_pages_with_any_query_string_never_answer_5xx(desk: OfficeServer, path: str, query: dict[str, str],
                                                      signed_in: bool) -> None:
    cookies = {"gatepass_staff": session_cookie(desk)[0]} if signed_in else {}
    with httpx.Client(base_url=desk.url, timeout=10, cookies=cookies) as c:
        r = c.get(path, params=query)
    assert r.status_code < 500, (path, query, r.status_code)


@FUZZ
@given(path=st.sampled_from(PAGES), query=raw_bytes, cookie=raw_bytes)
def test_pages_with_any_bytes_in_query_and_cookie_never_answer_5xx(desk: OfficeServer, path: str, query: bytes,
                                                                   cookie: bytes) -> None:
    cookie = cookie.replace(b"\r", b"").replace(b"\n", b"")
    target = path.encode() + b"?" + quote_from_bytes(query, safe="=&%").encode()
    head = b"GET " + target + b" HTTP/1.1\r\nCookie: gatepass_staff=" + cookie + b"\r\n"
    assert raw_request(desk, head) < 500


@FUZZ
@given(path=st.sampled_from(FORMS), form=queries, body=raw_bytes, signed_in=st.booleans(), good_csrf=st.booleans())
def test_forms_with_any_fields_never_answer_5xx(desk: OfficeServer, path: str, form: dict[str, str], body: bytes,
                                                signed_in: bool, good_csrf: bool) -> None:
    cookie, csrf = session_cookie(desk) if signed_in else ("", "")
    if good_csrf and signed_in:
        form = dict(form, csrf=csrf)
    with httpx.Client(base_url=desk.url, timeout=10, cookies={"gatepass_staff": cookie} if cookie else {}) as c:
        r = c.post(path, data=form)
        assert r.status_code < 500, (path, form, r.status_code)
        r = c.post(path, content=body, headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code < 500, (path, body, r.status_code)


@FUZZ
@given(flag_id=st.integers(min_value=-(2**70), max_value=2**70), slip_id=st.text(max_size=30))
def test_resolve_and_cancel_with_any_id_in_the_path_never_answer_5xx(desk: OfficeServer, flag_id: int,
                                                                      slip_id: str) -> None:
    cookie, csrf = session_cookie(desk)
    with httpx.Client(base_url=desk.url, timeout=10, cookies={"gatepass_staff": cookie}) as c:
        r = c.post(f"/console/flags/{flag_id}/resolve", data={"csrf": csrf})
        assert r.status_code < 500, (flag_id, r.status_code)
        path = quote_from_bytes(slip_id.encode('utf-8', 'surrogatepass'), safe='')
        for action in ("cancel", "approve", "phone", "amend"):        # every POST that names a slip in its path
            r = c.post(f"/console/slips/{path}/{action}", data={"csrf": csrf})
            assert r.status_code < 500, (action, slip_id, r.status_code)
        for page in (f"/console/slips/{path}", f"/console/slips/{path}/print", f"/console/slips/{path}/amend"):
            r = c.get(page)
            assert r.status_code < 500, (page, r.status_code)


ADMIN_FORMS = ["/console/staff/new", "/console/staff/target", "/console/staff/target/active",
               "/console/staff/target/password"]


@FUZZ
@given(path=st.sampled_from(ADMIN_FORMS), form=queries, estates=st.lists(texts, max_size=3), body=raw_bytes)
def test_an_admins_staff_forms_with_any_fields_never_answer_5xx(desk: OfficeServer, path: str, form: dict[str, str],
                                                                 estates: list[str], body: bytes) -> None:
    cookie, csrf = session_cookie(desk, "boss")
    with httpx.Client(base_url=desk.url, timeout=10, cookies={"gatepass_staff": cookie}) as c:
        r = c.post(path, data={**form, "estates": estates, "csrf": csrf})
        assert r.status_code < 500, (path, form, estates, r.status_code)
        r = c.post(path, content=body, headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code < 500, (path, body, r.status_code)


@FUZZ
@given(gate=st.text(max_size=12), seq=st.text(max_size=24) | st.integers(-(2**70), 2**70).map(str),
       username=st.text(max_size=40))
def test_an_event_or_account_with_any_id_in_the_path_never_answers_5xx(desk: OfficeServer, gate: str, seq: str,
                                                                        username: str) -> None:
    cookie, csrf = session_cookie(desk, "boss")
    q = lambda text: quote_from_bytes(text.encode("utf-8", "surrogatepass"), safe="")  # noqa: E731
    with httpx.Client(base_url=desk.url, timeout=10, cookies={"gatepass_staff": cookie}) as c:
        r = c.get(f"/console/log/{q(gate) or 'x'}/{q(seq) or '1'}")
        assert r.status_code < 500, (gate, seq, r.status_code)
        r = c.get(f"/console/staff/{q(username) or 'x'}")
        assert r.status_code < 500, (username, r.status_code)
        r = c.post(f"/console/staff/{q(username) or 'x'}/active", data={"csrf": csrf, "active": "1"})
        assert r.status_code < 500, (username, r.status_code)


@FUZZ
@given(credential=raw_bytes, path=st.sampled_from(["/api/v1/replica", "/api/v1/heartbeat", "/api/v1/events"]))
def test_the_gate_api_with_any_bytes_as_credential_answers_401_not_5xx(desk: OfficeServer, credential: bytes,
                                                                        path: str) -> None:
    credential = credential.replace(b"\r", b"").replace(b"\n", b"")
    method = b"GET " if path.endswith("replica") else b"POST "
    status = raw_request(desk, method + path.encode() + b" HTTP/1.1\r\nAuthorization: Bearer " + credential +
                         b"\r\nContent-Type: application/json\r\n", b"{}" if method == b"POST " else b"")
    assert status < 500 and status in (400, 401), status
