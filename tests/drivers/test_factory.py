"""What the app gets from the factories, and the demo fakes it gets for "fake"."""
from __future__ import annotations

import subprocess
import sys

import pytest

import drivers
from domain.errors import DriverError
from drivers.config import CameraConfig, GpioConfig, ReaderConfig
from drivers.events import CardRead, CardRemoved, DeviceHealth, SlipScanned

from .ptys import Events


def test_importing_drivers_loads_no_hardware_library():
    code = "import sys, drivers; print(sorted(m for m in ('cv2', 'serial', 'gpiozero', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_fake_reader_emits_what_a_real_card_would():
    events = Events()
    reader = drivers.make_reader(ReaderConfig(port="fake"), events)
    assert isinstance(reader, drivers.FakeReader)
    reader.start()
    reader.present("0A00123456")
    reader.present("0A00123456")          # still lying there: not a second read
    reader.present("04112233445566")
    reader.remove()
    assert events.drain(0.05) == [DeviceHealth("reader", True, "fake reader (demo)"),
                                  CardRead("0A00123456", "fake"), CardRemoved("0A00123456"),
                                  CardRead("04112233445566", "fake"), CardRemoved("04112233445566")]
    assert reader.online


def test_the_fake_scanner_emits_scans_and_previews_the_slip_it_shows():
    events = Events()
    scanner = drivers.make_scanner(CameraConfig(source="fake"), events)
    assert isinstance(scanner, drivers.FakeScanner)
    scanner.start()
    blank = scanner.preview().copy()
    scanner.show("GP1.slip")
    assert SlipScanned("GP1.slip", "fake") in events.drain(0.05)
    preview = scanner.preview()
    assert preview.shape == (120, 160, 3) and (preview != blank).any()


def test_no_camera_configured_gives_no_scanner():
    assert drivers.make_scanner(CameraConfig(source=""), print) is None


def test_real_drivers_come_from_real_config():
    from drivers.camera import CameraScanner
    from drivers.gpio import GpioGateIO
    from drivers.reader import SerialCardReader
    assert isinstance(drivers.make_reader(ReaderConfig(port="loop://"), print), SerialCardReader)
    assert isinstance(drivers.make_scanner(CameraConfig(source="0"), print), CameraScanner)
    gate = drivers.make_gate_io(GpioConfig(pin_factory="mock"))
    try:
        assert isinstance(gate, GpioGateIO)
    finally:
        gate.close()


def test_a_bad_camera_decoder_or_pin_factory_fails_at_construction():
    with pytest.raises(DriverError, match="decoder"):
        drivers.make_scanner(CameraConfig(source="0", decoder="quirc"), print)
    with pytest.raises(DriverError, match="pin_factory 'rpigpio'"):
        drivers.make_gate_io(GpioConfig(pin_factory="rpigpio"))


def test_every_driver_setting_loads_from_toml_through_the_strict_loader(tmp_path):
    import tomllib

    from domain.settings import build
    text = """
    [reader]
    port = "/dev/gatepass-reader"
    protocol = "pn532"
    baudrate = 115200
    uid_format = "decimal"
    line_digits = "hex"
    removal_gap_s = 0.8
    poll_interval_s = 0.2
    answer_timeout_s = 0.3
    silent_polls = 4
    reopen_min_s = 1
    reopen_max_s = 30
    [camera]
    source = "0"
    decoder = "pyzbar"
    width = 1280
    height = 720
    fallback = false
    repeat_gap_s = 3
    max_fps = 5
    preview_width = 200
    preview_height = 150
    reopen_min_s = 1
    reopen_max_s = 20
    [gpio]
    pin_factory = "lgpio"
    relay_pin = 5
    relay_active_high = false
    relay_pulse_s = 2
    green_led_pin = 6
    red_led_pin = 13
    buzzer_pin = 19
    buzzer_active_high = false
    exit_button_pin = 26
    door_contact_pin = 16
    bounce_s = 0.1
    """
    data = tomllib.loads(text)
    reader = build(ReaderConfig, data["reader"], "reader")
    camera = build(CameraConfig, data["camera"], "camera")
    gpio = build(GpioConfig, data["gpio"], "gpio")
    assert reader.protocol == "pn532" and reader.reopen_max_s == 30.0
    assert camera.fallback is False and camera.repeat_gap_s == 3.0
    assert gpio.door_contact_pin == 16 and gpio.relay_active_high is False
