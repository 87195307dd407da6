"""Front-desk commands as a clerk runs them: `gatepass office ...` against a real database file."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.clock import EstateTime, FixedClock
from domain.keyfiles import load_public_dir
from domain.slip_token import verify
from office.__main__ import main

#: 20:00 UTC is already tomorrow in the estate (Asia/Shanghai): the commands must count
#: days in the estate's zone whatever the machine's zone and hour are.
CLOCK = FixedClock(datetime.fromisoformat("2026-11-30T20:00:00+00:00"))
ESTATE = EstateTime.of("Asia/Shanghai", CLOCK)
TODAY = ESTATE.today()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "office.toml").write_text(
        'keys = "keys"\nslips_dir = "slips"\n[database]\nurl = "sqlite:///office.db"\n')
    assert run("init") == 0
    assert run("add-unit", "3-2-1502") == 0
    return tmp_path


def run(*argv: str) -> int:
    return main([argv[0], "--config", "office.toml", *argv[1:]], clock=CLOCK)


def slip_args(*extra: str) -> list[str]:
    return ["issue-slip", "--unit", "3-2-1502", "--kind", "owner", "--applicant", "张三", "--mover-id", "440101199001011234",
            "--item", "冰箱:1:180cm", "--item", "纸箱:3", *extra]


def test_add_gate_prints_the_credential_once_and_stores_only_its_hash(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("add-gate", "north") == 0
    credential = capsys.readouterr().out.strip().splitlines()[-1]
    assert credential.startswith("default/north.") and len(credential.split(".")[1]) == 64
    assert credential.split(".")[1].encode() not in (site / "office.db").read_bytes()
    assert run("add-gate", "north") == 2                            # a second gate of that name is refused
    assert "already exists" in capsys.readouterr().err


def test_a_slip_is_refused_while_the_unit_has_unpaid_fees(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("set-fees", "3-2-1502", "--unpaid") == 0
    assert run(*slip_args("--approve", "handler=李", "--approve", "butler_head=王")) == 2
    assert "unpaid" in capsys.readouterr().err
    assert not (site / "slips").exists()
    assert run("set-fees", "3-2-1502", "--paid") == 0
    assert run(*slip_args("--approve", "handler=李", "--approve", "butler_head=王")) == 0


@pytest.mark.parametrize("kind", ["owner", "move_out"])
def test_a_slip_dated_years_ahead_is_refused_at_the_desk(site: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    # 9999-12-31 was issued, printed and sent to a phone, and every gate refused it as a bad record (issue 18).
    args = slip_args("--approve", "handler=李", "--approve", "butler_head=王", "--approve", "customer_service=赵",
                     "--from", "9999-12-01", "--until", "9999-12-30")
    args[args.index("owner")] = kind
    args += ["--exit-gate", "north"] if kind == "move_out" else []
    assert run(*args) == 2
    assert "90 days ahead" in capsys.readouterr().err and not (site / "slips").exists()
    args[args.index("9999-12-30")] = "9999-12-31"                   # its end is past the calendar: said, no traceback
    assert run(*args) == 2
    assert "'9999-12-31': expected a date" in capsys.readouterr().err
    ahead = TODAY + timedelta(days=89)
    args[args.index("9999-12-01")], args[args.index("9999-12-31")] = str(ahead), str(ahead + timedelta(days=2))
    assert run(*args) == 0, capsys.readouterr().err                   # weeks ahead is what a desk does


def test_two_estates_issuing_the_same_slip_number_keep_both_qr_codes(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Slip numbers are per estate (S<yymmdd><nnn>): one folder for all wrote the second over the first (issue 18).
    assert run("init", "--estate", "west") == 0
    assert run("add-unit", "3-2-1502", "--estate", "west") == 0
    approve = ("--approve", "handler=李", "--approve", "butler_head=王")
    assert run(*slip_args(*approve)) == 0 and run(*slip_args(*approve, "--estate", "west")) == 0
    slip_id = "S" + TODAY.strftime("%y%m%d") + "001"
    keys = {e: load_public_dir(site / "keys" / e) for e in ("default", "west")}
    for estate in ("default", "west"):
        import cv2
        import zxingcpp

        (code,) = zxingcpp.read_barcodes(cv2.imread(str(site / "slips" / estate / f"{slip_id}.png")))
        assert verify(code.text, keys[estate], estate=estate).ok, estate


def test_a_slip_missing_an_approval_its_kind_needs_is_refused(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*slip_args("--approve", "handler=李")) == 2
    assert "butler_head (管家部负责人)" in capsys.readouterr().err
    args = slip_args("--approve", "handler=李", "--approve", "customer_service=赵")
    args[args.index("owner")] = "contractor"
    assert run(*args) == 2
    assert "security (保安部)" in capsys.readouterr().err


def test_an_issued_slip_is_a_signed_qr_code_the_gate_can_verify(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2
    import zxingcpp

    assert run(*slip_args("--approve", "handler=李", "--approve", "butler_head=王",
                          "--from", f"{TODAY}T09:00", "--until", f"{TODAY}T18:00")) == 0
    slip_id = "S" + TODAY.strftime("%y%m%d") + "001"
    png, svg = site / "slips" / "default" / f"{slip_id}.png", site / "slips" / "default" / f"{slip_id}.svg"
    assert svg.read_text().lstrip().startswith("<?xml")
    decoded = zxingcpp.read_barcodes(cv2.imread(str(png)))
    assert len(decoded) == 1
    verdict = verify(decoded[0].text, load_public_dir(site / "keys" / "default"), estate="default")
    assert verdict.ok and verdict.claims is not None
    assert verdict.claims.slip_id == slip_id and verdict.claims.item_count == 2 and verdict.claims.unit_id == "3-2-1502"
    assert verdict.claims.valid_until - verdict.claims.valid_from == timedelta(hours=9)


def test_a_temporary_pass_is_at_most_three_days(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["issue-permit", "--card", "C9", "--unit", "3-2-1502", "--name", "王五", "--kind", "temporary"]
    assert run(*base, "--from", str(TODAY), "--until", str(TODAY + timedelta(days=3))) == 2
    assert "at most 3 days" in capsys.readouterr().err
    assert run(*base, "--from", str(TODAY), "--until", str(TODAY + timedelta(days=2))) == 0


def test_a_permit_keeps_the_photo_and_never_the_plain_id_number(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2
    import numpy as np

    photo = site / "face.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0fake-jpeg")                    # not a picture: refused, nothing issued
    assert run("issue-permit", "--card", "C1", "--unit", "3-2-1502", "--name", "张三",
               "--id-number", "44010119900101123X", "--photo", str(photo)) == 2
    assert "照片" in capsys.readouterr().err
    photo.write_bytes(cv2.imencode(".jpg", np.full((40, 30, 3), 128, np.uint8))[1].tobytes())
    assert run("issue-permit", "--card", "C1", "--unit", "3-2-1502", "--name", "张三",
               "--id-number", "44010119900101123X", "--photo", str(photo)) == 0
    db = (site / "office.db").read_bytes() + (site / "office.db-wal").read_bytes()
    assert b"44010119900101123X" not in db
    assert b"4401**********123X" in db
    assert run("report-lost", "C1") == 0
    assert "reported lost" in capsys.readouterr().out
    # the lost card's UID is not simply re-issued: the lost card would pass again
    assert run("issue-permit", "--card", "C1", "--unit", "3-2-1502", "--name", "张三") == 2
    assert "--replaces" in capsys.readouterr().err
    lost = _permit_id_of(site, "C1")
    assert run("issue-permit", "--card", "C2", "--unit", "3-2-1502", "--name", "张三", "--replaces", lost) == 0
    assert f"replaces {lost}" in capsys.readouterr().out


def _permit_id_of(site: Path, card: str) -> str:
    import sqlite3

    with sqlite3.connect(site / "office.db") as db:
        return str(db.execute("select permit_id from permits where card_uid = ?", (card,)).fetchone()[0])


def test_export_log_writes_csv_for_excel_and_json(site: Path) -> None:
    from domain.exitrow import EntryKind, LogEntry
    from kiosk.exitlog import ExitLog
    from office.db import open_office
    from office.ingest import ingest
    from office.records import add_gate

    engine = open_office("sqlite:///office.db")
    log = ExitLog.memory("north")
    log.append(LogEntry(EntryKind.REFUSAL, ESTATE.now(), reasons=("slip.unpaid_fees",),
                        detail={"note": "欠费"}), clock_synced=True)
    with engine.begin() as conn:
        add_gate(conn, "default", "north", clock=ESTATE.clock)
        gate = {"gate_id": "north", "estate": "default"}
        assert ingest(conn, gate, list(log.rows()), clock=ESTATE.clock).accepted == 1
    assert run("export-log", "--from", str(TODAY - timedelta(days=1)), "--to", str(TODAY + timedelta(days=1)),
               "--out", "log.csv") == 0
    data = (site / "log.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("gate_id,seq,at,kind") and "欠费" in lines[1] and "slip.unpaid_fees" in lines[1]
    assert run("export-log", "--from", str(TODAY), "--to", str(TODAY), "--format", "json", "--out", "log.json") == 0
    assert json.loads((site / "log.json").read_text())[0]["reasons"] == ["slip.unpaid_fees"]
    assert run("export-log", "--from", "2020-01-01", "--to", "2020-01-02", "--format", "json", "--out", "none.json") == 0
    assert json.loads((site / "none.json").read_text()) == []


def test_flags_are_listed_and_can_be_resolved(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from office.db import open_office, utcnow
    from office.ingest import raise_flag

    with open_office("sqlite:///office.db").begin() as conn:
        raise_flag(conn, "default", "double_use", "k1", "slip S1 released more than once (gates north, south)",
                   now=utcnow(CLOCK))
    capsys.readouterr()
    assert run("flags") == 0
    out = capsys.readouterr().out
    assert "double_use" in out and "OPEN" in out
    assert run("flags", "--resolve", "1") == 0
    assert run("flags") == 0
    assert "no open flags" in capsys.readouterr().out
    assert run("flags", "--resolve", "1") == 2


def test_gates_lists_each_gate_with_its_last_heartbeat(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from office.db import open_office
    from office.ingest import heartbeat

    assert run("add-gate", "north", "--label", "北门") == 0
    assert run("add-gate", "south") == 0
    from domain.contracts import DeviceHealth, DeviceState, HeartbeatBody

    at = CLOCK.now()
    with open_office("sqlite:///office.db").begin() as conn:
        heartbeat(conn, "default", "north", HeartbeatBody(DeviceHealth(DeviceState.ONLINE, "/dev/gatepass-reader open", at),
                                               DeviceHealth(DeviceState.OFFLINE, "\x1b[2Jgone", at),
                                               outbox_depth=7, clock_offset_s=0.4, heartbeat_interval_s=60),
                  clock=CLOCK)
    capsys.readouterr()
    assert run("gates") == 0
    north, south = capsys.readouterr().out.splitlines()
    assert north.startswith("north") and "北门" in north and "outbox 7" in north
    assert "reader online (/dev/gatepass-reader open)" in north and "camera offline (" in north
    assert "\x1b" not in north                        # a gate cannot drive the clerk's terminal
    assert "last seen never" in south
    assert run("gates", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [g["gate_id"] for g in listed] == ["north", "south"] and "token_hash" not in listed[0]
    assert listed[0]["devices"]["reader"]["state"] == "online" and listed[1]["heartbeat"] is None
    # three heartbeats (3 min) later, with nothing new from the gate, its devices are stale
    later = main(["gates", "--config", "office.toml"], clock=FixedClock(at + timedelta(minutes=3, seconds=1)))
    assert later == 0
    north = capsys.readouterr().out.splitlines()[0]
    est = CLOCK.now().astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"reader stale (/dev/gatepass-reader open), last report {est:%Y-%m-%d %H:%M:%S}" in north


def test_a_second_estate_is_created_and_each_numbers_its_own_changes(site: Path) -> None:
    """`office init --estate west` after `office init` used to fail on the global changes key."""
    from sqlalchemy import create_engine, select

    from office import schema
    assert run("init", "--estate", "west") == 0
    assert run("add-unit", "--estate", "west", "3-2-1502") == 0       # the same unit id in the other estate
    engine = create_engine(f"sqlite:///{site / 'office.db'}")
    with engine.connect() as conn:
        rows = conn.execute(select(schema.changes.c.estate, schema.changes.c.seq, schema.changes.c.tbl)).all()
    engine.dispose()
    by_estate = {e: sorted(seq for est, seq, _ in rows if est == e) for e in ("default", "west")}
    assert by_estate["west"] and by_estate["default"]
    assert by_estate["west"][0] == 1 and by_estate["default"][0] == 1   # each estate counts from one


def test_export_log_as_excel_names_people_units_and_items_in_chinese(site: Path) -> None:
    """The .xlsx is for the clerk: Chinese headers, the estate's time, the guard's and holder's names,
    the slip's unit, carrier and items, reasons in words; not ids, codes or JSON."""
    from openpyxl import load_workbook

    from domain.exitrow import EntryKind, LogEntry
    from kiosk.exitlog import ExitLog
    from office.db import open_office
    from office.ingest import ingest
    from office.records import add_gate

    assert run(*slip_args("--approve", "handler=李", "--approve", "butler_head=王", "--mover", "李四")) == 0
    assert run("add-guard", "g7", "--name", "赵保安", "--badge", "B7", "--pin", "2468") == 0
    slip_id = "S" + TODAY.strftime("%y%m%d") + "001"
    at = ESTATE.now().replace(hour=9, minute=5, second=7, microsecond=0)
    log = ExitLog.memory("north")
    log.append(LogEntry(EntryKind.RELEASE, at, guard_id="g7", slip_id=slip_id), clock_synced=True)
    log.append(LogEntry(EntryKind.REFUSAL, at, guard_id="g7", slip_id=slip_id, reasons=("slip.unpaid_fees",)),
               clock_synced=False)
    engine = open_office("sqlite:///office.db")
    with engine.begin() as conn:
        add_gate(conn, "default", "north", "北门", clock=ESTATE.clock)
        assert ingest(conn, {"gate_id": "north", "estate": "default"}, list(log.rows()), clock=ESTATE.clock).accepted == 2
    engine.dispose()
    assert run("export-log", "--from", str(TODAY), "--to", str(TODAY), "--format", "xlsx") == 2   # a workbook needs a file
    assert run("export-log", "--from", str(TODAY), "--to", str(TODAY), "--format", "xlsx", "--out", "log.xlsx") == 0
    sheet = load_workbook(site / "log.xlsx").active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0][0] == "时间\nTime" and rows[0][8] == "物品\nItems"
    release, refusal = rows[1], rows[2]
    assert release[0] == at.strftime("%Y-%m-%d 09:05:07")          # the estate's wall clock, not UTC
    assert release[1] == "北门(north)" and release[2] == "放行" and release[3] == slip_id
    assert release[5] == "张三" and release[6] == "3-2-1502" and release[7] == "李四"
    assert release[8] == "冰箱×1(180cm);纸箱×3" and release[9] == "赵保安(g7)" and release[11] == "已校准"
    assert "未缴物业费" in refusal[10] and "slip.unpaid_fees" not in refusal[10] and refusal[11].startswith("未校准")


