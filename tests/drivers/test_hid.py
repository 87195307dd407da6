"""Keyboard-wedge (HID) card readers through python-evdev.

This machine has no /dev/input and no uinput, so no real input device can be made here.
What is real: evdev's own `InputEvent` and key codes for the decoder; for the read loop,
packed `struct input_event` records written to a FIFO and read back by evdev's C reader
(`drivers/keypipe.py`: `_input.device_read_many`, the very call `InputDevice.read()`
makes); the EVIOCGRAB ioctl itself, which the kernel refuses on a FIFO; and real device
files (/dev/null, a regular file) for the "not an input device" refusal. Only two things
stand in for the kernel's input layer: a FIFO at end of file is reported as ENODEV (what a
read on an unplugged input device returns), and one opener's grab raises EBUSY (what
EVIOCGRAB returns when another program holds the device).
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from evdev import ecodes
from evdev.events import InputEvent

import drivers
from domain.errors import DriverError
from drivers.config import ReaderConfig
from drivers.events import CardRead, CardRemoved, DeviceHealth
from drivers.frames import Reject, format_uid, parse_rdm6300
from drivers.hid import HidCardReader, WedgeDecoder, wedge_uid
from drivers.keypipe import EVENT, KEY_OF, FifoOpener, WedgeTyper, keystrokes

from .ptys import Events
from .test_frames import rdm_frame


def events_of(text: str, **kw) -> list[InputEvent]:
    return [InputEvent(*e) for e in keystrokes(text, **kw)]


# ---------------------------------------------------------------------- the decoder, pure


def test_ten_digits_and_enter_are_one_number_whatever_else_the_keyboard_reports():
    out = WedgeDecoder(0.25).feed(events_of("0001193046\n"))
    assert out.numbers == ["0001193046"] and out.rejects == []


def test_keypad_digits_and_keypad_enter_read_the_same():
    keypad = {**{str(d): ecodes.ecodes[f"KEY_KP{d}"] for d in range(10)}, "\n": ecodes.KEY_KPENTER}
    assert WedgeDecoder(0.25).feed(events_of("0001193046\n", keys=keypad)).numbers == ["0001193046"]


def test_numbers_typed_in_pieces_across_reads_are_joined():
    d = WedgeDecoder(0.25)
    evs = events_of("0001193046\n")
    assert d.feed(evs[:17]).numbers == [] and d.partial
    assert d.feed(evs[17:]).numbers == ["0001193046"] and not d.partial


def test_shift_spoils_the_number_with_a_reason_and_the_next_card_still_reads():
    keys = {**KEY_OF, "S": ecodes.KEY_LEFTSHIFT, "a": ecodes.KEY_A}
    out = WedgeDecoder(0.25).feed(events_of("00S01193046\n0001193046\n", keys=keys))
    assert out.numbers == ["0001193046"]
    (reject,) = out.rejects
    assert "KEY_LEFTSHIFT" in reject.reason and reject.data == b"00"


def test_a_letter_is_refused_not_dropped_into_a_shorter_number():
    keys = {**KEY_OF, "a": ecodes.KEY_A}
    out = WedgeDecoder(0.25).feed(events_of("0a00123456\n", keys=keys))
    assert out.numbers == []
    assert [r.reason for r in out.rejects] == ["KEY_A is not a digit"]


def test_a_gap_between_keys_discards_the_partial_number():
    first = events_of("00011", start=1000.0)
    second = events_of("0001193046\n", start=1001.0)       # a second later: a new number
    out = WedgeDecoder(0.25).feed(first + second)
    assert out.numbers == ["0001193046"]
    assert [r.data for r in out.rejects] == [b"00011"] and "no key for more than 0.25 s" in out.rejects[0].reason


def test_abandon_discards_a_number_that_never_got_its_enter():
    d = WedgeDecoder(0.25)
    d.feed(events_of("000119"))
    reject = d.abandon()
    assert reject is not None and reject.data == b"000119" and "no Enter" in reject.reason
    assert d.abandon() is None and not d.partial


def test_autorepeat_and_key_up_are_not_keys_and_enter_alone_is_refused():
    code = ecodes.KEY_5
    evs = [InputEvent(1, 0, ecodes.EV_KEY, code, 1), InputEvent(1, 1, ecodes.EV_KEY, code, 2),
           InputEvent(1, 2, ecodes.EV_KEY, code, 2), InputEvent(1, 3, ecodes.EV_KEY, code, 0)]
    d = WedgeDecoder(0.25)
    assert d.feed(evs).numbers == []
    out = d.feed(events_of("\n", start=1.1))
    assert out.numbers == ["5"]
    assert [r.reason for r in d.feed(events_of("\n", start=1.2)).rejects] == ["Enter without digits"]


def test_an_endless_number_is_refused():
    out = WedgeDecoder(0.25).feed(events_of("1" * 40 + "\n"))
    assert out.numbers == [] and "more than 20 digits" in out.rejects[0].reason


# ---------------------------------------------------------------------- typed number -> the card's key


def test_an_em4100_card_has_one_key_from_an_rdm6300_and_from_a_wedge_reader_in_dec10():
    (from_rdm6300,) = parse_rdm6300(rdm_frame(bytes.fromhex("0A00123456"))).frames
    typed = wedge_uid("0001193046", "dec10")
    assert typed == bytes.fromhex("00123456")
    assert format_uid(from_rdm6300, "dec10") == format_uid(typed, "dec10") == "0001193046"
    # hex keeps the RDM6300's version byte, which the wedge reader never types: two keys
    assert format_uid(from_rdm6300, "hex") == "0A00123456" != format_uid(typed, "hex") == "00123456"


def test_w26_numbers_are_facility_and_card_and_match_an_rdm6300_in_w26():
    typed = wedge_uid("01804660", "w26")
    assert typed == bytes([18, 0x12, 0x34])
    (from_rdm6300,) = parse_rdm6300(rdm_frame(bytes.fromhex("0A00121234"))).frames
    assert format_uid(typed, "w26") == format_uid(from_rdm6300, "w26") == "01804660"


@pytest.mark.parametrize("number, digits, why", [
    ("123456789", "dec10", "9 digits, a dec10 reader types 10"),
    ("4294967296", "dec10", "more than 32 bits"),
    ("0001193046", "w26", "10 digits, a w26 reader types 8"),
    ("25604660", "w26", "facility code 256"),
    ("01870000", "w26", "card number 70000"),
])
def test_numbers_of_the_wrong_form_are_refused_with_the_reason(number, digits, why):
    result = wedge_uid(number, digits)
    assert isinstance(result, str) and why in result


# ---------------------------------------------------------------------- the read loop on a FIFO


class WedgeReader(WedgeTyper):
    def type(self, text: str, **kw) -> None:
        self.write(keystrokes(text, start=time.monotonic(), **kw))


def hid_cfg(path: Path, **kw) -> ReaderConfig:
    base = dict(port=str(path), protocol="hid", removal_gap_s=0.3, reopen_min_s=0.05, reopen_max_s=0.2, key_gap_s=0.2)
    base.update(kw)
    return ReaderConfig(**base)


@pytest.fixture
def wedge(tmp_path):
    w = WedgeReader(tmp_path / "usb-reader-event-kbd")
    yield w
    w.close()


@pytest.fixture
def running():
    readers = []

    def start(reader):
        readers.append(reader)
        reader.start()
        return reader
    yield start
    for r in readers:
        r.stop()


def online(flag: bool):
    return lambda e: isinstance(e, DeviceHealth) and e.device == "reader" and e.online is flag


def test_input_event_records_are_the_size_evdev_reads():
    assert EVENT.size == 24     # 64-bit: the kernel's struct input_event, which device_read_many reads whole


def test_a_card_typed_by_the_reader_is_one_read_in_the_configured_form_then_removed(wedge, running):
    events, rejects = Events(), []
    running(HidCardReader(hid_cfg(wedge.path, uid_format="dec10"), events, rejects.append, FifoOpener()))
    assert "grabbed" in events.wait_for(online(True)).detail
    wedge.type("0001193046\n")
    assert events.wait_for(lambda e: isinstance(e, CardRead)) == CardRead("0001193046", "hid")
    assert events.wait_for(lambda e: isinstance(e, CardRemoved)) == CardRemoved("0001193046")
    wedge.type("0001193046\n")                        # presented again: a new read
    assert events.wait_for(lambda e: isinstance(e, CardRead)) == CardRead("0001193046", "hid")
    assert rejects == []


def test_the_default_hex_key_is_the_typed_32_bits(wedge, running):
    events = Events()
    running(HidCardReader(hid_cfg(wedge.path), events, None, FifoOpener()))
    events.wait_for(online(True))
    wedge.type("0001193046\n")
    assert events.wait_for(lambda e: isinstance(e, CardRead)).uid == "00123456"


def test_a_number_cut_short_is_discarded_and_never_becomes_a_card(wedge, running):
    events, rejects = Events(), []
    running(HidCardReader(hid_cfg(wedge.path), events, rejects.append, FifoOpener()))
    events.wait_for(online(True))
    wedge.type("00011")                                # no Enter, then silence
    time.sleep(0.5)
    wedge.type("0001193046\n")
    assert events.wait_for(lambda e: isinstance(e, CardRead)).uid == "00123456"
    assert [r.data for r in rejects] == [b"00011"]
    assert not any(isinstance(e, CardRead) and e.uid != "00123456" for e in events.seen + events.drain(0.1))


def test_a_w26_reader_reads_facility_and_card(wedge, running):
    events = Events()
    running(HidCardReader(hid_cfg(wedge.path, hid_digits="w26", uid_format="w26"), events, None, FifoOpener()))
    events.wait_for(online(True))
    wedge.type("01804660\n")
    assert events.wait_for(lambda e: isinstance(e, CardRead)).uid == "01804660"


def test_unplugged_the_reader_goes_offline_and_comes_back_when_replugged(wedge, running):
    events = Events()
    opener = FifoOpener()
    running(HidCardReader(hid_cfg(wedge.path, removal_gap_s=5.0), events, None, opener))
    events.wait_for(online(True))
    wedge.type("0001193046\n")
    events.wait_for(lambda e: isinstance(e, CardRead))
    wedge.unplug()
    offline = events.wait_for(online(False))
    assert "unplugged" in offline.detail
    assert CardRemoved("00123456") in events.seen          # the card that was there is gone too
    wedge.plug()
    events.wait_for(online(True))
    wedge.type("0001193046\n")
    assert events.wait_for(lambda e: isinstance(e, CardRead)).uid == "00123456"
    assert opener.opened >= 2


def test_a_reader_missing_at_start_is_offline_saying_so_and_read_once_it_appears(tmp_path, running):
    events = Events()
    path = tmp_path / "usb-reader-event-kbd"
    running(HidCardReader(hid_cfg(path), events, None, FifoOpener()))
    assert "does not exist" in events.wait_for(online(False)).detail
    w = WedgeReader(path)
    try:
        events.wait_for(online(True))
        w.type("0001193046\n")
        assert events.wait_for(lambda e: isinstance(e, CardRead)).uid == "00123456"
    finally:
        w.close()


def test_a_refused_grab_keeps_the_reader_offline_and_nothing_is_read(wedge, running):
    events = Events()
    running(HidCardReader(hid_cfg(wedge.path), events, None, FifoOpener(grab="ioctl")))
    offline = events.wait_for(online(False))
    assert "cannot grab" in offline.detail and "无法独占读卡器" in offline.detail
    assert "Inappropriate ioctl" in offline.detail          # the kernel's own answer to EVIOCGRAB on a FIFO
    wedge.type("0001193046\n")
    later = events.drain(0.6)
    assert not any(isinstance(e, CardRead) for e in later)
    assert not any(isinstance(e, DeviceHealth) and e.online for e in events.seen)


def test_a_reader_another_program_holds_is_offline_naming_that(wedge, running):
    events = Events()
    running(HidCardReader(hid_cfg(wedge.path), events, None, FifoOpener(grab="busy")))
    detail = events.wait_for(online(False)).detail
    assert "another program holds the reader" in detail and "另一个程序已独占读卡器" in detail


# ---------------------------------------------------------------------- refused at start, with real files


@pytest.mark.parametrize("port", ["/dev/null", "regular file", "socket://127.0.0.1:7000"])
def test_hid_on_a_path_that_is_not_an_input_device_is_refused_at_start(port, tmp_path):
    if port == "regular file":
        port = str(tmp_path / "event-kbd")
        Path(port).write_text("")
    with pytest.raises(DriverError, match="protocol \"hid\""):
        drivers.make_reader(ReaderConfig(port=port, protocol="hid"), print)


def test_the_real_evdev_refuses_a_device_that_is_not_an_input_device():
    from evdev import InputDevice
    with pytest.raises(OSError):            # the ioctls the session would have made fail on /dev/null
        InputDevice("/dev/null")


def test_a_missing_hid_path_is_not_refused_at_start_a_usb_reader_may_enumerate_late(tmp_path):
    reader = drivers.make_reader(ReaderConfig(port=str(tmp_path / "later-event-kbd"), protocol="hid"), print)
    assert isinstance(reader, HidCardReader) and not reader.online


@pytest.mark.parametrize("kw, what", [
    (dict(hid_digits="hex"), "hid_digits 'hex'"),
    (dict(hid_digits="w26", uid_format="dec10"), "uid_format 'dec10' needs more than the 24 bits"),
    (dict(uid_format="octal"), "uid_format 'octal'"),
])
def test_a_hid_config_that_cannot_key_cards_is_refused_at_start(kw, what, tmp_path):
    with pytest.raises(DriverError, match=what):
        drivers.make_reader(ReaderConfig(port=str(tmp_path / "event-kbd"), protocol="hid", **kw), print)


def test_the_demo_fake_reader_still_works_whatever_the_protocol():
    events = Events()
    reader = drivers.make_reader(ReaderConfig(port="fake", protocol="hid"), events)
    assert isinstance(reader, drivers.FakeReader)
    reader.start()
    reader.present("0001193046")
    assert CardRead("0001193046", "fake") in events.drain(0.05)


def test_the_installer_command_refuses_hid_on_a_serial_port(capsys):
    from .test_cli import gatepass
    with pytest.raises(DriverError, match="not an input device"):
        gatepass("reader", "--protocol", "hid", "--port", "/dev/null")


def test_rejects_are_reported_as_the_digits_typed(wedge, running):
    events, rejects = Events(), []
    running(HidCardReader(hid_cfg(wedge.path), events, rejects.append, FifoOpener()))
    events.wait_for(online(True))
    wedge.type("123456789\n")
    deadline = time.monotonic() + 3
    while not rejects and time.monotonic() < deadline:
        time.sleep(0.02)
    assert rejects == [Reject(b"123456789", "9 digits, a dec10 reader types 10")]


def test_a_uid_too_short_for_its_form_is_refused_by_name():
    with pytest.raises(DriverError, match="needs a UID of 4 bytes or more"):
        format_uid(bytes.fromhex("1234"), "dec10")
    assert format_uid(bytes.fromhex("04112233445566"), "dec10") == f"{0x33445566:010d}"


def test_with_real_evdev_a_path_that_turns_out_not_to_be_an_input_device_stays_offline(tmp_path, running):
    events = Events()
    path = tmp_path / "event-kbd"
    running(drivers.make_reader(hid_cfg(path), events))          # the real opener: evdev.InputDevice
    assert "does not exist" in events.wait_for(online(False)).detail
    path.symlink_to("/dev/null")                                 # a name that appears, on the wrong device
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if any("cannot open as an input device" in str(getattr(e, "detail", "")) for e in events.drain(0.05)):
            break
    else:
        raise AssertionError(f"no refusal; seen {events.seen}")
    assert not any(isinstance(e, DeviceHealth) and e.online for e in events.seen)


def test_a_reader_missing_at_start_then_held_by_another_program_says_so_not_missing(tmp_path, running):
    events = Events()
    path = tmp_path / "usb-reader-event-kbd"
    running(HidCardReader(hid_cfg(path), events, None, FifoOpener(grab="busy")))
    assert "does not exist" in events.wait_for(online(False)).detail
    w = WedgeReader(path)
    try:
        assert "another program holds the reader" in events.wait_for(online(False)).detail
        w.type("0001193046\n")
        assert not any(isinstance(e, CardRead) or (isinstance(e, DeviceHealth) and e.online) for e in events.drain(0.5))
    finally:
        w.close()


@pytest.mark.parametrize("key, value", [("protocol", "hdi"), ("hid_digits", "dec8"), ("uid_format", "dec"),
                                        ("line_digits", "octal")])
def test_config_check_refuses_a_reader_choice_that_does_not_exist_naming_the_key(key, value, tmp_path, capsys):
    from kiosk.cli import main
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[reader]\nport = "/dev/input/by-id/usb-x-event-kbd"\n{key} = "{value}"\n', encoding="utf-8")
    assert main(["config", "check", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"reader.{key}" in err and "one of" in err and "Traceback" not in err, err


def test_config_check_passes_a_hid_reader(tmp_path, capsys):
    from kiosk.cli import main
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[reader]\nport = "/dev/input/by-id/usb-x-event-kbd"\nprotocol = "hid"\nhid_digits = "w26"\n'
                   'uid_format = "w26"\n', encoding="utf-8")
    assert main(["config", "check", str(cfg)]) == 0


# ---------------------------------------------------------------------- the serial readers in the new forms


def test_an_rdm6300_in_dec10_gives_the_key_the_wedge_reader_gives(tmp_path, running):
    from drivers.reader import SerialCardReader

    from .ptys import PtyPort
    port = PtyPort(tmp_path / "gatepass-reader")
    try:
        events = Events()
        running(SerialCardReader(ReaderConfig(port=str(port.link), uid_format="dec10", reopen_min_s=0.05), events))
        events.wait_for(online(True))
        port.write(rdm_frame(bytes.fromhex("0A00123456")))
        assert events.wait_for(lambda e: isinstance(e, CardRead)) == CardRead("0001193046", "rdm6300")
    finally:
        port.close()


def test_a_serial_uid_too_short_for_dec10_is_rejected_and_the_reader_reads_on(tmp_path, running):
    from drivers.reader import SerialCardReader

    from .ptys import PtyPort
    port = PtyPort(tmp_path / "gatepass-reader")
    try:
        events, rejects = Events(), []
        running(SerialCardReader(ReaderConfig(port=str(port.link), protocol="line", line_digits="hex", uid_format="dec10",
                                              reopen_min_s=0.05), events, on_reject=rejects.append))
        events.wait_for(online(True))
        port.write(b"1234\r\n")                       # two bytes: no 32 bits to key by
        port.write(b"00123456\r\n")
        assert events.wait_for(lambda e: isinstance(e, CardRead)).uid == "0001193046"
        assert [r.data for r in rejects] == [bytes.fromhex("1234")] and "4 bytes or more" in rejects[0].reason
        assert [e.online for e in events.seen if isinstance(e, DeviceHealth)] == [True]      # never lost
    finally:
        port.close()
