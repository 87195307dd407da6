"""Gate I/O on gpiozero's MockFactory: drive inputs from the wire, read outputs' history."""
from __future__ import annotations

import sys
import threading
import time

import pytest
from gpiozero.pins.mock import MockFactory

from domain.errors import DriverError
from drivers.config import GpioConfig
from drivers.gpio import GpioGateIO, relay_boot_hint, relay_boot_line
from kiosk.core.events import SignalPattern

WAIT_S = 5.0


@pytest.fixture
def make_gate():
    gates = []

    def make(**kw) -> GpioGateIO:
        base = dict(pin_factory="mock", relay_pulse_s=0.05)
        base.update(kw)
        gate = GpioGateIO(GpioConfig(**base))
        gates.append(gate)
        return gate
    yield make
    for g in gates:
        g.close()


def levels(pin) -> list[bool]:
    """The pin's level history without repeats (what a meter on the wire would show)."""
    out: list[bool] = []
    for s in pin.states:
        if not out or out[-1] != s.state:
            out.append(bool(s.state))
    return out


def wait_until(pred) -> None:
    deadline = time.monotonic() + WAIT_S
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def patterns_running(gate) -> list[str]:
    """Outputs with a pulse or blink pattern still running (gpiozero runs each in its own thread)."""
    return [name for name, device in gate.outputs.items()
            if getattr(device, "_blink_thread", None) is not None and device._blink_thread.is_alive()]


def test_all_outputs_are_off_after_start(make_gate):
    gate = make_gate()
    f = gate.pin_factory
    assert [f.pin(p).state for p in (17, 27, 22, 23)] == [False] * 4


def test_opening_the_gate_pulses_the_relay_once_and_leaves_it_closed(make_gate):
    gate = make_gate()
    relay = gate.pin_factory.pin(17)
    gate.open_gate()
    wait_until(lambda: levels(relay) == [False, True, False])
    wait_until(lambda: not patterns_running(gate))      # the pulse is over: nothing can switch it again
    assert levels(relay) == [False, True, False]


def test_an_active_low_relay_board_idles_high_and_pulses_low(make_gate):
    gate = make_gate(relay_active_high=False)
    relay = gate.pin_factory.pin(17)
    assert relay.state is True           # closed gate on an active-low board: pin high
    relay.clear_states()                 # history so far includes the mock pin's power-on low
    gate.open_gate()
    wait_until(lambda: levels(relay) == [True, False, True])


@pytest.mark.parametrize("pattern, lit, dark, beeps", [
    ("accepted", 27, 22, 1), ("refused", 22, 27, 3), (SignalPattern.ACCEPTED, 27, 22, 1)])
def test_signal_patterns_light_one_led_and_beep_the_buzzer(make_gate, pattern, lit, dark, beeps):
    gate = make_gate()
    f = gate.pin_factory
    gate.signal(pattern)
    wait_until(lambda: levels(f.pin(23)).count(True) == beeps and f.pin(23).state is False)
    assert f.pin(lit).state is True
    assert f.pin(dark).state is False


def test_safe_state_stops_a_running_alert_and_a_gate_pulse(make_gate):
    gate = make_gate(relay_pulse_s=30)
    f = gate.pin_factory
    gate.open_gate()
    gate.signal("alert")
    wait_until(lambda: f.pin(17).state and f.pin(23).state)
    assert patterns_running(gate)
    gate.safe_state()
    # a blink thread still running would switch something back on: none may be left
    assert patterns_running(gate) == []
    assert [f.pin(p).state for p in (17, 27, 22, 23)] == [False] * 4


def test_an_unknown_pattern_is_a_driver_error_and_leaves_outputs_off(make_gate):
    gate = make_gate(relay_pulse_s=30)
    f = gate.pin_factory
    gate.open_gate()
    wait_until(lambda: f.pin(17).state)
    with pytest.raises(DriverError, match="'party'"):
        gate.signal("party")
    assert f.pin(17).state is False


def test_the_exit_button_calls_the_app_once_per_press(make_gate):
    gate = make_gate()
    pressed = threading.Event()
    calls = []
    gate.on_exit_request = lambda: (calls.append(1), pressed.set())
    button = gate.pin_factory.pin(24)
    button.drive_low()
    assert pressed.wait(WAIT_S)
    button.drive_high()
    assert calls == [1]


