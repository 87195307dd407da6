"""Makes this Python process an install profile's venv: the top-level modules named in
$GATEPASS_PROFILE_ABSENT (comma-separated) cannot be imported, as in a venv that never
installed them (tests/profiles.py computes the list from the installed packages' metadata).

Put on PYTHONPATH by tests/profiles.py; it also covers the subprocesses a command starts.
"""
from __future__ import annotations

import os
import sys

_ABSENT = frozenset(filter(None, os.environ.get("GATEPASS_PROFILE_ABSENT", "").split(",")))


class _NotInThisProfile:
    """A meta-path finder that answers for every absent module as Python does for a missing one."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in _ABSENT:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the {os.environ.get('GATEPASS_PROFILE')} profile)",
                                      name=name)
        return None


if _ABSENT:
    # Anything site imported before us (a .pth file) stays; nothing of the list may be loaded yet.
    loaded = sorted(m for m in sys.modules if m.partition(".")[0] in _ABSENT)
    if loaded:
        raise SystemExit(f"profile {os.environ.get('GATEPASS_PROFILE')}: already imported at start: {', '.join(loaded)}")
    sys.meta_path.insert(0, _NotInThisProfile())
