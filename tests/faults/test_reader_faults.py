"""Card readers under garbage, damaged frames and unplugging.

Every campaign builds one seeded stream of valid frames (each card UID unique, so
the expected CardReads are known exactly) mixed with damaged ones built around UIDs
that are never sent (first byte 0xBB), and checks that the pure parsers and the real
driver over a real pty find exactly the cards sent, reject the rest, keep a bounded
buffer and keep one reader thread alive. The default suite runs a few thousand
frames; `make faults` runs the 100,000 the issue names, and 100 unplug/replug cycles.
"""
from __future__ import annotations

import os
import random
import select
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from drivers import make_reader, pn532
from drivers.config import ReaderConfig
from drivers.events import CardRead, DeviceHealth
from drivers.frames import LINE_MAX, Reject, parse_line, parse_rdm6300
from drivers.reader import SerialCardReader
from tests.drivers.ptys import PtyPort
from tests.drivers.test_frames import rdm_frame

from .conftest import StampedEvents, figures

CAMPAIGN_FRAMES = 100_000
SMALL_FRAMES = 3_000
FOREIGN = 0xBB            # first byte of every UID a damaged frame carries: never sent as a card
RDM_REST_MAX = 13         # a partial RDM6300 frame is shorter than its 14 bytes
PN532_REST_MAX = 262      # the most one PN532 frame can hold (parse_pn532's docstring)


@dataclass
class Stream:
    """Items in sending order; `cards` the UIDs a reader must report, once each, in order."""

    items: list[tuple[bool, bytes]] = field(default_factory=list)   # (valid, bytes on the wire)
    cards: list[bytes] = field(default_factory=list)

    @property
    def garbage(self) -> int:
        return sum(1 for ok, _ in self.items if not ok)

    def wire(self) -> bytes:
        return b"".join(data for _, data in self.items)


def _foreign_uid(rng: random.Random, size: int = 5) -> bytes:
    return bytes([FOREIGN]) + rng.randbytes(size - 1)


def _card_uid(n: int, size: int = 5) -> bytes:
    """Unique per presentation; never starts with FOREIGN."""
    return bytes([0x0A]) + n.to_bytes(size - 1, "big")


def build_stream(n_frames: int, seed: int, valid: Callable[[bytes, random.Random], bytes],
                 garbage: list[Callable[[random.Random], bytes]], uid_size: int = 5) -> Stream:
    """About half valid frames (a card repeated 1-3 times, as a held tag is), half garbage."""
    rng = random.Random(seed)
    s = Stream()
    n = 0
    while len(s.items) < n_frames:
        uid = _card_uid(n, uid_size)
        n += 1
        s.cards.append(uid)
        for _ in range(rng.randint(1, 3)):
            for _ in range(rng.randint(0, 2)):
                s.items.append((False, rng.choice(garbage)(rng)))
            s.items.append((True, valid(uid, rng)))
    return s


# ---------------------------------------------------------------- rdm6300 frames

def _rdm_valid(uid: bytes, rng: random.Random) -> bytes:
    frame = rdm_frame(uid)
    return frame.lower() if rng.random() < 0.2 else frame


def _rdm_bad_checksum(rng: random.Random) -> bytes:
    f = bytearray(rdm_frame(_foreign_uid(rng)))
    f[11:13] = f"{(int(f[11:13], 16) ^ rng.randint(1, 255)):02X}".encode()
    return bytes(f)


def _rdm_non_hex(rng: random.Random) -> bytes:
    f = bytearray(rdm_frame(_foreign_uid(rng)))
    f[rng.randint(1, 12)] = rng.choice(b"GZ!?\x00\xff ")
    return bytes(f)


def _rdm_truncated(rng: random.Random) -> bytes:
    return rdm_frame(_foreign_uid(rng))[: rng.randint(1, 13)]


def _rdm_no_stx(rng: random.Random) -> bytes:
    # the STX byte damaged, not dropped: a frame without its STX after garbage ending in
    # STX would be a whole, valid frame on the wire
    return bytes([rng.choice([0x00, 0x20, 0x82, 0xFF])]) + rdm_frame(_foreign_uid(rng))[1:]


def _rdm_bad_etx(rng: random.Random) -> bytes:
    return rdm_frame(_foreign_uid(rng))[:13] + bytes([rng.choice([0x00, 0x02, 0x0D, 0xFF])])


def _rdm_noise(rng: random.Random) -> bytes:
    return rng.randbytes(rng.randint(1, 40))


def _stx_run(rng: random.Random) -> bytes:
    return b"\x02" * rng.randint(1, 30)


