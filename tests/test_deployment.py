"""The gate as deployed: both shipped units, run as their files say, against a real office.

Each process is started from its unit file in systemd/ (ExecStart, WorkingDirectory,
Environment, SupplementaryGroups, StateDirectory/RuntimeDirectory/ReadWritePaths,
PrivateTmp, PrivateDevices, IPAddressDeny), under bubblewrap as a non-root user
(uid 1000), with the whole file system read-only except the directories the unit may
write: a temp dir each at /var/lib/gatepass and /run/gatepass, the config at
/etc/gatepass (config/production.toml with the office's address and a camera folder),
and at ExecStart's path (/opt/gatepass/.venv/bin/gatepass) the console script pip would
write, running this tree. The office is the real server on loopback (tests/office/harness.py).

The card reader is a real pty speaking RDM6300 at the production config's reader path
(a symlink in the sandbox's /dev, group dialout as the udev rule makes it); slips are
shown through a folder camera source; the kiosk runs headless
(`--headless --script ... --mock-pins`, the test bench's only additions to ExecStart:
there is no screen and no GPIO chip here).

What an installer would check: a slip issued at the office is pulled by the daemon,
presented and released at the gate (the kiosk writes the release row), pushed, and seen
at the office; a permit revoked at the office reaches the gate and its card is refused on
screen (a screenshot, and the refusal row with its reason, also seen at the office).

Not emulated (systemd-analyze checks them as written, tests/test_units.py): the service
user's supplementary groups (a user namespace cannot add groups; host root's files appear
as the user's own), DeviceAllow=, SystemCallFilter=, MemoryDenyWriteExecute=, ProtectProc=,
sd_notify and the watchdog (the live loop's own test, tests/ui/test_live_loop.py).
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from domain.hours import LARGE_ITEM_HOURS_RULE
from domain.model import PermitStatus
from domain.settings import load
from kiosk.config import KioskConfig
from kiosk.exitlog import ExitLog
from kiosk.store import Replica
from tests import profiles
from tests.drivers.ptys import PtyPort
from tests.drivers.test_frames import rdm_frame
from tests.test_units import PRODUCTION_CONFIG, parse_unit, writable_paths

ROOT = Path(__file__).resolve().parents[1]
KIOSK_UNIT, SYNC_UNIT = (ROOT / "systemd" / n for n in ("gatepass-kiosk.service", "gatepass-sync.service"))
UID = GID = 1000                       # the unit's User=gatepass: any non-root user will do
#: Where the camera folder appears in the sandbox (the production config names a V4L2 device).
CAMERA_DIR = "/srv/gatepass-camera"
GUARD_BADGE, GUARD_PIN = "7F00000001", "2468"
RESIDENT_CARD = "3C00ABCDEF"
DEADLINE_S = 45.0                      # per wait; the whole test takes a few seconds on a quiet machine



# ---------------------------------------------------------------- the units, as systemd reads them


Unit = dict[str, dict[str, list[str]]]


def unit_environment(unit: Unit) -> dict[str, str]:
    """Environment= lines (several assignments per line, quoted as systemd quotes them)."""
    env: dict[str, str] = {}
    for line in unit["Service"].get("Environment", []):
        for item in shlex.split(line):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def unit_flag(unit: Unit, key: str) -> str:
    return unit["Service"].get(key, [""])[-1]


def _splices(targets: list[PurePosixPath]) -> tuple[list[str], list[PurePosixPath]]:
    """bwrap arguments that let each target be mounted on a read-only root where it does not exist.

    Its deepest existing ancestor becomes a tmpfs holding read-only binds of everything
    that was there (remounted read-only afterwards), so bwrap can make the mount point
    without writing to the host. All come before any bind of a target (shallowest first),
    so that no tmpfs hides a target mounted earlier.
    """
    ancestors: set[PurePosixPath] = set()
    for target in targets:
        anc = target
        while not Path(anc).exists():
            anc = anc.parent
        if anc != target:
            ancestors.add(anc)
    args: list[str] = []
    for anc in sorted(ancestors, key=lambda a: len(a.parts)):
        args += ["--tmpfs", str(anc)]
        for child in sorted(Path(anc).iterdir()):
            if child.is_symlink():
                args += ["--symlink", os.readlink(child), str(child)]
            elif child.is_dir() or child.is_file():
                args += ["--ro-bind-try", str(child), str(child)]
    return args, sorted(ancestors, key=lambda a: len(a.parts))


def sandbox(unit: Unit, writable: dict[PurePosixPath, Path], readonly: dict[PurePosixPath, Path],
            symlinks: dict[str, str], extra_args: list[str], extra_env: dict[str, str]) -> list[str]:
    """The unit's ExecStart under bubblewrap as uid 1000 (a user namespace: no capabilities, and
    every file of the host read-only to it except the unit's writable directories)."""
    args = ["bwrap", "--unshare-user", "--uid", str(UID), "--gid", str(GID)]
    args += ["--die-with-parent", "--unshare-pid", "--unshare-ipc", "--ro-bind", "/", "/", "--proc", "/proc"]
    if unit_flag(unit, "IPAddressDeny") == "any":
        args.append("--unshare-net")                       # no IP at all: a network namespace of its own, loopback down
    args += ["--dev", "/dev"]                              # PrivateDevices: null, zero, random, tty ...
    if unit_flag(unit, "PrivateDevices") != "yes":
        args += ["--dev-bind", "/dev/pts", "/dev/pts"]     # DevicePolicy=closed + char-tty*: the serial ports
        for link, target in symlinks.items():
            args += ["--symlink", target, link]
    if unit_flag(unit, "PrivateTmp") == "yes":
        args += ["--tmpfs", "/tmp"]
        # The code under test stands in for /opt/gatepass: where a checkout or its venv lives
        # under /tmp (a CI clone), it is bound back, read-only, over the private /tmp.
        for own in sorted({Path(ROOT), Path(sys.prefix)}):
            if Path("/tmp") in own.parents:
                args += ["--ro-bind", str(own), str(own)]
    mounts = [(d, writable[d], "--bind") for d in writable_paths(unit)]
    mounts += [(d, src, "--ro-bind") for d, src in readonly.items()]
    splices, spliced = _splices([d for d, _, _ in mounts])
    args += splices
    for dest, src, how in mounts:
        args += [how, str(src), str(dest)]
    for anc in reversed(spliced):
        args += ["--remount-ro", str(anc)]
    args += ["--chdir", unit_flag(unit, "WorkingDirectory") or "/", "--clearenv"]
    # systemd's own defaults for a system service, then the unit's Environment=.
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "USER": "gatepass", **unit_environment(unit),
           **extra_env}
    for key, value in env.items():
        args += ["--setenv", key, value]
    return [*args, "--", *shlex.split(unit_flag(unit, "ExecStart")), *extra_args]


