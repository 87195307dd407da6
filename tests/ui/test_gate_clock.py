"""`gatepass kiosk`'s headless walk on a clock handed in (the seam tests/office/test_slip_desk.py's
walk uses to run office, daemon and kiosk on one clock): the rows it records, the health file it
writes for the daemon and the synchronised flag are that clock's, not the machine's."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.clock import FixedClock
from domain.statusfiles import read_kiosk_health
from kiosk.cli import build_parser
from kiosk.exitlog import ExitLog
from tests.drivers.ptys import PtyPort
from tests.office.harness import wait_for
from tests.test_deployment import present

#: Nowhere near the machine's own time: a row stamped from the machine's clock could not equal it.
AT = datetime(2031, 5, 6, 3, 4, 5, tzinfo=UTC)


def _run(args: list[str], **clock: Any) -> Any:
    parsed = build_parser().parse_args(["kiosk", *args])
    return parsed.func(parsed, **clock)


def test_the_headless_walk_records_and_reports_at_the_clock_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    reader = PtyPort(tmp_path / "reader")
    health = tmp_path / "health.json"
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[store]\nreplica = "{tmp_path}/replica.db"\nexit_log = "{tmp_path}/exitlog.db"\nkeys = "{tmp_path}/keys"\n'
        f'id_hmac_key_file = "{tmp_path}/keys/id-hmac.key"\n'
        f'[sync]\nstatus_file = "{tmp_path}/sync.json"\nkiosk_health_file = "{health}"\n'
        f'[reader]\nport = "{reader.link}"\nprotocol = "rdm6300"\n[camera]\nsource = ""\n[gpio]\npin_factory = "lgpio"\n',
        encoding="utf-8")
    script = tmp_path / "walk.json"
    script.write_text(json.dumps([{"until": "card_result", "timeout": 30}]), encoding="utf-8")
    result: dict[str, Any] = {}

    def kiosk() -> None:
        try:
            result["rc"] = _run(["--config", str(config), "--headless", "--script", str(script), "--screenshots",
                                 str(tmp_path / "shots"), "--mock-pins"], clock=FixedClock(AT), clock_check=lambda: True)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            result["error"] = exc

    t = threading.Thread(target=kiosk, daemon=True)
    t.start()
    try:
        # The health file the daemon reads: written at the given instant, the reader open.
        def reader_online() -> bool:
            device = read_kiosk_health(health).devices.get("reader")
            return device is not None and device.state.value == "online"

        assert wait_for(reader_online, timeout=30), result
        assert read_kiosk_health(health).written_at == AT
        present(reader, "3C0000ABCD")                      # a card the (empty) replica does not know
        t.join(30)
    finally:
        reader.close()
    assert not t.is_alive() and result == {"rc": 0}, result
    rows = list(ExitLog.open_readonly(tmp_path / "exitlog.db").rows())
    assert [(r["kind"], r["card_uid"], datetime.fromisoformat(r["at"]), r["clock_synced"]) for r in rows] == \
        [("card_denied", "3C0000ABCD", AT, 1)]


def test_a_clock_is_refused_where_it_would_not_be_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo walk has its own simulated clock; the windowed kiosk reads the machine's."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    with pytest.raises(ValueError, match="only the headless walk"):
        _run(["--demo", "--window", "--data-dir", str(tmp_path / "data")], clock=FixedClock(AT))
    with pytest.raises(ValueError, match="its own simulated clock"):
        _run(["--demo", "--headless", "--data-dir", str(tmp_path / "data")], clock=FixedClock(AT))