RDM_GARBAGE = [_rdm_bad_checksum, _rdm_non_hex, _rdm_truncated, _rdm_no_stx, _rdm_bad_etx, _rdm_noise, _stx_run]


# ---------------------------------------------------------------- line frames (line_digits = "hex")

def _line_valid(uid: bytes, rng: random.Random) -> bytes:
    text = uid.hex().upper()
    style = rng.randrange(4)
    if style == 1:
        text = text.lower()
    elif style == 2:
        text = "0x" + text
    elif style == 3:
        text = ":".join(text[i:i + 2] for i in range(0, len(text), 2))
    return text.encode() + rng.choice([b"\r\n", b"\n", b"\r"])


def _eol(rng: random.Random) -> bytes:
    return rng.choice([b"\r\n", b"\n", b"\r"])


def _line_non_hex(rng: random.Random) -> bytes:
    t = bytearray(_foreign_uid(rng).hex().upper().encode())
    t[rng.randrange(len(t))] = rng.choice(b"GZQ!?%;'")
    return bytes(t) + _eol(rng)


def _line_non_ascii(rng: random.Random) -> bytes:
    t = bytearray(_foreign_uid(rng).hex().upper().encode())
    t[rng.randrange(len(t))] = rng.randint(0x80, 0xFF)
    return bytes(t) + _eol(rng)


def _line_too_long(rng: random.Random) -> bytes:
    # all hex, so only the length can refuse it: longer than a UID, or than LINE_MAX
    return rng.randbytes(rng.choice([17, 20, 31, 40, 200, 700])).hex().encode() + _eol(rng)


def _line_empty_uid(rng: random.Random) -> bytes:
    return rng.choice([b"0x", b"::", b"- -", b"0x::"]) + _eol(rng)


def _line_binary_noise(rng: random.Random) -> bytes:
    noise = bytes(b for b in rng.randbytes(rng.randint(1, 120)) if b not in b"\r\n")
    return noise + bytes([rng.randint(0x80, 0xFF)]) + _eol(rng)


LINE_GARBAGE = [_line_non_hex, _line_non_ascii, _line_too_long, _line_empty_uid, _line_binary_noise]


# ---------------------------------------------------------------- PN532 frames

def _answer(code: int, data: bytes) -> bytes:
    return pn532.build_frame(bytes([code + 1]) + data, pn532.CHIP_TFI)


def _card_answer(uid: bytes) -> bytes:
    return _answer(pn532.IN_LIST_PASSIVE_TARGET, bytes([1, 1, 0x00, 0x04, 0x08, len(uid)]) + uid)


def _pn_valid(uid: bytes, rng: random.Random) -> bytes:
    return _card_answer(uid)


def _pn_stray(rng: random.Random) -> bytes:
    return bytes(rng.randint(1, 255) for _ in range(rng.randint(1, 30)))   # no 00: no start code


def _pn_bad_lcs(rng: random.Random) -> bytes:
    f = bytearray(_card_answer(_foreign_uid(rng, 4)))
    f[4] ^= rng.randint(1, 255)
    return bytes(f)


def _pn_bad_dcs(rng: random.Random) -> bytes:
    f = bytearray(_card_answer(_foreign_uid(rng, rng.choice([4, 7, 10]))))
    i = rng.randrange(5, len(f) - 1)          # any byte from TFI to DCS
    f[i] ^= rng.randint(1, 255)
    return bytes(f)


def _pn_extended(rng: random.Random) -> bytes:
    return b"\x00\x00\xff\xff\xff" + bytes(rng.randint(1, 255) for _ in range(4))


# Well-formed PN532 frames that are the wrong answer: the parser returns them, the driver refuses them.
def _pn_host_echo(rng: random.Random) -> bytes:
    return pn532.build_frame(bytes([pn532.IN_LIST_PASSIVE_TARGET]) + pn532.LIST_ONE_TYPE_A)


def _pn_wrong_code(rng: random.Random) -> bytes:
    return _answer(rng.choice([0x02, 0x14, 0x32, 0x40, 0x60]), bytes([1, 1, 0, 4, 8, 4]) + _foreign_uid(rng, 4))


PN532_FRAME_GARBAGE = [_pn_stray, _pn_bad_lcs, _pn_bad_dcs, _pn_extended]
PN532_GARBAGE = PN532_FRAME_GARBAGE + [_pn_host_echo, _pn_wrong_code]


def _pn_bad_target(rng: random.Random) -> bytes:
    """A correct answer to InListPassiveTarget that holds no usable UID (too short, bad NFCID length)."""
    uid = _foreign_uid(rng, 4)
    body = rng.choice([bytes([1, 1, 0]), bytes([1, 1, 0, 4, 8, 5]) + uid + b"\x00",
                       bytes([1, 1, 0, 4, 8, 7]) + uid, bytes([2])])
    return _answer(pn532.IN_LIST_PASSIVE_TARGET, body)


