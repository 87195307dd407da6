"""Network cuts between a gate and the office: every event arrives exactly once, the replica converges.

The real daemon (`python -m sync`) talks to a real office (uvicorn on 127.0.0.1) through a
switchable TCP proxy (tests/faults/netproxy.py). While the kiosk side appends events to the
gate's exit log and the office issues, revokes and reports permits lost and changes a unit's
fees, the proxy flips at random between pass and a fault: connections reset, blackholed
(accepted, then nothing), or responses cut partway (the office committed, the gate never
heard). When the network is back: each committed event is at the office exactly once and in
order, no flag was raised, and the gate's replica equals the office's tables.

The default suite runs a few short cuts; `make faults` (`-m faults`) runs the campaign.
"""
from __future__ import annotations

import json
import random
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.errors import StoreError
from domain.exitrow import EntryKind, LogEntry
from domain.model import PermitStatus
from domain.statusfiles import read_status
from kiosk.exitlog import ExitLog
from kiosk.store import REPLICA_TABLES
from office import schema
from office.records import set_fees, set_permit_status
from tests.faults.netproxy import BLACKHOLE, CUT, DROP, PASS, NetProxy
from tests.office.conftest import office  # noqa: F401 - the shared fixture (real uvicorn on 127.0.0.1)
from tests.office.harness import CST, GateSite, OfficeServer, wait_for

FAULTS = (DROP, BLACKHOLE, CUT)
#: Replica tables compared with the office's (photos: none are made here).
COMPARED = [t for t in REPLICA_TABLES if t != "photos"]


def _set(text: str, key: str, value: str) -> str:
    """Replace ``key = ...`` in the harness's [sync] table (TOML refuses a key given twice)."""
    new, n = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.M)
    return new if n else text.replace("[sync]\n", f"[sync]\n{key} = {value}\n", 1)


def gate_behind(proxy: NetProxy, office: OfficeServer, tmp_path: Path) -> GateSite:
    """A gate whose daemon reaches the office only through ``proxy``, with short timers."""
    gate = GateSite(tmp_path, "north", office, pull_interval_s=0.3, push_batch=20)
    text = gate.config.read_text().replace(f'office_url = "{office.url}"', f'office_url = "{proxy.url}"')
    for key, value in (("timeout_s", "1.0"), ("backoff_min_s", "0.05"), ("backoff_max_s", "0.5"),
                       ("heartbeat_interval_s", "0.5"), ("push_delay_s", "0.05")):
        text = _set(text, key, value)
    gate.config.write_text(text)
    assert proxy.url in gate.config.read_text() and office.url not in gate.config.read_text()
    return gate


@dataclass
class Activity:
    """What the kiosk and the office did during the campaign (written by their threads)."""

    recorded: list[str] = field(default_factory=list)     # event ids, in seq order
    office_writes: int = 0
    errors: list[str] = field(default_factory=list)


def kiosk_writer(log: ExitLog, act: Activity, stop: threading.Event, rng: random.Random) -> None:
    """Append card passes and releases (each against its own slip id) as a kiosk would."""
    n = 0
    while not stop.is_set():
        n += 1
        if rng.random() < 0.2:
            entry = LogEntry(EntryKind.RELEASE, datetime.now(CST), guard_id="G1", slip_id=f"S{n:08d}")
        else:
            entry = LogEntry(EntryKind.CARD_PASS, datetime.now(CST), card_uid=f"CARD-{rng.randint(1, 40)}")
        try:
            act.recorded.append(log.append(entry, clock_synced=True)["event_id"])
        except StoreError as exc:  # busy for a moment: the kiosk retries; nothing was committed
            act.errors.append(str(exc))
        stop.wait(rng.uniform(0.0, 0.2))  # ~10 events a second: a very busy gate


def office_writer(office: OfficeServer, act: Activity, stop: threading.Event, rng: random.Random) -> None:
    """Issue permits, revoke them, report them lost, flip a unit's fees: all replica changes."""
    cards: list[str] = []
    n = 0
    while not stop.is_set():
        action = rng.random()
        if action < 0.45 or not cards:
            n += 1
            cards.append(f"OFF-{n}")
            office.issue_permit(cards[-1], unit_id=rng.choice(["3-2-1502", "3-2-1503"]))
        elif action < 0.8:
            status = PermitStatus.REVOKED if action < 0.65 else PermitStatus.LOST
            with office.engine.begin() as conn:
                set_permit_status(conn, "default", cards.pop(rng.randrange(len(cards))), status)
        else:
            with office.engine.begin() as conn:
                set_fees(conn, "default", rng.choice(["3-2-1502", "3-2-1503"]), unpaid=rng.random() < 0.5)
        act.office_writes += 1
        stop.wait(rng.uniform(0.02, 0.25))


def _norm(v: Any) -> Any:
    return bytes(v).hex() if isinstance(v, (bytes, memoryview)) else v


