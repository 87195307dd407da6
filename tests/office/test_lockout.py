"""Console sign-in lock-out that holds: the count of wrong passwords lives in the database, taken
atomically before any password is hashed, so parallel tries, a second server process and a
restart cannot get past it. Real servers on loopback, a real SQLite file and PostgreSQL."""
from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

from domain.clock import FixedClock
from office.console.auth import add_staff
from office.console.web import LOCK_SECONDS, MAX_FAILURES
from office.server import free_port
from tests.office.harness import ROOT, OfficeServer, wait_for

PASSWORD = "correct horse 1"


def with_clerk(office: OfficeServer) -> OfficeServer:
    with office.engine.begin() as conn:
        add_staff(conn, "default", "wangli", "王丽", PASSWORD, clock=office.clock)
    return office


async def _storm(urls: list[str], n: int) -> list[int]:
    """``n`` wrong passwords at once, spread over the given servers."""
    async with httpx.AsyncClient(timeout=60) as c:
        replies = await asyncio.gather(*(c.post(f"{urls[i % len(urls)]}/console/login",
                                                data={"username": "wangli", "password": f"wrong {i}"})
                                         for i in range(n)))
    return [r.status_code for r in replies]


def sign_in(url: str, password: str = PASSWORD) -> httpx.Response:
    with httpx.Client(timeout=30) as c:
        return c.post(f"{url}/console/login", data={"username": "wangli", "password": password})


def locked(r: httpx.Response) -> bool:
    return r.status_code == 429 and "锁定" in r.text and "locked" in r.text.lower()


def test_sixty_wrong_passwords_at_once_then_the_right_one_is_locked_out(db_url: str, tmp_path: Path) -> None:
    office = with_clerk(OfficeServer(tmp_path / "office", db_url=db_url))
    try:
        statuses = asyncio.run(_storm([office.url], 60))
        assert statuses.count(401) == MAX_FAILURES and statuses.count(429) == 60 - MAX_FAILURES, statuses
        assert locked(sign_in(office.url))
    finally:
        office.stop()
        office.engine.dispose()


@contextmanager
def serve_process(office: OfficeServer, tmp: Path) -> Iterator[str]:
    """`gatepass office serve` as its own process on the same database (and keys) as ``office``; its URL."""
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "office.toml").write_text(f'keys = "{office.cfg.keys}"\n[database]\nurl = "{office.cfg.database.url}"\n')
    proc = subprocess.Popen([sys.executable, "-m", "office", "serve", "--config", str(tmp / "office.toml"),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_for(up, timeout=30), "office serve did not start"
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_two_server_processes_share_one_count_and_a_restart_remembers_it(db_url: str, tmp_path: Path) -> None:
    office = with_clerk(OfficeServer(tmp_path / "office", db_url=db_url))
    try:
        with serve_process(office, tmp_path / "p1") as other:              # a second process, same database
            statuses = asyncio.run(_storm([office.url, other], 30))
            assert statuses.count(401) == MAX_FAILURES, statuses
            assert locked(sign_in(other)) and locked(sign_in(office.url))
        with serve_process(office, tmp_path / "p2") as restarted:          # that process restarted
            assert locked(sign_in(restarted))
    finally:
        office.stop()
        office.engine.dispose()


def test_a_restarted_office_is_still_locked_until_its_clock_says_the_time_is_up(db_url: str, tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 11, 30, 20, 0, tzinfo=UTC))
    first = with_clerk(OfficeServer(tmp_path / "a", db_url=db_url, clock=clock))
    try:
        assert asyncio.run(_storm([first.url], 10)).count(401) == MAX_FAILURES
    finally:
        first.stop()
        first.engine.dispose()
    again = OfficeServer(tmp_path / "b", db_url=first.cfg.database.url, clock=clock)       # a new app, same database
    try:
        assert locked(sign_in(again.url))
        clock.advance(seconds=LOCK_SECONDS - 1)
        assert locked(sign_in(again.url))
        clock.advance(seconds=2)                                     # five minutes after the fifth wrong password
        assert sign_in(again.url).status_code == 303
    finally:
        again.stop()
        again.engine.dispose()


def test_a_right_password_clears_the_count(db_url: str, tmp_path: Path) -> None:
    office = with_clerk(OfficeServer(tmp_path / "office", db_url=db_url))
    try:
        for _ in range(MAX_FAILURES - 1):
            assert sign_in(office.url, "wrong").status_code == 401
        assert sign_in(office.url).status_code == 303
        for _ in range(MAX_FAILURES - 1):
            assert sign_in(office.url, "wrong").status_code == 401
        assert sign_in(office.url).status_code == 303
    finally:
        office.stop()
        office.engine.dispose()
