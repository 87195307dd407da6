#!/usr/bin/env python3
"""The emulated Pi install: docs/install.md's own commands on a Debian arm64 root under qemu.

    sudo make pi-install-check [DIST="bookworm trixie"]      (root: debootstrap, chroot, mounts)

For each release it builds (once, cached in CACHE, default /var/cache/gatepass-pi-roots) a
Debian arm64 root with debootstrap and qemu-user-static (build-root.sh), copies it, and runs in
it, with chroot, the guide's command blocks marked `<!-- pi-install-check: NAME -->`, in the
guide's order, as written but for the substitutions below (SUBSTITUTIONS: each names the text
it replaces and fails if the guide no longer has it, so the guide cannot drift from what runs).
Then, with an office started on the host from this checkout's venv (`gatepass office init`,
`add-gate`, `add-unit`, `add-guard`, `set-rule`, `issue-slip`, `serve` on 127.0.0.1: the chroot
shares the host's network), it starts the two units' ExecStart as the unit files say (user,
working directory, environment; RuntimeDirectory made as systemd would) and walks the kiosk
headless: the guard's badge on a pty speaking RDM6300, the PIN, the office's slip held to a
folder camera, released; the sync daemon pulls before and pushes after, and the office's
`export-log` shows the row. Then the guide's step-9 checks, as the admin would type them.

Each step's time and result go to a table on stdout and to REPORT (JSON). A step that fails
stops that release's run (the steps after it need it) and the next release runs.

Not emulated (no systemd in a chroot, no hardware under qemu): systemctl, the units' sandboxing
(tests/test_units.py, tests/test_deployment.py), KMS/DRM, the camera, GPIO (--mock-pins), reboots.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
import tty
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "install.md"
HERE = Path(__file__).resolve().parent
DISTS = {"bookworm": "Debian 12 = Raspberry Pi OS Bookworm (CPython 3.11)",
         "trixie": "Debian 13 = Raspberry Pi OS Trixie (CPython 3.13)"}
#: A marked block: the comment on the line before the fence, both indented alike (in a list item) or not.
MARK = re.compile(r"^( *)<!-- pi-install-check: ([\w-]+) -->\n\1```sh\n(.*?)^\1```", re.M | re.S)

GUARD_BADGE, GUARD_PIN = "7F00000001", "2468"
UNIT_ID = "3-2-1502"
#: Inside the root: the harness's files for the guide's commands (north.credential, id-hmac.key,
#: the edited config), the repository the guide clones, the camera folder and the guard's walk.
WORK, REPO, CAMERA, WALK = "/root/pi-check", "/srv/gatepass.git", "/srv/gatepass-camera", "/srv/pi-check/walk.json"
#: Generous: the arm64 Python runs under qemu-user, 5-20 times slower than native.
WAIT_S = 600.0


@dataclass(frozen=True)
class Sub:
    old: str
    new: str
    why: str


def substitutions(reader: str) -> dict[str, list[Sub]]:
    """What must differ in a chroot, by block. `reader` is the pty standing in for the reader."""
    return {
        "update": [Sub("sudo reboot", "true", "no reboot in a chroot")],
        "clone": [Sub("https://github.com/<your-org>/gatepass.git", REPO,
                      "the worktree's tracked files (HEAD plus uncommitted changes), not GitHub")],
        "config": [Sub("sudo editor /etc/gatepass/kiosk.toml", f"sudo cp {WORK}/kiosk.toml /etc/gatepass/kiosk.toml",
                       "the installer's edits, made by the harness (gate north, the office on 127.0.0.1, "
                       "a pty as the reader, a folder as the camera, quick sync intervals)"),
                   Sub("ls -l /dev/gatepass-reader /dev/v4l/by-id/", f"ls -l {reader} {CAMERA}/",
                       "no reader or camera under qemu: the stand-ins")],
    }


# ---------------------------------------------------------------- the report


@dataclass
class Step:
    dist: str
    name: str
    seconds: float = 0.0
    ok: bool | None = None
    note: str = ""


@dataclass
class Report:
    path: Path
    started: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    source: str = ""
    steps: list[Step] = field(default_factory=list)
    facts: dict[str, dict[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def write(self) -> None:
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            data = {"started": self.started, "source": self.source, "guide": str(GUIDE.relative_to(ROOT)),
                    "steps": [vars(s) for s in self.steps], "facts": self.facts}
            self.path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    def table(self) -> str:
        dists = list(dict.fromkeys(s.dist for s in self.steps))
        names = list(dict.fromkeys(s.name for s in self.steps))
        by = {(s.dist, s.name): s for s in self.steps}
        head = "| step | " + " | ".join(dists) + " |"
        lines = [head, "|---|" + "---:|" * len(dists)]
        for name in names:
            cells = []
            for d in dists:
                s = by.get((d, name))
                if s is None:
                    cells.append("not run")
                else:
                    mark = {True: "ok", False: "FAILED", None: "…"}[s.ok]
                    cells.append(f"{mark} {fmt_s(s.seconds)}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        totals = [fmt_s(sum(s.seconds for s in self.steps if s.dist == d)) for d in dists]
        lines.append("| **total** | " + " | ".join(totals) + " |")
        return "\n".join(lines)


def fmt_s(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class StepFailed(Exception):
    pass


class Runner:
    def __init__(self, report: Report, dist: str, logs: Path) -> None:
        self.report, self.dist, self.logs = report, dist, logs
        logs.mkdir(parents=True, exist_ok=True)

    def step(self, name: str, fn: Any, *args: Any, **kw: Any) -> Any:
        s = Step(self.dist, name)
        self.report.steps.append(s)
        print(f"[{self.dist}] {name} ...", flush=True)
        t0 = time.monotonic()
        try:
            out = fn(*args, **kw)
        except BaseException as exc:
            s.seconds, s.ok = time.monotonic() - t0, False
            s.note = str(exc)[-2000:]
            print(f"[{self.dist}] {name}: FAILED after {fmt_s(s.seconds)}\n{s.note}", flush=True)
            self.report.write()
            raise StepFailed(name) from exc
        s.seconds, s.ok = time.monotonic() - t0, True
        if isinstance(out, str) and out.strip():
            s.note = out.strip().splitlines()[-1][:300]       # a command's last line; the rest is in its log
        print(f"[{self.dist}] {name}: ok, {fmt_s(s.seconds)}{' - ' + s.note if s.note else ''}", flush=True)
        self.report.write()
        return out


# ---------------------------------------------------------------- the guide


def guide_blocks(text: str) -> list[tuple[str, str]]:
    blocks = [(m.group(2), textwrap.dedent(m.group(3))) for m in MARK.finditer(text)]
    names = [n for n, _ in blocks]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise SystemExit(f"{GUIDE}: block names used twice: {sorted(dupes)}")
    return blocks


def substituted(name: str, code: str, subs: dict[str, list[Sub]]) -> str:
    for sub in subs.get(name, []):
        if sub.old not in code:
            raise SystemExit(f"{GUIDE.name}, block {name!r}: the harness replaces {sub.old!r} ({sub.why}), "
                             "and the block no longer has it: update scripts/pi-install/check.py")
        code = code.replace(sub.old, sub.new)
    return code


# ---------------------------------------------------------------- the root


def sh(*argv: str, log: Path | None = None, timeout: float = 3600, check: bool = True, **kw: Any) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, **kw)
    out = done.stdout + done.stderr
    if log is not None:
        with log.open("a", encoding="utf-8") as f:
            f.write(f"$ {shlex.join(argv)}\n{out}\n[exit {done.returncode}]\n")
    if check and done.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)[:300]} exited {done.returncode}:\n{out[-3000:]}")
    return done.stdout


class Chroot:
    """A copy of the cached base root, with /proc, /sys, /dev, a fresh /run and the caches mounted."""

    PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    def __init__(self, cache: Path, dist: str) -> None:
        self.cache, self.dist = cache, dist
        self.base, self.dir = cache / f"{dist}-base", cache / f"{dist}-run"
        self.mounts: list[Path] = []

    def path(self, inside: str) -> Path:
        return self.dir / inside.lstrip("/")

    def copy_base(self) -> str:
        self.unmount_stale()
        if self.dir.exists():
            shutil.rmtree(self.dir)
        sh("cp", "-a", "--reflink=auto", str(self.base), str(self.dir))
        return ""

    def unmount_stale(self) -> None:
        """A run that was killed leaves its mounts: take them off before deleting the copy."""
        for line in reversed(Path("/proc/mounts").read_text().splitlines()):
            target = line.split()[1].replace("\\040", " ")
            if target == str(self.dir) or target.startswith(str(self.dir) + "/"):
                subprocess.run(["umount", "-l", target], check=False)

    def mount(self) -> None:
        def bind(src: Path, inside: str, *opts: str) -> None:
            dest = self.path(inside)
            dest.mkdir(parents=True, exist_ok=True)
            sh("mount", *opts, str(src), str(dest))
            self.mounts.append(dest)

        bind(Path("proc"), "/proc", "-t", "proc")
        bind(Path("sysfs"), "/sys", "-t", "sysfs", "-o", "ro")
        bind(Path("/dev"), "/dev", "--bind")
        bind(Path("/dev/pts"), "/dev/pts", "--bind")
        bind(Path("tmpfs"), "/run", "-t", "tmpfs", "-o", "mode=0755")
        # Downloads kept between runs (apt's .debs, pip's HTTP cache); never a built wheel (below).
        apt_cache = self.cache / f"{self.dist}-apt-archives"
        (apt_cache / "partial").mkdir(parents=True, exist_ok=True)
        bind(apt_cache, "/var/cache/apt/archives", "--bind")
        pip_cache = self.cache / f"{self.dist}-pip-cache"
        shutil.rmtree(pip_cache / "wheels", ignore_errors=True)     # evdev and lgpio are built every run
        pip_cache.mkdir(parents=True, exist_ok=True)
        pip_cache.chmod(0o777)
        bind(pip_cache, "/var/cache/pip-shared", "--bind")

    def unmount(self) -> None:
        for dest in reversed(self.mounts):
            subprocess.run(["umount", "-l", str(dest)], check=False)
        self.mounts.clear()

    def run(self, script: str, log: Path, timeout: float = 3600, cwd: str = WORK) -> str:
        """``script`` under bash -e in the root, as root, in ``cwd`` (an SSH session's shell, but errexit)."""
        env = {"PATH": self.PATH, "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb", "DEBIAN_FRONTEND": "noninteractive"}
        full = f"set -eo pipefail\ncd {shlex.quote(cwd)}\n{script}"
        return sh("chroot", str(self.dir), "/usr/bin/env", "-i", *[f"{k}={v}" for k, v in env.items()],
                  "/bin/bash", "-c", full, log=log, timeout=timeout, stdin=subprocess.DEVNULL)

    def popen(self, argv: list[str], env: dict[str, str], cwd: str, user: str, log: Path) -> subprocess.Popen[bytes]:
        """A unit's ExecStart as systemd starts it: its user and groups, working directory, environment."""
        inner = (f"cd {shlex.quote(cwd)} && exec setpriv --reuid={user} --regid={user} --init-groups "
                 f"/usr/bin/env -i {' '.join(shlex.quote(f'{k}={v}') for k, v in env.items())} {shlex.join(argv)}")
        out = log.open("ab")
        return subprocess.Popen(["chroot", str(self.dir), "/bin/sh", "-c", inner], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def prepare(root: Chroot, log: Path) -> str:
    """What a Raspberry Pi OS Lite image has and a bare debootstrap root has not (nothing the guide installs)."""
    for name in ("resolv.conf", "hosts"):
        shutil.copy(f"/etc/{name}", root.path(f"/etc/{name}"))
    root.path("/etc/hostname").write_text(socket.gethostname() + "\n")
    # A TLS-inspecting proxy between this machine and PyPI: its CA, as the host trusts it.
    local_cas = sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))
    for ca in local_cas:
        shutil.copy(ca, root.path(f"/usr/local/share/ca-certificates/{ca.name}"))
    if local_cas:
        root.run("update-ca-certificates >/dev/null", log, cwd="/")
    # No daemons start inside a chroot (Debian's policy-rc.d convention).
    policy = root.path("/usr/sbin/policy-rc.d")
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    # sudo keeps apt quiet (no debconf questions) as an SSH session would with a terminal.
    root.path("/etc/sudoers.d/pi-check").write_text('Defaults env_keep += "DEBIAN_FRONTEND"\n')
    root.path("/etc/sudoers.d/pi-check").chmod(0o440)
    # Pi OS has these groups (raspberrypi-sys-mods, udev); the guide's useradd names them.
    root.run("for g in dialout video render input gpio i2c spi; do getent group $g >/dev/null || groupadd --system $g; done",
             log, cwd="/")
    # pip's download cache, shared across runs; pip's default would be each user's ~/.cache. Behind
    # that proxy, pip must trust the system's CAs (its own bundle, certifi, lacks the proxy's).
    cert = "cert = /etc/ssl/certs/ca-certificates.crt\n" if local_cas else ""
    root.path("/etc/pip.conf").write_text(f"[global]\ncache-dir = /var/cache/pip-shared\n{cert}")
    root.path(WORK).mkdir(parents=True, exist_ok=True)
    return f"host CAs copied: {len(local_cas)}"