PROTOCOLS: dict[str, tuple[Callable[[bytes, random.Random], bytes], list[Callable[[random.Random], bytes]], int]] = {
    "rdm6300": (_rdm_valid, RDM_GARBAGE, 5),
    "line": (_line_valid, LINE_GARBAGE, 5),
    "pn532": (_pn_valid, PN532_FRAME_GARBAGE, 7),
}


# ================================================================ pure parsers

def _parse(protocol: str, buf: bytes) -> tuple[list[bytes], list[Reject], bytes]:
    if protocol == "rdm6300":
        p = parse_rdm6300(buf)
        return p.frames, p.rejects, p.rest
    if protocol == "line":
        p = parse_line(buf, "hex")
        return p.frames, p.rejects, p.rest
    q = pn532.parse_pn532(buf)
    uids = []
    for f in q.frames:
        assert f.kind == "info" and f.tfi == pn532.CHIP_TFI, f"a damaged frame was taken for {f}"
        uid = pn532.target_uid(f.data[1:])
        assert isinstance(uid, bytes)
        uids.append(uid)
    return uids, q.rejects, q.rest


REST_MAX = {"rdm6300": RDM_REST_MAX, "line": LINE_MAX, "pn532": PN532_REST_MAX}


def _parser_campaign(protocol: str, n_frames: int, seed: int) -> None:
    valid, garbage, size = PROTOCOLS[protocol]
    stream = build_stream(n_frames, seed, valid, garbage, size)
    wire = stream.wire()
    sent = [f for ok, f in stream.items if ok]
    expected = [_frame_uid(protocol, f) for f in sent]
    rng = random.Random(seed + 1)
    matched = rejects = 0
    rest, rest_max = b"", 0
    # found frames are checked against `expected` as they come, not kept: so what
    # tracemalloc sees growing is the parser's own state, which must stay flat
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        growth_max = 0
        i = reads = 0
        while i < len(wire):
            n = rng.randint(1, 512)           # reads arrive in any sizes
            frames, rej, rest = _parse(protocol, rest + wire[i:i + n])
            i += n
            for uid in frames:
                assert uid[0] != FOREIGN, f"damaged frame taken for card {uid.hex()}"
                assert matched < len(expected) and uid == expected[matched], \
                    f"frame {matched}: found {uid.hex()}, sent {expected[matched].hex() if matched < len(expected) else None}"
                matched += 1
            rejects += len(rej)
            rest_max = max(rest_max, len(rest))
            reads += 1
            if reads % 64 == 0:
                growth_max = max(growth_max, tracemalloc.get_traced_memory()[0] - base)
    finally:
        tracemalloc.stop()
    assert matched == len(expected), f"the parser lost {len(expected) - matched} valid frames"
    assert rejects >= stream.garbage * 0.5 and rejects > 0
    assert rest_max <= REST_MAX[protocol], f"parser kept {rest_max} bytes between reads"
    assert growth_max < 256 * 1024, f"parser memory grew by {growth_max} bytes"
    print(f"[parser {protocol}] frames={len(stream.items)} valid={len(sent)} garbage={stream.garbage} "
          f"bytes={len(wire)} rejects={rejects} rest_max={rest_max} traced_growth_max={growth_max // 1024} KiB")


def _frame_uid(protocol: str, frame: bytes) -> bytes:
    found, _, _ = _parse(protocol, frame)
    assert len(found) == 1, f"test bug: valid {protocol} frame {frame!r} does not parse alone"
    return found[0]


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_the_parsers_find_every_card_and_refuse_every_damaged_frame(protocol):
    _parser_campaign(protocol, SMALL_FRAMES, seed=11)


@pytest.mark.faults
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_the_parsers_survive_100k_mixed_frames(protocol):
    _parser_campaign(protocol, CAMPAIGN_FRAMES, seed=2026)


# ================================================================ the driver over a real pty
# (SerialCardReader is built directly here, not through make_reader, to pass on_reject;
# the replug campaign below goes through make_reader.)

