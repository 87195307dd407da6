"""Each install profile is a product: every gate command runs where no office library can be
imported, every office command where no gate library can, and a gate syncs with an office
each in its own profile (issue 17).

The processes are the console script pip wrote, run as a user would, with the other side's
libraries made unimportable (tests/profiles.py); `make test-profiles` runs this module again
in venvs that pip made with only `.[gate]` and only `.[office]`. Every subcommand `gatepass`
registers is run here at least once: a new command without a run fails the last test.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests import profiles
from tests.drivers.ptys import PtyPort
from tests.drivers.test_frames import rdm_frame

ROOT = profiles.ROOT
ZONE = ZoneInfo("Asia/Shanghai")
#: What each test ran, ("gate", "check"), ("office", "office init") ...: the last test compares it
#: with what `gatepass` registers.
RAN: set[tuple[str, str]] = set()


def gatepass(profile: str, *argv: str, cwd: Path, ok: bool = True, timeout: float = 120,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `gatepass ARGV` in ``profile``; with ``ok`` it must exit 0."""
    words = [a for a in argv if not a.startswith("-")]
    RAN.add((profile, " ".join(words[:2]) if words[0] in ("office", "log", "keys", "config") else words[0]))
    proc = subprocess.run([*profiles.gatepass(profile), *argv], cwd=cwd, env=profiles.environ(profile, env),
                          capture_output=True, text=True, timeout=timeout)
    if ok:
        assert proc.returncode == 0, f"gatepass {' '.join(argv)} ({profile}) exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    for line in proc.stderr.splitlines():
        assert "not in the" not in line or "profile" not in line, f"{profile} profile imported another side's library:\n{proc.stderr}"
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("profiles")


