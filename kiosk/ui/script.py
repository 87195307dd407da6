"""Headless scripted walk: play a list of steps, screenshot each scene.

Two ways to run it. With --demo the steps drive demo data and the drivers' stand-ins on
a simulated clock (a whole shift in a second). Without --demo the kiosk runs on its
configured devices and replica in real time (an acceptance test of a real gate's
assembly): cards come from the real reader and slips from the real camera, and the
script waits for what they do with "until"; "card" and "slip" steps are refused there,
since nothing but the device can present them.

A script is a JSON list (or a TOML file with a `steps` array of tables). Steps:

    {"card": "valid"}            present a demo card (labels of Demo.cards), "guard",
                                 "guard2", "supervisor" (badges) or "uid:3C0000ABCD"
    {"slip": "owner"}            show a demo slip (labels of Demo.slips)
    {"pin": "guard"}             type that guard's PIN and OK (or {"pin": "1234"})
    {"press": "toggle_item", "value": "0"}   a press straight into the core
    {"tap": "all_match"}         tap the on-screen button with that action (hit-tested)
    {"page": 1}                  next page of a long checklist (-1: previous)
    {"wait": 9}                  let 9 seconds pass, ticking (simulated, or real without --demo)
    {"until": "released", "timeout": 30}   wait until the screen shows that scene (a Scene
                                 value); the walk fails (exit 2) if it has not within timeout s
    {"fault": "store: disk I/O error"} / {"recover": "store"}   a fault of that source; add
                                 "kind": "disk_full" (a FaultKind) for other than the source's usual
    {"health": "reader", "online": false, "detail": "unplugged"}
    {"gate_fail": "relay driver error"}      the next gate command raises
    {"shot": "name"}             save the screen now as NN_name.png

Every time the scene changes a PNG named after the scene is written too, and at the
end the exit log is printed, so the output is both the pictures and the record.
"""
from __future__ import annotations

import json
import sys
import time
import tomllib
from pathlib import Path
from typing import Any, TextIO

import pygame

from domain.errors import ConfigError, GatepassError
from drivers.events import DeviceHealth
from kiosk.core.events import Action, Fault, FaultKind, FaultSource, Press, Recovered
from kiosk.core.flow import Scene
from kiosk.shell.controller import describe_row
from kiosk.ui.input import hit_test
from kiosk.ui.session import Session
from kiosk.ui.widgets import Page

DEFAULT_SCRIPT = Path(__file__).parent / "scripts" / "walk.json"
#: The kind an injected fault has when the script names only its source.
DEFAULT_KIND = {
    FaultSource.STORE: FaultKind.LOG_WRITE, FaultSource.GPIO: FaultKind.DEVICE_FAILED,
    FaultSource.READER: FaultKind.DEVICE_OFFLINE, FaultSource.CAMERA: FaultKind.DEVICE_OFFLINE,
    FaultSource.CORE: FaultKind.EXCEPTION, FaultSource.KIOSK: FaultKind.EXCEPTION,
}


def load_script(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read script: {exc.strerror}") from None
    try:
        data: Any = tomllib.loads(text)["steps"] if path.suffix == ".toml" else json.loads(text)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"{path}: not a script (a JSON list of steps, or TOML with [[steps]]): {exc}") from None
    if not isinstance(data, list) or not all(isinstance(s, dict) and s for s in data):
        raise ConfigError(f"{path}: a script is a list of objects such as {{\"card\": \"valid\"}}")
    return data


class ScriptFailed(GatepassError):
    """An "until" step whose scene did not come in time: the walk stops, the command fails."""


