"""The gate in the slip desk's walk: the real kiosk at a gate whose daemon syncs with the office.

The kiosk is the `gatepass kiosk` command itself (its parser and handler), headless as in
tests/test_deployment.py: a pty speaking RDM6300 for the card reader, a folder camera source,
gpiozero's mock pins (--mock-pins), and a script that types the guard's PIN and taps the
buttons. It runs in-process, in a thread, so that it reads the test's clock (the one the office
and the sync daemon read): the guard releases at an instant inside the slip's window, which the
form puts on the estate's tomorrow, whatever the hour and zone the suite runs in.
"""
from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from domain.clock import Clock
from tests.drivers.ptys import PtyPort
from tests.office.harness import GateSite, OfficeServer
from tests.test_deployment import present, read_json, set_key, wait_until
from tests.test_units import PRODUCTION_CONFIG

GUARD_ID, GUARD_NAME, GUARD_BADGE, GUARD_PIN = "G7", "王保安", "7F00000001", "2468"
WAIT_S = 45.0
#: The one picture in the camera's folder: what is in front of the lens.
VIEW = "view.png"
#: What the guard does on the touch screen once the badge is read: the PIN, then the slip the
#: camera read: items match, carrier checked, signed off with the PIN again.
GUARD_STEPS: list[dict[str, Any]] = [
    {"until": "sign_in_pin", "timeout": WAIT_S}, {"pin": GUARD_PIN}, {"until": "idle", "timeout": WAIT_S},
    {"until": "slip_items", "timeout": WAIT_S}, {"tap": "all_match"}, {"tap": "confirm_identity"},
    {"pin": GUARD_PIN}, {"until": "released", "timeout": WAIT_S},
]


def deployed_config(site: GateSite, office: OfficeServer, reader_link: Path, camera_dir: Path, name: str) -> Path:
    """config/production.toml as an installer edits it for this gate, written over the site's own
    kiosk.toml (one file for the kiosk and the daemon, as on a gate): the gate's name, its files in the
    site's folder, the pty as the reader, the folder as the camera, the office, quick sync intervals."""
    d = site.dir
    text = PRODUCTION_CONFIG.read_text(encoding="utf-8")
    for table, key, value in (
            ("gate", "id", site.gate_id), ("gate", "name", name),
            ("store", "replica", str(site.replica_path)), ("store", "exit_log", str(site.exit_log_path)),
            ("store", "photos", str(d / "photos")), ("store", "keys", str(d / "keys")),
            ("store", "id_hmac_key_file", str(d / "keys" / "id-hmac.key")),
            ("reader", "port", str(reader_link)), ("camera", "source", str(camera_dir)),
            ("sync", "office_url", office.url), ("sync", "credential_file", str(d / "gate.credential")),
            ("sync", "status_file", str(site.status_path)), ("sync", "kiosk_health_file", str(d / "health.json")),
            ("sync", "pull_interval_s", 0.5), ("sync", "push_delay_s", 0.05), ("sync", "backoff_min_s", 0.05),
            ("sync", "backoff_max_s", 0.5), ("sync", "heartbeat_interval_s", 1.0), ("sync", "timeout_s", 5.0)):
        text = set_key(text, table, key, value)
    site.config.write_text(text, encoding="utf-8")
    return site.config


class GateKiosk:
    """`gatepass kiosk --config C --headless --script S --screenshots D --mock-pins`, run in a thread
    on ``clock``; `badge()` lays the guard's badge on the reader, `show()` holds a picture to the camera."""

    def __init__(self, site: GateSite, office: OfficeServer, clock: Clock, tmp: Path, name: str) -> None:
        self.site = site
        self.camera = tmp / "camera"
        self.camera.mkdir(parents=True)
        # What the camera sees before a slip is held to it: the empty counter (frames arriving, no code).
        cv2.imwrite(str(self.camera / VIEW), np.full((480, 640, 3), 96, np.uint8))
        self.reader = PtyPort(tmp / "reader-link")
        self.shots = tmp / "kiosk-screens"
        self.config = deployed_config(site, office, self.reader.link, self.camera, name)
        self.script = tmp / "guard.json"
        self.script.write_text(json.dumps(GUARD_STEPS), encoding="utf-8")
        self.clock = clock
        self.rc: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="gatepass kiosk", daemon=True)

    def _run(self) -> None:
        from kiosk.cli import build_parser

        args = build_parser().parse_args(["kiosk", "--config", str(self.config), "--headless", "--script",
                                          str(self.script), "--screenshots", str(self.shots), "--mock-pins"])
        try:
            # The test's clock is the truth here: synchronised, whatever this machine's NTP says.
            self.rc = args.func(args, clock=self.clock, clock_check=lambda: True)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            self.error = exc

    def start(self) -> GateKiosk:
        self.thread.start()
        return self

    def alive(self) -> None:
        if self.error is not None:
            raise AssertionError(f"the kiosk stopped: {self.error!r}") from self.error
        if not self.thread.is_alive() and self.rc not in (None, 0):
            raise AssertionError(f"the kiosk exited {self.rc}")

    def screens(self, scene: str) -> list[Path]:
        return sorted(self.shots.glob(f"[0-9][0-9]_{scene}.png"))

    def wait_screen(self, scene: str, count: int = 1) -> Path:
        def nth() -> Path | None:
            found = self.screens(scene)
            return found[count - 1] if len(found) >= count else None

        return wait_until(f"{count} {scene} screen(s)", nth, alive=self.alive)

    def reader_online(self) -> None:
        """The reader open: a frame sent before the kiosk opened the port would be flushed at open."""
        wait_until("reader online", lambda: read_json(self.site.dir / "health.json").get("devices", {})
                   .get("reader", {}).get("state") == "online", alive=self.alive)

    def badge(self) -> None:
        present(self.reader, GUARD_BADGE)

    def show(self, picture: Path) -> None:
        """``picture`` held to the camera: it replaces the camera's view whole (written, then renamed)."""
        part = self.camera / "view.part"
        shutil.copy(picture, part)
        part.replace(self.camera / VIEW)

    def finish(self) -> int:
        self.thread.join(WAIT_S)
        self.alive()
        assert not self.thread.is_alive(), "the kiosk's walk did not end"
        assert self.rc == 0, self.rc
        return self.rc

    def close(self) -> None:
        self.reader.close()