def test_a_failing_exit_handler_does_not_stop_later_presses(make_gate):
    gate = make_gate(bounce_s=0.0)
    calls = []

    def handler():
        calls.append(1)
        raise RuntimeError("app bug")
    gate.on_exit_request = handler
    button = gate.pin_factory.pin(24)
    for _ in range(2):
        button.drive_low()
        button.drive_high()
    wait_until(lambda: len(calls) == 2)


def test_the_door_contact_reports_open_and_shut_and_none_when_not_wired(make_gate):
    assert make_gate().door_open is None
    gate = make_gate(door_contact_pin=25)
    door = gate.pin_factory.pin(25)
    door.drive_low()                     # contact closed: door shut
    assert gate.door_open is False
    door.drive_high()
    assert gate.door_open is True


def test_close_leaves_every_output_off(make_gate):
    gate = make_gate(relay_pulse_s=30)
    f = gate.pin_factory
    gate.open_gate()
    gate.signal("accepted")
    wait_until(lambda: f.pin(17).state)
    gate.close()
    assert [f.pin(p).state for p in (17, 27, 22, 23)] == [False] * 4


def test_lgpio_on_a_board_it_does_not_know_says_so_not_install_it():
    # lgpio is installed here (the test venv has '.[pi]'), and this machine is no Pi: the installer
    # is told the board was not recognised, never to install what is installed (issue 17).
    with pytest.raises(DriverError, match="not recognised as a Raspberry Pi") as err:
        GpioGateIO(GpioConfig(pin_factory="lgpio"))
    assert "pip install" not in str(err.value) and "mock" in str(err.value)


def test_lgpio_missing_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "lgpio", None)                 # as in a venv without it: import fails
    monkeypatch.delitem(sys.modules, "gpiozero.pins.lgpio", raising=False)
    with pytest.raises(DriverError, match=r"lgpio library is not installed.*gatepass\[pi\]"):
        GpioGateIO(GpioConfig(pin_factory="lgpio"))


def test_two_devices_on_one_pin_is_an_error_naming_both():
    with pytest.raises(DriverError, match="buzzer and relay|relay and buzzer|GPIO17"):
        GpioGateIO(GpioConfig(buzzer_pin=17), pin_factory=MockFactory())


def test_closing_twice_is_quiet(make_gate, caplog):
    gate = make_gate()
    gate.close()
    gate.close()
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


# ---------------------------------------------------------------------- relay fail-secure at boot

@pytest.mark.parametrize(("active_high", "line"), [(True, "gpio=17=op,dl"), (False, "gpio=17=op,dh")])
def test_relay_boot_line_for_each_polarity(active_high, line):
    assert relay_boot_line(17, active_high) == line


@pytest.mark.parametrize("active_high", [True, False])
def test_relay_boot_line_drives_the_level_the_driver_holds_the_relay_off_at(active_high):
    """The firmware's level and the kiosk's 'off' level are the same: no click when the kiosk takes the pin."""
    factory = MockFactory()
    gate = GpioGateIO(GpioConfig(relay_active_high=active_high), pin_factory=factory)
    try:
        off_level = factory.pin(17).state
        gate.relay.on()
        on_level = factory.pin(17).state
        gate.relay.off()
    finally:
        gate.close()
    boot_level = {"dl": 0, "dh": 1}[relay_boot_line(17, active_high).rsplit(",", 1)[1]]
    assert boot_level == off_level != on_level


def test_relay_boot_line_refuses_a_pin_off_the_header():
    with pytest.raises(DriverError, match="relay_pin 40"):
        relay_boot_line(40, True)


def test_relay_boot_hint_is_chinese_first_then_english():
    lines = relay_boot_hint(5, False).splitlines()
    assert "gpio=5=op,dh" in lines[0] and "开机" in lines[0]
    assert lines[2].startswith("Keep the gate shut") and "gpio=5=op,dh" in lines[2]
    assert "active-low" in lines[3] and "high" in lines[3]