def replica_tables(path: Path) -> dict[str, set[str]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        out = {}
        for t in COMPARED:
            cols = [r[1] for r in conn.execute(f"pragma table_info([{t}])")]
            out[t] = {json.dumps(dict(zip(cols, map(_norm, r))), sort_keys=True, default=str)
                      for r in conn.execute(f"select * from [{t}]")}
        return out
    finally:
        conn.close()


def office_tables(office: OfficeServer, columns: dict[str, list[str]]) -> dict[str, set[str]]:
    out = {}
    with office.engine.connect() as conn:
        for t in COMPARED:
            table = schema.metadata.tables[t]
            cols = columns[t]
            rows = conn.execute(select(*[table.c[c] for c in cols]).where(table.c.estate == "default")).all()
            out[t] = {json.dumps(dict(zip(cols, map(_norm, r))), sort_keys=True, default=str) for r in rows}
    return out


def replica_columns(path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return {t: [r[1] for r in conn.execute(f"pragma table_info([{t}])")] for t in COMPARED}
    finally:
        conn.close()


def converged(gate: GateSite, office: OfficeServer, recorded: list[str]) -> bool:
    if office.count(schema.events) < len(recorded):  # cheap test first: the office runs in this process
        return False
    try:
        mine = replica_tables(gate.replica_path)
    except sqlite3.Error:
        return False
    return mine == office_tables(office, replica_columns(gate.replica_path))


@dataclass
class Figures:
    cuts: int
    by_mode: dict[str, int]
    cut_seconds: float
    events: int
    office_writes: int
    drain_s: float
    proxy: dict[str, Any]
    wall_s: float


def cut_campaign(office: OfficeServer, tmp_path: Path, *, cuts: int, cut_s: tuple[float, float],
                 pass_s: tuple[float, float], seed: int, drain_timeout_s: float = 30.0) -> Figures:
    started = time.monotonic()
    rng = random.Random(seed)
    office.add_unit("3-2-1503")
    proxy = NetProxy(office.port, seed=seed)
    gate = gate_behind(proxy, office, tmp_path)
    act = Activity()
    stop = threading.Event()
    writers = [threading.Thread(target=kiosk_writer, args=(gate.log, act, stop, random.Random(seed + 1)), daemon=True),
               threading.Thread(target=office_writer, args=(office, act, stop, random.Random(seed + 2)), daemon=True)]
    proc = gate.spawn()
    by_mode = {m: 0 for m in FAULTS}
    cut_total = 0.0
    try:
        for w in writers:
            w.start()
        for _ in range(cuts):
            time.sleep(rng.uniform(*pass_s))
            mode = rng.choice(FAULTS)
            by_mode[mode] += 1
            proxy.set_mode(mode)
            length = rng.uniform(*cut_s)
            cut_total += length
            time.sleep(length)
            proxy.set_mode(PASS)
        # The network is back for good: stop the kiosk and the office, and time the drain.
        stop.set()
        for w in writers:
            w.join(10)
        assert not any(w.is_alive() for w in writers)
        restored = time.monotonic()
        assert wait_for(lambda: converged(gate, office, act.recorded), timeout=drain_timeout_s, interval=0.2), \
            f"not converged {drain_timeout_s} s after the last cut: office has {len(office.events('north'))} " \
            f"of {len(act.recorded)} events; status {read_status(gate.status_path)}"
        drain_s = time.monotonic() - restored
        # The kiosk's status bar sees a healthy link again: nothing waiting, no error shown.
        assert wait_for(lambda: (lambda st: st.get("outbox_depth") == 0 and st.get("state") == "ok"
                                 and st.get("error") is None)(read_status(gate.status_path) or {}), timeout=10), \
            read_status(gate.status_path)
        assert proc.poll() is None, "the daemon must survive every cut"
    finally:
        stop.set()
        proxy.set_mode(PASS)
        proc.terminate()
        rc = proc.wait(10)
        err = proc.stderr.read().decode() if proc.stderr else ""
        proxy.close()
    assert rc == 0, err
    assert "Traceback" not in err, err

    events = office.events("north")
    assert [e["event_id"] for e in events] == act.recorded          # each exactly once, in order
    assert [e["seq"] for e in events] == list(range(1, len(act.recorded) + 1))
    assert office.flags() == []                                      # no gap, fork, edit or double use
    assert office.count(schema.held_events) == 0
    with office.engine.connect() as conn:                           # the gate's cursor is the office's last change
        last_change = conn.execute(select(func.max(schema.changes.c.seq))
                                   .where(schema.changes.c.estate == "default")).scalar_one()
    rconn = sqlite3.connect(f"file:{gate.replica_path}?mode=ro", uri=True)
    try:
        cursor = int(rconn.execute("select value from replica_meta where name = 'pull_cursor'").fetchone()[0])
    finally:
        rconn.close()
    assert cursor == last_change
    return Figures(cuts=cuts, by_mode=by_mode, cut_seconds=round(cut_total, 1), events=len(act.recorded),
                   office_writes=act.office_writes, drain_s=round(drain_s, 2),
                   proxy=dict(vars(proxy.stats)), wall_s=round(time.monotonic() - started, 1))


def _report(fig: Figures) -> None:
    print(f"\nnetwork-cut campaign: {fig}")


def test_short_network_cuts_lose_and_repeat_nothing(office: OfficeServer, tmp_path: Path) -> None:
    fig = cut_campaign(office, tmp_path, cuts=6, cut_s=(0.1, 0.6), pass_s=(0.05, 0.3), seed=6)
    _report(fig)
    assert fig.events >= 15 and fig.office_writes >= 5
    assert fig.proxy["resets"] >= 1



@pytest.mark.faults
@pytest.mark.timeout(600)
def test_network_cut_campaign(office: OfficeServer, tmp_path: Path) -> None:
    fig = cut_campaign(office, tmp_path, cuts=60, cut_s=(0.2, 3.0), pass_s=(0.05, 1.0), seed=2026)
    _report(fig)
    assert fig.events >= 1000
    assert all(n >= 10 for n in fig.by_mode.values())
    assert fig.proxy["cut_responses"] >= 5, "some replies must have been cut after the office committed"
    assert fig.drain_s < 10


def _permit_status(replica: Path, card: str) -> str | None:
    conn = sqlite3.connect(f"file:{replica}?mode=ro", uri=True, timeout=1)
    try:
        row = conn.execute("select status from permits where card_uid = ?", (card,)).fetchone()
        return row[0] if row else None
    except sqlite3.Error:
        return None
    finally:
        conn.close()


@pytest.mark.faults      # counts latencies (watchdog gaps, status age): run by `make faults`, not the default suite
def test_a_slow_link_draining_a_backlog_keeps_watchdog_status_and_revocations_coming(
        office: OfficeServer, tmp_path: Path) -> None:
    """systemd kills a daemon that misses WatchdogSec, the kiosk calls one whose status is
    older than 5 s "not running", and a revoked card must be refused within two pull
    intervals: all three must hold while a long backlog drains over a slow link."""
    import os
    import socket
    import subprocess
    import sys
    import tempfile

    from tests.office.harness import ROOT

    proxy = NetProxy(office.port)
    gate = gate_behind(proxy, office, tmp_path)
    gate.config.write_text(_set(gate.config.read_text(), "push_batch", "3"))
    office.issue_permit("CARD-9")
    sock_dir = tempfile.mkdtemp(prefix="gp-notify-")               # AF_UNIX paths must be short
    address = os.path.join(sock_dir, "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(0.2)
    pings: list[float] = []

    def receive() -> str:
        try:
            return listener.recv(4096).decode()
        except TimeoutError:
            return ""

    oldest_status_s = 0.0
    env = dict(os.environ, NOTIFY_SOCKET=address, WATCHDOG_USEC="2000000")   # WatchdogSec=2: ping every 1 s
    proc = subprocess.Popen([sys.executable, "-m", "sync", "--config", str(gate.config)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: "READY=1" in receive(), timeout=10)
        assert wait_for(lambda: _permit_status(gate.replica_path, "CARD-9") == "active", timeout=10)
        # Running and ready (systemd now enforces WatchdogSec); then the link turns slow and a
        # burst of 36 events (12 requests) waits to be pushed.
        proxy.set_latency(0.25)                                    # each reply takes >= 0.25 s
        backlog = [gate.record()["event_id"] for _ in range(36)]
        burst = time.monotonic()
        with office.engine.begin() as conn:
            set_permit_status(conn, "default", "CARD-9", PermitStatus.REVOKED)
        revoked_seen: float | None = None
        deadline = time.monotonic() + 60
        while len(office.events("north")) < len(backlog) and time.monotonic() < deadline:
            message = receive()
            if "WATCHDOG=1" in message:
                pings.append(time.monotonic())
            updated = (read_status(gate.status_path) or {}).get("updated_at")
            if updated:
                age = time.time() - datetime.fromisoformat(updated).timestamp()
                oldest_status_s = max(oldest_status_s, age)
            if revoked_seen is None and _permit_status(gate.replica_path, "CARD-9") == "revoked":
                revoked_seen = time.monotonic()
        drained = time.monotonic()
    finally:
        proc.terminate()
        rc = proc.wait(10)
        listener.close()
        proxy.close()
        err = proc.stderr.read().decode() if proc.stderr else ""
    assert rc == 0, err
    assert [e["event_id"] for e in office.events("north")] == backlog
    marks = [burst, *pings, drained]
    gaps = [b - a for a, b in zip(marks, marks[1:])]
    assert max(gaps) < 2.0, f"the watchdog went {max(gaps):.1f} s without a ping while the backlog drained"
    assert oldest_status_s < 6.5, f"the status file went {oldest_status_s:.1f} s without a rewrite (the kiosk's limit: 5 s)"
    # pull_interval_s = 0.3 and every reply takes >= 0.25 s: a few pull rounds at most, well
    # before the backlog is through (pulls used to wait for the whole drain).
    assert revoked_seen is not None and revoked_seen - burst < 2.5, \
        f"revocation at the gate after {'(never)' if revoked_seen is None else f'{revoked_seen - burst:.1f} s'}; " \
        f"the backlog was through after {drained - burst:.1f} s"