def test_the_profiles_are_what_pyproject_installs() -> None:
    # The blocker is only as honest as its lists: the gate has no web stack, the office no screen or camera.
    other = {"gate": {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "jinja2", "openpyxl", "PIL"},
             "office": {"pygame", "cv2", "numpy", "serial", "gpiozero", "zxingcpp", "pyzbar", "sqlite_utils", "httpx"}}
    for profile, foreign in other.items():
        own = other["office" if profile == "gate" else "gate"] - {"httpx"} | {"pydantic", "cryptography", "segno"}
        probe = ("import importlib, json, sys\nfound = {}\nfor m in sys.argv[1:]:\n    try:\n        importlib.import_module(m)\n"
                 "        found[m] = True\n    except ImportError:\n        found[m] = False\nprint(json.dumps(found))")
        found = json.loads(subprocess.run([profiles.python(profile), "-c", probe, *sorted(foreign | own)], env=profiles.environ(profile),
                                          capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        assert {m for m in foreign if found[m]} == set(), f"the {profile} profile can import another side's libraries"
        assert {m for m in own if not found[m]} == set(), f"the {profile} profile lacks its own libraries"


def test_a_gate_venv_runs_every_gate_command(site: Path) -> None:
    gate = site / "gate"
    gate.mkdir()
    run = lambda *a, **k: gatepass("gate", *a, cwd=gate, **k)  # noqa: E731

    out = run("demo-data", "--db", "replica.db", "--out", "demo", "--permits", "20").stdout
    assert "demo replica" in out
    manifest = json.loads((gate / "demo" / "manifest.json").read_text(encoding="utf-8"))
    at = manifest["now"]
    card = run("check", "--db", "replica.db", "--card", manifest["cards"]["valid"], "--at", at, "--json").stdout
    assert json.loads(card)["allowed"] is True
    lost = run("check", "--db", "replica.db", "--card", manifest["cards"]["lost"], "--at", at, ok=False)
    assert lost.returncode == 1 and "card.lost" in lost.stdout
    png = sorted((gate / "demo" / "slips").glob("*.png"))[0]
    run("check", "--db", "replica.db", "--slip-image", str(png), "--at", at, "--keys", "demo/keys", ok=False)
    scanned = json.loads(run("scan", "--json", str(png)).stdout)
    assert scanned["texts"] and scanned["texts"][0].startswith("GP")

    assert "ok" in run("config", "check", str(ROOT / "config" / "kiosk.toml")).stdout
    assert "ok" in run("config", "check", str(ROOT / "config" / "production.toml")).stdout
    bad = gate / "bad.toml"
    bad.write_text('[gate]\nid = "north"\nnoise = 1\n', encoding="utf-8")
    refused = run("config", "check", str(bad), ok=False)
    assert refused.returncode == 2 and "noise" in refused.stderr
    assert "key" in run("keys", "new", "newkeys").stdout and list((gate / "newkeys").glob("*.pub"))

    shown = run("display-check", env={k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"})
    assert "kmsdrm" in shown.stdout.lower()
    assert run("gpio-test", "--pin-factory", "mock", "--auto", "--step-s", "0.01").returncode == 0

    reader = PtyPort(gate / "reader")
    stop = threading.Event()

    def card_on_reader() -> None:
        while not stop.is_set():
            reader.write(rdm_frame(bytes.fromhex("0A00123456")))
            time.sleep(0.05)
    threading.Thread(target=card_on_reader, daemon=True).start()
    try:
        line = run("reader", "--port", str(reader.link), "--count", "1", "--json").stdout.splitlines()[0]
    finally:
        stop.set()
    assert json.loads(line)["uid"] == "0A00123456"

    walk = run("kiosk", "--demo", "--headless", "--screenshots", "shots", "--data-dir", "kiosk-demo", timeout=240)
    assert "hash chain intact" in walk.stdout
    scenes = {p.stem.split("_", 1)[1] for p in (gate / "shots").glob("*.png")}
    assert {"idle", "card_result", "slip_items", "released", "refused", "visitor_recorded"} <= scenes, scenes
    exit_log = next((gate / "kiosk-demo").rglob("exitlog.db"))
    assert "hash chain intact" in run("log", "verify", "--db", str(exit_log)).stdout
    rows = [json.loads(x) for x in run("log", "show", "--db", str(exit_log)).stdout.splitlines()]
    assert any(r["kind"] == "release" for r in rows)

    # A gate asked for an office command says what to install, in both languages, and no traceback.
    office = run("office", "init", "--config", str(gate / "office.toml"), ok=False)
    assert office.returncode == 2 and "pip install '.[office]'" in office.stderr and "Traceback" not in office.stderr
    assert "add-gate" in run("office", "--help").stdout


@pytest.fixture(scope="module")
def office_site(site: Path) -> Iterator[tuple[Path, str]]:
    """An office made by the office commands in an office venv and served by `gatepass office serve` from it."""
    office = site / "office"
    office.mkdir()
    port = free_port()
    (office / "office.toml").write_text('keys = "keys"\nslips_dir = "slips"\n[database]\nurl = "sqlite:///office.db"\n'
                                        f'[server]\nport = {port}\n', encoding="utf-8")
    run = lambda *a, **k: gatepass("office", "office", a[0], "--config", "office.toml", *a[1:], cwd=office, **k)  # noqa: E731
    run("init")
    run("add-unit", "3-2-1502")
    run("set-fees", "3-2-1502", "--unpaid")
    run("set-fees", "3-2-1502", "--paid")
    run("add-gate", "north", "--label", "北门", "--credential-file", "north.credential")
    run("add-guard", "G7", "--name", "王保安", "--badge", "7F00000001", "--pin", "2468")
    run("add-staff", "qiantai", "--name", "李前台", env={**os.environ, "GATEPASS_STAFF_PASSWORD": "前台-gate-7-desk"})
    run("set-rule", "large_item_hours", json.dumps({"large_items_from": "00:00:00", "large_items_until": "23:59:59",
                                                     "allow_non_working_days": True}))
    run("issue-permit", "--card", "3C00000011", "--unit", "3-2-1502", "--name", "张三")
    run("issue-permit", "--card", "3C00000022", "--unit", "3-2-1502", "--name", "李四")
    run("issue-permit", "--card", "3C00000033", "--unit", "3-2-1502", "--name", "王五")
    run("report-lost", "3C00000022")
    run("revoke", "3C00000033")
    today = datetime.now(ZONE).date()
    slip = ["issue-slip", "--unit", "3-2-1502", "--kind", "owner", "--applicant", "张三", "--mover-id", "440101199001011234",
            "--item", "冰箱:1:180cm", "--approve", "handler=李", "--approve", "butler_head=王",
            "--from", str(today - timedelta(days=1)), "--until", str(today + timedelta(days=2))]
    issued = run(*slip).stdout
    cancelled = run(*slip).stdout
    slip_id = next(w for w in cancelled.split() if w.startswith("S") and w[1:].isdigit())
    run("cancel-slip", slip_id)
    assert "S" in issued
    keys = run("keys").stdout
    run("rotate-key")
    old = keys.split()[0] if keys.split() else ""
    assert len(old) == 8, keys
    run("revoke-key", old)                       # the slip signed with it is refused at the gate from now on
    run("issue-slip", *slip[1:])                 # ... so the gate gets one under the new key
    run("demo", "--dir", str(office / "demo"), "--no-serve")
    made = run("backup", "--out", "backups").stdout
    backup = made.split("backup written: ", 1)[1].split()[0]
    assert "new epoch" in run("restore", backup).stdout       # what it holds now is what it held: only the epoch is new

    server = subprocess.Popen([*profiles.gatepass("office"), "office", "serve", "--config", "office.toml", "--port", str(port)],
                              cwd=office, env=profiles.environ("office"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    RAN.add(("office", "office serve"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"office serve exited {server.returncode}:\n{server.stdout.read() if server.stdout else ''}"
            try:
                if httpx.get(url + "/api/v1/health", timeout=1).json().get("ok") is True:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "office serve did not answer in 60 s"
            time.sleep(0.2)
        yield office, url
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=20)
        assert "not in the office profile" not in out, out


def test_an_office_venv_runs_every_office_command_and_a_gate_venv_syncs_with_it(site: Path, office_site: tuple[Path, str]) -> None:
    office, url = office_site
    run = lambda *a, **k: gatepass("office", "office", a[0], "--config", "office.toml", *a[1:], cwd=office, **k)  # noqa: E731

    gate = site / "synced-gate"
    gate.mkdir()
    (gate / "gate.credential").write_text((office / "north.credential").read_text(encoding="utf-8"), encoding="utf-8")
    (gate / "gate.credential").chmod(0o600)
    (gate / "kiosk.toml").write_text(
        '[gate]\nid = "north"\n[store]\nreplica = "replica.db"\nexit_log = "exitlog.db"\nphotos = "photos"\nkeys = "keys"\n'
        'id_hmac_key_file = "keys/id-hmac.key"\n[rules]\nlarge_items_from = "00:00"\nlarge_items_until = "23:59"\n'
        'allow_non_working_days = true\n'
        f'[sync]\noffice_url = "{url}"\ncredential_file = "gate.credential"\nstatus_file = "sync-status.json"\n',
        encoding="utf-8")
    reader = PtyPort(gate / "reader")
    with (gate / "kiosk.toml").open("a", encoding="utf-8") as f:
        f.write(f'[reader]\nport = "{reader.link}"\n[camera]\nsource = ""\n[gpio]\npin_factory = "lgpio"\n')
    gatepass("gate", "config", "check", "kiosk.toml", cwd=gate)
    first = gatepass("gate", "sync", "--config", "kiosk.toml", "--once", cwd=gate, ok=False)
    assert first.returncode == 1 and "exit log not found" in first.stdout     # pulled; nothing to push before the kiosk ran
    # The kiosk on the replica the daemon pulled (headless, the production config but for the pins), then a full round.
    (gate / "walk.json").write_text(json.dumps([{"until": "idle"}, {"shot": "synced"}]), encoding="utf-8")
    gatepass("gate", "kiosk", "--config", "kiosk.toml", "--headless", "--script", "walk.json", "--screenshots", "shots",
             "--mock-pins", cwd=gate, timeout=120)
    reader.close()
    assert list((gate / "shots").glob("*synced*.png"))
    synced = gatepass("gate", "sync", "--config", "kiosk.toml", "--once", cwd=gate)
    assert "outbox 0" in synced.stdout

    # What the office issued is decided at the gate from the replica the daemon pulled.
    noon = datetime.now(ZONE).replace(hour=12, minute=0, second=0, microsecond=0).isoformat()
    check = lambda *a, **k: gatepass("gate", "check", "--db", "replica.db", "--config", "kiosk.toml", "--at", noon,  # noqa: E731
                                     "--json", *a, cwd=gate, **k)
    assert json.loads(check("--card", "3C00000011").stdout)["allowed"] is True
    for card, reason in (("3C00000022", "card.lost"), ("3C00000033", "card.revoked")):
        refused = check("--card", card, ok=False)
        assert refused.returncode == 1 and reason in refused.stdout
    slips = sorted((office / "slips").rglob("*.png"), key=lambda p: p.stat().st_mtime)
    assert len(slips) >= 3
    assert json.loads(check("--slip-image", str(slips[-1])).stdout)["allowed"] is True
    revoked_key = json.loads(check("--slip-image", str(slips[0]), ok=False).stdout)
    assert revoked_key["allowed"] is False

    gates = json.loads(run("gates", "--json").stdout)
    north = next(g for g in gates if g["gate_id"] == "north")
    assert north["last_seen"] and int(north["heartbeat"]["versions"]["replica_cursor"]) > 0, north
    run("flags")
    run("flags", "--json")
    today = datetime.now(ZONE).date()
    for fmt in ("csv", "json", "xlsx"):
        run("export-log", "--from", str(today - timedelta(days=1)), "--to", str(today + timedelta(days=1)),
            "--format", fmt, "--out", f"log.{fmt}")
        assert (office / f"log.{fmt}").stat().st_size > 0

    # An office asked for a gate command says what to install, and no traceback.
    kiosk = gatepass("office", "kiosk", "--demo", "--headless", "--screenshots", "shots", cwd=office, ok=False)
    assert kiosk.returncode == 2 and "pip install '.[gate]'" in kiosk.stderr and "Traceback" not in kiosk.stderr


def test_every_registered_command_ran_in_its_profile() -> None:
    from kiosk.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert isinstance(sub.choices, dict)
    registered: set[str] = set()
    for name, p in sub.choices.items():
        nested = [a.choices for a in p._actions if isinstance(a.choices, dict)]
        if nested:
            registered |= {f"{name} {n}" for n in nested[0]}
        else:
            registered.add(name)
    side = {c: ("office" if c.startswith("office ") else "gate") for c in registered}
    ran = {c for p, c in RAN if side.get(c) == p}
    assert registered - ran == set(), "commands no test ran in their own profile"
