"""Photos the office accepts (a permit's holder, a slip's carrier): a PNG or JPEG a gate can show.

The gate draws the holder's photo next to the card's decision (kiosk/ui/widgets.py PhotoCache),
so the office refuses at the desk what a gate would refuse or choke on: more bytes than a photo
needs, a header declaring more pixels than domain/images.py lets any gate decode (checked before
a single pixel is decoded), and bytes that do not decode to a picture at all (decoded with Pillow, after the header check;
the office imports no OpenCV, which is the gate's). An accepted photo is then re-encoded by
`downscale_photo` before it is stored (records.put_photo): a JPEG at most PHOTO_SIDE pixels on its
long side, EXIF orientation applied and every metadata block (EXIF, GPS, ICC, comments) dropped, so
the gates receive a small picture through the replica, byte for byte what the office keeps.
"""
from __future__ import annotations

import io
from typing import Any

from domain.images import HEADER_BYTES, ImageRefused, check_image, image_size
from office.errors import FileRefused

#: A permit photo (one small portrait, 1寸 at most a few hundred pixels) needs far less than this.
PHOTO_MAX_BYTES = 2 * 1024 * 1024
MIMES = {"PNG": "image/png", "JPEG": "image/jpeg"}
#: The long side of a stored photo: a gate's 7" screen shows it a few hundred pixels tall at most.
PHOTO_SIDE = 480
PHOTO_QUALITY = 85


class PhotoRefused(FileRefused):
    """A photo the office will not keep for a permit or a carrier."""


def check_photo(data: bytes, name: str = "photo", max_bytes: int | None = None) -> str:
    """The photo's MIME type if the office keeps it for a permit, else PhotoRefused saying why."""
    limit = PHOTO_MAX_BYTES if max_bytes is None else max_bytes
    if not data:
        raise PhotoRefused("照片是空文件", f"{name}: the file is empty")
    if len(data) > limit:
        raise PhotoRefused(f"照片过大({len(data) // 1024} KB),最大 {limit // 1024} KB",
                           f"{name}: {len(data)} bytes is too large (at most {limit} bytes)")
    try:
        image_size(data[:HEADER_BYTES])
    except ImageRefused as exc:
        raise PhotoRefused("照片无法识别(只收 PNG 或 JPEG)", f"{name}: {exc}") from None
    try:
        size = check_image(data[:HEADER_BYTES], name, len(data))
    except ImageRefused as exc:
        raise PhotoRefused("照片尺寸过大或为空,岗亭无法显示", str(exc)) from None
    if size.kind not in MIMES:
        raise PhotoRefused("照片须为 PNG 或 JPEG 格式", f"{name}: a {size.kind} image; use PNG or JPEG")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data), formats=[size.kind]) as img:
            if img.size != (size.width, size.height):
                raise ValueError("declared and decoded sizes differ")
            img.load()                          # every pixel: a truncated or damaged file fails here
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError):
        raise PhotoRefused("照片文件已损坏,无法显示", f"{name}: the {size.kind} does not decode to a picture") from None
    return MIMES[size.kind]


def downscale_photo(data: bytes, max_side: int = PHOTO_SIDE, quality: int = PHOTO_QUALITY) -> tuple[bytes, str]:
    """An accepted photo (`check_photo`) as the office stores it: (JPEG bytes, "image/jpeg"), at most
    ``max_side`` pixels on its long side, turned upright as its EXIF says, with no metadata. A JPEG
    that is already that (a photo stored before, re-used for a replacement card) is kept as it is, so
    the same picture keeps its bytes and its id."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        return _downscale(Image, ImageOps, data, max_side, quality)
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError):
        raise PhotoRefused("照片文件已损坏,无法显示", "the photo does not decode to a picture") from None


def _downscale(Image: Any, ImageOps: Any, data: bytes, max_side: int, quality: int) -> tuple[bytes, str]:
    with Image.open(io.BytesIO(data)) as img:
        if (img.format == "JPEG" and max(img.size) <= max_side and not img.getexif()
                and not any(k in img.info for k in ("icc_profile", "comment", "exif", "xmp"))):
            return data, MIMES["JPEG"]
        upright = ImageOps.exif_transpose(img)
        if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
            rgba = upright.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))    # transparent parts on white, as printed
            flat.paste(rgba, mask=rgba.getchannel("A"))
            upright = flat
        elif upright.mode != "RGB":
            upright = upright.convert("RGB")
        upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        upright.save(out, "JPEG", quality=quality, optimize=True)     # no exif=, icc_profile=: none written
    return out.getvalue(), MIMES["JPEG"]
