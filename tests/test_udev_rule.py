"""systemd/99-gatepass-reader.rules reads as the udev rules we expect (no udevadm here to verify it).

Every rule line, active or commented out as an alternative, is checked: comma-separated
KEY[{attr}]<op>"value" pairs, each key a udev key, match keys compared with == or !=,
assignment keys given with = += -= :=, and the symlink it makes is the reader port the
production config uses. Exactly one rule is active, and it tells identical CH340s apart by
their USB port (ENV{ID_PATH}), as docs/install.md (step 5) says.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "systemd" / "99-gatepass-reader.rules"

# udev(7): keys that only match, keys that only assign, and ENV/ATTR/TAG which do either.
MATCH_KEYS = {"ACTION", "DEVPATH", "KERNEL", "KERNELS", "SUBSYSTEM", "SUBSYSTEMS", "DRIVER", "DRIVERS",
              "ATTRS", "TAGS", "CONST", "TEST", "PROGRAM", "RESULT"}
ASSIGN_KEYS = {"NAME", "SYMLINK", "OWNER", "GROUP", "MODE", "SECLABEL", "OPTIONS", "IMPORT", "RUN",
               "LABEL", "GOTO"}
EITHER_KEYS = {"ENV", "ATTR", "SYSCTL", "TAG"}
NEEDS_ATTRIBUTE = {"ATTR", "ATTRS", "ENV", "SYSCTL", "CONST"}
MAY_HAVE_ATTRIBUTE = NEEDS_ATTRIBUTE | {"IMPORT", "RUN", "SECLABEL", "TEST"}
PAIR = re.compile(r'(?P<key>[A-Z_]+)(?:\{(?P<attr>[^}]+)\})?(?P<op>==|!=|\+=|-=|:=|=)"(?P<value>[^"]*)"')
RULE_START = re.compile(r"^#?(SUBSYSTEM|ACTION|KERNEL)")


def parse_rule(line: str) -> list[tuple[str, str | None, str, str]]:
    pairs = []
    for part in re.split(r",\s*", line.strip()):
        m = PAIR.fullmatch(part)
        assert m, f"not a udev KEY<op>\"value\" pair: {part!r} in {line!r}"
        pairs.append((m["key"], m["attr"], m["op"], m["value"]))
    return pairs


def rule_lines(text: str) -> tuple[list[str], list[str]]:
    """(active rules, rules commented out as alternatives); continuation lines joined."""
    text = text.replace("\\\n", "")
    active = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    commented = [ln.lstrip()[1:] for ln in text.splitlines() if RULE_START.match(ln.lstrip()) and ln.lstrip().startswith("#")]
    return active, commented


def production_reader_port() -> str:
    return str(tomllib.loads((ROOT / "config" / "production.toml").read_text())["reader"]["port"])


ACTIVE, COMMENTED = rule_lines(RULES.read_text())


def test_exactly_one_rule_is_active_and_there_are_alternatives():
    assert len(ACTIVE) == 1, ACTIVE
    assert len(COMMENTED) >= 3


@pytest.mark.parametrize("line", ACTIVE + COMMENTED)
def test_each_rule_uses_known_keys_with_the_right_operators(line):
    for key, attr, op, _ in parse_rule(line):
        assert key in MATCH_KEYS | ASSIGN_KEYS | EITHER_KEYS, f"{key} is not a udev key"
        if key in MATCH_KEYS:
            assert op in ("==", "!="), f"{key} only matches: {op}"
        if key in ASSIGN_KEYS:
            assert op in ("=", "+=", "-=", ":="), f"{key} only assigns: {op}"
        if key in NEEDS_ATTRIBUTE:
            assert attr, f"{key} needs {{attribute}}"
        if attr is not None:
            assert key in MAY_HAVE_ATTRIBUTE, f"{key}{{{attr}}}: {key} takes no attribute"


@pytest.mark.parametrize("line", ACTIVE + COMMENTED)
def test_each_rule_makes_the_name_the_production_config_uses(line):
    pairs = parse_rule(line)
    symlinks = [value for key, _, op, value in pairs if key == "SYMLINK" and op == "+="]
    assert symlinks == ["gatepass-reader"]
    assert production_reader_port() == "/dev/" + symlinks[0]
    assert ("SUBSYSTEM", None, "==", "tty") in pairs
    assert ("GROUP", None, "=", "dialout") in pairs and ("MODE", None, "=", "0660") in pairs
    assert ("ENV", "ID_MM_DEVICE_IGNORE", "=", "1") in pairs


def test_the_active_rule_picks_a_ch340_by_its_usb_port():
    pairs = parse_rule(ACTIVE[0])
    assert ("ATTRS", "idVendor", "==", "1a86") in pairs and ("ATTRS", "idProduct", "==", "7523") in pairs
    paths = [value for key, attr, op, value in pairs if (key, attr, op) == ("ENV", "ID_PATH", "==")]
    assert len(paths) == 1 and re.fullmatch(r"platform-\S+-usb-0:[\d.]+:1\.0", paths[0]), paths


def test_the_kernels_alternative_names_a_usb_interface():
    kernels = [value for line in COMMENTED for key, _, op, value in parse_rule(line) if key == "KERNELS"]
    assert kernels and all(re.fullmatch(r"\d+-[\d.]+:\d+\.\d+", k) for k in kernels), kernels


def test_the_parser_refuses_what_udev_would():
    with pytest.raises(AssertionError):
        parse_rule('SUBSYSTEM=="tty", SYMLINK+=gatepass-reader')          # unquoted value
    with pytest.raises(AssertionError):
        parse_rule('SUBSYSTEM=="tty" SYMLINK+="gatepass-reader"')          # missing comma
