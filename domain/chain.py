"""The exit log's hash chain, shared by the gate (writes, verifies) and office (verifies).

Each row's hash covers the previous row's hash and the row's own fields in a canonical
JSON form, so an edited, inserted or deleted row breaks the chain at that row.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from domain.exitrow import FIELD, HASHED_FIELDS, ExitRow

GENESIS = "0" * 64

#: The fields a row's hash covers: the row's own fields (domain/exitrow.py), not the chain's two.
CHAIN_FIELDS: tuple[str, ...] = HASHED_FIELDS
#: Fields added later (the boot id and boot time): hashed only when they hold something, so a row
#: recorded before they existed hashes as it always did, and one that has them cannot lose them.
_WHEN_SET: dict[str, Any] = {f.name: f.default for f in map(FIELD.__getitem__, CHAIN_FIELDS) if f.hashed_when_set}


def canonical(row: Mapping[str, Any]) -> bytes:
    body = {name: row.get(name) for name in CHAIN_FIELDS
            if name not in _WHEN_SET or row.get(name, _WHEN_SET[name]) not in (_WHEN_SET[name], None)}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(row)).hexdigest()


def seal(row: ExitRow) -> ExitRow:
    """``row`` with its hash over its ``prev_hash`` and its own fields."""
    return replace(row, hash=row_hash(row.prev_hash, row.to_dict()))


def first_break(rows: Iterable[Mapping[str, Any]], prev_hash: str = GENESIS, first_seq: int = 1) -> tuple[int, str] | None:
    """Walk rows in sequence order; return (seq, why) of the first bad row, or None.

    A row is bad when its sequence number is not the next one (a deleted or inserted
    row), its ``prev_hash`` is not the previous row's hash, or its ``hash`` does not
    match its contents (an edited row).
    """
    expected_seq = first_seq
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            kind = "missing" if seq > expected_seq else "duplicate or out of order"
            return seq, f"sequence jumps from {expected_seq - 1} to {seq} (row {kind})"
        if row.get("prev_hash") != prev_hash:
            return seq, "prev_hash does not match the previous row's hash (row inserted or removed before it)"
        if row_hash(prev_hash, row) != row.get("hash"):
            return seq, "hash does not match the row's contents (row edited)"
        prev_hash = str(row["hash"])
        expected_seq += 1
    return None
