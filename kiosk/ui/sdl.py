"""Which video drivers the SDL under pygame was built with, and the refusal of one without KMSDRM.

A Raspberry Pi without a desktop draws through SDL's ``kmsdrm`` driver. The pygame wheels
bundle an SDL built without it (pygame then fails at the gate with "kmsdrm not available",
or silently falls back to a dummy screen); pygame-ce's wheels have it. The list is read
from the SDL library pygame itself loaded (found in this process's memory map), through
ctypes: SDL_GetNumVideoDrivers and SDL_GetVideoDriver need no SDL_Init.
"""
from __future__ import annotations

import ctypes
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pygame

from domain.errors import GatepassError

#: The driver a Pi without a desktop needs.
KMSDRM = "kmsdrm"
#: Drivers that draw nowhere: tests and headless walks, which need no screen.
OFFSCREEN = ("dummy", "offscreen")
#: pygame's SDL (a wheel's bundled copy, libSDL2-2-<hash>.0.so..., or the system's libSDL2-2.0.so...),
#: never SDL2_image or SDL2_ttf beside it.
_SDL_LIB = re.compile(r"\s(/\S*/libSDL2-2[^/\s]*\.so[^/\s]*)$")


class DisplayError(GatepassError):
    """No screen could be opened with the requested video driver."""


class SdlError(DisplayError):
    """The SDL under pygame cannot drive this gate's screen."""


@dataclass(frozen=True)
class SdlInfo:
    library: str
    version: str
    drivers: tuple[str, ...]

    @property
    def has_kmsdrm(self) -> bool:
        return KMSDRM in self.drivers


def sdl_library(maps: Path = Path("/proc/self/maps")) -> str:
    """The path of the SDL library pygame loaded into this process."""
    try:
        text = maps.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SdlError(f"cannot read {maps} to find pygame's SDL: {exc.strerror}") from None
    for line in text.splitlines():
        found = _SDL_LIB.search(line)
        if found:
            return found.group(1)
    raise SdlError(f"pygame {pygame.version.ver} is imported but no libSDL2 is mapped in this process")


def sdl_info(library: str | None = None) -> SdlInfo:
    """The video drivers compiled into ``library`` (default: pygame's own SDL)."""
    path = library or sdl_library()
    lib = ctypes.CDLL(path)
    lib.SDL_GetNumVideoDrivers.restype = ctypes.c_int
    lib.SDL_GetVideoDriver.restype = ctypes.c_char_p
    lib.SDL_GetVideoDriver.argtypes = [ctypes.c_int]
    # SDL 2 names it "KMSDRM", SDL_VIDEODRIVER takes any case: compare in lower case.
    drivers = tuple((lib.SDL_GetVideoDriver(i) or b"").decode().lower() for i in range(lib.SDL_GetNumVideoDrivers()))
    v = (ctypes.c_uint8 * 3)()                         # SDL_version {major, minor, patch}
    lib.SDL_GetVersion(ctypes.byref(v))
    version = ".".join(str(n) for n in v)
    return SdlInfo(path, version, drivers)


def needs_kmsdrm(env: Mapping[str, str] | None = None) -> bool:
    """Whether this run draws through KMS/DRM: asked for by name (the systemd unit does), or left
    to SDL on a machine with no desktop session. A window on a desktop and dummy runs do not."""
    env = os.environ if env is None else env
    wanted = [d.strip().lower() for d in env.get("SDL_VIDEODRIVER", "").split(",") if d.strip()]
    if wanted:
        return KMSDRM in wanted
    return not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def refusal(info: SdlInfo) -> str:
    """What the installer reads when pygame's SDL cannot draw without a desktop."""
    found = ", ".join(info.drivers) or "none"
    return (f"pygame 的 SDL（{info.version}，{info.library}）没有 KMSDRM 视频驱动，无桌面的树莓派无法显示。"
            "请安装 pygame-ce（pip uninstall -y pygame && pip install 'pygame-ce>=2.5'，"
            "或重新 pip install -e '/opt/gatepass[gate]'）\n"
            f"pygame's SDL ({info.version}, {info.library}) has no KMSDRM video driver (it has: {found}), so a "
            "Raspberry Pi without a desktop cannot draw. Install pygame-ce: pip uninstall -y pygame && "
            "pip install 'pygame-ce>=2.5' (or pip install -e '/opt/gatepass[gate]' again)")


def require_kmsdrm(env: Mapping[str, str] | None = None, info: SdlInfo | None = None) -> None:
    """Refuse to start a run that needs KMS/DRM on an SDL without it (SdlError, saying what to do)."""
    if not needs_kmsdrm(env):
        return
    info = info or sdl_info()
    if not info.has_kmsdrm:
        raise SdlError(refusal(info))
