"""The serial card reader driven through real pseudo-terminals, end to end."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from domain.errors import DriverError
from drivers.config import ReaderConfig
from drivers.events import CardRead, CardRemoved, DeviceHealth
from drivers.pn532 import IN_LIST_PASSIVE_TARGET
from drivers.reader import SerialCardReader

from .ptys import Events, Pn532Module, PtyPort
from .test_frames import rdm_frame


def cfg(link: Path, **kw) -> ReaderConfig:
    base = dict(port=str(link), removal_gap_s=0.3, reopen_min_s=0.05, reopen_max_s=0.2,
                poll_interval_s=0.03, answer_timeout_s=0.2, silent_polls=2)
    base.update(kw)
    return ReaderConfig(**base)


@pytest.fixture
def port(tmp_path):
    p = PtyPort(tmp_path / "gatepass-reader")
    yield p
    p.close()


@pytest.fixture
def running():
    readers = []

    def start(reader: SerialCardReader) -> SerialCardReader:
        readers.append(reader)
        reader.start()
        return reader
    yield start
    for r in readers:
        r.stop()


def online(flag: bool):
    return lambda e: isinstance(e, DeviceHealth) and e.device == "reader" and e.online is flag


def hold(port: PtyPort, frame: bytes, times: int = 8, every: float = 0.05) -> None:
    """A tag held on an RDM6300: the same frame over and over."""
    for _ in range(times):
        port.write(frame)
        time.sleep(every)


def test_a_card_held_on_the_reader_is_one_read_then_one_removal(port, running):
    events = Events()
    reader = running(SerialCardReader(cfg(port.link), events))
    events.wait_for(online(True))
    assert reader.online
    hold(port, rdm_frame(bytes.fromhex("0A00123456")))
    events.wait_for(lambda e: isinstance(e, CardRemoved))
    cards = [e for e in events.seen if isinstance(e, (CardRead, CardRemoved))]
    assert cards == [CardRead("0A00123456", "rdm6300"), CardRemoved("0A00123456")]


def test_a_different_card_replaces_the_first_at_once(port, running):
    events = Events()
    running(SerialCardReader(cfg(port.link, removal_gap_s=5.0), events))
    events.wait_for(online(True))
    port.write(rdm_frame(bytes.fromhex("0A00000001")))
    events.wait_for(lambda e: isinstance(e, CardRead))
    port.write(rdm_frame(bytes.fromhex("0A00000002")))
    events.wait_for(lambda e: e == CardRead("0A00000002", "rdm6300"))
    assert CardRemoved("0A00000001") in events.seen


def test_garbage_from_the_reader_is_reported_and_cards_are_still_read(port, running):
    events, rejects = Events(), []
    running(SerialCardReader(cfg(port.link, uid_format="decimal"), events, on_reject=rejects.append))
    events.wait_for(online(True))
    port.write(bytes(range(256)) * 4 + b"\x02" * 100 + rdm_frame(bytes.fromhex("0000123456")))
    events.wait_for(lambda e: e == CardRead(str(0x123456), "rdm6300"))
    assert rejects and all(r.reason for r in rejects)


def test_a_line_reader_printing_decimal_gives_the_canonical_hex_uid(port, running):
    events = Events()
    running(SerialCardReader(cfg(port.link, protocol="line"), events))
    events.wait_for(online(True))
    port.write(b"0001193046\r\n")
    assert events.wait_for(lambda e: isinstance(e, CardRead)) == CardRead("00123456", "line")


def test_an_unplugged_reader_goes_offline_and_comes_back_when_replugged(port, running):
    events = Events()
    reader = running(SerialCardReader(cfg(port.link), events))
    events.wait_for(online(True))
    port.unplug()
    lost = events.wait_for(online(False))
    assert str(port.link) in lost.detail
    assert not reader.online
    time.sleep(0.5)             # several reopen attempts fail while unplugged
    port.plug()
    events.wait_for(online(True))
    port.write(rdm_frame(bytes.fromhex("0A00123456")))
    events.wait_for(lambda e: isinstance(e, CardRead))
    assert [e.online for e in events.seen if isinstance(e, DeviceHealth)] == [True, False, True]


def test_a_reader_missing_at_start_is_reported_offline_and_picked_up_when_it_appears(tmp_path, running):
    link = tmp_path / "gatepass-reader"
    events = Events()
    running(SerialCardReader(cfg(link), events))
    events.wait_for(online(False))
    port = PtyPort(link)
    try:
        events.wait_for(online(True))
    finally:
        port.close()


def test_a_pn532_reports_a_mifare_card_once_and_its_removal(port, running):
    module = Pn532Module(port)
    module.start()
    try:
        events = Events()
        running(SerialCardReader(cfg(port.link, protocol="pn532", baudrate=115200), events))
        events.wait_for(online(True))
        module.card = bytes.fromhex("DEADBEEF")
        events.wait_for(lambda e: isinstance(e, CardRead))
        # many polls, well past removal_gap_s (0.3 s at one poll per 0.03 s), with the card still there
        polls = module.commands.count(IN_LIST_PASSIVE_TARGET)
        deadline = time.monotonic() + 5
        while module.commands.count(IN_LIST_PASSIVE_TARGET) < polls + 20:
            assert time.monotonic() < deadline, "the reader stopped polling with a card in the field"
            time.sleep(0.01)
        assert not [e for e in events.drain(0.01) if isinstance(e, CardRemoved)]
        module.card = None
        events.wait_for(lambda e: isinstance(e, CardRemoved))
        cards = [e for e in events.seen if isinstance(e, (CardRead, CardRemoved))]
        assert cards == [CardRead("DEADBEEF", "pn532"), CardRemoved("DEADBEEF")]
        assert module.commands[:2] == [0x14, 0x32]   # SAMConfiguration, RFConfiguration first
    finally:
        module.stop()


def test_a_pn532_that_stops_answering_goes_offline_and_comes_back(port, running):
    module = Pn532Module(port)
    module.start()
    try:
        events = Events()
        running(SerialCardReader(cfg(port.link, protocol="pn532", baudrate=115200), events))
        events.wait_for(online(True))
        module.silent = True
        lost = events.wait_for(online(False))
        assert "silent" in lost.detail or "no answer" in lost.detail
        module.silent = False
        events.wait_for(online(True))
        module.card = bytes.fromhex("04112233445566")
        assert events.wait_for(lambda e: isinstance(e, CardRead)).uid == "04112233445566"
    finally:
        module.stop()


def test_a_misconfigured_reader_is_a_driver_error_naming_the_setting():
    with pytest.raises(DriverError, match="protocol"):
        SerialCardReader(ReaderConfig(port="loop://", protocol="wiegand"), print)
    with pytest.raises(DriverError, match="uid_format"):
        SerialCardReader(ReaderConfig(port="loop://", uid_format="octal"), print)


def test_a_second_program_on_the_same_port_is_refused_not_left_to_steal_bytes(port, running):
    first, second = Events(), Events()
    running(SerialCardReader(cfg(port.link), first))
    first.wait_for(online(True))
    running(SerialCardReader(cfg(port.link), second))
    refused = second.wait_for(online(False))
    assert "lock" in refused.detail
    port.write(rdm_frame(bytes.fromhex("0A00123456")))
    first.wait_for(lambda e: isinstance(e, CardRead))


def test_a_port_that_only_echoes_is_not_taken_for_a_pn532(running):
    # loop:// hands our own commands back: frames with the host's TFI, never an answer
    events = Events()
    running(SerialCardReader(ReaderConfig(port="loop://", protocol="pn532", answer_timeout_s=0.1,
                                          reopen_min_s=0.05), events))
    lost = events.wait_for(online(False))
    assert "no answer to PN532 command 14" in lost.detail


def test_an_app_handler_that_raises_does_not_end_the_reader(port, running):
    events = Events()
    failures = []

    def emit(ev):
        if isinstance(ev, CardRead) and not failures:
            failures.append(ev)
            raise RuntimeError("bug in the app's handler")
        events(ev)
    running(SerialCardReader(cfg(port.link), emit))
    events.wait_for(online(True))
    port.write(rdm_frame(bytes.fromhex("0A00000001")))
    port.write(rdm_frame(bytes.fromhex("0A00000002")))
    assert events.wait_for(lambda e: isinstance(e, CardRead)).uid == "0A00000002"
    assert failures == [CardRead("0A00000001", "rdm6300")]
    assert [e.online for e in events.seen if isinstance(e, DeviceHealth)] == [True]   # no reconnect needed


@pytest.mark.parametrize("protocol, card, uid", [
    ("rdm6300", rdm_frame(bytes.fromhex("0A00C0FFEE")), "0A00C0FFEE"),
    ("line", b"\r\n04C0FFEE\r\n", "04C0FFEE")])
def test_a_megabyte_of_noise_neither_stops_the_reader_nor_hides_the_next_card(port, running, protocol, card, uid):
    import random
    events = Events()
    running(SerialCardReader(cfg(port.link, protocol=protocol, line_digits="hex"), events))
    events.wait_for(online(True))
    noise = random.Random(7).randbytes(1 << 20)
    for i in range(0, len(noise), 4096):
        port.write(noise[i:i + 4096])
    port.write(card)
    events.wait_for(lambda e: e == CardRead(uid, protocol), timeout=30)
    assert [e.online for e in events.seen if isinstance(e, DeviceHealth)] == [True]


def test_a_stopped_reader_is_offline_and_reports_online_again_when_restarted(port):
    events = Events()
    reader = SerialCardReader(cfg(port.link), events)
    reader.start()
    reader.start()                      # a second start must not add a second thread on the port
    try:
        events.wait_for(online(True))
        reader.stop()
        assert not reader.online
        reader.start()
        events.wait_for(online(True))
        port.write(rdm_frame(bytes.fromhex("0A00123456")))
        events.wait_for(lambda e: isinstance(e, CardRead))
        assert not [e for e in events.seen if isinstance(e, DeviceHealth) and not e.online]
    finally:
        reader.stop()