class ScriptRunner:
    """Plays steps; ``clock`` is a SimClock (demo: time moves when told) or a real clock
    (no ``advance``: time passes by waiting, while the real devices' events are handled)."""

    def __init__(self, session: Session, kiosk: Any, clock: Any, surface: pygame.Surface,
                 shots: Path | None, out: TextIO | None = None) -> None:
        self.s = session
        self.k = kiosk
        self.demo = kiosk.demo
        self.clock = clock
        self.live = not hasattr(clock, "advance")
        self.surface = surface
        self.shots = shots
        self.out = out or sys.stdout
        self.n = 0
        self.overflows: list[tuple[str, Any]] = []
        self.scenes: list[str] = []
        if shots is not None:
            shots.mkdir(parents=True, exist_ok=True)
            for old in shots.glob("[0-9][0-9]_*.png"):     # a previous walk's pictures
                old.unlink()

    # ----------------------------------------------------------- lookups

    def _badge(self, who: str) -> tuple[str, str] | None:
        if self.demo is None:
            return None
        guards = self.demo.guards
        plain = [g for g in guards if g[2] != "supervisor"]
        pick = {"guard": plain[0] if plain else None, "guard2": plain[1] if len(plain) > 1 else None,
                "supervisor": next((g for g in guards if g[2] == "supervisor"), None)}.get(who)
        return (pick[0], pick[1]) if pick else None

    def _uid(self, label: str) -> str:
        if label.startswith("uid:"):
            return label[4:]
        badge = self._badge(label)
        if badge:
            return badge[0]
        if label not in self.demo.cards:
            raise ConfigError(f"script: no demo card {label!r} (known: {', '.join(self.demo.cards)})")
        return str(self.demo.cards[label])

    # ----------------------------------------------------------- running

    def frame(self) -> None:
        now = self.clock.now()
        self.s.update(now, force_tick=not self.live)
        before = self.scenes[-1] if self.scenes else None
        f = self.s.draw(self.surface, now)
        for o in (f.overflows if self.s.painted else ()):
            self.overflows.append((self.s.scene.value, o))
        if self.s.scene.value != before:
            self.scenes.append(self.s.scene.value)
            self.save(self.s.scene.value)

    def save(self, name: str) -> None:
        if self.shots is None:
            return
        self.n += 1
        # Written whole, then renamed: whoever watches the folder (a test driving the real
        # devices) never opens half a picture.
        final = self.shots / f"{self.n:02d}_{name}.png"
        part = self.shots / f".{final.name}"
        pygame.image.save(self.surface, str(part))
        part.replace(final)

    def step(self, st: dict[str, Any]) -> None:
        c = self.k.controller
        now = self.clock.now()
        if self.live and ("card" in st or "badge" in st or "slip" in st):
            raise ConfigError(f"script: {st!r}: the reader and camera are real here (no --demo): present the card "
                              "or slip to the device, and wait for its effect with {\"until\": SCENE}")
        if "card" in st or "badge" in st:
            reader = self.k.devices.reader           # the drivers' fake reader: tap = lay down, take away
            reader.present(self._uid(str(st.get("card", st.get("badge")))))
            reader.remove()
        elif "slip" in st:
            label = str(st["slip"])
            if label not in self.demo.slips:
                raise ConfigError(f"script: no demo slip {label!r} (known: {', '.join(self.demo.slips)})")
            self.k.devices.scanner.show(self.demo.slips[label])
        elif "pin" in st:
            badge = self._badge(str(st["pin"]))
            pin = badge[1] if badge else str(st["pin"])
            for d in pin:
                self.s.press(Press(Action.DIGIT, d), now)
            self.s.press(Press(Action.PIN_SUBMIT), now)
        elif "press" in st:
            self.s.press(Press(Action(st["press"]), str(st.get("value", ""))), now)
        elif "tap" in st:
            self._tap(Action(st["tap"]), str(st.get("value", "")))
        elif "page" in st:
            self.s.press(Page(int(st["page"])), now)
        elif "wait" in st:
            self._pass(float(st["wait"]))
        elif "until" in st:
            self._until(self._scene(str(st["until"])), float(st.get("timeout", 30.0)))
        elif "fault" in st:
            source, _, message = str(st["fault"]).partition(":")
            src = self._source(source.strip())
            kind = self._kind(st.get("kind"), src)
            c.emit(Fault(src, kind, message.strip() or "injected fault"))
        elif "recover" in st:
            c.emit(Recovered(self._source(str(st["recover"]))))
        elif "health" in st:
            c.emit(DeviceHealth(str(st["health"]), bool(st.get("online", False)), str(st.get("detail", ""))))
        elif "gate_fail" in st:
            self.k.devices.gate_io.fail_next = str(st["gate_fail"])
        elif "shot" in st:
            self.frame()
            self.save(str(st["shot"]))
            return
        else:
            raise ConfigError(f"script: unknown step {st!r}")
        self._pass(float(st.get("after", 0.0 if self.live else 1.0)))
        self.frame()

    def _pass(self, seconds: float) -> None:
        """Let time pass, ticking: the simulated clock in steps, or real time handling device events."""
        if not self.live:
            left = seconds
            while left > 0:
                self.clock.advance(min(0.5, left))
                left -= 0.5
                self.s.update(self.clock.now(), force_tick=True)
            return
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.k.controller.wait(min(0.1, left))
            self.frame()

    def _until(self, scene: Scene, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        simulated = 0.0
        while self.s.scene is not scene:
            if time.monotonic() > deadline or simulated > timeout:
                raise ScriptFailed(f"script: the screen is {self.s.scene.value}, not {scene.value}, after {timeout:g} s "
                                   f"(scenes so far: {', '.join(self.scenes)})")
            self._pass(0.1)
            simulated += 0.0 if self.live else 0.1

    @staticmethod
    def _scene(text: str) -> Scene:
        try:
            return Scene(text)
        except ValueError:
            raise ConfigError(f"script: no scene {text!r} (known: {', '.join(s.value for s in Scene)})") from None

    @staticmethod
    def _source(text: str) -> FaultSource:
        try:
            return FaultSource(text)
        except ValueError:
            raise ConfigError(f"script: no fault source {text!r} (known: {', '.join(f.value for f in FaultSource)})") from None

    @staticmethod
    def _kind(text: Any, source: FaultSource) -> FaultKind:
        if text is None:
            return DEFAULT_KIND[source]
        try:
            return FaultKind(str(text))
        except ValueError:
            raise ConfigError(f"script: no fault kind {text!r} (known: {', '.join(k.value for k in FaultKind)})") from None

    def _tap(self, action: Action, value: str) -> None:
        """Tap the centre of the button drawn for ``action``, through the real hit-testing."""
        for h in self.s.frame.hits:
            if isinstance(h.press, Press) and h.press.action is action and (not value or h.press.value == value):
                press = hit_test(self.s.frame.hits, h.rect.center)
                if press is not None:
                    self.s.press(press, self.clock.now())
                return
        raise ConfigError(f"script: no {action.value} button on the {self.s.scene.value} screen")

    def run(self, steps: list[dict[str, Any]]) -> int:
        self.frame()
        for st in steps:
            self.step(st)
        log = self.k.exit_log
        print(f"scenes visited: {', '.join(self.scenes)}", file=self.out)
        print(f"\nexit log 出门记录 (gate {log.gate_id}):", file=self.out)
        for row in log.rows():
            print("  " + describe_row(row), file=self.out)
        log.verify()
        print(f"hash chain intact over {log.last_seq} rows", file=self.out)
        if self.shots is not None:
            print(f"screenshots: {self.shots} ({self.n} PNG files)", file=self.out)
        for scene, o in self.overflows:
            print(f"warning: text did not fit on {scene}: {o.text!r} ({o.why})", file=sys.stderr)
        return 0
