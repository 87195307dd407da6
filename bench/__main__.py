"""`make bench`: run every benchmark, print a table, write bench/report.json.

Each area module has `run(quick: bool) -> list[dict]`, each figure
{"name", "value", "unit", "target", "met"}. Figures are compared against targets in
one run on one machine; they are never pass/fail unit tests.
"""
from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from pathlib import Path

AREAS = ("bench.core", "bench.drivers", "bench.kiosk", "bench.sync")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="run every benchmark briefly")
    parser.add_argument("--out", default=str(Path(__file__).with_name("report.json")))
    parser.add_argument("--only", action="append", help="run only this area (core, drivers, kiosk, sync)")
    args = parser.parse_args(argv)
    figures: list[dict] = []
    errors: dict[str, str] = {}
    started = time.perf_counter()
    for name in AREAS:
        short = name.split(".")[1]
        if args.only and short not in args.only:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue          # this area has no benchmarks yet
            raise
        t0 = time.perf_counter()
        try:
            for fig in module.run(quick=args.quick):
                fig.setdefault("area", short)
                figures.append(fig)
        except Exception:        # one area failing must not hide the others' figures
            errors[short] = traceback.format_exc()
        print(f"[bench] {short}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    report = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": _cpus()},
        "quick": args.quick,
        "seconds": round(time.perf_counter() - started, 1),
        "figures": figures,
        "errors": errors,
    }
    Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(report, ensure_ascii=False, indent=2))
    print(_table(figures), file=sys.stderr)
    return 1 if errors else 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)


def _table(figures: list[dict]) -> str:
    rows = [("figure", "value", "unit", "target", "met")]
    for f in figures:
        met = {True: "yes", False: "NO", None: "-"}[f.get("met")]
        value = f["value"]
        shown = f"{value:.3g}" if isinstance(value, float) else str(value)
        rows.append((f"{f['area']}: {f['name']}", shown, f.get("unit", ""), str(f.get("target") or "-"), met))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


if __name__ == "__main__":
    sys.exit(main())
