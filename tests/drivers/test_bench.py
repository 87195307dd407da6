"""The drivers bench runs and backs the choice of default decoder (slow: ~15 s)."""
from __future__ import annotations

import pytest

from drivers.config import CameraConfig


@pytest.mark.slow
def test_quick_bench_rows_are_well_formed_and_back_the_default_decoder():
    from bench.drivers import run
    rows = run(quick=True)
    for r in rows:
        assert set(r) == {"name", "value", "unit", "target", "met"}
        assert isinstance(r["value"], float) and (r["target"] is None) == (r["met"] is None)
    value = {r["name"]: r["value"] for r in rows}
    assert value["reader frames lost"] == 0
    assert value["hid numbers lost"] == 0
    rate = {d: value[f"decode rate {d} with fallback: random distortions (40 frames)"] for d in ("zxing", "pyzbar")}
    default = CameraConfig().decoder
    other = "pyzbar" if default == "zxing" else "zxing"
    assert rate[default] >= rate[other]     # decode rates are deterministic; speeds are not asserted
    from drivers import hardcorpus

    n = 3 * len(hardcorpus.KINDS)
    for part in ("tuned", "held-out"):            # deterministic too: the corpus is seeded
        ours = value[f"hard photos decode rate gatepass: {part} ({n} photos)"]
        assert ours >= value[f"hard photos decode rate union of bare: {part} ({n} photos)"]
        assert value[f"hard photos read by some bare library but not by gatepass: {part} ({n} photos)"] == 0
        assert value[f"hard photos wrong texts, any decoder: {part}"] == 0
