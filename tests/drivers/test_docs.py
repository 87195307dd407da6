"""Installers read docs/drivers.md: every driver setting and command must be in it."""
from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

from drivers import args as cli
from drivers.config import CameraConfig, GpioConfig, ReaderConfig

DOC = (Path(__file__).resolve().parents[2] / "docs" / "drivers.md").read_text(encoding="utf-8")


def section(name: str) -> str:
    match = re.search(rf"^\[{name}\]\n(.*?)(?:^\[|^```)", DOC, re.S | re.M)
    assert match, f"docs/drivers.md has no [{name}] example"
    return match.group(1)


@pytest.mark.parametrize("name, cls", [("reader", ReaderConfig), ("camera", CameraConfig), ("gpio", GpioConfig)])
def test_every_setting_is_in_the_documented_example(name, cls):
    documented = set(re.findall(r"^(\w+) =", section(name), re.M))
    assert documented == {f.name for f in dataclasses.fields(cls)}


def test_every_command_is_documented():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    cli.register(sub)
    for command in sub.choices:
        assert f"gatepass {command}" in DOC
