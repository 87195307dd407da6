"""Gate I/O with gpiozero: relay, green/red LEDs, buzzer, exit button, door contact.

The pin factory comes from config and is passed to every device (never the global
`Device.pin_factory`), so a mock in one test or the demo cannot leak into another
device. A factory that fails to open is a DriverError: a gate that silently drove
mock pins would look fine and never open.

Fail safe: every output is off (gate closed) at start, on `close()`, and after any
error in a command; patterns run in gpiozero's background blink threads, so no call
here blocks the UI loop.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from domain.errors import DriverError
from drivers.config import GpioConfig

log = logging.getLogger("gatepass.drivers.gpio")

PIN_FACTORIES = ("lgpio", "mock")

# pattern -> (LED to light, LED blink (on, off, n), buzzer beep (on, off, n))
PATTERNS: dict[str, tuple[str, tuple[float, float, int], tuple[float, float, int]]] = {
    "accepted": ("green", (2.0, 0.0, 1), (0.1, 0.0, 1)),      # steady green, one short beep
    "refused": ("red", (3.0, 0.0, 1), (0.15, 0.1, 3)),        # steady red, three short beeps
    "alert": ("red", (0.2, 0.2, 15), (0.5, 0.3, 5)),          # flashing red, long beeps
}


def make_pin_factory(name: str) -> Any:
    if name == "mock":
        from gpiozero.pins.mock import MockFactory
        return MockFactory()
    if name == "lgpio":
        return _lgpio_factory()
    raise DriverError(f"gpio: pin_factory {name!r} is not one of: {', '.join(PIN_FACTORIES)}")


def _lgpio_factory() -> Any:
    """gpiozero's lgpio factory, or a DriverError that names which of the three things is wrong:
    the library missing, the board not recognised, or the GPIO chip refused."""
    try:
        from gpiozero.pins.lgpio import LGPIOFactory
    except ImportError as exc:
        raise DriverError(f"gpio: 未安装 lgpio / the lgpio library is not installed ({exc}): on the Pi it comes with the "
                          "gate's lock (docs/install.md, step 4), or pip install 'gatepass[pi]'") from None
    from gpiozero.exc import PinUnknownPi

    try:
        return LGPIOFactory()
    except PinUnknownPi as exc:
        raise DriverError(f"gpio: 无法识别树莓派型号 / lgpio is installed but this board is not recognised as a Raspberry Pi "
                          f"({exc}): gpiozero reads the board's revision from /proc/device-tree or /proc/cpuinfo. On a "
                          "machine that is not a Pi, use pin_factory = \"mock\" with --demo, or --mock-pins") from None
    except Exception as exc:  # noqa: BLE001 - lgpio.error and OSError opening /dev/gpiochipN
        raise DriverError(f"gpio: 无法打开 GPIO 芯片 / lgpio cannot open the GPIO chip ({type(exc).__name__}: {exc}): check that "
                          "/dev/gpiochip0 (gpiochip4 on a Pi 5 with old firmware) exists and that the kiosk's user is in "
                          "the gpio group (docs/install.md, step 3)") from None


def relay_boot_line(relay_pin: int, relay_active_high: bool) -> str:
    """The /boot/firmware/config.txt line that holds the relay off (gate shut) from the firmware on.

    The firmware sets the pin to an output at the relay's *off* level before Linux starts, and
    it stays there until the kiosk claims the pin (with the same off level): low for a board
    whose relay pulls in on a high input (`relay_active_high = true`), high for one that pulls
    in on a low input. The one rule; `gatepass gpio-test` prints it, docs/install.md explains it.
    """
    if not 0 <= relay_pin <= 27:
        raise DriverError(f"gpio: relay_pin {relay_pin} is not a header GPIO (BCM 0-27)")
    return f"gpio={relay_pin}=op,{'dl' if relay_active_high else 'dh'}"


def relay_boot_hint(relay_pin: int, relay_active_high: bool) -> str:
    """Bilingual hint for `gatepass gpio-test` (Chinese first, English beneath)."""
    line = relay_boot_line(relay_pin, relay_active_high)
    level = "低电平 low" if relay_active_high else "高电平 high"
    polarity = "高电平触发 active-high" if relay_active_high else "低电平触发 active-low"
    return (f"开机保持门锁关闭：在 /boot/firmware/config.txt 末尾加一行  {line}\n"
            f"    （继电器 GPIO{relay_pin}，{polarity}：开机起输出{level.split()[0]}，继电器不吸合）\n"
            f"Keep the gate shut from power-on: add to the end of /boot/firmware/config.txt:  {line}\n"
            f"    (relay GPIO{relay_pin}, {polarity.split()[1]}: driven {level.split()[1]} from boot, relay released)")


class GpioGateIO:
    """The gate's outputs and inputs; `on_exit_request` is called from gpiozero's thread."""

    def __init__(self, cfg: GpioConfig, pin_factory: Any = None) -> None:
        from gpiozero import LED, Button, Buzzer, DigitalOutputDevice

        self.cfg = cfg
        self.pin_factory = pin_factory if pin_factory is not None else make_pin_factory(cfg.pin_factory)
        self.on_exit_request: Callable[[], None] | None = None
        pins = {"relay": cfg.relay_pin, "green LED": cfg.green_led_pin, "red LED": cfg.red_led_pin,
                "buzzer": cfg.buzzer_pin, "exit button": cfg.exit_button_pin}
        if cfg.door_contact_pin >= 0:
            pins["door contact"] = cfg.door_contact_pin
        _check_distinct(pins)
        self._devices: list[Any] = []
        self._outputs: list[Any] = []
        f = self.pin_factory
        try:
            self.relay = self._add(DigitalOutputDevice(cfg.relay_pin, active_high=cfg.relay_active_high,
                                                       initial_value=False, pin_factory=f))
            self.green = self._add(LED(cfg.green_led_pin, initial_value=False, pin_factory=f))
            self.red = self._add(LED(cfg.red_led_pin, initial_value=False, pin_factory=f))
            self.buzzer = self._add(Buzzer(cfg.buzzer_pin, active_high=cfg.buzzer_active_high,
                                           initial_value=False, pin_factory=f))
            self.exit_button = self._add(Button(cfg.exit_button_pin, pull_up=True,
                                                bounce_time=cfg.bounce_s, pin_factory=f))
            self.door = (self._add(Button(cfg.door_contact_pin, pull_up=True, bounce_time=cfg.bounce_s, pin_factory=f))
                         if cfg.door_contact_pin >= 0 else None)
        except Exception as exc:  # noqa: BLE001 - pin in use, bad pin number, chip error
            self.close()
            raise DriverError(f"gpio ({cfg.pin_factory}): cannot set up pins {pins}: {exc}") from None
        self.exit_button.when_pressed = self._exit_pressed

    def _add(self, device: Any) -> Any:
        self._devices.append(device)
        if hasattr(device, "off"):
            self._outputs.append(device)
        return device

    @property
    def outputs(self) -> dict[str, Any]:
        """Output devices by installer-facing name (used by `gatepass gpio-test`)."""
        return {f"gate relay (GPIO{self.cfg.relay_pin})": self.relay,
                f"green LED (GPIO{self.cfg.green_led_pin})": self.green,
                f"red LED (GPIO{self.cfg.red_led_pin})": self.red,
                f"buzzer (GPIO{self.cfg.buzzer_pin})": self.buzzer}

    @property
    def door_open(self) -> bool | None:
        """True when the door contact is open; None when no contact is wired."""
        if self.door is None:
            return None
        return not self.door.is_pressed

    def open_gate(self) -> None:
        """Pulse the relay for `relay_pulse_s`, in the background."""
        with self._failsafe("open the gate"):
            self.relay.blink(on_time=self.cfg.relay_pulse_s, off_time=0, n=1, background=True)

    def signal(self, pattern: str) -> None:
        """LED + buzzer pattern for "accepted", "refused" or "alert"; replaces any running one."""
        with self._failsafe(f"signal {pattern!r}"):
            if pattern not in PATTERNS:
                raise DriverError(f"gpio: signal pattern {pattern!r} is not one of: {', '.join(PATTERNS)}")
            led_name, (on, off, n), (b_on, b_off, b_n) = PATTERNS[pattern]
            led, other = (self.green, self.red) if led_name == "green" else (self.red, self.green)
            other.off()
            led.blink(on_time=on, off_time=off, n=n, background=True)
            self.buzzer.beep(on_time=b_on, off_time=b_off, n=b_n, background=True)

    def safe_state(self) -> None:
        """All outputs off: gate closed, LEDs dark, buzzer silent (stops running patterns)."""
        for device in self._outputs:
            try:
                device.off()
            except Exception:  # noqa: BLE001 - keep switching the others off
                log.exception("gpio: could not switch %s off", device)

    def close(self) -> None:
        """Outputs off, then pins released. Safe to call twice, or after a failed start."""
        self.safe_state()
        for device in reversed(self._devices):
            try:
                device.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.exception("gpio: could not close %s", device)
        self._devices.clear()
        self._outputs.clear()

    def _exit_pressed(self) -> None:
        callback = self.on_exit_request
        if callback is not None:
            try:
                callback()
            except Exception:  # noqa: BLE001 - a failing handler must not kill gpiozero's thread
                log.exception("gpio: exit-request handler failed")

    @contextmanager
    def _failsafe(self, what: str) -> Iterator[None]:
        """Any error in a command leaves every output off and surfaces as a DriverError."""
        try:
            yield
        except DriverError:
            self.safe_state()
            raise
        except Exception as exc:
            self.safe_state()
            raise DriverError(f"gpio: cannot {what}: {exc}") from exc


def _check_distinct(pins: dict[str, int]) -> None:
    seen: dict[int, str] = {}
    for name, pin in pins.items():
        if pin in seen:
            raise DriverError(f"gpio: {name} and {seen[pin]} are both set to GPIO{pin}")
        seen[pin] = name
