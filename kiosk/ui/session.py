"""One frame of the kiosk: events in, state stepped, view built, screen painted.

Shared by the live loop (kiosk/ui/loop.py), the headless scripted walk
(kiosk/ui/script.py) and the benchmark, so all three exercise the same path. The
clock is passed in, which is what lets a script run a whole shift in a second.
"""
from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import Any

import pygame

from domain.errors import BadRecord
from domain.instants import read_instant
from kiosk.core.events import Press
from kiosk.core.flow import Scene
from kiosk.core.view import Extras, Status, View, view_of
from kiosk.exitlog import ExitLog
from kiosk.shell.controller import Controller
from kiosk.shell.status import StatusMonitor
from kiosk.store import Replica
from kiosk.ui.render import Frame, Renderer
from kiosk.ui.widgets import Page

TICK_EVERY_S = 0.25


class StatusBoard:
    """Assembles the status bar's facts; SQLite reads here are cached for a few seconds."""

    def __init__(self, controller: Controller, monitor: StatusMonitor | None, replica: Replica,
                 exit_log: ExitLog) -> None:
        self.controller = controller
        self.monitor = monitor
        self.replica = replica
        self.exit_log = exit_log
        self._pulled: datetime | None = None
        self._pulled_read = -1e9

    def _last_pull(self) -> datetime | None:
        now = time.monotonic()
        if now - self._pulled_read > 5.0:
            self._pulled_read = now
            try:
                text = self.replica.meta("last_pull_at")
                self._pulled = read_instant(text) if text else None
            except Exception:
                self._pulled = None
        return self._pulled

    def status(self, now: datetime) -> Status:
        reader, reader_d = self.controller.health_of("reader")
        camera, camera_d = self.controller.health_of("camera")
        sync = self.monitor.sync if self.monitor else None
        pulled = (sync.last_pull_at if sync and sync.last_pull_at else None) or self._last_pull()
        age = max(0.0, (now - pulled).total_seconds()) if pulled is not None else None
        last = self.exit_log.last_seq
        pushed = sync.pushed_seq if sync and sync.pushed_seq is not None else 0
        if self.monitor is not None:
            self.monitor.set_devices({"reader": (reader, reader_d), "camera": (camera, camera_d)})
        return Status(
            reader=reader, reader_detail=reader_d, camera=camera, camera_detail=camera_d,
            sync_ok=sync.ok if sync else None, sync_detail=sync.detail if sync else "",
            sync_state=sync.state if sync else "",
            replica_age_s=age, pending=max(0, last - pushed),
            clock_synced=self.monitor.clock_synced if self.monitor else None,
        )


class Session:
    def __init__(
        self, controller: Controller, renderer: Renderer, board: StatusBoard, scanner: Any = None,
        demo_legend: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.controller = controller
        self.renderer = renderer
        self.board = board
        self.scanner = scanner
        self.demo_legend = demo_legend
        self.frame = Frame((), (), ())
        self.view: View | None = None
        self._last_tick = -1e9
        self._recent_key = -1
        self._recent: tuple[dict[str, Any], ...] = ()
        self._guard_names: dict[str, str] = {}
        self._preview_src: Any = None
        self._preview: pygame.Surface | None = None
        self.page = 0                         # checklist page: screen-local, never core state
        self.painted = False
        self._painted_key: tuple[Any, ...] | None = None
        self._page_case: object = None

    @property
    def scene(self) -> Scene:
        return self.controller.state.scene

    def press(self, press: Press | Page, now: datetime) -> None:
        if isinstance(press, Page):
            self.page = max(0, self.page + press.delta)
            return
        self.controller.press(press, now)

    def update(self, now: datetime, force_tick: bool = False) -> None:
        """Drain driver events and let time pass; changes state, never draws."""
        self.controller.pump(now)
        mono = time.monotonic()
        if force_tick or mono - self._last_tick >= TICK_EVERY_S:
            self._last_tick = mono
            self.controller.tick(now)

    def _extras(self) -> Extras:
        if self.scene is Scene.RECENT:
            seq = self.controller.exit_log.last_seq
            if seq != self._recent_key:
                self._recent_key = seq
                self._recent = tuple(self.controller.exit_log.recent(12))
                for row in self._recent:
                    gid = str(row.get("guard_id") or "")
                    if gid and gid not in self._guard_names:
                        try:
                            g = self.controller.resolver.replica.guard(gid)
                        except BadRecord:
                            g = None          # a damaged guard row: show the id, never fail the frame
                        self._guard_names[gid] = g.name if g else gid
        return Extras(recent=self._recent, demo_legend=self.demo_legend, guard_names=self._guard_names,
                      recording=self.controller.recording)

    def _preview_surface(self) -> pygame.Surface | None:
        if self.scanner is None or self.scene is not Scene.IDLE:
            return None
        preview = getattr(self.scanner, "preview", None)
        arr = preview() if preview else None
        if arr is None:
            return None
        if arr is not self._preview_src:
            self._preview_src = arr
            self._preview = pygame.surfarray.make_surface(arr.swapaxes(0, 1))
        return self._preview

    def draw(self, surface: pygame.Surface, now: datetime, force: bool = False) -> Frame:
        """Paint the current state; reads only.

        When nothing on screen would change (same view, same preview frame, same page),
        the frame is not repainted and `painted` is False: a gate that sits idle redraws
        once a second for the clock instead of thirty times, leaving the Pi's CPU to
        the QR decoder.
        """
        state = self.controller.state
        case = state.case
        if case is not self._page_case and (case is None or self._page_case is None
                                            or case.decision is not getattr(self._page_case, "decision", None)):
            self.page = 0                     # a new slip starts on its first page
        self._page_case = case
        view = view_of(state, now, self.board.status(now), self._extras())
        preview = self._preview_surface()
        # What is on screen: the raw status (float ages) is drawn only through status_items.
        key = (replace(view, status=Status()), id(preview), self.page, surface.get_size(), id(surface))
        if not force and key == self._painted_key:
            self.painted = False
            return self.frame
        self.view = view
        self.frame = self.renderer.draw(surface, view, preview, self.page)
        self._painted_key = key
        self.painted = True
        return self.frame
