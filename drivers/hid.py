"""Keyboard-wedge card readers (protocol "hid"): read through evdev, grabbed for ourselves.

Cheap USB 125 kHz readers are USB keyboards: for each card they "type" its number as
digits followed by Enter. Left alone, those key presses would reach whatever reads the
keyboard, here SDL and so the guard's PIN pad. So the driver opens the reader's own
event device (`/dev/input/by-id/usb-...-event-kbd`) with python-evdev and takes an
exclusive grab (EVIOCGRAB): while the kiosk holds it, no other program, SDL included,
sees a single key from it. If the grab is refused (another program holds it) the reader
is offline and says so: a reader we cannot keep to ourselves is never read silently.

`WedgeDecoder` turns key-down events into numbers and is pure (events in, numbers and
rejects out); `wedge_uid` turns a typed number into UID bytes; `HidCardReader` is the
supervised read loop, reopening after an unplug like the serial readers. The device is
opened through a small seam (`Opener`), so that the loop can be driven in tests by real
`struct input_event` bytes on a FIFO, read by evdev's own C reader.
"""
from __future__ import annotations

import errno
import logging
import os
import select
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from evdev import ecodes
from evdev.events import InputEvent

from domain.errors import DriverError
from drivers.config import HID_DIGITS, ReaderConfig
from drivers.frames import UID_FORMAT_BYTES, Reject
from drivers.interfaces import Emit
from drivers.reader import READ_TIMEOUT_S, CardSightings, ReaderLost

log = logging.getLogger("gatepass.drivers.hid")

#: The kernel's major number of input devices (/dev/input/event*): include/uapi/linux/major.h.
INPUT_MAJOR = 13
#: Longest number kept while waiting for its Enter: a wedge reader types 8 or 10 digits.
MAX_DIGITS = 20
KEY_DOWN = 1     # InputEvent.value of EV_KEY: 0 up, 1 down, 2 autorepeat

#: Key code -> digit, for the top-row digits and the keypad's (readers use either).
DIGIT_KEYS: dict[int, str] = {
    **{ecodes.ecodes[f"KEY_{d}"]: str(d) for d in range(10)},
    **{ecodes.ecodes[f"KEY_KP{d}"]: str(d) for d in range(10)},
}
ENTER_KEYS = frozenset({ecodes.KEY_ENTER, ecodes.KEY_KPENTER})
SHIFT_KEYS = frozenset({ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT})


def key_name(code: int) -> str:
    name = ecodes.KEY.get(code, f"key {code}")
    return name if isinstance(name, str) else "/".join(name)


@dataclass
class Decoded:
    numbers: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


class WedgeDecoder:
    """Key-down events in, typed numbers out.

    Digits (top row or keypad) accumulate; Enter or keypad Enter ends a number. Shift or
    any other key spoils the number being typed (a reader set to type hex letters, or a
    keyboard plugged in where the reader should be): it is rejected with the reason at its
    Enter, never shortened into a different card. More than `key_gap_s` between two keys
    (by the events' own timestamps) discards the partial number before the new key;
    `abandon()` does the same when no key comes at all. Key-up and autorepeat events, and
    every non-key event (EV_SYN, EV_MSC scan codes), are ignored.
    """

    def __init__(self, key_gap_s: float) -> None:
        self.key_gap_s = key_gap_s
        self._digits = ""
        self._spoiled = ""        # why the number being typed will be rejected
        self._keys = 0            # keys in the number being typed, for the reject's record
        self._last: float | None = None

    @property
    def partial(self) -> bool:
        return self._keys > 0

    def feed(self, events: Iterable[InputEvent]) -> Decoded:
        out = Decoded()
        for ev in events:
            if ev.type != ecodes.EV_KEY or ev.value != KEY_DOWN:
                continue
            at = ev.timestamp()
            if self._keys and self._last is not None and at - self._last > self.key_gap_s:
                out.rejects.append(self._drop(f"partial number discarded: no key for more than {self.key_gap_s:g} s"))
            self._last = at
            self._key(ev.code, out)
        return out

    def abandon(self) -> Reject | None:
        """No key for `key_gap_s`: the partial number (if any) is discarded, with the reason."""
        if not self._keys:
            return None
        return self._drop(f"partial number discarded: no Enter within {self.key_gap_s:g} s")

    def _key(self, code: int, out: Decoded) -> None:
        if code in ENTER_KEYS:
            if self._spoiled:
                out.rejects.append(self._drop(self._spoiled))
            elif self._digits:
                out.numbers.append(self._digits)
                self._reset()
            else:
                out.rejects.append(Reject(b"", "Enter without digits"))
            return
        self._keys += 1
        digit = DIGIT_KEYS.get(code)
        if self._spoiled:
            return
        if code in SHIFT_KEYS:
            self._spoiled = f"{key_name(code)} pressed: a reader types digits only (set to type letters?)"
        elif digit is None:
            self._spoiled = f"{key_name(code)} is not a digit"
        elif len(self._digits) >= MAX_DIGITS:
            self._spoiled = f"more than {MAX_DIGITS} digits without Enter"
        else:
            self._digits += digit

    def _drop(self, reason: str) -> Reject:
        reject = Reject(self._digits.encode("ascii"), reason)
        self._reset()
        return reject

    def _reset(self) -> None:
        self._digits, self._spoiled, self._keys = "", "", 0


