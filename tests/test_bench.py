"""`make bench QUICK=1` runs in the default suite, so no benchmark can rot unnoticed.

Figures are not judged here (timings never decide a unit test); only that every area
ran, every figure is well formed, and the report is written.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_runs_every_area_and_writes_a_well_formed_report(tmp_path):
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["errors"] == {} and report["quick"] is True
    areas = {f["area"] for f in report["figures"]}
    assert areas == {"core", "drivers", "kiosk", "sync"}
    for f in report["figures"]:
        assert f["name"] and f["unit"] is not None and isinstance(f["value"], (int, float)), f
        assert (f["target"] is None) == (f["met"] is None), f
    names = " ".join(f["name"] for f in report["figures"])
    for wanted in ("card decision", "durable commit", "qr decode zxing", "driver/bare", "decode rate",
                   "card_decision_latency_p99", "fps_idle", "fps_visitor_plate", "rss_at_start", "push", "pull"):
        assert wanted in names, wanted
    assert "figure" in proc.stderr          # the human-readable table
