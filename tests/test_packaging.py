"""pyproject.toml builds the same way on a gate installed today and one installed next year."""
from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_build_backend_is_pinned_to_a_range_that_reads_this_file() -> None:
    (req,) = [Requirement(r) for r in PYPROJECT["build-system"]["requires"] if Requirement(r).name == "setuptools"]
    assert req.specifier.contains(Version("77.0.3")) and not req.specifier.contains(Version("76.1.0"))
    assert any(spec.operator == "<" for spec in req.specifier), "an unbounded backend may stop building this file"


def test_the_license_is_an_spdx_string_not_the_deprecated_table() -> None:
    # setuptools warns that `license = { text = ... }` stops building after 2027-02-18 (issue 17).
    assert PYPROJECT["project"]["license"] == "MIT"
