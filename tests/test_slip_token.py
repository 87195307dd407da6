"""Signed slip tokens: what verifies, what never does, and that the QR stays small."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import slip_token as tok
from domain.model import SlipItem, SlipKind, TokenClaims
from domain.reasons import Reason

KEY = Ed25519PrivateKey.generate()
KEYS = {tok.key_id_of(tok.public_raw(KEY)): tok.public_raw(KEY)}
START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def claims(**kw):
    base = dict(slip_id="S261125001", kind=SlipKind.OWNER, unit_id="3-2-1502", valid_from=START,
                valid_until=START + timedelta(days=1), item_count=3,
                items_digest=tok.items_digest([SlipItem("冰箱", 1, "双开门")]), key_id="", exit_gate_id="")
    base.update(kw)
    return TokenClaims(**base)


def test_a_signed_slip_verifies_with_every_field_it_carries():
    c = claims(exit_gate_id="north", kind=SlipKind.MOVE_OUT)
    v = tok.verify(tok.sign(c, KEY), KEYS)
    assert v.ok and v.claims is not None
    assert (v.claims.slip_id, v.claims.kind, v.claims.unit_id, v.claims.item_count, v.claims.exit_gate_id) == (
        "S261125001", SlipKind.MOVE_OUT, "3-2-1502", 3, "north")
    assert v.claims.valid_from == START and v.claims.valid_until == START + timedelta(days=1)
    assert v.claims.items_digest == c.items_digest and v.claims.key_id in KEYS


def test_the_largest_slip_the_office_can_mint_fits_qr_version_9_at_level_q():
    c = claims(slip_id="S" * tok.MAX_SLIP_ID, unit_id="U" * tok.MAX_UNIT_ID, exit_gate_id="G" * tok.MAX_GATE_ID,
               item_count=255, valid_until=START + timedelta(days=3650))
    text = tok.sign(c, KEY)
    qr = segno.make(text, error="q", boost_error=False)
    assert qr.version <= 9 and qr.error == "Q" and len(text) <= tok.MAX_TOKEN_CHARS


def test_fields_that_cannot_fit_are_refused_at_the_office():
    with pytest.raises(tok.TokenFieldError):
        tok.sign(claims(slip_id="S" * (tok.MAX_SLIP_ID + 1)), KEY)
    with pytest.raises(tok.TokenFieldError):
        tok.sign(claims(valid_until=START), KEY)


def test_a_revoked_key_is_refused_even_when_its_public_key_is_at_hand():
    text = tok.sign(claims(), KEY)
    raw = tok.public_raw(KEY)
    kid = tok.key_id_of(raw)
    assert tok.verify(text, {kid: raw}).ok
    verdict = tok.verify(text, {kid: raw}, revoked={kid})
    assert verdict.reason is Reason.SLIP_KEY_REVOKED and kid in verdict.detail
    assert tok.verify(text, {kid: raw}, revoked={"00000000"}).ok       # another key's revocation changes nothing


def test_unknown_key_wrong_key_and_resigned_tokens_are_refused():
    text = tok.sign(claims(), KEY)
    assert tok.verify(text, {}).reason is Reason.SLIP_UNKNOWN_KEY
    other = Ed25519PrivateKey.generate()
    # a forger who re-signs with their own key but claims our key id
    forged = tok.sign(claims(), other)
    body = forged[len(tok.PREFIX):]
    import base64

    raw = bytearray(base64.b32decode(body + "=" * (-len(body) % 8)))
    raw[1:5] = bytes.fromhex(next(iter(KEYS)))
    swapped = tok.PREFIX + base64.b32encode(bytes(raw)).decode().rstrip("=")
    assert tok.verify(swapped, KEYS).reason is Reason.SLIP_SIGNATURE_INVALID


@pytest.mark.parametrize("text", ["", "hello", "GP1:", "GP1:!!!!", "GP1:AAAA", "http://example.com/slip",
                                  "GP1:" + "A" * 500, "GP2:" + "A" * 150, "\x00" * 100, "GP1:" + "7" * 183])
def test_garbage_is_malformed_never_an_exception(text):
    assert tok.verify(text, KEYS).reason is Reason.SLIP_MALFORMED


def test_truncated_tokens_are_refused():
    text = tok.sign(claims(), KEY)
    for cut in range(len(tok.PREFIX), len(text)):
        assert not tok.verify(text[:cut], KEYS).ok


@settings(max_examples=400, deadline=None)
@given(pos=st.integers(min_value=4, max_value=200), ch=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567=:/ "))
def test_any_single_character_changed_is_refused(pos, ch):
    text = tok.sign(claims(), KEY)
    pos = pos % len(text)
    mutated = text[:pos] + ch + text[pos + 1:]
    if mutated != text:
        assert not tok.verify(mutated, KEYS).ok


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_raises_and_never_verifies(text):
    assert not tok.verify(text, KEYS).ok


def test_huge_input_is_refused_without_decoding():
    huge = "GP1:" + "A" * 5_000_000
    verdict = tok.verify(huge, KEYS)
    assert verdict.reason is Reason.SLIP_MALFORMED and "too long" in verdict.detail


def test_items_digest_depends_on_every_field_of_every_line():
    a = [SlipItem("冰箱", 1, "双开门"), SlipItem("纸箱", 3, "")]
    assert tok.items_digest(a) == tok.items_digest(list(a))
    assert tok.items_digest(a) != tok.items_digest([SlipItem("冰箱", 2, "双开门"), SlipItem("纸箱", 3, "")])
    assert tok.items_digest(a) != tok.items_digest(a[::-1])


# --- Pinned kind codes and golden tokens: slips already printed must read the same forever ---

#: The Ed25519 key of the golden vectors (its 32-byte seed); a test key, never an office's.
GOLDEN_SEED = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
GOLDEN_KEY = Ed25519PrivateKey.from_private_bytes(GOLDEN_SEED)
GOLDEN_KEYS = {tok.key_id_of(tok.public_raw(GOLDEN_KEY)): tok.public_raw(GOLDEN_KEY)}
VECTORS = json.loads((Path(__file__).parent / "data" / "slip_token_vectors.json").read_text(encoding="utf-8"))["vectors"]


def golden_claims(v) -> TokenClaims:
    c = v["claims"]
    return TokenClaims(slip_id=c["slip_id"], kind=SlipKind(c["kind"]), unit_id=c["unit_id"],
                       valid_from=datetime.fromisoformat(c["valid_from"]), valid_until=datetime.fromisoformat(c["valid_until"]),
                       item_count=c["item_count"], items_digest=c["items_digest"], key_id=c["key_id"],
                       exit_gate_id=c["exit_gate_id"])


def test_every_slip_kind_has_its_own_pinned_code():
    assert set(tok.KIND_CODES.values()) == set(SlipKind), "a SlipKind without a token code: pin the next unused code"
    assert len(set(tok.KIND_CODES.values())) == len(tok.KIND_CODES)
    assert all(0 <= code <= 255 for code in tok.KIND_CODES)
    assert all(tok.KIND_CODES[tok.CODE_OF_KIND[kind]] is kind for kind in SlipKind)


def test_every_slip_kind_has_a_golden_token():
    assert {SlipKind(v["claims"]["kind"]) for v in VECTORS} == set(SlipKind)


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_golden_claims_sign_to_exactly_the_recorded_text(v):
    items = [SlipItem(name, quantity, spec) for name, quantity, spec in v["items"]]
    assert tok.items_digest(items) == v["claims"]["items_digest"]
    assert tok.sign(golden_claims(v), GOLDEN_KEY, v.get("estate")) == v["token"]


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_golden_text_verifies_to_exactly_the_recorded_claims(v):
    verdict = tok.verify(v["token"], GOLDEN_KEYS, estate=v.get("estate", "default"))
    assert verdict.ok, verdict.detail
    assert verdict.claims == golden_claims(v)


def test_there_are_golden_tokens_of_both_versions():
    assert {tok.VERSION_NO_ESTATE, tok.VERSION} == {2 if "estate" in v else 1 for v in VECTORS}


# --- Estates: the issuing estate is under the signature (version 2) ---

WEST = Ed25519PrivateKey.generate()
WEST_RAW = tok.public_raw(WEST)
WEST_KID = tok.key_id_of(WEST_RAW)


def test_a_slip_of_one_estate_verifies_there_and_is_another_estates_slip_elsewhere():
    text = tok.sign(claims(), WEST, "west")
    assert tok.verify(text, {WEST_KID: WEST_RAW}, estate="west").ok
    # At estate default's gate, which knows west's key only as another estate's:
    verdict = tok.verify(text, KEYS, estate="default", other_estates={WEST_KID: ("west", WEST_RAW)})
    assert verdict.reason is Reason.SLIP_OTHER_ESTATE and "west" in verdict.detail
    assert verdict.claims is not None and verdict.claims.slip_id == "S261125001"
    # A gate that does not know west's key at all cannot tell it from any unknown key.
    assert tok.verify(text, KEYS, estate="default").reason is Reason.SLIP_UNKNOWN_KEY


def test_the_estate_is_proved_by_the_signature_not_by_where_the_key_is_found():
    # The same key published for another estate (a copied key folder) does not make a west
    # slip good there: the signature covers "west".
    text = tok.sign(claims(), WEST, "west")
    assert tok.verify(text, {WEST_KID: WEST_RAW}, estate="default").reason is Reason.SLIP_SIGNATURE_INVALID
    # And a genuine west slip is not "other estate" when another estate claims west's key:
    wrong = tok.verify(text, KEYS, estate="default", other_estates={WEST_KID: ("east", WEST_RAW)})
    assert wrong.reason is Reason.SLIP_SIGNATURE_INVALID


def test_a_version_1_slip_proves_no_estate_and_counts_for_the_estate_whose_key_signed_it():
    old = tok.sign(claims(), WEST)       # printed before estates were bound
    assert tok.verify(old, {WEST_KID: WEST_RAW}, estate="west").ok
    assert tok.verify(old, {WEST_KID: WEST_RAW}).ok                 # no estate needed to check it
    verdict = tok.verify(old, KEYS, estate="default", other_estates={WEST_KID: ("west", WEST_RAW)})
    assert verdict.reason is Reason.SLIP_OTHER_ESTATE


def test_a_gate_that_has_not_learned_its_estate_cannot_pass_a_version_2_slip():
    verdict = tok.verify(tok.sign(claims(), WEST, "west"), {WEST_KID: WEST_RAW})
    assert verdict.reason is Reason.SLIP_UNKNOWN_KEY and "estate" in verdict.detail


def test_the_longest_version_2_slip_of_the_longest_estate_id_fits_qr_version_9_at_level_q():
    c = claims(slip_id="S" * tok.MAX_SLIP_ID, unit_id="U" * tok.MAX_UNIT_ID, exit_gate_id="G" * tok.MAX_GATE_ID,
               item_count=255, valid_until=START + timedelta(days=3650))
    text = tok.sign(c, KEY, "e" * tok.MAX_ESTATE_ID)
    qr = segno.make(text, error="q", boost_error=False)
    assert qr.version <= 9 and len(text) <= tok.MAX_TOKEN_CHARS
    assert tok.verify(text, KEYS, estate="e" * tok.MAX_ESTATE_ID).ok


@pytest.mark.parametrize("estate", ["", "West", "a" * (tok.MAX_ESTATE_ID + 1), "北区", "we st"])
def test_an_estate_id_a_token_cannot_carry_is_refused_at_the_office(estate):
    with pytest.raises(tok.TokenFieldError):
        tok.sign(claims(), KEY, estate)


def test_a_kind_code_no_kind_has_is_malformed_even_when_properly_signed():
    text = tok.sign(claims(slip_id="S1"), GOLDEN_KEY)
    body = text[len(tok.PREFIX):]
    payload = bytearray(base64.b32decode(body + "=" * (-len(body) % 8))[:-tok.SIGNATURE_LEN])
    kind_at = 1 + 4 + 1 + len("S1")
    assert payload[kind_at] == tok.CODE_OF_KIND[SlipKind.OWNER]
    payload[kind_at] = max(tok.KIND_CODES) + 1
    forged = bytes(payload) + GOLDEN_KEY.sign(b"GP1" + bytes(payload))
    verdict = tok.verify(tok.PREFIX + base64.b32encode(forged).decode().rstrip("="), GOLDEN_KEYS)
    assert verdict.reason is Reason.SLIP_MALFORMED
