"""Pure frame parsers for the serial card readers, and the canonical UID form.

Each parser takes the bytes received so far and returns what it found, what it threw
away and why, and the tail to keep for the next call. They never raise on any input
and keep at most one frame's worth of tail, so a reader spewing noise can neither
crash the reader thread nor grow its memory. The PN532 parser lives in `pn532.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from domain.errors import DriverError
from drivers.config import UID_FORMATS

F = TypeVar("F")

STX, ETX = 0x02, 0x03
RDM6300_FRAME_LEN = 14
LINE_MAX = 64            # longest line kept while waiting for its CR/LF
OVERLONG = b"\xff"       # kept in place of an over-long line's head, so its tail is dropped too
UID_MAX_BYTES = 16


@dataclass(frozen=True)
class Reject:
    """Bytes a parser dropped, with the reason (shown by `gatepass reader --verbose`)."""

    data: bytes
    reason: str


@dataclass
class Parsed(Generic[F]):
    frames: list[F] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    rest: bytes = b""


#: The UID bytes each form needs at least: dec10 is made of the low 32 bits, w26 of the low 24.
UID_FORMAT_BYTES = {"hex": 1, "decimal": 1, "dec10": 4, "w26": 3}


def format_uid(uid: bytes, uid_format: str) -> str:
    """The one canonical text form of a UID, so every reader model yields the same key.

    hex: upper-case hex of the UID bytes, no separators ("0A00123456");
    decimal: the UID bytes read as one big-endian integer ("42951963734");
    dec10: the low 32 bits as 10 decimal digits ("0001193046"), the number printed on most
      EM4100 cards and what keyboard-wedge readers type: an RDM6300 (which also reads the
      version byte) and a wedge reader give the same key for the same card;
    w26: the low 24 bits as Wiegand-26 style 8 digits, 3 of facility code and 5 of card
      number ("01804660" for facility 18, card 4660), what "W26" wedge readers type.
    A UID shorter than its form needs is a DriverError (a 3-byte W26 number has no dec10).
    """
    if uid_format == "hex":
        return uid.hex().upper()
    if uid_format == "decimal":
        return str(int.from_bytes(uid, "big"))
    if uid_format in ("dec10", "w26"):
        need = UID_FORMAT_BYTES[uid_format]
        if len(uid) < need:
            raise DriverError(f"reader: uid_format {uid_format!r} needs a UID of {need} bytes or more, "
                              f"got {len(uid)} ({uid.hex().upper() or 'empty'})")
        low = int.from_bytes(uid[-need:], "big")
        if uid_format == "dec10":
            return f"{low:010d}"
        return f"{low >> 16:03d}{low & 0xFFFF:05d}"
    raise DriverError(f"reader: uid_format {uid_format!r} is not one of: {', '.join(UID_FORMATS)}")


def _hex_bytes(text: bytes) -> bytes | None:
    try:
        return bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None


def parse_rdm6300(buf: bytes) -> Parsed[bytes]:
    """RDM6300 (EM4100, 125 kHz): STX, 10 hex (version + tag), 2 hex XOR checksum, ETX.

    Frames yield the 5 UID bytes. A structurally complete frame with bad content is
    dropped whole; a would-be STX not followed by ETX 13 bytes later is skipped one
    byte at a time so that a real frame starting inside it is still found.
    """
    out: Parsed[bytes] = Parsed()
    i = 0
    while True:
        start = buf.find(STX, i)
        if start < 0:
            if i < len(buf):
                out.rejects.append(Reject(buf[i:], "bytes outside a frame"))
            return out
        if start > i:
            out.rejects.append(Reject(buf[i:start], "bytes outside a frame"))
        if len(buf) - start < RDM6300_FRAME_LEN:
            out.rest = buf[start:]
            return out
        frame = buf[start:start + RDM6300_FRAME_LEN]
        body = frame[1:13]
        if frame[13] != ETX or STX in body:
            out.rejects.append(Reject(frame[:1], "STX without ETX 13 bytes later"))
            i = start + 1
            continue
        i = start + RDM6300_FRAME_LEN
        data = _hex_bytes(body)
        if data is None:
            out.rejects.append(Reject(frame, "non-hex characters in frame"))
            continue
        uid, checksum = data[:5], data[5]
        xor = 0
        for b in uid:
            xor ^= b
        if xor != checksum:
            out.rejects.append(Reject(frame, f"checksum {checksum:02X} != XOR {xor:02X}"))
            continue
        out.frames.append(uid)


def _line_uid(line: bytes, digits: str) -> bytes | str:
    """UID bytes of one line, or the reason it is not a UID."""
    try:
        text = line.decode("ascii").strip()
    except UnicodeDecodeError:
        return "not ASCII"
    for sep in (":", "-", " "):
        text = text.replace(sep, "")
    if text[:2].lower() == "0x":
        text, digits = text[2:], "hex"
    if not text:
        return "empty UID"
    if text.isdigit() and digits == "decimal":
        value = int(text)
        size = max(4, (value.bit_length() + 7) // 8)
        if size > UID_MAX_BYTES:
            return "UID too long"
        return value.to_bytes(size, "big")
    if any(c not in "0123456789abcdefABCDEF" for c in text):
        return "neither hex nor decimal"
    if len(text) % 2:
        text = "0" + text
    if len(text) > 2 * UID_MAX_BYTES:
        return "UID too long"
    return bytes.fromhex(text)


def parse_line(buf: bytes, digits: str = "decimal") -> Parsed[bytes]:
    """Readers that print each UID as one ASCII line (hex or decimal, CR, LF or CRLF).

    A line of only digits is ambiguous (hex "12345678" or decimal?); `digits` says
    which the installed reader prints. Hex may carry a 0x prefix or ':'/'-'/' '
    separators. A line longer than LINE_MAX without an end is dropped up to its end,
    to bound memory: the tail kept is then a marker byte instead of the line.
    """
    out: Parsed[bytes] = Parsed()
    lines = buf.replace(b"\r", b"\n").split(b"\n")
    tail = lines.pop()
    for line in lines:
        if not line.strip():
            continue
        if line.startswith(OVERLONG):
            out.rejects.append(Reject(line[1:LINE_MAX], "rest of an over-long line"))
            continue
        if len(line) > LINE_MAX:
            out.rejects.append(Reject(line[:LINE_MAX], "line too long"))
            continue
        uid = _line_uid(line, digits)
        if isinstance(uid, str):
            out.rejects.append(Reject(line, uid))
        else:
            out.frames.append(uid)
    if len(tail) > LINE_MAX:
        if not tail.startswith(OVERLONG):
            out.rejects.append(Reject(tail[:LINE_MAX], "line too long"))
        tail = OVERLONG
    out.rest = tail
    return out
