"""docs/install.md: what the emulated install runs of it, and the defects of issue 17 kept fixed.

`make pi-install-check` (scripts/pi-install/check.py, slow, as root, not in `make test`) runs the
guide's marked blocks on Debian arm64 roots. These fast checks keep the guide and that harness
in step (every block it substitutes in still has the text it replaces) and keep the fixes that
the emulated install and a reading of the guide found: each test names the defect it guards.
"""
from __future__ import annotations

import importlib.util
import re
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "install.md"


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pi_install_check", ROOT / "scripts" / "pi-install" / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


check = _harness()
TEXT = GUIDE.read_text(encoding="utf-8")
BLOCKS = dict(check.guide_blocks(TEXT))


def section(title: str) -> str:
    """The guide's text under the heading ``title``, to the next heading of the same or a higher
    level (a `#` line inside a code block is a shell comment, not a heading)."""
    lines, out, level, fenced = TEXT.splitlines(keepends=True), [], 0, False
    for line in lines:
        if line.lstrip().startswith("```"):
            fenced = not fenced
        heading = None if fenced else re.match(r"^(#+) (.*?)\s*$", line)
        if heading and level and len(heading.group(1)) <= level:
            break
        if level:
            out.append(line)
        elif heading and heading.group(2) == title:
            level = len(heading.group(1))
    assert level, f"no heading {title!r} in docs/install.md"
    return "".join(out)


def shell_blocks(text: str) -> list[str]:
    return [textwrap.dedent(b) for b in re.findall(r"^ *```sh\n(.*?)^ *```", text, re.M | re.S)]


# ---------------------------------------------------------------- the guide and the harness


def test_the_harness_runs_the_install_in_the_guides_order() -> None:
    assert list(BLOCKS) == ["update", "sysdeps", "user", "clone", "display-check", "config", "config-check",
                            "credential", "id-key", "acceptance-checks"]
    assert set(check.AFTER_WALK) <= set(BLOCKS)


@pytest.mark.parametrize("name", sorted(check.substitutions("/dev/pts/0")))
def test_every_substitution_still_finds_its_text(name: str) -> None:
    """The harness replaces only what a chroot cannot do, and fails if the guide changed under it."""
    assert name in BLOCKS, f"the harness substitutes in block {name!r}, which the guide no longer marks"
    out = check.substituted(name, BLOCKS[name], check.substitutions("/dev/pts/0"))
    assert out != BLOCKS[name]


def test_a_substitution_of_text_the_guide_lost_stops_the_harness() -> None:
    subs = {"user": [check.Sub("no such text", "x", "test")]}
    with pytest.raises(SystemExit, match="no longer has it"):
        check.substituted("user", BLOCKS["user"], subs)


def test_marked_blocks_are_found_in_list_items_too() -> None:
    text = "1. Do:\n\n   <!-- pi-install-check: a -->\n   ```sh\n   echo one\n     echo two\n   ```\n"
    assert check.guide_blocks(text) == [("a", "echo one\n  echo two\n")]


def test_step_2_installs_what_make_sysdeps_gate_sysdeps_installs() -> None:
    """The guide says `make sysdeps gate-sysdeps` installs the same list: so it must."""
    makefile = (ROOT / "Makefile").read_text()

    def make_list(var: str) -> set[str]:
        m = re.search(rf"^{var} := (.*)$", makefile, re.M)
        assert m is not None, var
        return set(m.group(1).split())

    guide = set(BLOCKS["sysdeps"].replace("\\\n", " ").split()) - {"sudo", "apt", "install", "-y"}
    assert guide - {"git", "make", "python3", "python3-venv"} == make_list("SYSTEM_PACKAGES") | make_list("GATE_PACKAGES")


# ---------------------------------------------------------------- the defects of issue 17


def test_the_key_folder_exists_before_the_id_key_is_installed_into_it() -> None:
    """Step 6 installed id-hmac.key into /var/lib/gatepass/keys/, which nothing had made yet."""
    lines = BLOCKS["id-key"].splitlines()
    made = next(i for i, line in enumerate(lines) if re.search(r"install -d .*-o gatepass .*/var/lib/gatepass/keys$", line))
    used = next(i for i, line in enumerate(lines) if "/var/lib/gatepass/keys/id-hmac.key" in line)
    assert made < used


def test_the_gates_files_are_read_as_the_gatepass_user_with_the_venvs_full_path() -> None:
    """Steps 8-9: `cat /run/gatepass/...` (0750 gatepass) and a bare `gatepass log verify` (not on
    the admin's PATH) failed for the admin user as written."""
    for block in shell_blocks(TEXT):
        for line in block.splitlines():
            command = line.split("#")[0]
            if re.search(r"\b(cat|ls|sqlite3)\b.*/(run|var/lib)/gatepass/", command):
                assert "sudo -u gatepass" in command, line
            if re.search(r"gatepass (log|config) ", command):
                assert "sudo -u gatepass /opt/gatepass/.venv/bin/gatepass" in command, line
    assert "sudo -u gatepass /opt/gatepass/.venv/bin/gatepass log verify" in BLOCKS["acceptance-checks"]


def test_the_update_makes_the_boot_partition_writable_before_apt_full_upgrade() -> None:
    """Section 10: raspi-config's do_overlayfs 0 writes `defaults,ro` for /boot/firmware into fstab,
    which outlives the overlay: a kernel update then fails on the read-only boot partition."""
    update = section("Updating the software when the root is read-only")
    (block,) = [b for b in shell_blocks(update) if "full-upgrade" in b]
    reboot, upgrade = block.index("sudo reboot"), block.index("full-upgrade")
    assert reboot < block.index("raspi-config nonint disable_bootro") < upgrade
    assert reboot < block.index("sudo mount -o remount,rw /boot/firmware", reboot) < upgrade
    assert "gate-aarch64-$VERSION_CODENAME.lock" in block


def test_the_panel_is_turned_by_display_rotate_not_by_lcd_rotate() -> None:
    """Step 7: lcd_rotate=2 does nothing under KMS; the kiosk's display.rotate does."""
    step7 = section("7. The console and the screen")
    assert "display.rotate" in step7
    assert not any("lcd_rotate" in b for b in shell_blocks(TEXT))
    for sentence in re.split(r"(?<=[.:])\s", step7):
        if "lcd_rotate" in sentence:
            assert "Do not" in sentence or "nothing" in sentence, sentence


def test_the_guide_says_who_reads_the_rtc_at_boot_and_how_to_check() -> None:
    clock = section("The clock: an RTC, and what the office does without one")
    assert "CONFIG_RTC_HCTOSYS" in clock and "hwclock-set" in clock
    assert "setting system clock" in clock          # the kernel's own message, what the check greps for
    assert "Not tried here" in clock


def test_the_guide_covers_both_raspberry_pi_os_releases() -> None:
    for release, python in (("Trixie", "3.13"), ("Bookworm", "3.11")):
        row = next((line for line in TEXT.splitlines() if line.startswith(f"| **{release}**")), None)
        assert row is not None and python in row, release
        lock = re.search(r"`(requirements/gate-aarch64-\w+\.lock)`", row)
        assert lock is not None and (ROOT / lock.group(1)).is_file(), row
    assert "64-bit, Bookworm)" not in TEXT
