"""Find a font that can draw Chinese, or say clearly that there is none.

A kiosk that draws tofu boxes instead of 住户证 is worse than one that does not start,
so a missing CJK font is an error naming the fix. fontconfig's `fc-match ':lang=zh'`
happily answers with a Latin font (DejaVu) when asked loosely, so we ask for a
sans-serif Chinese face and check that the match really claims Chinese coverage.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from domain.errors import GatepassError


class FontError(GatepassError):
    """No font that covers Chinese could be found or opened."""


@dataclass(frozen=True)
class FontFace:
    path: str
    index: int = 0          # face index inside a .ttc collection (Noto CJK: 2 is SC)


_HINT = "install one (sudo apt-get install fonts-noto-cjk) or set display.font in the kiosk config"


def _fc_match(pattern: str) -> FontFace | None:
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}|%{index}|%{lang}", pattern],
            capture_output=True, text=True, timeout=5, check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.split("|", 2)
    if len(parts) < 3 or not parts[0]:
        return None
    langs = parts[2].split("|")
    if not any(lang in ("zh-cn", "zh-sg", "zh") for lang in langs):
        return None
    try:
        index = int(parts[1] or 0)
    except ValueError:
        index = 0
    return FontFace(parts[0], index)


def find_cjk_font(configured: str = "", bold: bool = False) -> FontFace:
    """The configured font if set (it must exist), else fontconfig's Chinese sans-serif face.

    ``configured`` may be ``path`` or ``path#index`` for a face inside a collection.
    """
    if configured:
        path, _, idx = configured.partition("#")
        if not Path(path).is_file():
            raise FontError(f"display.font = {configured!r}: no such font file; {_HINT}")
        return FontFace(path, int(idx) if idx.isdigit() else 0)
    if shutil.which("fc-match") is None:
        raise FontError(f"fc-match (fontconfig) is not installed, so no Chinese font can be found; {_HINT}")
    weight = ":weight=bold" if bold else ""
    for pattern in (f"sans-serif:lang=zh-cn{weight}", f":lang=zh-cn{weight}", ":lang=zh"):
        face = _fc_match(pattern)
        if face is not None and Path(face.path).is_file():
            return face
    raise FontError(f"no font covering Chinese (zh-cn) was found through fontconfig; {_HINT}")
