"""Office signing keys and the gate's public-key set.

The office holds the Ed25519 private key (`signing.key`, PEM, mode 0600); gates hold
only public keys (`<key_id>.pub`, base64 of the raw 32 bytes), so a stolen kiosk
cannot mint slips. The office also holds the HMAC key used to match national ID
numbers without storing them.
"""
from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.errors import KeyStoreError
from domain.slip_token import key_id_of, public_raw

PRIVATE_NAME = "signing.key"
HMAC_NAME = "id-hmac.key"


def _write_pair(d: Path, private_path: Path) -> str:
    """A new key pair: the private key at ``private_path`` (created, mode 0600), its public key as
    ``<key_id>.pub`` beside it; return the key id."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    raw = public_raw(private)
    kid = key_id_of(raw)
    (d / f"{kid}.pub").write_text(base64.b64encode(raw).decode("ascii") + "\n")
    return kid


def rotate_keys(directory: str | Path) -> tuple[str, str]:
    """Replace the signing key with a new one; return (old key id, new key id).

    The old public key stays in the folder, so slips already printed still verify until the
    office revokes it; the old private key is gone (the office signs only with the new one).
    The swap is one rename: a crash leaves the old key or the new one, never neither.
    """
    d = Path(directory)
    old = key_id_of(public_raw(load_private(d)))
    staged = d / (PRIVATE_NAME + ".new")
    staged.unlink(missing_ok=True)           # left by a crash in an earlier rotation
    new = _write_pair(d, staged)
    os.replace(staged, d / PRIVATE_NAME)
    return old, new


def new_keys(directory: str | Path) -> tuple[str, Path]:
    """Create a key pair and an ID-HMAC key in ``directory``; return (key_id, private path)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    private_path = d / PRIVATE_NAME
    if private_path.exists():
        raise KeyStoreError(f"{private_path}: a signing key already exists; refusing to overwrite it")
    kid = _write_pair(d, private_path)
    hmac_path = d / HMAC_NAME
    if not hmac_path.exists():
        fd = os.open(hmac_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    return kid, private_path


def load_private(directory_or_file: str | Path) -> Ed25519PrivateKey:
    p = Path(directory_or_file)
    if p.is_dir():
        p = p / PRIVATE_NAME
    try:
        key = serialization.load_pem_private_key(p.read_bytes(), password=None)
    except FileNotFoundError:
        raise KeyStoreError(f"{p}: signing key not found (make one with `gatepass keys new DIR`)") from None
    except ValueError as exc:
        raise KeyStoreError(f"{p}: not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyStoreError(f"{p}: not an Ed25519 key")
    return key


def load_public_dir(directory: str | Path) -> dict[str, bytes]:
    """Every ``*.pub`` in ``directory`` by key id; a damaged file is an error naming it."""
    out: dict[str, bytes] = {}
    d = Path(directory)
    if not d.is_dir():
        return out
    for p in sorted(d.glob("*.pub")):
        try:
            raw = base64.b64decode(p.read_text().strip(), validate=True)
        except ValueError:
            raise KeyStoreError(f"{p}: not base64") from None
        if len(raw) != 32:
            raise KeyStoreError(f"{p}: an Ed25519 public key is 32 bytes, this is {len(raw)}")
        out[key_id_of(raw)] = raw
    return out


def load_hmac_key(directory: str | Path) -> bytes:
    return load_hmac_key_file(Path(directory) / HMAC_NAME)


def load_hmac_key_file(path: str | Path) -> bytes:
    """The estate's ID HMAC key from its file (hex); KeyStoreError naming the file if absent or not hex."""
    p = Path(path)
    try:
        return bytes.fromhex(p.read_text().strip())
    except FileNotFoundError:
        raise KeyStoreError(f"{p}: ID HMAC key not found") from None
    except ValueError:
        raise KeyStoreError(f"{p}: not hex") from None


