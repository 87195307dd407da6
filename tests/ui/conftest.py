"""UI tests draw with real pygame on SDL's dummy drivers: no window, no sound card."""
from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def font_faces():
    """The CJK fonts are found once per session: fontconfig lookups are slow."""
    from kiosk.fonts import find_cjk_font

    return find_cjk_font(), find_cjk_font(bold=True)


@pytest.fixture
def typesetter(font_faces):
    """A typesetter with fonts opened now: a pygame.quit() in an earlier test (the kiosk run in-process by
    tests/office/test_slip_desk.py quits pygame when it stops) closes every font a shared one had opened."""
    import pygame

    from kiosk.ui.text import Typesetter

    pygame.init()
    return Typesetter(*font_faces)
