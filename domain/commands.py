"""The `gatepass` command's plugin contract: how each side adds its subcommands.

Each package registers its subcommands through the ``gatepass.commands`` entry points
(pyproject.toml). Registering only describes arguments: the code that runs a command is
named by a ``"module:function"`` string and imported when that command runs, so a gate's
venv (no web stack) lists and runs every gate command, and an office's venv (no pygame,
camera or GPIO libraries) every office command, whatever the other side's plugin imports
(issue 17). pyproject's import-linter contract keeps the registering modules free of every
library but the core's.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from domain.errors import GatepassError

#: The entry-point group through which each package adds its subcommands.
COMMANDS = "gatepass.commands"
#: Entry-point group naming each kind of settings file `gatepass config check` knows.
CONFIG_KINDS = "gatepass.configs"

#: Which install profile brings what a command needs: pyproject's extra -> what it is for (Chinese, English).
PROFILES: dict[str, tuple[str, str]] = {
    "gate": ("门岗程序所需的库", "the gate's libraries (kiosk, card reader, camera, GPIO, sync)"),
    "office": ("办公室服务所需的库", "the office's libraries (server, console, database)"),
}


#: gatepass's own top-level packages (pyproject's packages.find).
OWN_PACKAGES = frozenset({"domain", "kiosk", "drivers", "sync", "office", "bench"})


class NotInstalled(GatepassError):
    """A command whose side's libraries this install does not have."""


@dataclass(frozen=True)
class Command:
    """A subcommand's code, imported only when it runs: ``target`` is ``"module:function"``,
    ``profile`` the extra that installs what it needs (a key of PROFILES)."""

    target: str
    profile: str

    def __post_init__(self) -> None:
        module, sep, name = self.target.partition(":")
        if not (module and sep and name.isidentifier()):
            raise ValueError(f"command target {self.target!r}: expected 'module:function'")
        if self.profile not in PROFILES:
            raise ValueError(f"command profile {self.profile!r}: one of {', '.join(PROFILES)}")

    def load(self) -> Callable[..., int]:
        module, _, name = self.target.partition(":")
        fn: Callable[..., int] = getattr(import_module(module), name)
        return fn

    def __call__(self, args: argparse.Namespace, **seams: object) -> int:
        """Run the command (``seams``: what a test injects, e.g. the kiosk's clock); a library its
        profile brings that is missing here is a NotInstalled that says what to install, not a
        traceback (the code imports most libraries as it runs)."""
        try:
            return int(self.load()(args, **seams) or 0)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if not missing or missing.partition(".")[0] in OWN_PACKAGES:
                raise                                       # our own module missing: a broken install, not a profile
            raise NotInstalled(
                f"这台机器未安装{PROFILES[self.profile][0]}（缺少 {missing}）/ this install has no {missing}, one of "
                f"{PROFILES[self.profile][1]}: pip install '.[{self.profile}]' (docs/install.md)") from exc


def gate(target: str) -> Command:
    """A gate command (kiosk, drivers, sync): ``"module:function"``."""
    return Command(target, "gate")


def office(target: str) -> Command:
    """An office command: ``"module:function"``."""
    return Command(target, "office")
