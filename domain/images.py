"""How large an image a gate will decode, and its size read from the header alone.

A 1 MB PNG can declare 32000×32000 pixels: decoded, that is 3 GB of BGR and more for the
decoder's buffers, and a Pi is killed. Every place that decodes an image from outside
(`gatepass scan`, `gatepass check --slip-image`, the camera's folder source, holder
photos from the replica) first reads the declared size with `image_size` and refuses
anything past these limits, before a single pixel is decoded.

Pure: bytes in, a size or an ImageRefused out (the caller reads the file).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

#: The largest image a gate decodes: 40 megapixels (about 120 MB as 8-bit BGR), and no
#: side longer than 12000 pixels (a 1,000,000×1 strip is refused though it is few pixels).
MAX_IMAGE_PIXELS = 40_000_000
MAX_IMAGE_SIDE = 12_000
#: How much of a file to read to find its size (a JPEG's size follows its EXIF segments).
HEADER_BYTES = 256 * 1024


class ImageRefused(ValueError):
    """An image a gate will not decode; the message names what and why."""


@dataclass(frozen=True)
class ImageSize:
    kind: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def image_size(head: bytes) -> ImageSize:
    """The format and declared size of a PNG, JPEG, BMP or WebP image, from its first bytes."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR" and len(head) >= 24:
        w, h = struct.unpack(">II", head[16:24])
        return ImageSize("PNG", w, h)
    if head.startswith(b"\xff\xd8"):
        return _jpeg(head)
    if head.startswith(b"BM") and len(head) >= 26:
        w, h = struct.unpack("<ii", head[18:26])
        return ImageSize("BMP", abs(w), abs(h))
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP" and len(head) >= 30:
        chunk = head[12:16]
        if chunk == b"VP8X":
            w = int.from_bytes(head[24:27], "little") + 1
            h = int.from_bytes(head[27:30], "little") + 1
            return ImageSize("WebP", w, h)
        if chunk == b"VP8L":
            bits = int.from_bytes(head[21:25], "little")
            return ImageSize("WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        if chunk == b"VP8 ":
            w, h = struct.unpack("<HH", head[26:30])
            return ImageSize("WebP", w & 0x3FFF, h & 0x3FFF)
    raise ImageRefused("not a PNG, JPEG, BMP or WebP image (or its header is damaged)")


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(head: bytes) -> ImageSize:
    i = 2
    while i + 4 <= len(head):
        if head[i] != 0xFF:
            break
        marker = head[i + 1]
        if marker == 0xFF:          # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", head[i + 2:i + 4])
        if marker in _SOF and i + 9 <= len(head):
            h, w = struct.unpack(">HH", head[i + 5:i + 9])
            return ImageSize("JPEG", w, h)
        i += 2 + length
    raise ImageRefused("a JPEG whose size could not be read from its header")


def check_image(head: bytes, name: str, file_bytes: int | None = None) -> ImageSize:
    """The image's size if a gate may decode it, else ImageRefused naming ``name`` and its size."""
    size_note = f", {file_bytes} bytes" if file_bytes is not None else ""
    try:
        size = image_size(head)
    except ImageRefused as exc:
        raise ImageRefused(f"{name}: {exc}{size_note}") from None
    if size.width == 0 or size.height == 0:
        raise ImageRefused(f"{name}: {size.kind} of {size.width}×{size.height} pixels has no picture{size_note}")
    if max(size.width, size.height) > MAX_IMAGE_SIDE or size.pixels > MAX_IMAGE_PIXELS:
        raise ImageRefused(
            f"{name}: {size.kind} of {size.width}×{size.height} pixels{size_note} is too large to decode "
            f"(at most {MAX_IMAGE_PIXELS:,} pixels and {MAX_IMAGE_SIDE} pixels a side)"
        )
    return size
