"""Playwright on the system Chromium (/usr/bin/chromium, from Debian): never a downloaded browser.

`signed_in(page, office, username, password)` signs in through the console's own form; `shoot`
saves a screenshot to the test's folder and, when GATEPASS_SCREENSHOTS names a directory, there too
(for a person to look at)."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--lang=zh-CN"]
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="needs Debian's chromium at /usr/bin/chromium (make test-sysdeps installs it)")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def signed_in(browser: Any, base_url: str, username: str, password: str, **context: Any) -> Any:
    """A new browser context signed in as ``username`` through the sign-in form; returns its page."""
    ctx = browser.new_context(base_url=base_url, locale="zh-CN", **context)
    page = ctx.new_page()
    page.goto("/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/log")
    return page


def shoot(page: Any, tmp: Path, name: str, **kw: Any) -> Path:
    out = tmp / f"{name}.png"
    page.screenshot(path=str(out), **kw)
    return keep(out)


def keep(png: Path, name: str = "") -> Path:
    """A picture for a person to look at: copied, as ``name`` (default its own), to GATEPASS_SCREENSHOTS if set."""
    shots = os.environ.get("GATEPASS_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(shots) / (name or png.name))
    return png
