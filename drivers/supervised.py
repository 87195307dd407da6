"""A device read on a thread of its own that nothing may end: open it, read until it is
lost, report it offline, wait with backoff, open it again.

The card reader and the camera share this lifecycle; each supplies what one session
does (`_session`), how to let go of the device (`_teardown`) and which failures are
the ordinary way of losing it (`_expected_loss`). Everything else fails loudly in the
log but still only costs a reconnect, never the thread.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from drivers.events import DeviceHealth
from drivers.interfaces import Emit


class SupervisedDevice:
    #: "reader" or "camera": the device named in DeviceHealth events
    device = ""
    #: Report every new offline reason, not only the first of an outage (one DeviceHealth per
    #: distinct reason). Off by default: one offline event per outage is what the fault
    #: campaigns pin for the serial reader and the camera.
    report_new_reasons = False

    def __init__(self, emit: Emit, label: str, reopen_min_s: float, reopen_max_s: float,
                 log: logging.Logger) -> None:
        self._app_emit = emit
        self._label = label
        self._reopen = (reopen_min_s, reopen_max_s)
        self._log = log
        self._online: bool | None = None
        self._offline_detail = ""            # the last offline reason reported
        self._online_lock = threading.Lock()     # a watchdog thread may report too
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def online(self) -> bool:
        return bool(self._online)

    def start(self) -> None:
        if self._thread is not None:
            return                      # already running: one thread per device
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"{self.device}: {self._label}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._online = None             # stopped is not online; a restart reports afresh

    # ------------------------------------------------------------------ for subclasses

    def _session(self) -> None:
        """Open the device, call `_set_online(True, ...)`, read until stopped; raise when lost."""
        raise NotImplementedError

    def _teardown(self) -> None:
        """Let go of the device after a session, whatever state it is in."""

    def _expected_loss(self, exc: Exception) -> bool:
        """True for the failures that mean "unplugged / gone", which need no traceback."""
        return False

    # ------------------------------------------------------------------ lifecycle

    def _run(self) -> None:
        delay = self._reopen[0]
        while not self._stop.is_set():
            try:
                self._session()
                reason = "stopped"
            except Exception as exc:  # noqa: BLE001 - nothing may end this thread
                reason = str(exc) or type(exc).__name__
                if not self._expected_loss(exc):
                    self._log.exception("%s %s: unexpected failure", self.device, self._label)
            was_online = self._online
            try:
                self._teardown()
            except Exception:  # noqa: BLE001 - a vanished device may fail to close; it is gone either way
                self._log.exception("%s %s: close failed", self.device, self._label)
            if self._stop.is_set():
                break
            self._set_online(False, f"{self._label}: {reason}")
            if was_online:
                delay = self._reopen[0]    # it worked until now: retry soon
            self._stop.wait(delay)
            delay = min(delay * 2, self._reopen[1])

    def _emit(self, event: Any) -> None:
        """Hand an event to the app; a failing app handler loses that event, not the device."""
        try:
            self._app_emit(event)
        except Exception:  # noqa: BLE001 - the app's bug is logged there, the device reads on
            self._log.exception("%s %s: the app's handler failed on %r", self.device, self._label, event)

    def _set_online(self, online: bool, detail: str) -> None:
        """Report a change of state; with `report_new_reasons`, a new reason while offline too."""
        with self._online_lock:
            if online != self._online or (self.report_new_reasons and not online and detail != self._offline_detail):
                self._online = online
                self._offline_detail = "" if online else detail
                self._emit(DeviceHealth(self.device, online, detail))
