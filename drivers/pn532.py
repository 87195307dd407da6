"""PN532 over UART (HSU): frame building, a pure frame parser, and the few commands
a gate needs (SAMConfiguration, RFConfiguration, InListPassiveTarget).

Frame layout (PN532 user manual UM0701-02, section 6.2): preamble 00, start code
00 FF, LEN, LCS (LEN + LCS == 0 mod 256), TFI (D4 host->PN532, D5 PN532->host),
data, DCS (TFI + data + DCS == 0 mod 256), postamble 00. ACK is 00 00 FF 00 FF 00,
NACK 00 00 FF FF 00 00, an application error a one-byte frame with TFI 7F.
"""
from __future__ import annotations

from dataclasses import dataclass

from drivers.frames import Parsed, Reject

HOST_TFI, CHIP_TFI, ERROR_TFI = 0xD4, 0xD5, 0x7F
START = b"\x00\xff"
ACK = b"\x00\x00\xff\x00\xff\x00"
NACK = b"\x00\x00\xff\xff\x00\x00"
# HSU wake-up: a long preamble of 0x55 and zeros, then the first command (UM0701-02 7.2.11 / 8.2.6)
WAKEUP = b"\x55\x55" + b"\x00" * 14

SAM_CONFIGURATION = 0x14
RF_CONFIGURATION = 0x32
IN_LIST_PASSIVE_TARGET = 0x4A
IN_DESELECT = 0x44

# SAMConfiguration: normal mode, no virtual-card timeout, use IRQ
SAM_NORMAL = bytes([0x01, 0x14, 0x01])
# RFConfiguration item 5 (MaxRetries): ATR 0xFF, PSL 0x01, passive activation 0x02 tries,
# so InListPassiveTarget answers "no target" at once instead of waiting for a card.
RF_MAX_RETRIES = bytes([0x05, 0xFF, 0x01, 0x02])
# InListPassiveTarget: at most one target, 106 kbps type A (MIFARE / ISO 14443A)
LIST_ONE_TYPE_A = bytes([0x01, 0x00])
# InDeselect all targets: a card left selected (ISO 14443-3 ACTIVE) may not answer the
# next poll, so a card lying still would flicker away every other poll; libnfc's
# polling deselects between InListPassiveTarget calls for the same reason.
DESELECT_ALL = bytes([0x00])


@dataclass(frozen=True)
class Frame:
    """One parsed PN532 frame: kind is "ack", "nack", "error" or "info"."""

    kind: str
    tfi: int = 0
    data: bytes = b""


def build_frame(data: bytes, tfi: int = HOST_TFI) -> bytes:
    """A normal information frame carrying `data` (command code + parameters)."""
    if len(data) + 1 > 0xFF:
        raise ValueError("PN532 normal frame carries at most 254 data bytes")
    length = len(data) + 1
    dcs = (-(tfi + sum(data))) & 0xFF
    return b"\x00" + START + bytes([length, (-length) & 0xFF, tfi]) + data + bytes([dcs, 0x00])


def parse_pn532(buf: bytes) -> Parsed[Frame]:
    """Find ACK, NACK, error and information frames in `buf`.

    Zero bytes outside frames are pre/postambles and are skipped silently; other
    stray bytes are rejected. On a bad LCS or DCS the search restarts just after the
    start code, so a good frame hidden in a damaged one is still found. The tail kept
    is at most one frame (262 bytes).
    """
    out: Parsed[Frame] = Parsed()
    i = 0
    while True:
        s = buf.find(START, i)
        if s < 0:
            # a trailing 00 may be the first half of the next start code
            end = len(buf) - 1 if buf.endswith(b"\x00") else len(buf)
            _stray(out, buf[i:end])
            out.rest = buf[end:]
            return out
        _stray(out, buf[i:s])
        if len(buf) < s + 4:
            out.rest = buf[s:]
            return out
        length, lcs = buf[s + 2], buf[s + 3]
        if (length, lcs) == (0x00, 0xFF):
            out.frames.append(Frame("ack"))
            i = s + 4
            continue
        if (length, lcs) == (0xFF, 0x00):
            out.frames.append(Frame("nack"))
            i = s + 4
            continue
        if (length, lcs) == (0xFF, 0xFF):
            out.rejects.append(Reject(buf[s:s + 4], "extended frame not supported"))
            i = s + 2
            continue
        if (length + lcs) & 0xFF or length == 0:
            out.rejects.append(Reject(buf[s:s + 4], f"bad length checksum LEN={length:02X} LCS={lcs:02X}"))
            i = s + 2
            continue
        end = s + 4 + length + 1
        if len(buf) < end:
            out.rest = buf[s:]
            return out
        body, dcs = buf[s + 4:end - 1], buf[end - 1]
        if (sum(body) + dcs) & 0xFF:
            out.rejects.append(Reject(buf[s:end], "bad data checksum"))
            i = s + 2
            continue
        if length == 1 and body[0] == ERROR_TFI:
            out.frames.append(Frame("error", ERROR_TFI))
        else:
            out.frames.append(Frame("info", body[0], bytes(body[1:])))
        i = end


def _stray(out: Parsed[Frame], data: bytes) -> None:
    if data.strip(b"\x00"):
        out.rejects.append(Reject(data, "bytes outside a frame"))


def target_uid(response: bytes) -> bytes | None | str:
    """The NFCID1 of the first target in an InListPassiveTarget answer (after D5 4B).

    None when no card is in the field; a str naming the fault when the answer is
    malformed (which the caller reports and treats as no card).
    Layout for type A: NbTg, Tg, SENS_RES(2), SEL_RES, NFCIDLength, NFCID1..., [ATS].
    """
    if not response:
        return "empty InListPassiveTarget answer"
    if response[0] == 0:
        return None
    if len(response) < 6:
        return "InListPassiveTarget answer too short"
    size = response[5]
    if size not in (4, 7, 10) or len(response) < 6 + size:
        return f"bad NFCID1 length {size}"
    return bytes(response[6:6 + size])
