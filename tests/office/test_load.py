"""The office load test (`make bench-office`, bench/office.py) in its short form, on PostgreSQL.

The same harness as the benchmark: `gatepass office serve` with two worker processes, 100
simulated gates in 4 estates pushing hash-chained rows, pulling and heartbeating on a
compressed morning with a move-out rush, while the office issues slips and revokes permits.
Only correctness is asserted here, never a timing: no request failed, every event the gates
made is stored exactly once (replayed pushes answered as duplicates), and every gate's
replica, and the SQLite replicas written by the real ReplicaWriter, equal the office.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.office import QUICK, run, wipe
from tests.office.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="set GATEPASS_PG_URL to run the office load test on PostgreSQL")


def test_short_load_stores_every_event_once_and_leaves_every_replica_equal_to_the_office(tmp_path: Path) -> None:
    wipe(PG_URL)
    report = run(PG_URL, QUICK, work_dir=tmp_path)

    assert report["errors"] == {}, report["error_samples"]
    assert report["server_log_tracebacks"] == 0
    once = report["exactly_once"]
    assert once["made"] > 0 and once["stored"] == once["made"], once
    assert once["stored_twice"] == once["missing"] == once["not_made"] == once["differ"] == 0, once
    assert once["gates_head_wrong"] == 0, once
    assert once["duplicates_expected"] > 0 and once["duplicates_answered"] == once["duplicates_expected"], once
    replicas = report["replicas"]
    assert replicas["gates"] == QUICK.gates and replicas["sqlite_replicas"] == QUICK.estates, replicas
    assert replicas["gates_differing"] == 0 and replicas["sqlite_replicas_differing"] == 0, replicas["examples"]
    # the run did what a morning does: slips issued and released, permits revoked
    assert report["office_changes_made"]["slips"] > 0 and report["office_changes_made"]["revocations"] > 0
    assert report["releases"] > 0
    assert report["ok"] is True
