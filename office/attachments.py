"""Proof attached to a slip at the front desk (收据, 发票, 授权书, 其他): checked, stored, listed.

Office-only: the rows live in ``slip_attachments`` (office/schema.py), which is not replicated,
so a gate never receives a receipt. A file is kept only if its bytes are what it claims to be,
whatever its name or the browser's content type say: a PDF (its ``%PDF-`` header, a cross-reference
pointer and an end-of-file marker; no PDF library is installed on the office, so it is not parsed
further) or a PNG or JPEG (the photo checks of office/photos.py: header first, then decoded whole
with Pillow). Which kinds a slip needs is domain/issuing.py's REQUIRED_PROOFS.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select

from domain.issuing import PROOF_KINDS
from office import schema
from office.errors import FileRefused
from office.photos import PhotoRefused, check_photo

#: One attachment's bytes at most (a phone's photo of an invoice, a scanned letter).
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
#: Attachments on one slip at most.
MAX_ATTACHMENTS = 6
#: A whole slip form (office/console/slipdocs.py): every attachment and the carrier photo at their
#: limits, sent again as base64 when kept by a refused form, with room for one file over its limit
#: (refused in words next to its field, not with a bare 413).
SLIP_FORM_MAX_BYTES = MAX_ATTACHMENTS * (ATTACHMENT_MAX_BYTES * 4 // 3 + 16 * 1024) + 2 * ATTACHMENT_MAX_BYTES
#: The slip form's paths (new, amend) and the body they may send (office/limits.py BodyLimit).
SLIP_FORM_UPLOADS = {r"/console/slips/new": SLIP_FORM_MAX_BYTES,
                     r"/console/slips/[0-9A-Za-z]{1,16}/amend": SLIP_FORM_MAX_BYTES}
PDF = "application/pdf"
EXTENSIONS = {PDF: ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}


@dataclass(frozen=True)
class Attachment:
    kind: str
    filename: str
    mime: str
    data: bytes


class AttachmentRefused(FileRefused):
    """A proof attachment the office will not keep with a slip."""


def check_pdf(data: bytes, name: str) -> None:
    if not data.startswith(b"%PDF-") or not re.match(rb"%PDF-[12]\.\d", data[:8]):
        raise AttachmentRefused(f"{name}:不是 PDF 文件", f"{name}: not a PDF file")
    tail = data[-2048:]
    if b"%%EOF" not in tail or b"startxref" not in data[-4096:] or b" obj" not in data:
        raise AttachmentRefused(f"{name}:PDF 文件不完整或已损坏", f"{name}: the PDF is truncated or damaged")


def check_attachment(data: bytes, filename: str) -> str:
    """The attachment's MIME type, from its bytes, if the office keeps it; else AttachmentRefused."""
    name = clean_filename(filename, "") or "file"
    if not data:
        raise AttachmentRefused(f"{name}:空文件", f"{name}: the file is empty")
    if len(data) > ATTACHMENT_MAX_BYTES:
        raise AttachmentRefused(f"{name}:文件过大({len(data) / 1048576:.1f} MB),每个附件最大 "
                                f"{ATTACHMENT_MAX_BYTES // 1048576} MB",
                                f"{name}: {len(data)} bytes is too large (at most "
                                f"{ATTACHMENT_MAX_BYTES // 1048576} MB a file)")
    if data.startswith(b"%PDF-"):
        check_pdf(data, name)
        return PDF
    if data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        try:
            return check_photo(data, name, max_bytes=ATTACHMENT_MAX_BYTES)
        except PhotoRefused as exc:
            raise AttachmentRefused(f"{name}:图片无法识别或已损坏", exc.en) from None
    raise AttachmentRefused(f"{name}:只收 PDF、PNG 或 JPEG 文件", f"{name}: only PDF, PNG or JPEG files are accepted")


def clean_filename(name: str, mime: str) -> str:
    """A file name fit to show and to send back: no folders, no control or quoting characters, at most
    80 characters, and the extension its content has (a PDF named .jpg is shown as .pdf)."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C" and ch not in '"<>:|?*;')
    base = base.strip(" .")[:80]
    if not mime:
        return base
    ext = EXTENSIONS[mime]
    stem, dot, old = base.rpartition(".")
    if dot and "." + old.lower() in (ext, ".jpeg" if ext == ".jpg" else ext):
        return base
    return (base or "file")[:80 - len(ext)] + ext


def add_attachments(conn: Connection, estate: str, slip_id: str, files: Sequence[Attachment], *,
                    by: str, at: str) -> list[dict[str, Any]]:
    """Store ``files`` on a slip after those it has; the rows stored (without their bytes)."""
    a = schema.slip_attachments
    last = conn.execute(select(func.max(a.c.n)).where(a.c.estate == estate, a.c.slip_id == slip_id)).scalar() or 0
    rows = []
    for i, f in enumerate(files, start=last + 1):
        if f.kind not in PROOF_KINDS:
            raise ValueError(f"unknown attachment kind {f.kind!r}")
        row = {"estate": estate, "slip_id": slip_id, "n": i, "kind": f.kind,
               "filename": clean_filename(f.filename, f.mime), "mime": f.mime, "data": f.data,
               "sha256": hashlib.sha256(f.data).hexdigest(), "uploaded_by": by, "at": at}
        conn.execute(insert(a).values(**row))
        rows.append({k: v for k, v in row.items() if k != "data"})
    return rows


def stored_attachments(conn: Connection, estate: str, slip_id: str) -> list[Attachment]:
    """A slip's attachments with their bytes, in order (an amended slip carries them over)."""
    a = schema.slip_attachments
    return [Attachment(r.kind, r.filename, r.mime, bytes(r.data)) for r in conn.execute(
        select(a.c.kind, a.c.filename, a.c.mime, a.c.data).where(a.c.estate == estate, a.c.slip_id == slip_id)
        .order_by(a.c.n))]


def list_attachments(conn: Connection, estate: str, slip_id: str) -> list[dict[str, Any]]:
    """A slip's attachments without their bytes, in order."""
    a = schema.slip_attachments
    return [dict(r) for r in conn.execute(
        select(a.c.n, a.c.kind, a.c.filename, a.c.mime, a.c.sha256, a.c.uploaded_by, a.c.at,
               func.length(a.c.data).label("size"))
        .where(a.c.estate == estate, a.c.slip_id == slip_id).order_by(a.c.n)).mappings()]


def get_attachment(conn: Connection, estate: str, slip_id: str, n: int) -> dict[str, Any] | None:
    a = schema.slip_attachments
    row = conn.execute(select(a).where(a.c.estate == estate, a.c.slip_id == slip_id, a.c.n == n)).mappings().first()
    return dict(row) if row else None