def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class HostilePn532(threading.Thread):
    """A PN532 on the far side of the pty that answers each poll with garbage first.

    `polls` is the script: for each InListPassiveTarget, the garbage to send before
    the answer, and the answer itself. Once the script is done it answers "no card".
    Set-up commands and InDeselect get a plain ACK and answer.
    """

    def __init__(self, port: PtyPort, polls: list[tuple[list[bytes], bytes]]) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.polls = polls
        self.next_poll = 0
        self.frames_sent = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        buf = b""
        fd = self.port.master
        while not self.stopping.is_set():
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            parsed = pn532.parse_pn532(buf + os.read(fd, 4096))
            buf = parsed.rest
            for frame in parsed.frames:
                if frame.kind == "info":
                    _write_all(fd, self._reply(frame.data[0]))

    def _reply(self, code: int) -> bytes:
        if code != pn532.IN_LIST_PASSIVE_TARGET:
            return pn532.ACK + _answer(code, b"\x00" if code == pn532.IN_DESELECT else b"")
        if self.next_poll >= len(self.polls):
            return pn532.ACK + _answer(code, b"\x00")
        garbage, answer = self.polls[self.next_poll]
        self.next_poll += 1
        self.frames_sent += len(garbage) + 1
        return pn532.ACK + b"".join(garbage) + answer

    def stop(self) -> None:
        self.stopping.set()
        self.join()


def _pn532_polls(stream: Stream, rng: random.Random) -> list[tuple[list[bytes], bytes]]:
    """The stream's garbage and card answers as poll replies; some polls find a card-less
    or malformed answer instead (more garbage, the driver must report no card)."""
    polls: list[tuple[list[bytes], bytes]] = []
    pending: list[bytes] = []
    for ok, data in stream.items:
        if not ok:
            pending.append(data if rng.random() < 0.7 else rng.choice([_pn_host_echo, _pn_wrong_code])(rng))
            continue
        if rng.random() < 0.1:
            polls.append((pending, _pn_bad_target(rng)))
            pending = []
        polls.append((pending, data))
        pending = []
    return polls


def reader_cfg(link: Path, protocol: str, **kw: Any) -> ReaderConfig:
    base: dict[str, Any] = dict(port=str(link), protocol=protocol, line_digits="hex", removal_gap_s=0.5,
                                reopen_min_s=0.05, reopen_max_s=0.2)
    if protocol == "pn532":
        base.update(baudrate=115200, poll_interval_s=0.0, answer_timeout_s=0.5, silent_polls=3)
    base.update(kw)
    return ReaderConfig(**base)


def _driver_campaign(tmp_path: Path, protocol: str, n_frames: int, seed: int) -> None:
    valid, garbage, size = PROTOCOLS[protocol]
    if protocol == "pn532":
        garbage = PN532_GARBAGE
    stream = build_stream(n_frames, seed, valid, garbage, size)
    expected = [_frame_uid(protocol, f) for ok, f in stream.items if ok]
    expected = [u for i, u in enumerate(expected) if i == 0 or u != expected[i - 1]]   # one read per presentation
    assert expected == stream.cards
    port = PtyPort(tmp_path / "gatepass-reader")
    events = StampedEvents()
    rejects = [0]
    buf_max = [0]
    holder: list[SerialCardReader] = []

    def on_reject(r: Reject) -> None:
        # called on the reader thread right after it stored the parser's tail
        rejects[0] += 1
        if holder:
            buf_max[0] = max(buf_max[0], len(holder[0]._buf))

    reader = SerialCardReader(reader_cfg(port.link, protocol), events, on_reject=on_reject)
    holder.append(reader)
    module = None
    started = time.perf_counter()
    try:
        if protocol == "pn532":
            module = HostilePn532(port, _pn532_polls(stream, random.Random(seed + 2)))
            module.start()
        reader.start()
        events.wait_for(lambda e: isinstance(e, DeviceHealth) and e.online)
        last = format_hex(stream.cards[-1])
        if protocol != "pn532":
            wire, rng = stream.wire(), random.Random(seed + 3)
            i = 0
            while i < len(wire):
                n = rng.randint(1, 4096)
                _write_all(port.master, wire[i:i + n])
                i += n
        events.wait_for(lambda e: isinstance(e, CardRead) and e.uid == last, timeout=600)
        elapsed = time.perf_counter() - started
        assert reader._thread is not None and reader._thread.is_alive()
        assert reader.online
    finally:
        if module is not None:
            module.stop()
        reader.stop()
        port.close()
    events.drain(0.05)
    reads = [e.uid for e in events.seen if isinstance(e, CardRead)]
    foreign = [u for u in reads if u.startswith(f"{FOREIGN:02X}")]
    assert foreign == [], f"damaged frames taken for cards: {foreign[:5]}"
    assert reads == [format_hex(u) for u in stream.cards], "a card was missed or read twice"
    assert [e.online for e in events.seen if isinstance(e, DeviceHealth)] == [True], "the reader had to reconnect"
    assert rejects[0] > 0 and buf_max[0] <= REST_MAX[protocol]
    frames = module.frames_sent if module is not None else len(stream.items)
    print(f"[driver {protocol}] frames={frames} cards={len(reads)} rejects={rejects[0]} "
          f"buffer_max={buf_max[0]} B elapsed={elapsed:.1f} s")