# ---------------------------------------------------------------- the installed files


def set_key(text: str, table: str, key: str, value: Any) -> str:
    """Change one key of one table in a TOML text, keeping the installer's comments."""
    head = re.search(rf"^\[{re.escape(table)}\]\s*$", text, re.M)
    assert head is not None, table
    nxt = re.search(r"^\[", text[head.end():], re.M)
    end = head.end() + (nxt.start() if nxt else len(text[head.end():]))
    body = text[head.end():end]
    line = f"{key} = {json.dumps(value, ensure_ascii=False)}"
    new, n = re.subn(rf"^{re.escape(key)}\s*=.*$", line, body, count=1, flags=re.M)
    if n == 0:
        new = body.rstrip("\n") + f"\n{line}\n\n"
    return text[:head.end()] + new + text[end:]


def wait_until(what: str, predicate: Any, timeout: float = DEADLINE_S, alive: Any = lambda: None) -> Any:
    """``predicate()``'s first true value; AssertionError naming ``what`` after ``timeout`` s.
    ``alive`` raises when what is being waited on has died (no point waiting out the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        alive()
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {timeout:g} s")


def wait_for(what: str, predicate: Any, timeout: float = DEADLINE_S, procs: tuple[Any, ...] = ()) -> Any:
    """`wait_until`, failing at once with its output when one of ``procs`` has exited."""
    def alive() -> None:
        for p in procs:
            if p.poll() is not None:
                out, err = p.communicate()
                raise AssertionError(f"waiting for {what}: {p.args[-6:]} exited {p.returncode}\n{out}\n{err}")

    return wait_until(what, predicate, timeout, alive)


def read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def present(port: PtyPort, uid: str) -> None:
    """A card laid on the RDM6300 and taken away: its frame repeated as the module does."""
    for _ in range(4):
        port.write(rdm_frame(bytes.fromhex(uid)))
        time.sleep(0.1)


@pytest.fixture()
def site() -> Iterator[Path]:
    """A temp dir the sandboxed user can reach (pytest's own is private to its user)."""
    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is not installed: `make test` installs it (apt-get install bubblewrap)")
    base = Path(tempfile.mkdtemp(prefix="gatepass-deploy-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- the test


def test_the_units_as_deployed_release_a_slip_and_refuse_a_revoked_card(site: Path) -> None:
    from office import records
    from tests.office.harness import OfficeServer

    kiosk_unit, sync_unit = parse_unit(KIOSK_UNIT), parse_unit(SYNC_UNIT)
    config_path = PurePosixPath(unit_argv_config(kiosk_unit))
    assert unit_argv_config(sync_unit) == str(config_path)
    production = load(KioskConfig, PRODUCTION_CONFIG)
    gate_id = production.gate.id

    # -- the office: a gate, a unit, a guard, a resident's permit, an approved slip, all-day hours
    office = OfficeServer(site / "office")
    try:
        credential = office.add_gate(gate_id)
        office.add_unit()
        with office.engine.begin() as conn:
            records.add_guard(conn, "default", "G1", "王保安", GUARD_BADGE, GUARD_PIN)
            records.set_rule(conn, "default", LARGE_ITEM_HOURS_RULE, json.dumps(
                {"large_items_from": "00:00:00", "large_items_until": "23:59:59", "allow_non_working_days": True}))
        office.issue_permit(RESIDENT_CARD)
        slip = office.issued_slip()

        # -- the installed files
        dirs = {d: site / "rw" / str(d).strip("/").replace("/", "-") for d in writable_paths(kiosk_unit) + writable_paths(sync_unit)}
        for host in dirs.values():
            host.mkdir(parents=True, exist_ok=True)
            host.chmod(0o750)                                   # StateDirectoryMode / RuntimeDirectoryMode
        etc = site / "etc"
        etc.mkdir(mode=0o755)
        etc.chmod(0o755)
        text = PRODUCTION_CONFIG.read_text(encoding="utf-8")
        text = set_key(text, "camera", "source", CAMERA_DIR)
        text = set_key(text, "sync", "office_url", office.url)
        for key, value in {"pull_interval_s": 0.5, "push_delay_s": 0.05, "backoff_min_s": 0.05, "backoff_max_s": 0.5,
                           "heartbeat_interval_s": 1.0}.items():
            text = set_key(text, "sync", key, value)
        (etc / config_path.name).write_text(text, encoding="utf-8")
        cfg = load(KioskConfig, etc / config_path.name)       # `gatepass config check` would pass it
        assert cfg.reader == production.reader and cfg.gpio == production.gpio and cfg.store == production.store
        cred = etc / PurePosixPath(cfg.sync.credential_file).name
        cred.write_text(credential + "\n")
        cred.chmod(0o640)                                       # owner-readable only (docs/install.md: root:gatepass 0640)
        script = [{"until": "sign_in_pin"}, {"pin": GUARD_PIN}, {"until": "idle"},
                  {"until": "slip_items"}, {"tap": "all_match"}, {"tap": "confirm_identity"}, {"pin": GUARD_PIN},
                  {"until": "released"}, {"until": "card_result"}, {"shot": "revoked_card"}]
        (etc / "acceptance.json").write_text(json.dumps(script), encoding="utf-8")
        for f in etc.iterdir():
            if f != cred:
                f.chmod(0o644)
        exec_path = PurePosixPath(shlex.split(unit_flag(kiosk_unit, "ExecStart"))[0])
        opt = site / "opt"
        shim = opt / exec_path.relative_to(exec_path.parents[2])
        shim.parent.mkdir(parents=True)
        shim.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
                        "from kiosk.cli import main\nsys.exit(main())\n")
        shim.chmod(0o755)
        for d in (opt, *[q for q in opt.rglob("*") if q.is_dir()], site / "rw"):
            d.chmod(0o755)                                      # whatever the umask: root:root 0755, as installed
        camera = site / "camera"
        camera.mkdir()
        camera.chmod(0o755)
        screens = PurePosixPath(cfg.sync.status_file).parent / "screens"
        readonly = {PurePosixPath(config_path.parent): etc, exec_path.parents[2]: opt, PurePosixPath(CAMERA_DIR): camera}

        reader = PtyPort(site / "reader-link")
        pty = os.ttyname(reader.slave)

        def host(path: str) -> Path:
            p = PurePosixPath(path)
            for d, h in dirs.items():
                if d == p or d in p.parents:
                    return h / p.relative_to(d)
            raise AssertionError(f"{path} is not in a directory the units may write")

        status_file, health_file, shots = host(cfg.sync.status_file), host(cfg.sync.kiosk_health_file), host(str(screens))

        started = time.monotonic()
        # Both gate processes run as in a gate's venv: no office library can be imported (issue 17).
        gate_only = {k: v for k, v in profiles.environ("gate", {}).items() if k.startswith(("GATEPASS_PROFILE", "PYTHONPATH"))}
        daemon = subprocess.Popen(sandbox(sync_unit, dirs, readonly, {}, [], gate_only), text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        kiosk = subprocess.Popen(
            sandbox(kiosk_unit, dirs, readonly, {cfg.reader.port: pty},
                    ["--headless", "--script", str(config_path.parent / "acceptance.json"),
                     "--screenshots", str(screens), "--mock-pins"], gate_only),
            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs = (daemon, kiosk)
        try:
            # The daemon's first pull: guards, permits, the slip and the office's key are at the gate.
            wait_for("the daemon's first pull", lambda: (read_json(status_file).get("pull_cursor") or 0) > 0, procs=procs)
            wait_for("the kiosk's first screen", lambda: list(shots.glob("*_idle.png")), procs=procs)
            # The reader open (what the kiosk tells the daemon): a frame sent before would be flushed at open.
            wait_for("the reader online", lambda: read_json(health_file).get("devices", {}).get("reader", {}).get("state")
                     == "online", procs=procs)

            # The guard signs in with the badge on the reader (and the PIN, typed by the script).
            present(reader, GUARD_BADGE)
            wait_for("the guard signed in", lambda: len(list(shots.glob("*_idle.png"))) >= 2, procs=procs)

            # The slip's QR code, as the office printed it, held to the camera: the guard walks it to released.
            shutil.copy(slip.png, camera / "slip.png")
            (camera / "slip.png").chmod(0o644)
            wait_for("the slip released", lambda: list(shots.glob("*_released.png")), procs=procs)
            (camera / "slip.png").unlink()
            released = wait_for("the release at the office", lambda: [
                e for e in office.events(gate_id) if e["kind"] == "release" and e["slip_id"] == slip.slip_id],
                procs=procs)
            assert len(released) == 1

            # The permit revoked at the office reaches the gate; then its card is refused.
            cursor = read_json(status_file)["pull_cursor"]
            with office.engine.begin() as conn:
                records.set_permit_status(conn, "default", RESIDENT_CARD, PermitStatus.REVOKED)
            wait_for("the revocation pulled", lambda: (read_json(status_file).get("pull_cursor") or 0) > cursor,
                     procs=procs)
            present(reader, RESIDENT_CARD)
            out, err = kiosk.communicate(timeout=DEADLINE_S)
            assert kiosk.returncode == 0, err
            refused = wait_for("the refusal at the office", lambda: [
                e for e in office.events(gate_id) if e["kind"] == "card_denied"], procs=(daemon,))
            took = time.monotonic() - started
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            for p in procs:
                try:
                    p.communicate(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.communicate()
            reader.close()

        # What the guard saw: the refusal on screen, a picture of the panel's size with the red title bar.
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        picture = pygame.image.load(str(next(shots.glob("*_revoked_card.png"))))
        assert picture.get_size() == (cfg.display.width, cfg.display.height)
        r, g, b, _ = picture.get_at((cfg.display.width // 2, cfg.display.height // 10))
        assert r > 150 and g < 90 and b < 90, (r, g, b)
        assert "card_result" in out and "reasons=card.revoked" in out, out     # the log the kiosk printed
        # What the gate recorded, in its own exit log (chain intact), and what the office holds of it.
        log = ExitLog.open_readonly(host(cfg.store.exit_log))
        log.verify()
        rows = list(log.rows())
        assert [r["slip_id"] for r in rows if r["kind"] == "release"] == [slip.slip_id]
        # Every row carries the boot it was recorded in (the live loop's writer thread too: issue 18).
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        assert {r["boot_id"] for r in rows} == {boot_id} and all(r["boottime_ms"] > 0 for r in rows), rows
        pushed = office.events(gate_id)
        assert {e["boot_id"] for e in pushed} == {boot_id}, pushed
        denied = [r for r in rows if r["kind"] == "card_denied"]
        assert len(denied) == 1 and "card.revoked" in denied[0]["reasons"], denied
        assert "card.revoked" in str(refused[0]["reasons"])
        # The slip was at the gate through the daemon's pull, not only by its signature.
        replica = Replica.open(host(cfg.store.replica))
        assert replica.slip(slip.slip_id) is not None
        print(f"deployment test: units up to refusal seen at the office in {took:.1f} s")
    finally:
        office.stop()


def unit_argv_config(unit: Unit) -> str:
    argv = shlex.split(unit_flag(unit, "ExecStart"))
    return argv[argv.index("--config") + 1]


def test_the_sandbox_is_read_only_but_for_the_units_directories(site: Path) -> None:
    """What the test above relies on: a unit's process may write its StateDirectory and
    RuntimeDirectory, and nothing else (not its config, not its code, not the host)."""
    unit = parse_unit(KIOSK_UNIT)
    dirs = {d: site / str(d).strip("/").replace("/", "-") for d in writable_paths(unit)}
    for d in dirs.values():
        d.mkdir()
    etc = site / "etc"
    etc.mkdir()
    probe = "; ".join(f"touch {d}/probe 2>/dev/null && echo wrote {d} || echo refused {d}"
                      for d in [*dirs, "/etc/gatepass", "/usr/lib", "/var/lib", "/tmp", site])
    # A read-only mount beside the state directory makes /var/lib a splice here whatever the host holds.
    argv = sandbox(unit, dirs, {PurePosixPath("/etc/gatepass"): etc, PurePosixPath("/var/lib/gatepass-bench/ro"): etc}, {}, [], {})
    argv = argv[:argv.index("--") + 1] + ["/bin/sh", "-c", f"id -u; {probe}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    lines = done.stdout.split("\n")
    assert lines[0] == str(UID), done.stdout + done.stderr
    assert [f"wrote {d}" for d in dirs] + [f"refused {d}" for d in ("/etc/gatepass", "/usr/lib", "/var/lib")] \
        == lines[1:1 + len(dirs) + 3], done.stdout + done.stderr
    assert f"refused {site}" in lines                   # the host's own /tmp is not even there (PrivateTmp)
    assert all((h / "probe").exists() for h in dirs.values()) and not (etc / "probe").exists()
