"""Signed slip tokens: what the office prints as a slip's QR code and a gate verifies.

Layout (binary, then base32 so that the QR uses alphanumeric mode and stays at
version 9 or lower at error-correction level Q):

    "GP1:" + base32( payload || ed25519_signature(b"GP1" || payload) )
    payload = version(1) key_id(4) slip_id(len8+ascii) kind(1) unit_id(len8+utf8)
              valid_from(u32 minutes since epoch, UTC) duration(u24 minutes) item_count(1)
              items_digest(8) exit_gate_id(len8+ascii)

With the field limits below the longest token is 188 characters, the most that
QR version 9-Q holds in alphanumeric mode (tests/test_slip_token.py checks it).

It carries what a gate needs to check a slip it has not synced yet. Verification
never raises: a damaged, truncated, re-signed or oversized token yields a reason.
Parsing is bounded: the text is refused before decoding if it is longer than any
token the office can mint.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import struct
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.model import SlipItem, SlipKind, TokenClaims
from domain.reasons import Reason

PREFIX = "GP1:"
VERSION = 1
SIGNATURE_LEN = 64
MAX_SLIP_ID = 10
MAX_UNIT_ID = 10
MAX_GATE_ID = 6
#: A gate id the office registers (and a slip can name as its exit): the one rule, for the
#: office's add-gate and console filters and the gate's own config check.
GATE_ID = re.compile(rf"^[a-z0-9_-]{{1,{MAX_GATE_ID}}}$")
GATE_ID_FORM = f"1-{MAX_GATE_ID} lowercase letters, digits, '-' or '_'"
MAX_DURATION_MIN = 2**24 - 1
#: Longest token the office can mint; anything longer is refused unread.
MAX_TOKEN_CHARS = 188
#: The byte that stands for each slip kind in a token. Printed slips carry these codes for
#: years, so they are pinned here, never derived from the enum's order; a new kind gets the
#: next unused code, and a code is never reused (tests/test_slip_token.py checks both).
KIND_CODES: Mapping[int, SlipKind] = MappingProxyType({
    0: SlipKind.OWNER,
    1: SlipKind.TENANT,
    2: SlipKind.NON_OWNER,
    3: SlipKind.CONTRACTOR,
    4: SlipKind.MOVE_OUT,
    5: SlipKind.COMPANY_ASSETS,
})
CODE_OF_KIND: Mapping[SlipKind, int] = MappingProxyType({kind: code for code, kind in KIND_CODES.items()})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TokenFieldError(ValueError):
    """The office tried to sign a slip whose fields cannot fit a token."""


@dataclass(frozen=True)
class TokenVerdict:
    reason: Reason | None           # None: verified
    claims: TokenClaims | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


def key_id_of(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:8]


def public_raw(private: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def items_digest(items: Iterable[SlipItem]) -> str:
    """Digest of an item list, the same at office and gate: 16 hex characters."""
    body = json.dumps([[i.name, i.quantity, i.spec] for i in items], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def _minutes(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise TokenFieldError("validity times must be timezone-aware")
    return int((dt - _EPOCH).total_seconds() // 60)


def _short(text: str, limit: int, what: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > limit:
        raise TokenFieldError(f"{what} {text!r} is longer than {limit} bytes")
    return bytes([len(raw)]) + raw


def _kind_code(kind: SlipKind) -> int:
    try:
        return CODE_OF_KIND[kind]
    except KeyError:
        raise TokenFieldError(f"slip kind {kind!r} has no token code (domain.slip_token.KIND_CODES)") from None


def sign(claims: TokenClaims, private: Ed25519PrivateKey) -> str:
    """Mint the QR text for a slip. The key id in ``claims`` is replaced by the key's own."""
    kid = key_id_of(public_raw(private))
    if claims.item_count < 0 or claims.item_count > 255:
        raise TokenFieldError(f"item count {claims.item_count} is outside 0..255")
    start, end = _minutes(claims.valid_from), _minutes(claims.valid_until)
    if not 0 <= start < 2**32 or not 0 < end - start <= MAX_DURATION_MIN:
        raise TokenFieldError("validity window must end after it starts, within about 31 years")
    payload = b"".join(
        [
            bytes([VERSION]),
            bytes.fromhex(kid),
            _short(claims.slip_id, MAX_SLIP_ID, "slip id"),
            bytes([_kind_code(claims.kind)]),
            _short(claims.unit_id, MAX_UNIT_ID, "unit id"),
            struct.pack(">I", start),
            (end - start).to_bytes(3, "big"),
            bytes([claims.item_count]),
            bytes.fromhex(claims.items_digest),
            _short(claims.exit_gate_id, MAX_GATE_ID, "exit gate id"),
        ]
    )
    signature = private.sign(b"GP1" + payload)
    return PREFIX + base64.b32encode(payload + signature).decode("ascii").rstrip("=")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def short(self, limit: int) -> str:
        n = self.take(1)[0]
        if n > limit:
            raise ValueError("field too long")
        return self.take(n).decode("utf-8")


