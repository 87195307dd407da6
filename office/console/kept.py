"""A good upload kept across a refused form: the page sends it back base64 in a hidden field, so the clerk
need not choose the file again (permit photos, carrier photos, proof attachments, memo specimens).

What comes back is from outside like any upload: it is checked again before it is used."""
from __future__ import annotations

import base64
import binascii


def keep(data: bytes) -> str:
    """The hidden field's value for ``data``."""
    return base64.b64encode(data).decode("ascii")


def kept_bytes(text: str) -> bytes | None:
    """The bytes a hidden field kept, or None when it holds none (empty, or not base64 the office wrote)."""
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def upload_or_kept(upload: bytes | None, text: str) -> bytes | None:
    """A new upload wins over the copy kept from the refused form."""
    return upload if upload is not None else kept_bytes(text)


def preview_src(text: str) -> str:
    """A data: URL that previews a kept image (PNG or JPEG, the only kinds the office keeps); "" for none."""
    if not text:
        return ""
    return f"data:{'image/png' if text.startswith('iVBOR') else 'image/jpeg'};base64,{text}"
