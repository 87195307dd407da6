"""Shared fixtures: a demo estate built once per session (real SQLite files, real keys)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# Importing lgpio (the test venv has '.[pi]') makes its notification pipe in $LG_WD, else the working directory.
os.environ.setdefault("LG_WD", tempfile.gettempdir())


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory):
    """A demo estate (replica, keys, QR PNGs) shared read-only by the tests that need one."""
    from kiosk.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo"), permits=120)


@pytest.fixture()
def demo_copy(demo, tmp_path: Path):
    """A private copy of the demo replica for tests that write."""
    import shutil

    d = tmp_path / "estate"
    shutil.copytree(demo.data_dir, d)
    return d
