"""Signed slip tokens: what verifies, what never does, and that the QR stays small."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.model import SlipItem, SlipKind, TokenClaims
from domain.reasons import Reason
from domain import slip_token as tok

KEY = Ed25519PrivateKey.generate()
KEYS = {tok.key_id_of(tok.public_raw(KEY)): tok.public_raw(KEY)}
START = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)


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