def test_each_estate_signs_with_its_own_key_and_names_its_own_gates(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two estates from the CLI, a gate "north" in each: before, west shared default's key folder
    (so a west slip verified at default's gates) and `add-gate north --estate west` was refused."""
    from sqlalchemy import create_engine, select

    from domain.reasons import Reason
    from office import schema

    assert run("init", "--estate", "west") == 0
    assert (site / "keys" / "west" / "signing.key").exists()
    assert run("add-unit", "--estate", "west", "3-2-1502") == 0
    capsys.readouterr()
    assert run("add-gate", "north") == 0
    assert run("add-gate", "north", "--estate", "west") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("default/north.") and lines[3].startswith("west/north.")
    approvals = ("--approve", "handler=李", "--approve", "butler_head=王")
    assert run(*slip_args(*approvals, "--out", "default-slips")) == 0
    assert run(*slip_args(*approvals, "--out", "west-slips"), "--estate", "west") == 0
    capsys.readouterr()
    (default_qr,), (west_qr,) = list((site / "default-slips").glob("*.png")), list((site / "west-slips").glob("*.png"))
    assert default_qr.name == west_qr.name          # each estate numbers its own slips: the same id
    import cv2
    import zxingcpp

    west_token = zxingcpp.read_barcodes(cv2.imread(str(west_qr)))[0].text
    default_keys, west_keys = load_public_dir(site / "keys" / "default"), load_public_dir(site / "keys" / "west")
    assert not set(default_keys) & set(west_keys)
    assert verify(west_token, west_keys, estate="west").ok
    assert verify(west_token, default_keys, estate="default").reason is Reason.SLIP_UNKNOWN_KEY
    # What default's gates are given of west: its key, as another estate's.
    engine = create_engine(f"sqlite:///{site / 'office.db'}")
    with engine.connect() as conn:
        o = schema.other_estate_keys
        rows = {(r.estate, r.key_id, r.key_estate) for r in conn.execute(select(o))}
    engine.dispose()
    assert rows == {("default", k, "west") for k in west_keys} | {("west", k, "default") for k in default_keys}
    assert run("keys", "--estate", "west") == 0
    listed = capsys.readouterr().out
    assert all(k in listed for k in west_keys) and not any(k in listed for k in default_keys)


@pytest.mark.parametrize("estate", ["West", "west estate", "x" * 33])
def test_an_estate_id_a_slip_cannot_carry_is_refused(site: Path, capsys: pytest.CaptureFixture[str], estate: str) -> None:
    assert run("init", "--estate", estate) == 2
    assert "estate id" in capsys.readouterr().err


def test_a_key_of_one_estate_is_not_published_for_another(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Copying default's key folder for west would make west's slips good at default's gates."""
    import shutil

    shutil.copytree(site / "keys" / "default", site / "keys" / "west")
    assert run("init", "--estate", "west") == 2
    assert "each estate signs with its own key" in capsys.readouterr().err
