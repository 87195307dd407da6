"""The kiosk and the sync daemon start together and both open the replica; on a first start both
would make it. Before the fix the second failed with "cannot migrate replica: database is locked"
(29 of 30 tries here with three openers, and the deployment test failed now and then)."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kiosk.store import Replica, StoreError


@pytest.mark.parametrize("attempt", range(20))
def test_processes_opening_a_new_replica_together_all_succeed(tmp_path: Path, attempt: int) -> None:
    path = tmp_path / "replica.db"
    start = threading.Barrier(4)
    errors: list[str] = []
    opened: list[Replica] = []

    def open_it() -> None:
        start.wait()
        try:
            opened.append(Replica.open(path))       # a connection of its own, as another process has
        except StoreError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(opened) == 4
    assert all(r.counts()["guards"] == 0 for r in opened)      # one schema, made once
