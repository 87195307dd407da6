"""Serial card reader: one background thread per reader, reopening on loss.

Why not `serial.threaded.ReaderThread`: it ends for good when the port is lost and
has no clock of its own, while a gate reader must (a) notice a card taken away
after a quiet gap, (b) poll a PN532, and (c) reopen an unplugged reader with
backoff without the app restarting. So the thread here owns the whole lifecycle:
open -> (PN532 set-up) -> read or poll -> on any failure report, close, wait, reopen.
Framing is done by the pure parsers in `frames.py` / `pn532.py`.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

import serial

from domain.errors import DriverError
from drivers import pn532
from drivers.config import SERIAL_PROTOCOLS, UID_FORMATS, ReaderConfig
from drivers.events import CardRead, CardRemoved
from drivers.frames import Parsed, Reject, format_uid, parse_line, parse_rdm6300
from drivers.interfaces import Emit
from drivers.presence import Presence
from drivers.supervised import SupervisedDevice

log = logging.getLogger("gatepass.drivers.reader")

PROTOCOLS = SERIAL_PROTOCOLS
READ_TIMEOUT_S = 0.05   # how often the thread wakes with no bytes, to notice removal and stop()



class ReaderLost(Exception):
    """The reader stopped working (unplugged, I/O error, no answer): reopen it."""


class CardSightings(SupervisedDevice):
    """What every card reader does with a UID it read: one canonical form, one CardRead per
    presentation, CardRemoved after `removal_gap_s` of silence (serial and hid readers alike)."""

    device = "reader"

    def __init__(self, cfg: ReaderConfig, emit: Emit, on_reject: Callable[[Reject], None] | None,
                 reader_log: logging.Logger) -> None:
        if cfg.uid_format not in UID_FORMATS:
            raise DriverError(f"reader {cfg.port}: uid_format {cfg.uid_format!r} is not one of: {', '.join(UID_FORMATS)}")
        super().__init__(emit, cfg.port, cfg.reopen_min_s, cfg.reopen_max_s, reader_log)
        self.cfg = cfg
        self._on_reject = on_reject
        self._presence = Presence(cfg.removal_gap_s, single=True)

    def _sighting(self, uid_bytes: bytes) -> None:
        try:
            uid = format_uid(uid_bytes, self.cfg.uid_format)
        except DriverError as exc:      # a UID too short for dec10 / w26: not a card this gate can key
            self._rejects([Reject(uid_bytes, str(exc))])
            return
        new, displaced = self._presence.seen(uid, time.monotonic())
        for old in displaced:
            self._emit(CardRemoved(old))
        if new:
            self._emit(CardRead(uid, self.cfg.protocol))

    def _expire(self) -> None:
        for uid in self._presence.expire(time.monotonic()):
            self._emit(CardRemoved(uid))

    def _forget_cards(self) -> None:
        for uid in self._presence.clear():
            self._emit(CardRemoved(uid))

    def _rejects(self, rejects: list[Reject]) -> None:
        if self._on_reject is not None:
            for r in rejects:
                self._on_reject(r)


class SerialCardReader(CardSightings):
    """CardRead / CardRemoved / DeviceHealth("reader", ...) from a serial reader."""

    def __init__(self, cfg: ReaderConfig, emit: Emit,
                 on_reject: Callable[[Reject], None] | None = None) -> None:
        if cfg.protocol not in PROTOCOLS:
            raise DriverError(f"reader {cfg.port}: protocol {cfg.protocol!r} is not one of: {', '.join(PROTOCOLS)}")
        if cfg.line_digits not in ("decimal", "hex"):
            raise DriverError(f"reader {cfg.port}: line_digits {cfg.line_digits!r} is not one of: decimal, hex")
        super().__init__(cfg, emit, on_reject, log)
        self._serial: serial.SerialBase | None = None
        self._buf = b""

    # ------------------------------------------------------------------ lifecycle

    def _expected_loss(self, exc: Exception) -> bool:
        return isinstance(exc, (ReaderLost, serial.SerialException, OSError))

    def _teardown(self) -> None:
        self._close()
        self._forget_cards()

    def _session(self) -> None:
        self._buf = b""
        # exclusive: a second reader of the same port (the kiosk and `gatepass reader`)
        # would steal bytes from the first; it is refused and says so instead
        self._serial = serial.serial_for_url(self.cfg.port, baudrate=self.cfg.baudrate,
                                             timeout=READ_TIMEOUT_S, exclusive=True)
        if self.cfg.protocol == "pn532":
            self._pn532_setup()
        self._set_online(True, f"{self.cfg.port} open ({self.cfg.protocol})")
        if self.cfg.protocol == "pn532":
            self._pn532_poll_loop()
        else:
            self._stream_loop()

    def _close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except Exception:  # noqa: BLE001 - a vanished device may fail to close; it is gone either way
                pass
            self._serial = None

    def _read(self) -> bytes:
        assert self._serial is not None
        data = self._serial.read(max(1, self._serial.in_waiting))
        return bytes(data)

    # ------------------------------------------------------------------ rdm6300 / line

    def _stream_loop(self) -> None:
        while not self._stop.is_set():
            data = self._read()
            if data:
                parsed: Parsed[bytes]
                if self.cfg.protocol == "rdm6300":
                    parsed = parse_rdm6300(self._buf + data)
                else:
                    parsed = parse_line(self._buf + data, self.cfg.line_digits)
                self._buf = parsed.rest
                self._rejects(parsed.rejects)
                for uid in parsed.frames:
                    self._sighting(uid)
            self._expire()

    # ------------------------------------------------------------------ pn532

    def _pn532_setup(self) -> None:
        assert self._serial is not None
        self._serial.write(pn532.WAKEUP)
        self._pn532_command(pn532.SAM_CONFIGURATION, pn532.SAM_NORMAL)
        self._pn532_command(pn532.RF_CONFIGURATION, pn532.RF_MAX_RETRIES)

    def _pn532_poll_loop(self) -> None:
        misses = 0
        while not self._stop.is_set():
            try:
                answer = self._pn532_command(pn532.IN_LIST_PASSIVE_TARGET, pn532.LIST_ONE_TYPE_A)
                uid = pn532.target_uid(answer)
                if isinstance(uid, bytes):
                    self._sighting(uid)
                    self._pn532_command(pn532.IN_DESELECT, pn532.DESELECT_ALL)
                elif isinstance(uid, str):
                    self._rejects([Reject(answer, uid)])
                misses = 0
            except ReaderLost as exc:
                misses += 1
                if misses >= self.cfg.silent_polls:
                    raise ReaderLost(f"PN532 silent for {misses} polls ({exc})") from None
            self._expire()
            self._stop.wait(self.cfg.poll_interval_s)

    def _pn532_command(self, code: int, params: bytes) -> bytes:
        """Send one command; return the answer's data after the response code.

        Raises ReaderLost when no matching answer arrives in time, or on NACK/error.
        """
        assert self._serial is not None
        self._serial.write(pn532.build_frame(bytes([code]) + params))
        deadline = time.monotonic() + self.cfg.answer_timeout_s
        while time.monotonic() < deadline and not self._stop.is_set():
            parsed = pn532.parse_pn532(self._buf + self._read())
            self._buf = parsed.rest
            self._rejects(parsed.rejects)
            for frame in parsed.frames:
                if frame.kind in ("nack", "error"):
                    raise ReaderLost(f"PN532 answered {frame.kind} to command {code:02X}")
                if frame.kind == "info" and frame.tfi == pn532.CHIP_TFI and frame.data[:1] == bytes([code + 1]):
                    return frame.data[1:]
                if frame.kind == "info":
                    self._rejects([Reject(frame.data, f"unexpected answer to command {code:02X}")])
        raise ReaderLost(f"no answer to PN532 command {code:02X} within {self.cfg.answer_timeout_s} s")
