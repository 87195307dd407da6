"""A visitor registered at the gate, end to end: the demo kiosk's real frame loop fills the form
by tapping its keypads, the row lands in the gate's SQLite exit log with the ID number masked and
keyed-hashed (the number's bytes are nowhere in the gate's files), the sync daemon pushes it to
a real office on loopback, and staff read it in the console's log and its Excel export."""
from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from domain.clock import FixedClock
from domain.keyfiles import load_hmac_key
from domain.secrets import id_hash
from kiosk.cli import main
from kiosk.demo import DEMO_GATE
from kiosk.exitlog import ExitLog
from office.console.auth import add_staff
from tests.office.harness import GateSite, OfficeServer

CST = timezone(timedelta(hours=8))
ID_NUMBER = "11010519491231002X"
MASKED = "1101**********002X"
PASSWORD = "correct horse 1"


def _taps(text: str) -> list[dict[str, str]]:
    return [{"tap": "key", "value": ch} for ch in text]


#: What a guard does: sign in, open the form, type a plate, mistype the ID's last digit and
#: correct it, pick a surname and 女士, tick two item choices, check and record.
SCRIPT = [
    {"card": "guard"}, {"pin": "guard"},
    {"tap": "visitor"}, *_taps("粤B12345"), {"tap": "next"},
    *_taps(ID_NUMBER[:-1] + "1"), {"tap": "next"}, {"until": "visitor_id"},
    {"tap": "backspace"}, {"tap": "key", "value": "X"}, {"tap": "next"},
    {"tap": "key", "value": "王"}, {"tap": "pick", "value": "ms"}, {"tap": "next"},
    {"tap": "toggle_item", "value": "suitcase"}, {"tap": "toggle_item", "value": "parcel"}, {"tap": "next"},
    {"until": "visitor_confirm"}, {"tap": "confirm"}, {"until": "visitor_recorded"},
]


@pytest.fixture
def gate_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo kiosk, headless, plays SCRIPT; its data folder is the gate's folder for GateSite."""
    for var in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    script = tmp_path / "visitor.json"
    script.write_text(json.dumps(SCRIPT, ensure_ascii=False))
    data = tmp_path / f"gate-{DEMO_GATE}"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["kiosk", "--demo", "--script", str(script), "--data-dir", str(data),
                   "--screenshots", str(tmp_path / "shots")])
    assert rc == 0, out.getvalue()
    assert "visitor" in out.getvalue() and "hash chain intact" in out.getvalue()
    return data


def test_a_visitor_row_keeps_only_the_masked_id_and_its_hmac_and_the_office_shows_it(
        gate_dir: Path, tmp_path: Path, db_url: str) -> None:
    log = ExitLog.open_readonly(gate_dir / "exitlog.db")
    (row,) = [r for r in log.rows() if r["kind"] == "visitor"]
    log.db.conn.close()
    key = load_hmac_key(gate_dir / "keys")
    assert row["detail"] == {"name": "王女士", "plate": "粤B12345", "id_masked": MASKED,
                             "id_hash": id_hash(key, ID_NUMBER), "items": ["suitcase", "parcel"]}
    assert row["guard_id"] and row["at"].startswith("2026-11-25T10:")
    # the typed number is in no file the gate wrote: not the log, its WAL, the replica, anything
    for f in gate_dir.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert ID_NUMBER.encode() not in data and ID_NUMBER[:-1].encode() not in data, f

    office = OfficeServer(tmp_path / "office", db_url=db_url, clock=FixedClock(datetime(2026, 11, 25, 10, 30, tzinfo=CST)))
    try:
        site = GateSite(tmp_path, DEMO_GATE, office)
        daemon = site.daemon()
        try:
            assert daemon.run_once()
        finally:
            daemon.close()
        (pushed,) = [e for e in office.events(DEMO_GATE) if e["kind"] == "visitor"]
        detail = pushed["detail"] if isinstance(pushed["detail"], dict) else json.loads(pushed["detail"])
        assert detail["id_masked"] == MASKED
        with office.engine.begin() as conn:
            add_staff(conn, "default", "wangli", "王丽", PASSWORD, clock=office.app.state.clock)
        with httpx.Client(base_url=office.url, timeout=10) as c:
            assert c.post("/console/login", data={"username": "wangli", "password": PASSWORD}).status_code == 303
            day = {"from": "2026-11-25", "to": "2026-11-25"}
            page = c.get("/console/log", params=day).text
            only = c.get("/console/log", params={**day, "kind": "visitor"}).text
            xlsx = c.get("/console/log.xlsx", params=day)
        for text in ("访客登记", "Visitor registered", MASKED, "粤B12345", "王女士", "行李箱、快递包裹", "Suitcase, Parcel"):
            assert text in page, text
        assert ID_NUMBER not in page and ID_NUMBER[:-1] not in page and detail["id_hash"] not in page
        assert MASKED in only and "上岗" not in only.split("<tbody>")[-1]     # the kind filter keeps visitors only
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        cells = [str(cell.value) for r in sheet.iter_rows() for cell in r if cell.value is not None]
        assert any("访客登记" in v for v in cells)
        assert any(MASKED in v for v in cells) and any("行李箱" in v for v in cells)
        assert not any(ID_NUMBER[:-1] in v for v in cells)
    finally:
        office.stop()
        office.engine.dispose()
