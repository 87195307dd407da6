"""A keyboard-wedge reader on a FIFO, for the tests and the bench (no /dev/uinput needed).

`WedgeTyper` makes a FIFO at the reader's path and writes what a wedge reader sends for
a card: packed `struct input_event` records (scan code, key down, sync, key up, sync per
key). `FifoOpener` is an `Opener` for `drivers.hid.HidCardReader` that reads them back
with evdev's own C reader (`_input.device_read_many`, the call `InputDevice.read()`
makes), so the read loop runs on the bytes a kernel would hand it. Two things stand in
for the kernel's input layer: end of file reads as ENODEV (what an unplugged input device
returns), and the grab is either skipped, the real EVIOCGRAB ioctl (which the kernel
refuses on a FIFO), or EBUSY (what it returns when another program holds the device).
"""
from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

from evdev import _input, ecodes  # type: ignore[attr-defined]  # the C extension evdev reads with
from evdev.events import InputEvent

#: struct input_event on a 64-bit kernel: struct timeval (two longs), type, code, value.
EVENT = struct.Struct("llHHi")
#: Text a reader types -> key code (top-row digits, Enter).
KEY_OF = {**{str(d): ecodes.ecodes[f"KEY_{d}"] for d in range(10)}, "\n": ecodes.KEY_ENTER}

Record = tuple[int, int, int, int, int]


def keystrokes(text: str, start: float = 1000.0, every: float = 0.008,
               keys: dict[str, int] | None = None) -> list[Record]:
    """What a wedge reader sends for `text`, as (sec, usec, type, code, value) records from
    `start` seconds, one key every `every` seconds."""
    keys = keys or KEY_OF
    out: list[Record] = []
    t = start
    for ch in text:
        code = keys[ch]
        sec, usec = int(t), int((t % 1) * 1_000_000)
        out += [(sec, usec, ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70000 + code),
                (sec, usec, ecodes.EV_KEY, code, 1), (sec, usec, ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
                (sec, usec + 2000, ecodes.EV_KEY, code, 0), (sec, usec + 2000, ecodes.EV_SYN, ecodes.SYN_REPORT, 0)]
        t += every
    return out


class FifoDevice:
    """The reading end, as `drivers.hid.KeyDevice`."""

    def __init__(self, path: str, grab: str) -> None:
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.grab_mode = grab

    def fileno(self) -> int:
        return self.fd

    def grab(self) -> None:
        if self.grab_mode == "ioctl":           # the real EVIOCGRAB: the kernel refuses it on a FIFO
            _input.ioctl_EVIOCGRAB(self.fd, 1)
        elif self.grab_mode == "busy":          # stand-in: what EVIOCGRAB says when another program holds it
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))

    def read(self) -> list[InputEvent]:
        records = _input.device_read_many(self.fd)
        if not records:                         # end of file: the kernel says ENODEV for an unplugged device
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        return [InputEvent(*r) for r in records]

    def close(self) -> None:
        os.close(self.fd)


class FifoOpener:
    """`drivers.hid.Opener` over FIFOs; `grab` is "ok", "ioctl" or "busy" (see FifoDevice)."""

    def __init__(self, grab: str = "ok") -> None:
        self.grab = grab
        self.opened = 0

    def refusal(self, path: str) -> str | None:
        return None

    def open(self, path: str) -> FifoDevice:
        dev = FifoDevice(path, self.grab)
        self.opened += 1
        return dev


class WedgeTyper:
    """The far side: a FIFO at the reader's path, held open, and a reader typing into it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1
        self.plug()

    def plug(self) -> None:
        os.mkfifo(self.path)
        self.fd = os.open(self.path, os.O_RDWR)      # holds the FIFO open: no end of file until unplugged

    def unplug(self) -> None:
        self.path.unlink()
        os.close(self.fd)
        self.fd = -1

    def write(self, records: list[Record]) -> None:
        os.write(self.fd, b"".join(EVENT.pack(*r) for r in records))

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