def wedge_uid(number: str, hid_digits: str) -> bytes | str:
    """UID bytes of a number a wedge reader typed, or the reason it is not one.

    dec10: exactly 10 digits, the low 32 bits of an EM4100 id (its version byte is not
      typed) -> 4 bytes, the same as an RDM6300's last 4;
    w26: exactly 8 digits, 3 of facility code (0-255) and 5 of card number (0-65535),
      Wiegand-26 style -> 3 bytes (facility, card high, card low).
    """
    if hid_digits == "dec10":
        if len(number) != 10:
            return f"{len(number)} digits, a dec10 reader types 10"
        value = int(number)
        if value > 0xFFFFFFFF:
            return f"{number} is more than 32 bits (4294967295)"
        return value.to_bytes(4, "big")
    if hid_digits == "w26":
        if len(number) != 8:
            return f"{len(number)} digits, a w26 reader types 8"
        facility, card = int(number[:3]), int(number[3:])
        if facility > 0xFF:
            return f"facility code {facility} is more than 255"
        if card > 0xFFFF:
            return f"card number {card} is more than 65535"
        return bytes([facility]) + card.to_bytes(2, "big")
    raise DriverError(f"reader: hid_digits {hid_digits!r} is not one of: {', '.join(HID_DIGITS)}")


# --------------------------------------------------------------------- the device seam


class KeyDevice(Protocol):
    """What the loop needs of an open input device; `evdev.InputDevice` is one."""

    def fileno(self) -> int: ...
    def grab(self) -> None: ...
    def read(self) -> Iterable[InputEvent]: ...   # raises BlockingIOError when nothing is pending
    def close(self) -> None: ...


class Opener(Protocol):
    def refusal(self, path: str) -> str | None:
        """Why `path` can never be this reader (checked at start), or None."""
        ...

    def open(self, path: str) -> KeyDevice: ...


def not_an_input_device(path: str) -> str | None:
    """Why `path` is not a Linux input device, or None (also when it does not exist yet:
    a USB reader may enumerate after the kiosk starts, and is then only offline)."""
    if "://" in path:
        return f"{path} is a URL; protocol \"hid\" reads an input device such as /dev/input/by-id/usb-...-event-kbd"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    if not stat.S_ISCHR(st.st_mode) or os.major(st.st_rdev) != INPUT_MAJOR:
        kind = "a serial port or another device" if stat.S_ISCHR(st.st_mode) else "not a device file"
        return (f"{path} 不是输入设备 (evdev),协议 hid 需要 /dev/input/by-id/…-event-kbd / "
                f"{path} is not an input device ({kind}); protocol \"hid\" needs /dev/input/by-id/usb-...-event-kbd")
    return None


class EvdevOpener:
    """The real thing: `evdev.InputDevice(path)`."""

    def refusal(self, path: str) -> str | None:
        return not_an_input_device(path)

    def open(self, path: str) -> KeyDevice:
        from evdev import InputDevice
        return InputDevice(path)


