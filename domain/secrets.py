"""Guards' PINs, staff passwords and national ID numbers: stored so that they can be
checked or matched, never read back.

A PIN or password is a salted PBKDF2 hash; an ID number is kept only masked (for the
screen) and as an HMAC under the office's key (for matching), never in plain text.
"""
from __future__ import annotations

import hashlib
import hmac

PIN_ITERATIONS = 60_000


def hash_pin(pin: str, salt: bytes, iterations: int = PIN_ITERATIONS) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def check_pin(pin: str, pin_hash: str) -> bool:
    """Constant-time check of a PIN against its stored hash; a malformed hash never matches."""
    try:
        scheme, iterations, salt_hex, digest_hex = pin_hash.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        rounds = int(iterations)
        if not 1 <= rounds <= 2_000_000:
            return False
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), bytes.fromhex(salt_hex), rounds)
        return hmac.compare_digest(digest.hex(), digest_hex)
    except ValueError:
        return False


def mask_id(id_number: str) -> str:
    """4401**********123X: first four and last four characters, the rest hidden."""
    s = id_number.strip().upper()
    if len(s) <= 8:
        return "*" * len(s)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]


def id_hash(key: bytes, id_number: str) -> str:
    """Keyed hash of a national ID number: matchable, not reversible without the key."""
    return hmac.new(key, id_number.strip().upper().encode("ascii", "replace"), hashlib.sha256).hexdigest()
