"""The gate core and the shared domain are pure: no I/O library and no clock, so the gate
procedure and every rule are testable as tables.

The domain has exactly four modules that are allowed to touch the outside world, each
because a file format or the clock is itself a contract between processes: the settings
loader (TOML files), the key files, the status files, and the one clock.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "kiosk" / "core"
DOMAIN = ROOT / "domain"
DOMAIN_IO = {"settings.py", "keyfiles.py", "statusfiles.py", "clock.py"}
FORBIDDEN = {"pygame", "serial", "cv2", "gpiozero", "sqlite3", "sqlite_utils", "time", "socket", "os", "subprocess",
             "pathlib", "io", "threading", "asyncio", "requests", "httpx", "urllib", "random", "uuid", "zxingcpp",
             "pyzbar", "numpy", "fastapi", "sqlalchemy", "shutil", "logging"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_no_io_library():
    offenders = {}
    files = sorted(CORE.glob("*.py"))
    assert len(files) >= 5
    for f in files:
        bad = imported_modules(f) & FORBIDDEN
        if bad:
            offenders[f.name] = sorted(bad)
    assert offenders == {}


def pure_domain_files() -> list[Path]:
    return [f for f in sorted(DOMAIN.glob("*.py")) if f.name not in DOMAIN_IO]


def test_the_domain_imports_no_io_library_outside_its_four_io_modules():
    files = pure_domain_files()
    assert {"model.py", "rules.py", "reasons.py", "exitrow.py", "chain.py", "slip_token.py", "secrets.py"} <= {f.name for f in files}
    offenders = {f.name: sorted(bad) for f in files if (bad := imported_modules(f) & FORBIDDEN)}
    assert offenders == {}


def test_core_imports_only_the_core_and_the_domain_from_the_project():
    for f in sorted(CORE.glob("*.py")):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in {"kiosk", "drivers", "sync", "office"}:
                assert node.module.startswith("kiosk.core"), f"{f.name} imports {node.module}"


def test_the_domain_imports_nothing_of_the_parts_that_use_it():
    for f in sorted(DOMAIN.glob("*.py")):
        for name in imported_modules(f):
            assert name not in {"kiosk", "drivers", "sync", "office", "bench"}, f"domain/{f.name} imports {name}"


def test_core_and_domain_never_read_the_clock():
    for f in sorted(CORE.glob("*.py")) + pure_domain_files():
        text = f.read_text(encoding="utf-8")
        for call in ("datetime.now(", "date.today(", "datetime.utcnow(", "time.time("):
            assert call not in text, f"{f.name} reads the clock with {call}"
