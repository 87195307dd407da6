"""UI tests draw with real pygame on SDL's dummy drivers: no window, no sound card."""
from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def typesetter():
    """Fonts are found and opened once per session: fontconfig lookups are slow."""
    import pygame

    from kiosk.fonts import find_cjk_font
    from kiosk.ui.text import Typesetter

    pygame.init()
    return Typesetter(find_cjk_font(), find_cjk_font(bold=True))
