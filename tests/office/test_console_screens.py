"""The console in a real browser: headless Chromium signs in through the form, opens every page at a
front-desk PC's 1366x768 (and the log at 1920x1080), and saves screenshots for a person to look at.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: commands on fd 3,
replies on fd 4, NUL-separated JSON), so no Python package is needed beyond the standard library.
PNGs go to the test's tmp dir and, when GATEPASS_SCREENSHOTS names a directory, there too.
"""
from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.office.harness import OfficeServer
from tests.office.test_console import ID_NUMBER, PASSWORD, Desk, make_desk

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
PAGES = ("log", "yesterday", "flags", "gates", "slips")


class Browser:
    """One headless Chromium with one tab, spoken to over the DevTools pipe."""

    def __init__(self, profile: Path, width: int, height: int) -> None:
        cmd_r, self._cmd_w = os.pipe()     # we write commands; Chromium reads them on fd 3
        self._res_r, res_w = os.pipe()     # Chromium writes replies on fd 4; we read them
        args = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars", "--lang=zh-CN", "--remote-debugging-pipe", f"--user-data-dir={profile}",
                f"--window-size={width},{height}", "about:blank"]
        # bash puts the pipe ends on fds 3 and 4, whatever numbers they have here.
        self.proc = subprocess.Popen(["bash", "-c", f'exec "$@" 3<&{cmd_r} 4>&{res_w} {cmd_r}<&- {res_w}>&-', "chromium",
                                      *args], pass_fds=(cmd_r, res_w), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(res_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self.resize(width, height)

    def _read(self, timeout: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._res_r], [], [], timeout)
            if not ready:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._res_r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        msg, _, self._buf = self._buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method: str, session: bool = False, timeout: float = 20.0, **params: Any) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read(timeout)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == event:
                    del self.events[: i + 1]
                    return
            self.events.append(self._read(max(0.05, deadline - time.monotonic())))

    def resize(self, width: int, height: int) -> None:
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def open(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")

    def js(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", session=True, expression=expression,
                         returnByValue=True)["result"].get("value")

    def submit_and_wait(self, expression: str) -> None:
        self.events.clear()
        self.js(expression)
        self.wait_for("Page.loadEventFired")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._res_r)


@pytest.fixture
def desk(office: OfficeServer) -> Iterator[Desk]:
    yield make_desk(office)


def keep(path: Path) -> None:
    out = os.environ.get("GATEPASS_SCREENSHOTS")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(out) / path.name)


def assert_a_real_page(png: Path, width: int, height: int) -> None:
    import cv2

    img = cv2.imread(str(png))
    assert img is not None and img.shape[:2] == (height, width), png
    assert img.std() > 20, f"{png.name} looks blank"


def test_every_page_renders_for_a_front_desk_pc_in_chromium(desk: Desk, tmp_path: Path) -> None:
    shots = tmp_path / "screens"
    shots.mkdir()
    browser = Browser(tmp_path / "profile", 1366, 768)
    try:
        browser.open(desk.url + "/console/log")                    # not signed in: the sign-in form
        assert browser.js("location.pathname") == "/console/login"
        keep(browser.screenshot(shots / "console-login-1366x768.png"))
        browser.submit_and_wait(
            f"document.querySelector('[name=username]').value='wangli';"
            f"document.querySelector('[name=password]').value={json.dumps(PASSWORD)};"
            f"document.querySelector('form.login').submit()")
        assert browser.js("location.pathname") == "/console/log"
        assert browser.js("document.cookie") == ""                 # HttpOnly: scripts cannot read the session
        keep(browser.screenshot(shots / "console-log-today-1366x768.png"))     # where sign-in lands: today's log
        for name in PAGES:
            query = f"?from={desk.yesterday}&to={desk.today}" if name == "log" else ""
            browser.open(f"{desk.url}/console/{name}{query}")
            text = browser.js("document.body.innerText")
            assert "王丽" in text and ID_NUMBER not in text, name
            overflow = browser.js("document.documentElement.scrollWidth")
            assert overflow <= 1366, f"{name} scrolls sideways at 1366 px ({overflow} px wide)"
            png = browser.screenshot(shots / f"console-{name}-1366x768.png")
            assert_a_real_page(png, 1366, 768)
            keep(png)
        browser.open(f"{desk.url}/console/log?from={desk.yesterday}&to={desk.today}")
        # the override row is highlighted in the browser, not just classed
        color = browser.js("getComputedStyle(document.querySelector('tr.override td')).backgroundColor")
        assert color == "rgb(255, 244, 214)"
        assert browser.js("document.querySelector('script')") is None   # the hostile guard name stayed text
        browser.resize(1920, 1080)
        browser.open(f"{desk.url}/console/log?from={desk.yesterday}&to={desk.today}")
        png = browser.screenshot(shots / "console-log-1920x1080.png")
        assert_a_real_page(png, 1920, 1080)
        keep(png)
    finally:
        browser.close()