def format_hex(uid: bytes) -> str:
    return uid.hex().upper()


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_the_reader_over_a_pty_reads_every_card_through_garbage(tmp_path, protocol):
    _driver_campaign(tmp_path, protocol, SMALL_FRAMES, seed=5)


@pytest.mark.faults
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_the_reader_over_a_pty_survives_100k_mixed_frames(tmp_path, protocol):
    _driver_campaign(tmp_path, protocol, CAMPAIGN_FRAMES, seed=2027)


# ================================================================ unplug and replug

RECOVERY_BOUND_S = 3.0        # issue 6: back within 3 seconds of being plugged in again
# The shipped reopen_max_s (10 s) cannot meet that bound after a long unplug: the backoff
# sleeps up to 10 s between attempts. 2 s does (bound = reopen_max_s + one open), at the
# cost of one failed open() every 2 s while a reader is missing. The campaign runs the
# shipped settings with only this one changed; see docs/reliability.md.


def online(flag: bool) -> Callable[[Any], bool]:
    return lambda e: isinstance(e, DeviceHealth) and e.device == "reader" and e.online is flag


def _replug_campaign(tmp_path: Path, cfg_kw: dict[str, Any], downtimes: list[float]) -> list[float]:
    """Unplug and replug a reader len(downtimes) times; the replug-to-online times."""
    port = PtyPort(tmp_path / "gatepass-reader")
    cfg = ReaderConfig(port=str(port.link), removal_gap_s=0.3, **cfg_kw)
    events = StampedEvents()
    reader = make_reader(cfg, events)
    assert isinstance(reader, SerialCardReader)
    recoveries: list[float] = []
    try:
        reader.start()
        thread = reader._thread
        events.wait_for(online(True))
        for k, down in enumerate(downtimes):
            uid = format_hex(_card_uid(k))
            port.write(rdm_frame(_card_uid(k)))
            events.wait_for(lambda e, uid=uid: isinstance(e, CardRead) and e.uid == uid)
            port.unplug()
            events.wait_for(online(False))
            time.sleep(down)
            plugged = time.perf_counter()
            port.plug()
            back = events.wait_for(online(True), timeout=30)
            recoveries.append(events.stamp_of(back) - plugged)
        uid = format_hex(_card_uid(len(downtimes)))
        port.write(rdm_frame(_card_uid(len(downtimes))))
        events.wait_for(lambda e, uid=uid: isinstance(e, CardRead) and e.uid == uid)
        assert reader._thread is thread and thread is not None and thread.is_alive(), "the reader was restarted"
    finally:
        reader.stop()
        port.close()
    health = [e.online for e in events.seen if isinstance(e, DeviceHealth)]
    assert health == [True] + [False, True] * len(downtimes)
    reads = [e.uid for e in events.seen if isinstance(e, CardRead)]
    assert reads == [format_hex(_card_uid(k)) for k in range(len(downtimes) + 1)]
    return recoveries


def test_a_reader_unplugged_and_replugged_a_few_times_comes_back_each_time(tmp_path):
    _replug_campaign(tmp_path, dict(reopen_min_s=0.05, reopen_max_s=0.2), [0.0, 0.1, 0.3])


def campaign_downtimes(trials: int, seed: int) -> list[float]:
    """Mostly quick replugs; every 20th one long enough for the backoff to reach its cap."""
    rng = random.Random(seed)
    return [rng.uniform(3.6, 5.4) if k % 20 == 19 else rng.uniform(0.02, 0.6) for k in range(trials)]


@pytest.mark.faults
@pytest.mark.timeout(1800)
def test_a_reader_unplugged_100_times_is_back_within_3_s_each_time(tmp_path):
    recoveries = _replug_campaign(tmp_path, dict(), campaign_downtimes(100, 6))
    figures("reader replug->online, shipped settings", recoveries, "s", 1.0)
    assert max(recoveries) <= RECOVERY_BOUND_S


@pytest.mark.faults
@pytest.mark.timeout(120)
def test_with_the_shipped_backoff_a_reader_unplugged_8_s_is_back_within_3_s(tmp_path):
    recoveries = _replug_campaign(tmp_path, dict(), [8.0])
    figures("reader replug->online after 8 s unplugged, shipped settings", recoveries, "s", 1.0)
    assert max(recoveries) <= RECOVERY_BOUND_S
