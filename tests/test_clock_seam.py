"""Every package reads the wall clock through domain/clock.py: nothing else asks the machine
for the time of day (the calls are listed in WALL_CLOCK), so a test that injects a clock
controls every instant the code sees, in any zone at any hour.

(Monotonic timers — ``time.monotonic``, ``perf_counter`` — measure intervals, not the
time of day, and stay free.)
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "drivers", "kiosk", "sync", "office", "bench")
THE_CLOCK = ROOT / "domain" / "clock.py"
#: (object, attribute) pairs that read the time of day.
WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
              ("time", "time"), ("time", "time_ns"), ("time", "localtime"), ("time", "gmtime"), ("time", "ctime"),
              ("time", "strftime")}


def wall_clock_reads(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
            if (name, node.func.attr) in WALL_CLOCK:
                found.append(f"{path.relative_to(root)}:{node.lineno} {name}.{node.func.attr}()")
    return found


def production_files() -> list[Path]:
    files = [f for pkg in PACKAGES for f in sorted((ROOT / pkg).rglob("*.py")) if "migrations" not in f.parts]
    assert len(files) > 80
    return files


def test_only_domain_clock_reads_the_wall_clock() -> None:
    offenders = [hit for f in production_files() if f != THE_CLOCK for hit in wall_clock_reads(f)]
    assert offenders == []


def test_the_check_sees_a_wall_clock_read(tmp_path: Path) -> None:
    # The detector itself: every listed call is caught, also through a module attribute
    # (datetime.datetime.<call>), and a monotonic timer is not. The probe is parsed, never run.
    calls = sorted(f"{owner}.{attr}()" for owner, attr in WALL_CLOCK)
    probe = tmp_path / "probe.py"
    probe.write_text("".join(f"x{i} = mod.{call}\n" for i, call in enumerate(calls)) + "y = time.monotonic()\n")
    hits = [h.split(" ")[1] for h in wall_clock_reads(probe, tmp_path)]
    assert hits == calls

