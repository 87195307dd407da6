"""The core is pure: no I/O library and no clock, so the gate procedure is testable as tables."""
from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "kiosk" / "core"
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


def test_core_imports_only_the_core_from_the_project():
    for f in sorted(CORE.glob("*.py")):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in {"kiosk", "drivers", "sync", "office"}:
                assert node.module.startswith("kiosk.core"), f"{f.name} imports {node.module}"


def test_core_never_reads_the_clock():
    for f in sorted(CORE.glob("*.py")):
        text = f.read_text(encoding="utf-8")
        for call in ("datetime.now(", "date.today(", "datetime.utcnow(", "time.time("):
            assert call not in text, f"{f.name} reads the clock with {call}"
