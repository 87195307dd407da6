"""Signed slip tokens: what the office prints as a slip's QR code and a gate verifies.

Layout (binary, then base32 so that the QR uses alphanumeric mode and stays at
version 9 or lower at error-correction level Q):

    "GP1:" + base32( payload || ed25519_signature(message) )
    payload = version(1) key_id(4) slip_id(len8+ascii) kind(1) unit_id(len8+utf8)
              valid_from(u32 minutes since epoch, UTC) duration(u24 minutes) item_count(1)
              items_digest(8) exit_gate_id(len8+ascii)
    version 2 (what the office signs): message = b"GP2" || estate_id(len8+ascii) || payload
    version 1 (slips printed before estates were bound): message = b"GP1" || payload

Version 2 binds the estate that issued the slip into what the signature proves without
adding a byte to the code (it is at its size limit): the estate id is signed, not carried.
A gate checks it with its own estate id, so a genuine slip of another estate is refused
(Reason.SLIP_OTHER_ESTATE) when the gate knows that estate's key, and never verifies as
its own. Version 1 proves no estate: it is accepted only with a key of the gate's own
estate (signing keys are per estate, `gatepass office init --estate E`), and refused as
another estate's when its key belongs to another estate.

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
#: The version the office signs: the estate is under the signature.
VERSION = 2
#: Slips printed before estates were bound into tokens: no estate under the signature.
VERSION_NO_ESTATE = 1
SIGNATURE_LEN = 64
MAX_SLIP_ID = 10
MAX_UNIT_ID = 10
MAX_GATE_ID = 6
#: A gate id the office registers (and a slip can name as its exit): the one rule, for the
#: office's add-gate and console filters and the gate's own config check.
GATE_ID = re.compile(rf"^[a-z0-9_-]{{1,{MAX_GATE_ID}}}$")
GATE_ID_FORM = f"1-{MAX_GATE_ID} lowercase letters, digits, '-' or '_'"
#: An estate id (`gatepass office init --estate ID`): the one rule, for the office and the token.
MAX_ESTATE_ID = 32
ESTATE_ID = re.compile(rf"^[a-z0-9_-]{{1,{MAX_ESTATE_ID}}}$")
ESTATE_ID_FORM = f"1-{MAX_ESTATE_ID} lowercase letters, digits, '-' or '_'"
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


def signed_message(version: int, estate: str, payload: bytes) -> bytes:
    """What the signature of a token covers: version 2 puts the issuing estate under it."""
    if version == VERSION_NO_ESTATE:
        return b"GP1" + payload
    raw = estate.encode("ascii")
    return b"GP2" + bytes([len(raw)]) + raw + payload


def sign(claims: TokenClaims, private: Ed25519PrivateKey, estate: str | None = None) -> str:
    """Mint the QR text for a slip of ``estate`` (version 2). Without an estate, a version-1 token
    that proves none (kept for tests and the demo's legacy codes). The key id in ``claims`` is
    replaced by the key's own."""
    if estate is not None and not ESTATE_ID.fullmatch(estate):
        raise TokenFieldError(f"estate id {estate!r}: use {ESTATE_ID_FORM}")
    version = VERSION if estate is not None else VERSION_NO_ESTATE
    kid = key_id_of(public_raw(private))
    if claims.item_count < 0 or claims.item_count > 255:
        raise TokenFieldError(f"item count {claims.item_count} is outside 0..255")
    start, end = _minutes(claims.valid_from), _minutes(claims.valid_until)
    if not 0 <= start < 2**32 or not 0 < end - start <= MAX_DURATION_MIN:
        raise TokenFieldError("validity window must end after it starts, within about 31 years")
    payload = b"".join(
        [
            bytes([version]),
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
    signature = private.sign(signed_message(version, estate or "", payload))
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


def verify(text: str, keys: Mapping[str, bytes], revoked: Collection[str] = (), *, estate: str = "",
           other_estates: Mapping[str, tuple[str, bytes]] | None = None, unplaced: Collection[str] = ()) -> TokenVerdict:
    """Check a scanned token against the public keys of the gate's own estate ``estate``
    (key id -> raw 32 bytes).

    A key id in ``revoked`` is refused whatever ``keys`` holds: a gate's key folder may
    still carry a key file the office has since revoked (`gatepass office revoke-key`).
    ``other_estates`` (key id -> (estate id, raw key)) are keys of the office's other
    estates, never trusted to release here: a slip they verify is genuine but another
    estate's, refused with Reason.SLIP_OTHER_ESTATE. Without ``estate`` (a gate that has not
    yet learned it from the office) a version-2 token cannot be checked.

    ``unplaced`` names the key ids of ``keys`` whose estate this gate cannot vouch for (a file in
    its key folder, not a key the office published as this estate's). A version-2 token proves
    its estate under the signature, so such a key may check it; a version-1 token proves none,
    so it is accepted only with a key the office placed in this estate (issue 18: a version-1
    slip of another estate, its key dropped into the folder, verified as this estate's).
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
        version = r.take(1)[0]
        if version not in (VERSION, VERSION_NO_ESTATE):
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
    foreign = (other_estates or {}).get(kid)
    if public is None and foreign is None:
        return TokenVerdict(Reason.SLIP_UNKNOWN_KEY, detail=f"key {kid} is not known to this gate")
    if public is not None and version == VERSION and not estate:
        return TokenVerdict(Reason.SLIP_UNKNOWN_KEY,
                            detail="this gate has not yet learned its estate from the office (no pull yet)")
    if public is not None and version == VERSION_NO_ESTATE and kid in unplaced:
        return TokenVerdict(Reason.SLIP_UNKNOWN_KEY,
                            detail=f"an old-format slip (no estate in its code) signed with key {kid}, which the office "
                                   "has not published as this estate's (it is only in this gate's key folder): reissue it")
    signer_estate = estate if public is not None else foreign[0] if foreign else ""
    try:
        key = public if public is not None else foreign[1] if foreign else b""
        Ed25519PublicKey.from_public_bytes(key).verify(signature, signed_message(version, signer_estate, payload))
    except (InvalidSignature, ValueError, UnicodeEncodeError):
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
    if public is None:
        return TokenVerdict(Reason.SLIP_OTHER_ESTATE, claims,
                            detail=f"slip {slip_id} was issued by estate {signer_estate}, not {estate or 'this gate'}'s")
    return TokenVerdict(None, claims)
