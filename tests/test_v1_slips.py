"""Old-format (version 1) slips prove no estate: a gate accepts one only with a key the office
published as its own estate's, never with a key that is merely in its key folder; the kiosk and
`gatepass check` decide alike (issue 18)."""
from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from domain import slip_token
from domain.keyfiles import load_private, load_public_dir
from domain.model import Gate, LargeItemHours
from domain.reasons import Reason
from domain.rules import decide_slip
from kiosk.check import check_slip
from kiosk.resolve import Resolver
from kiosk.store import Replica

GATE = Gate("north", "北门", designated_exit=True)
HOURS = LargeItemHours(allow_non_working_days=True)


def _v1(text: str, key: Ed25519PrivateKey, replica: Replica) -> str:
    """The demo's owner slip as the office printed it before estates were bound (version 1)."""
    verdict = slip_token.verify(text, replica.signing_keys(), estate=replica.estate())
    assert verdict.ok and verdict.claims is not None
    return slip_token.sign(replace(verdict.claims, key_id=""), key, None)


def _folder_with(tmp: Path, key: Ed25519PrivateKey) -> Path:
    folder = tmp / "gate-keys"
    folder.mkdir()
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    (folder / f"{slip_token.key_id_of(raw)}.pub").write_text(base64.b64encode(raw).decode() + "\n")
    return folder


def test_an_old_format_slip_signed_with_a_key_only_in_the_gates_folder_is_refused_by_kiosk_and_check(
        demo, demo_copy: Path, tmp_path: Path) -> None:
    replica = Replica.open(demo_copy / "replica.db")
    stranger = Ed25519PrivateKey.generate()            # another estate's key, its .pub copied into the folder
    folder = _folder_with(tmp_path, stranger)
    text = _v1(demo.slips["owner"], stranger, replica)
    kiosk = decide_slip(Resolver(replica, None, HOURS, load_public_dir(folder)).slip(text), GATE, demo.now)
    assert kiosk.reasons == (Reason.SLIP_UNKNOWN_KEY,)
    checked = check_slip(demo_copy / "replica.db", text, demo.now, GATE, HOURS, gate_keys_dir=str(folder))
    assert checked["allowed"] is False and checked["reasons"] == [Reason.SLIP_UNKNOWN_KEY.value]


def test_an_old_format_slip_signed_with_the_estates_published_key_is_still_accepted(demo, demo_copy: Path) -> None:
    replica = Replica.open(demo_copy / "replica.db")
    text = _v1(demo.slips["owner"], load_private(demo.keys_dir), replica)
    assert decide_slip(Resolver(replica, None, HOURS, load_public_dir(demo.keys_dir)).slip(text), GATE, demo.now).allowed
    assert check_slip(demo_copy / "replica.db", text, demo.now, GATE, HOURS, gate_keys_dir=str(demo.keys_dir))["allowed"]