def verify(text: str, keys: Mapping[str, bytes], revoked: Collection[str] = ()) -> TokenVerdict:
    """Check a scanned token against the office's public keys (key id -> raw 32 bytes).

    A key id in ``revoked`` is refused whatever ``keys`` holds: a gate's key folder may
    still carry a key file the office has since revoked (`gatepass office revoke-key`).
    """
    if not isinstance(text, str) or len(text.strip()) > MAX_TOKEN_CHARS:
        return TokenVerdict(Reason.SLIP_MALFORMED, detail="too long to be a gatepass slip")
    text = text.strip()
    if not text.startswith(PREFIX):
        return TokenVerdict(Reason.SLIP_MALFORMED, detail="not a gatepass slip code")
    body = text[len(PREFIX):]
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8), casefold=False)
    except (binascii.Error, ValueError):
        return TokenVerdict(Reason.SLIP_MALFORMED, detail="code is damaged (not base32)")
    if base64.b32encode(raw).decode("ascii").rstrip("=") != body:
        # trailing bits or padding that decode to the same bytes: not how the office writes a code
        return TokenVerdict(Reason.SLIP_MALFORMED, detail="code is damaged (not in canonical form)")
    if len(raw) <= SIGNATURE_LEN:
        return TokenVerdict(Reason.SLIP_MALFORMED, detail="code is truncated")
    payload, signature = raw[:-SIGNATURE_LEN], raw[-SIGNATURE_LEN:]
    try:
        r = _Reader(payload)
        if r.take(1)[0] != VERSION:
            return TokenVerdict(Reason.SLIP_MALFORMED, detail="unsupported slip code version")
        kid = r.take(4).hex()
        slip_id = r.short(MAX_SLIP_ID)
        kind_code = r.take(1)[0]
        unit_id = r.short(MAX_UNIT_ID)
        (start,) = struct.unpack(">I", r.take(4))
        end = start + int.from_bytes(r.take(3), "big")
        count = r.take(1)[0]
        digest = r.take(8).hex()
        gate = r.short(MAX_GATE_ID)
        if r.pos != len(payload) or kind_code not in KIND_CODES:
            raise ValueError("trailing bytes or bad kind")
    except (ValueError, UnicodeDecodeError, IndexError):
        return TokenVerdict(Reason.SLIP_MALFORMED, detail="code is damaged")
    if kid in revoked:
        return TokenVerdict(Reason.SLIP_KEY_REVOKED, detail=f"key {kid} was revoked by the office")
    public = keys.get(kid)
    if public is None:
        return TokenVerdict(Reason.SLIP_UNKNOWN_KEY, detail=f"key {kid} is not known to this gate")
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, b"GP1" + payload)
    except (InvalidSignature, ValueError):
        return TokenVerdict(Reason.SLIP_SIGNATURE_INVALID, detail="signature does not match")
    claims = TokenClaims(
        slip_id=slip_id,
        kind=KIND_CODES[kind_code],
        unit_id=unit_id,
        valid_from=_EPOCH + timedelta(minutes=start),
        valid_until=_EPOCH + timedelta(minutes=end),
        item_count=count,
        items_digest=digest,
        key_id=kid,
        exit_gate_id=gate,
    )
    return TokenVerdict(None, claims)