GIT = threading.Lock()          # one git command at a time in the worktree (its index lock)


def publish_source(root: Chroot, log: Path) -> str:
    """The worktree as a repository in the root, for the guide's `git clone` (tracked files, uncommitted edits too)."""
    with GIT:
        return _publish_source(root, log)


def _publish_source(root: Chroot, log: Path) -> str:
    rev = sh("git", "-C", str(ROOT), "stash", "create").strip() or sh("git", "-C", str(ROOT), "rev-parse", "HEAD").strip()
    bare = root.path(REPO)
    sh("git", "init", "-q", "--bare", str(bare), log=log)
    sh("git", "-C", str(ROOT), "push", "-q", "--no-verify", str(bare), f"{rev}:refs/heads/main", log=log)
    sh("git", "--git-dir", str(bare), "symbolic-ref", "HEAD", "refs/heads/main", log=log)
    dirty = bool(sh("git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no").strip())
    return f"{rev[:12]}{' (HEAD + uncommitted changes)' if dirty else ''}"


# ---------------------------------------------------------------- the office on the host


class Office:
    def __init__(self, where: Path, log: Path) -> None:
        self.dir, self.log = where, log
        self.gatepass = ROOT / ".venv" / "bin" / "gatepass"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.slip_id = ""
        self.slip_png = Path()

    def cmd(self, *args: str) -> str:
        return sh(str(self.gatepass), "office", *args[:1], "--config", "office.toml", *args[1:], cwd=self.dir, log=self.log)

    def set_up(self) -> str:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        (self.dir / "office.toml").write_text(
            'estate = "default"\ntimezone = "Asia/Shanghai"\nkeys = "keys"\nslips_dir = "slips"\n\n'
            '[database]\nurl = "sqlite:///office.db"\n\n'
            f'[server]\nhost = "127.0.0.1"\nport = {self.port}\nworkers = 1\n', encoding="utf-8")
        self.cmd("init")
        self.cmd("add-gate", "north", "--credential-file", "north.credential")
        self.cmd("add-unit", UNIT_ID)
        self.cmd("add-guard", "G1", "--name", "王保安", "--badge", GUARD_BADGE, "--pin", GUARD_PIN)
        self.cmd("set-rule", "large_item_hours", json.dumps(
            {"large_items_from": "00:00:00", "large_items_until": "23:59:59", "allow_non_working_days": True}))
        out = self.cmd("issue-slip", "--unit", UNIT_ID, "--kind", "owner", "--applicant", "张三", "--item", "冰箱:1:180cm",
                       "--approve", "handler=李", "--approve", "butler_head=王", "--out", "slips")
        m = re.search(r"slip (\S+) issued; QR code: (\S+\.png)", out)
        if not m:
            raise RuntimeError(f"issue-slip said: {out}")
        self.slip_id, self.slip_png = m.group(1), self.dir / m.group(2)
        self.proc = subprocess.Popen([str(self.gatepass), "office", "serve", "--config", "office.toml"], cwd=self.dir,
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait("the office to listen", lambda: port_open(self.port), 60, self.proc)
        return f"{self.url}, slip {self.slip_id}"

    def hmac_key(self) -> Path:
        found = sorted(self.dir.glob("keys/**/id-hmac.key"))
        if not found:
            raise RuntimeError(f"no id-hmac.key under {self.dir / 'keys'}")
        return found[0]

    def released_rows(self) -> list[dict[str, Any]]:
        day = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
        out = sh(str(self.gatepass), "office", "export-log", "--config", "office.toml", "--from",
                 str(day - dt.timedelta(days=1)), "--to", str(day + dt.timedelta(days=1)), "--format", "json", cwd=self.dir)
        rows = json.loads(out) if out.strip() else []
        return [r for r in rows if r.get("kind") == "release" and r.get("slip_id") == self.slip_id]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait(what: str, predicate: Any, timeout: float, *procs: subprocess.Popen[bytes] | None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        for p in procs:
            if p is not None and p.poll() is not None:
                raise RuntimeError(f"waiting for {what}: {str(p.args)[-200:]} exited {p.returncode}")
        time.sleep(0.5)
    raise RuntimeError(f"no {what} within {timeout:.0f} s")


def read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


# ---------------------------------------------------------------- the stand-ins for hardware


def rdm_frame(uid: str) -> bytes:
    raw = bytes.fromhex(uid)
    xor = 0
    for b in raw:
        xor ^= b
    return b"\x02" + (raw.hex().upper() + f"{xor:02X}").encode() + b"\x03"


def grey_png(path: Path, w: int = 640, h: int = 480) -> None:
    """An empty counter in front of the camera: frames arrive, no code in them."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x60" * w for _ in range(h))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def set_key(text: str, table: str, key: str, value: Any) -> str:
    """One key of one table of a TOML text changed, comments kept (as an installer edits it)."""
    head = re.search(rf"^\[{re.escape(table)}\]\s*$", text, re.M)
    if head is None:
        raise RuntimeError(f"no [{table}] in the config")
    nxt = re.search(r"^\[", text[head.end():], re.M)
    end = head.end() + (nxt.start() if nxt else len(text) - head.end())
    line = f"{key} = {json.dumps(value, ensure_ascii=False)}"
    body, n = re.subn(rf"^{re.escape(key)}\s*=.*$", line, text[head.end():end], count=1, flags=re.M)
    if n == 0:
        body = body.rstrip("\n") + f"\n{line}\n\n"
    return text[:head.end()] + body + text[end:]


def parse_unit(path: Path) -> dict[str, list[str]]:
    """The [Service] keys of a unit file, each key's values in order."""
    service: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section == "Service":
            key, _, value = line.partition("=")
            service.setdefault(key.strip(), []).append(value.strip())
    return service


def unit_env(service: dict[str, list[str]]) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "USER": "gatepass"}
    for line in service.get("Environment", []):
        for item in shlex.split(line):
            k, _, v = item.partition("=")
            env[k] = v
    return env


# ---------------------------------------------------------------- one release


def check_release(dist: str, cache: Path, report: Report, keep: bool) -> bool:
    logs = cache / f"{dist}-logs"
    shutil.rmtree(logs, ignore_errors=True)
    r = Runner(report, dist, logs)
    root = Chroot(cache, dist)
    office = Office(cache / f"{dist}-office", logs / "office.log")
    master, slave = os.openpty()
    tty.setraw(slave)
    reader = os.ttyname(slave)
    os.chmod(reader, 0o666)                 # the udev rule's GROUP="dialout" MODE="0660", near enough
    subs = substitutions(reader)
    blocks = guide_blocks(GUIDE.read_text(encoding="utf-8"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        r.step("root: debootstrap arm64 (cached)", sh, "bash", str(HERE / "build-root.sh"), dist, str(cache),
               log=logs / "root.log", timeout=7200)
        r.step("root: fresh copy", root.copy_base)
        root.mount()
        r.step("root: what Pi OS Lite has (CAs, groups, no daemons)", prepare, root, logs / "prepare.log")
        report.source = r.step("source: the worktree as the guide's clone URL", publish_source, root, logs / "source.log")
        r.step("office on the host: init, gate, guard, slip, serve", office.set_up)
        shutil.copy(office.dir / "north.credential", root.path(f"{WORK}/north.credential"))
        shutil.copy(office.hmac_key(), root.path(f"{WORK}/id-hmac.key"))
        camera = root.path(CAMERA)
        camera.mkdir(parents=True, exist_ok=True)
        grey_png(camera / "view.png")
        camera.chmod(0o755)
        (camera / "view.png").chmod(0o644)
        text = (ROOT / "config" / "production.toml").read_text(encoding="utf-8")
        for table, key, value in (("reader", "port", reader), ("camera", "source", CAMERA),
                                  ("sync", "office_url", office.url), ("sync", "pull_interval_s", 1.0),
                                  ("sync", "push_delay_s", 0.1), ("sync", "backoff_min_s", 0.2),
                                  ("sync", "backoff_max_s", 2.0), ("sync", "heartbeat_interval_s", 5.0),
                                  ("sync", "timeout_s", 30.0)):
            text = set_key(text, table, key, value)
        root.path(f"{WORK}/kiosk.toml").write_text(text, encoding="utf-8")

        for name, code in blocks:
            if name in AFTER_WALK:
                continue
            script = substituted(name, code, subs)
            r.step(f"guide: {name}", root.run, script, logs / f"guide-{name}.log", 7200)
            if name == "sysdeps":
                report.facts.setdefault(dist, {}).update(facts(root, logs / "facts.log"))

        # The walk runs on mock pins: import what was compiled from source, lgpio as the kiosk's user would.
        r.step("venv: the source-built evdev and lgpio import", root.run,
               "sudo -u gatepass env LG_WD=/tmp /opt/gatepass/.venv/bin/python -c "
               "'import evdev, lgpio, gpiozero.pins.lgpio; print(\"evdev\", evdev.__file__, \"lgpio\", lgpio.__file__)'",
               logs / "imports.log", 600, "/tmp")

        # -- step 8 without systemd: the units' ExecStart, as the unit files say.
        kiosk_unit = parse_unit(ROOT / "systemd" / "gatepass-kiosk.service")
        sync_unit = parse_unit(ROOT / "systemd" / "gatepass-sync.service")

        def runtime_dir() -> str:
            root.run("install -d -o gatepass -g gatepass -m 0750 /run/gatepass "
                     "&& chown gatepass:gatepass /var/lib/gatepass && chmod 0750 /var/lib/gatepass",
                     logs / "units.log", cwd="/")
            return "RuntimeDirectory and StateDirectory as systemd makes them"
        r.step("units: directories as systemd makes them", runtime_dir)
        status, health = root.path("/run/gatepass/sync-status.json"), root.path("/run/gatepass/kiosk-health.json")
        shots = root.path("/run/gatepass/screens")

        def start_sync() -> str:
            argv = shlex.split(sync_unit["ExecStart"][-1])
            procs.append(root.popen(argv, unit_env(sync_unit), sync_unit["WorkingDirectory"][-1], "gatepass",
                                    logs / "sync.log"))
            wait("the daemon's first pull", lambda: (read_json(status).get("pull_cursor") or 0) > 0, WAIT_S, procs[-1])
            return f"pull_cursor {read_json(status).get('pull_cursor')}"
        r.step("sync daemon: first pull from the office", start_sync)

        walk = [{"until": "sign_in_pin", "timeout": WAIT_S}, {"pin": GUARD_PIN}, {"until": "idle", "timeout": WAIT_S},
                {"until": "slip_items", "timeout": WAIT_S}, {"tap": "all_match"}, {"tap": "confirm_identity"},
                {"pin": GUARD_PIN}, {"until": "released", "timeout": WAIT_S}]
        root.path(WALK).parent.mkdir(parents=True, exist_ok=True)
        root.path(WALK).write_text(json.dumps(walk), encoding="utf-8")
        root.path(WALK).parent.chmod(0o755)
        root.path(WALK).chmod(0o644)

        def start_kiosk() -> str:
            argv = shlex.split(kiosk_unit["ExecStart"][-1]) + [
                "--headless", "--script", WALK, "--screenshots", "/run/gatepass/screens", "--mock-pins"]
            procs.append(root.popen(argv, unit_env(kiosk_unit), kiosk_unit["WorkingDirectory"][-1], "gatepass",
                                    logs / "kiosk.log"))
            wait("the kiosk's first screen", lambda: list(shots.glob("*_idle.png")), WAIT_S, procs[-1])
            wait("the reader online", lambda: read_json(health).get("devices", {}).get("reader", {}).get("state")
                 == "online", WAIT_S, procs[-1])
            return ""
        r.step("kiosk: up, first frame, reader open", start_kiosk)
        kiosk = procs[-1]

        def sign_in() -> str:
            for _ in range(4):
                os.write(master, rdm_frame(GUARD_BADGE))
                time.sleep(0.1)
            wait("the guard signed in", lambda: len(list(shots.glob("*_idle.png"))) >= 2, WAIT_S, kiosk)
            return ""
        r.step("walk: guard badge + PIN", sign_in)

        def release() -> str:
            part = camera / "view.part"
            shutil.copy(office.slip_png, part)
            part.chmod(0o644)
            part.replace(camera / "view.png")
            wait("the slip released", lambda: list(shots.glob("*_released.png")), WAIT_S, kiosk)
            kiosk.wait(WAIT_S)
            if kiosk.returncode != 0:
                raise RuntimeError(f"the kiosk's walk exited {kiosk.returncode} (see {logs / 'kiosk.log'})")
            return ""
        r.step("walk: slip to the camera, items, sign-off, released", release)

        def pushed() -> str:
            rows = wait("the release row at the office", office.released_rows, WAIT_S, procs[0])
            # What step 9 tells the installer to look for in the daemon's status.
            done = wait("the daemon's status: ok, outbox empty", lambda: read_json(status).get("state") == "ok"
                        and read_json(status).get("outbox_depth") == 0, WAIT_S, procs[0])
            return f"office export-log: {len(rows)} release row(s) of slip {office.slip_id}; status ok, outbox 0: {done}"
        r.step("sync daemon: the release pushed, seen at the office", pushed)

        for name, code in blocks_after(blocks):
            r.step(f"guide: {name}", root.run, substituted(name, code, subs), logs / f"guide-{name}.log", 600)
        return True
    except StepFailed:
        return False
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
        office.stop()
        os.close(master)
        os.close(slave)
        root.unmount()
        if not keep:
            shutil.rmtree(root.dir, ignore_errors=True)


#: Blocks that check a running gate: run after the walk, not in the install's order.
AFTER_WALK = ("acceptance-checks",)


def blocks_after(blocks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(n, c) for n, c in blocks if n in AFTER_WALK]


def facts(root: Chroot, log: Path) -> dict[str, str]:
    """What the release really has: Python, glibc, and the apt packages of lgpio (for the guide)."""
    out = root.run("python3 -c 'import platform,sys; print(sys.version.split()[0], *platform.libc_ver())'; "
                   "apt-cache policy python3-lgpio liblgpio-dev swig 2>/dev/null | grep -E '^[a-z]|Candidate' || true",
                   log, cwd="/")
    lines = out.strip().splitlines()
    return {"python, libc": lines[0] if lines else "", "apt": " ".join(x.strip() for x in lines[1:])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dists", nargs="*", default=list(DISTS), help=f"releases (default: all): {', '.join(DISTS)}")
    ap.add_argument("--cache", type=Path, default=Path("/var/cache/gatepass-pi-roots"))
    ap.add_argument("--report", type=Path, default=ROOT / "var" / "pi-install-report.json")
    ap.add_argument("--keep", action="store_true", help="keep each release's installed root (CACHE/DIST-run)")
    ap.add_argument("--one-at-a-time", action="store_true",
                    help="one release after the other (default: side by side, each mostly waiting on qemu)")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("needs root (debootstrap, chroot, mounts): sudo make pi-install-check", file=sys.stderr)
        return 2
    unknown = [d for d in args.dists if d not in DISTS]
    if unknown:
        print(f"unknown release(s) {unknown}: {', '.join(DISTS)}", file=sys.stderr)
        return 2
    if not (ROOT / ".venv" / "bin" / "gatepass").exists():
        print("the office runs from this checkout's venv: make venv-test first", file=sys.stderr)
        return 2
    blocks = guide_blocks(GUIDE.read_text(encoding="utf-8"))
    print(f"{GUIDE.relative_to(ROOT)}: {len(blocks)} marked blocks: {', '.join(n for n, _ in blocks)}")
    for sub_block, subs in substitutions("/dev/pts/N").items():
        for s in subs:
            print(f"  substituted in {sub_block}: {s.old!r} -> {s.new!r} ({s.why})")
    report = Report(args.report)
    with ThreadPoolExecutor(max_workers=1 if args.one_at_a_time else len(args.dists)) as pool:
        futures = {d: pool.submit(check_release, d, args.cache, report, args.keep) for d in args.dists}
        results = {d: f.result() for d, f in futures.items()}
    report.write()
    print()
    print(report.table())
    print()
    for d, ok in results.items():
        print(f"{d} ({DISTS[d]}): {'PASSED' if ok else 'FAILED'}; logs in {args.cache / (d + '-logs')}")
    for d, f in report.facts.items():
        print(f"{d}: {f}")
    print(f"report: {args.report}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
