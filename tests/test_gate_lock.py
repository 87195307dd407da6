"""The gate's lock files and pyproject's ranges cannot drift apart.

One lock per Raspberry Pi OS release (`make gate-lock`, aarch64): requirements/gate-aarch64-bookworm.lock
(CPython 3.11) and requirements/gate-aarch64-trixie.lock (CPython 3.13). Each must pin, with hashes,
every package the gate installs by name (the core dependencies, the `gate` and `pi` extras), each at
a version inside pyproject's range; and each of those ranges must hold one major version
(`>=X.Y,<X+1`; for 0.x, `>=0.Y,<0.Y+1`). docs/install.md installs the lock named by the Pi's
VERSION_CODENAME, so every release it names has a lock here.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
#: Raspberry Pi OS release (VERSION_CODENAME) -> its lock.
LOCKS = {release: ROOT / "requirements" / f"gate-aarch64-{release}.lock" for release in ("bookworm", "trixie")}
GATE_EXTRAS = ("gate", "pi")


def gate_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = list(project["dependencies"])
    for extra in GATE_EXTRAS:
        texts += project["optional-dependencies"][extra]
    return [Requirement(t) for t in texts]


def parse_lock(text: str) -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes), from a pip requirements file with hashes."""
    pins: dict[str, tuple[Version, int]] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", line)
        if m:
            current = canonicalize_name(m.group(1))
            assert current not in pins, f"{current} pinned twice in the lock"
            pins[current] = (Version(m.group(2)), 0)
        if "--hash=sha256:" in line:
            assert current is not None, f"a hash before any pin: {line!r}"
            version, n = pins[current]
            pins[current] = (version, n + line.count("--hash=sha256:"))
        elif not m:
            raise AssertionError(f"unexpected line in the lock: {line!r}")
    return pins


@pytest.fixture(scope="module", params=sorted(LOCKS))
def lock(request: pytest.FixtureRequest) -> Path:
    path = LOCKS[request.param]
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: run `make gate-lock`"
    return path


@pytest.fixture(scope="module")
def pins(lock: Path) -> dict[str, tuple[Version, int]]:
    return parse_lock(lock.read_text())


@pytest.mark.parametrize("req", gate_requirements(), ids=str)
def test_every_gate_requirement_is_locked_inside_its_range(req: Requirement, lock: Path,
                                                           pins: dict[str, tuple[Version, int]]) -> None:
    name = canonicalize_name(req.name)
    assert name in pins, f"{req.name} (pyproject) is not in {lock.name}: run `make gate-lock`"
    version, _ = pins[name]
    assert req.specifier.contains(version, prereleases=True), \
        f"{lock.name} pins {req.name}=={version}, outside pyproject's {req.specifier}: run `make gate-lock`"


@pytest.mark.parametrize("req", gate_requirements(), ids=str)
def test_every_gate_requirement_holds_one_major_version(req: Requirement) -> None:
    lower = [Version(s.version) for s in req.specifier if s.operator == ">="]
    upper = [Version(s.version) for s in req.specifier if s.operator == "<"]
    assert len(lower) == 1 and len(upper) == 1, f"{req}: wants exactly one >= and one <"
    lo, hi = lower[0], upper[0]
    breaking = (lo.major + 1,) if lo.major > 0 else (0, lo.minor + 1)
    assert hi.release[:len(breaking)] == breaking and all(x == 0 for x in hi.release[len(breaking):]), \
        f"{req}: the upper bound should be the next major version, <{'.'.join(map(str, breaking))}"


def test_every_pin_has_a_hash(pins: dict[str, tuple[Version, int]]) -> None:
    assert pins
    unhashed = [name for name, (_, n) in pins.items() if n == 0]
    assert not unhashed, f"pins without hashes (pip --require-hashes refuses them): {unhashed}"


def test_the_locks_are_made_by_make_gate_lock_for_their_release() -> None:
    """Each lock's header names the command that regenerates it, and the Makefile makes exactly these."""
    makefile = (ROOT / "Makefile").read_text()
    made = set(re.findall(r"\$\(call gate_lock,[^,]*,[^,]*,([a-z]+),", makefile))
    assert made == set(LOCKS), f"make gate-lock makes {sorted(made)}, the tests check {sorted(LOCKS)}"
    for path in LOCKS.values():
        assert "make gate-lock" in path.read_text().splitlines()[1], path.name


def test_the_guide_installs_the_lock_of_the_release_it_runs_on() -> None:
    """docs/install.md names the lock by VERSION_CODENAME; no other lock name may linger in it."""
    guide = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    assert "requirements/gate-aarch64-$VERSION_CODENAME.lock" in guide
    named = set(re.findall(r"gate-aarch64[-\w]*\.lock", guide)) - {"gate-aarch64-bookworm.lock", "gate-aarch64-trixie.lock"}
    assert named == set(), f"docs/install.md names locks that do not exist: {sorted(named)}"


def test_the_parser_reads_a_hashed_lock() -> None:
    text = ("# header\nfoo-bar==1.2.3 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n    # via x\n"
            "baz==0.1 \\\n    --hash=sha256:cc\n")
    assert parse_lock(text) == {"foo-bar": (Version("1.2.3"), 2), "baz": (Version("0.1"), 1)}
