"""An office and a gate of different versions still sync: a column one side added and the
other does not send takes its default, it does not stop the pull."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from domain.model import PermitStatus
from kiosk.store import Replica
from office import schema
from office.changes import put_rows
from office.db import open_office
from sync.replica_writer import ReplicaWriter

PERMIT = {"permit_id": "P1", "card_uid": "04A1B2C3", "kind": "resident", "holder_name": "张伟", "id_masked": "",
          "id_hash": "", "photo": "", "phone": "", "unit_id": "3-2-1502", "valid_from": "2026-01-01T00:00:00+08:00",
          "valid_until": "2027-01-01T00:00:00+08:00", "status": "active"}


def test_a_permit_from_an_office_that_does_not_send_replaces_is_taken_with_the_default(tmp_path: Path) -> None:
    replica = Replica.open(tmp_path / "replica.db")
    writer = ReplicaWriter(replica)
    change = {"seq": 1, "table": "permits", "op": "upsert", "key": ["P1"], "row": dict(PERMIT)}   # no "replaces"
    writer.apply_page([change], 1, "e" * 16, "2026-11-30T12:00:00+00:00", 100)
    permit = replica.permit_by_card("04A1B2C3")
    assert permit is not None and permit.status is PermitStatus.ACTIVE and permit.replaces == ""


def test_the_office_sends_a_column_left_out_of_a_write_as_the_database_stored_it(tmp_path: Path) -> None:
    engine = open_office(f"sqlite:///{tmp_path / 'office.db'}")
    with engine.begin() as conn:
        put_rows(conn, "default", schema.units, [{"unit_id": "3-2-1502", "building": "3", "room": "1502", "unpaid_fees": 0}])
        put_rows(conn, "default", schema.permits, [PERMIT])                                     # no "replaces"
        body = conn.execute(select(schema.changes.c.body).where(schema.changes.c.tbl == "permits")).scalar_one()
        stored = conn.execute(select(schema.permits.c.replaces)).scalar_one()
    assert json.loads(body)["replaces"] == stored == ""
