"""The load test's two end checks can fail: a replica missing one row, a cursor short of its
estate's head, an event the office lacks or holds under another hash are each reported.

Runs on a SQLite office (the checks use no PostgreSQL-only SQL), set up by the load test's own
`setup_office`; the replicas are filled from the office's change log as a pull would fill them.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from bench.office import QUICK, Outcome, check_exactly_once, check_replicas, row_digest, setup_office
from kiosk.store import REPLICA_TABLES
from office.changes import changes_since
from office.db import open_engine


def _office(tmp_path: Path) -> tuple[object, Outcome]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp_path / 'office.db'}"
    plan = replace(QUICK, gates=4, estates=2, permits_per_estate=5, units_per_estate=4, sqlite_replicas=False)
    _cfg, gates, _permits = setup_office(url, tmp_path, plan)
    engine = open_engine(url)
    with engine.connect() as conn:
        for g in gates:                       # a complete pull, applied as the generator applies it
            for ch in changes_since(conn, g.estate, 0, 100_000):
                if ch["table"] in REPLICA_TABLES:
                    g.replica[(ch["table"], json.dumps(ch["key"]))] = row_digest(ch["row"])
                g.cursor = ch["seq"]
    out = Outcome()
    out.gates = gates
    return engine, out


def test_replica_check_passes_complete_replicas_and_names_a_missing_row_or_a_short_cursor(tmp_path: Path) -> None:
    engine, out = _office(tmp_path)
    assert check_replicas(engine, out)["ok"] is True

    victim = out.gates[0]
    dropped = next(k for k in victim.replica if k[0] == "permits")
    del victim.replica[dropped]
    found = check_replicas(engine, out)
    assert found["ok"] is False and found["gates_differing"] == 1 and victim.gate_id in found["examples"][0]

    victim.replica[dropped] = 0               # present, but not the office's row
    assert check_replicas(engine, out)["gates_differing"] == 1

    engine2, out2 = _office(tmp_path / "again")
    out2.gates[1].cursor -= 1
    assert check_replicas(engine2, out2)["gates_differing"] == 1


def test_exactly_once_check_names_an_event_the_office_lacks_and_a_gate_head_short(tmp_path: Path) -> None:
    engine, out = _office(tmp_path)
    assert check_exactly_once(engine, out)["ok"] is True       # no rows made, none stored

    g = out.gates[0]
    out.made["e-1"] = (g.gate_id, 1, "0" * 64)
    g.seq = 1
    found = check_exactly_once(engine, out)
    assert found["ok"] is False and found["missing"] == 1 and found["gates_head_wrong"] == 1

    out.made.clear()
    g.seq = 0
    out.duplicates_expected = 2                # a replay the office did not answer as duplicates
    out.duplicates_answered = 1
    assert check_exactly_once(engine, out)["ok"] is False