def grab_refusal(exc: OSError) -> str:
    """The offline reason when EVIOCGRAB fails (the device's path is prefixed by the caller)."""
    if exc.errno == errno.EBUSY:
        return f"另一个程序已独占读卡器,不读取 / another program holds the reader (grab: {exc.strerror}); not reading it"
    return f"无法独占读卡器,不读取 / cannot grab the reader for the kiosk alone ({exc.strerror or exc}); not reading it"


# --------------------------------------------------------------------- the reader


class HidCardReader(CardSightings):
    """CardRead / CardRemoved / DeviceHealth("reader", ...) from a keyboard-wedge reader.

    Most wedge readers type a card once per presentation, so (as for `line` readers)
    CardRemoved means "no new number for `removal_gap_s`".

    A new offline reason is reported even while already offline: a reader missing at
    start that then appears but cannot be grabbed must say "another program holds it",
    not keep saying "does not exist".
    """

    report_new_reasons = True

    def __init__(self, cfg: ReaderConfig, emit: Emit,
                 on_reject: Callable[[Reject], None] | None = None, opener: Opener | None = None) -> None:
        if cfg.protocol != "hid":
            raise DriverError(f"reader {cfg.port}: HidCardReader reads protocol \"hid\", not {cfg.protocol!r}")
        if cfg.hid_digits not in HID_DIGITS:
            raise DriverError(f"reader {cfg.port}: hid_digits {cfg.hid_digits!r} is not one of: {', '.join(HID_DIGITS)}")
        typed_bytes = 4 if cfg.hid_digits == "dec10" else 3
        if UID_FORMAT_BYTES.get(cfg.uid_format, 0) > typed_bytes:
            raise DriverError(f"reader {cfg.port}: uid_format {cfg.uid_format!r} needs more than the "
                              f"{typed_bytes * 8} bits a {cfg.hid_digits} reader types; use \"w26\", \"hex\" or \"decimal\"")
        self._opener: Opener = opener or EvdevOpener()
        why = self._opener.refusal(cfg.port)
        if why:
            raise DriverError(f"reader: {why}")
        super().__init__(cfg, emit, on_reject, log)
        self._device: KeyDevice | None = None
        self._decoder = WedgeDecoder(cfg.key_gap_s)

    def _expected_loss(self, exc: Exception) -> bool:
        return isinstance(exc, (ReaderLost, OSError))

    def _session(self) -> None:
        self._decoder = WedgeDecoder(self.cfg.key_gap_s)
        path = self.cfg.port
        try:
            self._device = self._opener.open(path)
        except FileNotFoundError:
            raise ReaderLost("读卡器未连接 / does not exist (reader unplugged?)") from None
        except PermissionError:
            raise ReaderLost("无权读取 / no permission: the kiosk's user must be in group input") from None
        except OSError as exc:
            raise ReaderLost(f"不是输入设备 / cannot open as an input device: {exc.strerror or exc}") from None
        try:
            self._device.grab()
        except OSError as exc:
            raise ReaderLost(grab_refusal(exc)) from None
        self._set_online(True, f"{path} open (hid, grabbed)")
        self._key_loop(self._device)

    def _teardown(self) -> None:
        if self._device is not None:
            try:
                self._device.close()      # closing the fd also ends the grab
            except Exception:  # noqa: BLE001 - a vanished device may fail to close; it is gone either way
                pass
            self._device = None
        self._forget_cards()

    def _key_loop(self, device: KeyDevice) -> None:
        last_key = time.monotonic()
        while not self._stop.is_set():
            ready, _, _ = select.select([device], [], [], READ_TIMEOUT_S)
            if ready:
                try:
                    events = list(device.read())
                except BlockingIOError:
                    events = []
                except OSError as exc:
                    if exc.errno == errno.ENODEV:
                        raise ReaderLost("读卡器已拔出 / unplugged") from None
                    raise
                if events:
                    last_key = time.monotonic()
                    self._handle(self._decoder.feed(events))
            elif self._decoder.partial and time.monotonic() - last_key > self.cfg.key_gap_s:
                reject = self._decoder.abandon()
                if reject is not None:
                    self._rejects([reject])
            self._expire()

    def _handle(self, decoded: Decoded) -> None:
        self._rejects(decoded.rejects)
        for number in decoded.numbers:
            uid = wedge_uid(number, self.cfg.hid_digits)
            if isinstance(uid, str):
                self._rejects([Reject(number.encode("ascii"), uid)])
            else:
                self._sighting(uid)
