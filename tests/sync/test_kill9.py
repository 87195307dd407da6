"""kill -9 of the sync daemon at random points while it pushes: every event reaches the office exactly once."""
from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from domain.statusfiles import read_status
from tests.office.harness import GateSite, OfficeServer, wait_for


def kill_campaign(office: OfficeServer, tmp_path: Path, trials: int, seed: int) -> int:
    """Run ``trials`` spawn/record/kill -9 rounds; return how many kills caught the daemon with a backlog."""
    rng = random.Random(seed)
    gate = GateSite(tmp_path, "north", office, push_batch=3)
    recorded: list[str] = []
    killed_with_backlog = 0
    for _ in range(trials):
        for _ in range(rng.randint(0, 6)):
            recorded.append(gate.record()["event_id"])
        proc = gate.spawn()
        kill_at = time.monotonic() + rng.uniform(0.05, 0.8)
        while time.monotonic() < kill_at:  # the kiosk keeps recording while the daemon pushes
            if rng.random() < 0.3:
                recorded.append(gate.record()["event_id"])
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if len(office.events("north")) < len(recorded):
            killed_with_backlog += 1
    proc = gate.spawn()
    try:
        assert wait_for(lambda: len(office.events("north")) >= len(recorded), timeout=30)
        assert wait_for(lambda: (read_status(gate.status_path) or {}).get("pid") == proc.pid, timeout=10)
    finally:
        proc.terminate()
        assert proc.wait(10) == 0, proc.stderr.read().decode() if proc.stderr else ""
    events = office.events("north")
    assert [e["event_id"] for e in events] == recorded          # each exactly once, in order
    assert [e["seq"] for e in events] == list(range(1, len(recorded) + 1))
    assert office.flags() == []                                  # nothing looked like a fork or a gap
    return killed_with_backlog


@pytest.mark.faults      # kill -9 trials: a fault campaign, run by `make faults`
def test_kill_9_while_pushing_loses_and_repeats_nothing(office: OfficeServer, tmp_path: Path) -> None:
    backlog_kills = kill_campaign(office, tmp_path, trials=10, seed=5)
    assert backlog_kills >= 3, "the kills should land while events were still waiting to be pushed"


@pytest.mark.faults
@pytest.mark.timeout(900)
def test_kill_9_campaign_of_200_trials(office: OfficeServer, tmp_path: Path) -> None:
    backlog_kills = kill_campaign(office, tmp_path, trials=200, seed=2026)
    assert backlog_kills >= 50
