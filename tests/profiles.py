"""The install profiles as their users have them: a gate's venv (`.[gate]`, `.[gate,pi]` from the
lock), an office's (`.[office]`, `.[office,postgres]`).

The test venv holds every extra. To run a command as a gate or an office would, a process
is started with tests/profile_site/sitecustomize.py on its path, which makes every module
the profile would not have installed fail to import, exactly as in a venv without it. What
a profile has is read from the installed metadata: the closure of gatepass's requirements
for the profile's extras, so a library added to pyproject.toml moves with it.

With $GATEPASS_GATE_VENV / $GATEPASS_OFFICE_VENV set (`make test-profiles`: venvs that pip
made with only that profile) the commands run in those venvs instead, nothing blocked.
"""
from __future__ import annotations

import os
import re
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(__file__).resolve().parent / "profile_site"

#: Each profile's extras (pyproject.toml), the widest of each side.
EXTRAS = {"gate": ("gate", "pi"), "office": ("office", "postgres")}
#: Every venv has these, whatever it installed.
ALWAYS = frozenset({"pip", "setuptools", "wheel"})


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _wanted(marker: Marker | None, extras: tuple[str, ...]) -> bool:
    if marker is None:
        return True
    return any(marker.evaluate({"extra": e}) for e in (extras or ("",)))


@cache
def installed(profile: str) -> frozenset[str]:
    """The distributions a venv of ``profile`` holds: gatepass's requirements for its extras, and theirs."""
    seen: set[str] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [("gatepass", EXTRAS[profile])]
    while todo:
        name, extras = todo.pop()
        key = _norm(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue                       # a requirement for another platform (lgpio off a Pi)
        first = key not in seen
        seen.add(key)
        for text in dist.requires or []:
            req = Requirement(text)
            if _wanted(req.marker, extras):
                if first or req.extras:
                    todo.append((req.name, tuple(sorted(req.extras))))
    return frozenset(seen | ALWAYS)


@cache
def absent(profile: str) -> frozenset[str]:
    """Top-level modules installed here that a venv of ``profile`` would not have."""
    have = installed(profile)
    out = set()
    for module, dists in metadata.packages_distributions().items():
        if module.startswith("_") and module != "_cffi_backend" or not module.isidentifier():
            continue                       # .pth helpers and editable-install finders
        if not any(_norm(d) in have for d in dists):
            out.add(module)
    return frozenset(out)


def venv(profile: str) -> Path | None:
    """A real venv of ``profile`` to run in, when `make test-profiles` made one."""
    path = os.environ.get(f"GATEPASS_{profile.upper()}_VENV")
    return Path(path) if path else None


def python(profile: str) -> str:
    v = venv(profile)
    return str(v / "bin" / "python") if v else sys.executable


def gatepass(profile: str) -> list[str]:
    """argv of the `gatepass` command in ``profile``: the console script pip wrote."""
    v = venv(profile)
    return [str(v / "bin" / "gatepass")] if v else [str(Path(sys.executable).parent / "gatepass")]


def environ(profile: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a process in ``profile``."""
    env = dict(os.environ if base is None else base)
    for key in ("GATEPASS_PROFILE", "GATEPASS_PROFILE_ABSENT"):
        env.pop(key, None)
    if venv(profile) is None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SITE), env.get("PYTHONPATH", "")]))
        env["GATEPASS_PROFILE"] = profile
        env["GATEPASS_PROFILE_ABSENT"] = ",".join(sorted(absent(profile)))
    return env
