"""The staff web console (前台 and 管家部): exit log, yesterday's summary, flags, gates, slips, permits.

Served by the office server under /console (see docs/console.md); staff sign in with
accounts made by `gatepass office add-staff`. The gate API under /api/v1 is separate.
"""
from __future__ import annotations

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from domain.clock import Clock
from office.config import OfficeConfig


def mount(app: FastAPI, cfg: OfficeConfig, engine: Engine, clock: Clock | None = None) -> None:
    """Add the console's routes to the office app (its tables exist: migrations ran); ``clock`` is
    where it reads the time (the system's by default)."""
    from office.console.alerts import add_alert_routes
    from office.console.archive import add_archive_routes
    from office.console.camera import add_camera_route
    from office.console.logview import add_log_routes
    from office.console.memodesk import add_memo_routes
    from office.console.pages import add_pages
    from office.console.permitdesk import add_permit_routes
    from office.console.phone import add_phone_routes
    from office.console.printview import add_print_routes
    from office.console.slipdesk import add_amend_routes, add_slipdesk_routes
    from office.console.slipdocs import add_slipdoc_routes
    from office.console.staffpages import add_staff_routes
    from office.console.web import PREFIX, add_auth_routes, make_console

    console = make_console(cfg, engine, clock)
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    add_auth_routes(router, console)
    add_log_routes(router, console)
    add_archive_routes(router, console)
    add_alert_routes(router, console)
    add_slipdesk_routes(router, console)      # /slips/new before /slips/{slip_id}
    add_amend_routes(router, console)
    add_slipdoc_routes(router, console)       # a slip's carrier photo and attachments
    add_camera_route(router)                  # the webcam script of the permit and slip forms
    add_permit_routes(router, console)        # permits: issue, renew, lost, revoke, re-issue
    add_memo_routes(router, console)          # commercial tenants' release memos (R-WK-033)
    add_pages(router, console)
    add_print_routes(router, console)
    add_staff_routes(router, console)
    public = APIRouter(include_in_schema=False)       # pages for people without an account (a resident's phone)
    add_phone_routes(router, public, console)
    app.include_router(router)
    app.include_router(public)
