"""`make bench-office`: the office under thousands of gates, on PostgreSQL, with several server processes.

Load-generator processes (``generators``, estates dealt out among them) simulate the gates
with asyncio and httpx (the sync daemon's HTTP library) against `gatepass office serve
--workers N` on loopback. In each, one task plays every gate's kiosk, recording rows on its
own schedule, and one task per gate plays its sync daemon, at the daemon's own rates
(kiosk/config.py SyncConfig: pull every ``pull_interval_s``, heartbeat every
``heartbeat_interval_s``, push ``push_delay_s`` after a new row, ``push_batch`` rows a push),
with real rows: `domain.exitrow.ExitRow` sealed into a hash chain by `domain.chain`,
pushed as the daemon pushes them and answered by the office's real ingest. Pulled changes
are applied to an in-memory replica of every gate, and for one gate per estate also through
the real `sync.replica_writer.ReplicaWriter` into a SQLite replica file.

The day it plays (``LoadPlan``): every gate records a row every 30 s on average (card passes,
a few refusals); in the middle third of the measured window the first ``rush_estates``
estates have their morning move-out rush: five times the rows, and the office issues them
five times the move-out slips, which their designated gates then release (a release consumes
the slip: a ``consumed_slips`` change every gate of the estate pulls). Throughout, the office
issues slips and revokes permits (changes to pull), and 2 % of pushes also resend the batch
before (a reply lost on the way: the office must answer duplicates, never store twice).

At the end every gate pushes what it has left and pulls to its estate's head, then it checks
that every event is stored exactly once (the office's events table equals, row for row, the
rows the gates made: same event ids, sequence numbers and hashes, no id twice) and that every
replica equals the office (each gate's replica, table by table and row by row, against the
office's replicated tables, and each gate's cursor at its estate's last change; the SQLite
replicas against the same tables, column by column).

Figures: sustained accepted events/s (and during the rush), p50/p99 latency of push, pull and
heartbeat as a gate sees them, errors (must be 0), server CPU seconds per 1,000 gates per
minute (the server processes' own CPU time from /proc, PostgreSQL's backends apart), and the
events table's size (with its indexes) per million events; also the rows offered, the rows
still waiting at the gates when the window closes, and the generators' own CPU and event-loop
lag: they run on the same machine and, on a small one, compete with the server.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLERK_APP = "gatepass-bench-clerk"
GATES_PER_CLIENT = 20
_SYNC_DEFAULTS: Any = None


def _sync_defaults() -> Any:
    global _SYNC_DEFAULTS
    if _SYNC_DEFAULTS is None:
        from kiosk.config import SyncConfig

        _SYNC_DEFAULTS = SyncConfig()
    return _SYNC_DEFAULTS


@dataclass(frozen=True)
class LoadPlan:
    """What is simulated, for how long. Intervals are a real gate's (seconds); ``speed`` divides
    every interval and multiplies every rate (a compressed day for CI; 1 for the benchmark)."""

    gates: int = 2000
    estates: int = 20
    #: Measured seconds (after a warm-up of one pull interval in which gates start and make their first pull).
    duration_s: float = 240.0
    workers: int = 4
    speed: float = 1.0
    rows_per_gate_per_min: float = 2.0
    rush_estates: int = 5
    rush_factor: float = 5.0
    #: Move-out slips the office issues per estate per minute (times rush_factor in a rush estate's rush).
    slips_per_estate_per_min: float = 0.5
    #: Permits revoked per minute, over all estates.
    revocations_per_min: float = 4.0
    replay_share: float = 0.02
    pull_interval_s: float = field(default_factory=lambda: float(_sync_defaults().pull_interval_s))
    heartbeat_interval_s: float = field(default_factory=lambda: float(_sync_defaults().heartbeat_interval_s))
    push_delay_s: float = field(default_factory=lambda: float(_sync_defaults().push_delay_s))
    push_batch: int = field(default_factory=lambda: int(_sync_defaults().push_batch))
    page_size: int = field(default_factory=lambda: int(_sync_defaults().page_size))
    units_per_estate: int = 40
    permits_per_estate: int = 200
    #: Connections per server worker: workers x (pool_size + max_overflow) must fit PostgreSQL's max_connections.
    #: (No overflow: connections the pool opens and closes under load would take their CPU time out of the count.)
    pool_size: int = 10
    max_overflow: int = 0
    #: Load-generator processes (estates are dealt out among them): one asyncio process gets one core's
    #: share at most, and on a small shared machine that starves it before the office.
    generators: int = 2
    #: One gate per estate also applies its pulls through the real ReplicaWriter into a SQLite file.
    sqlite_replicas: bool = True
    seed: int = 1


#: CI's short run: a compressed morning, and a replayed push often enough to be sure to happen.
QUICK = LoadPlan(gates=100, estates=4, duration_s=12.0, workers=2, speed=10.0, rush_estates=1, replay_share=0.2)


# ------------------------------------------------------------------ measuring

def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one live process (/proc/PID/stat); 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (uvicorn's master and its workers)."""
    parents: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def machine() -> dict[str, Any]:
    def first(path: str, key: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "?"

    mem_kb = first("/proc/meminfo", "MemTotal").split()[0]
    return {"nproc": os.cpu_count(), "cpu": first("/proc/cpuinfo", "model name"),
            "ram_gib": round(int(mem_kb) / 1024 / 1024, 1) if mem_kb.isdigit() else None,
            "python": platform.python_version(), "platform": platform.platform()}


class CpuMeter:
    """CPU seconds used by a set of processes between ``start`` and ``stop``. ``sample`` (called
    every second) keeps the last reading of each process, so one that exits in between (a
    database connection the pool closed) still counts up to its last sample; one that appears
    in between counts from zero."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self.pids = pids
        self.before: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.used = 0.0

    def start(self) -> None:
        self.before = {p: cpu_seconds(p) for p in self.pids()}
        self.last = dict(self.before)

    def sample(self) -> None:
        for p in self.pids():
            self.last[p] = max(self.last.get(p, 0.0), cpu_seconds(p))

    def stop(self) -> float:
        self.sample()
        self.used = sum(v - self.before.get(p, 0.0) for p, v in self.last.items())
        return self.used


# ------------------------------------------------------------------ the office

@dataclass
class SimGate:
    estate: str
    gate_id: str
    credential: str
    rush: bool
    headers: dict[str, str] = field(default_factory=dict)
    seq: int = 0
    head: str = ""
    outbox: list[dict[str, Any]] = field(default_factory=list)
    last_batch: list[dict[str, Any]] = field(default_factory=list)
    cursor: int = 0
    epoch: str = ""
    #: (table, key as JSON) -> hash of the row's JSON: this gate's replica.
    replica: dict[tuple[str, str], int] = field(default_factory=dict)
    writer: Any = None
    replica_path: Path | None = None
    #: Move-out slips issued with this gate as their exit, not yet released.
    slips: list[str] = field(default_factory=list)
    releases: int = 0
    #: The HTTP client this gate shares with a few others (see Load.run).
    http: Any = None
    #: Set by the kiosk when it records a row (an asyncio.Event).
    wake: Any = None


def row_digest(row: Any) -> int:
    """A row's fingerprint, the same in every process (str hashes are salted per process)."""
    text = json.dumps(row, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def create_database(pg_url: str, name: str) -> str:
    """(Re)create database ``name`` on the server of ``pg_url``; return its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if not name.replace("_", "").isalnum():
        raise SystemExit(f"database name {name!r}: letters, digits and _ only")
    engine = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'drop database if exists "{name}" with (force)'))
        conn.execute(text(f'create database "{name}"'))
    engine.dispose()
    return make_url(pg_url).set(database=name).render_as_string(hide_password=False)


def wipe(url: str) -> None:
    """Drop every table of the database at ``url`` (tests: GATEPASS_PG_URL is theirs to wipe)."""
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(url)
    found = MetaData()
    found.reflect(engine)
    found.drop_all(engine)
    engine.dispose()


def _with_app_name(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return u.update_query_dict({"application_name": name}).render_as_string(hide_password=False)


def estate_ids(plan: LoadPlan) -> list[str]:
    return [f"e{i:02d}" for i in range(plan.estates)]


def setup_office(url: str, tmp: Path, plan: LoadPlan) -> tuple[Path, list[SimGate], dict[str, list[str]]]:
    """Estates, keys, units, permits, guards and gates, through the office's own functions
    (what `gatepass office init / add-gate / add-unit / issue-permit / add-guard` call).
    Returns the server's settings file, the gates, and each estate's permit ids."""
    from datetime import datetime, timezone

    from domain.clock import SystemClock
    from domain.keyfiles import new_keys
    from office import schema
    from office.changes import put_rows
    from office.db import ensure_estate, open_office
    from office.records import add_gate, add_guard, import_public_keys

    keys = tmp / "keys"                  # each estate signs with its own key: keys/<estate>/ (office/config.py)
    estates = estate_ids(plan)
    cfg = tmp / "office.toml"
    cfg.write_text(f'estate = "{estates[0]}"\nkeys = "{keys}"\nslips_dir = "{tmp / "slips"}"\n'
                   f'[database]\nurl = "{url}"\npool_size = {plan.pool_size}\nmax_overflow = {plan.max_overflow}\n'
                   f'[server]\nworkers = {plan.workers}\n')
    engine = open_office(url, estates[0])
    clock = SystemClock()
    start = datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8)))
    per_estate = [plan.gates // plan.estates + (1 if i < plan.gates % plan.estates else 0) for i in range(plan.estates)]
    gates: list[SimGate] = []
    permits: dict[str, list[str]] = {}
    for ei, estate in enumerate(estates):
        units = [f"{b}-1-{r:04d}" for b in range(1, 5) for r in range(101, 101 + plan.units_per_estate // 4)]
        permits[estate] = [f"P{ei:02d}{i:05d}" for i in range(plan.permits_per_estate)]
        with engine.begin() as conn:
            ensure_estate(conn, estate)
            new_keys(keys / estate)
            import_public_keys(conn, estate, keys / estate)
            put_rows(conn, estate, schema.units, [{"unit_id": u, "building": u.split("-")[0], "room": u.split("-")[2],
                                                   "unpaid_fees": 0} for u in units], fresh=True)
            put_rows(conn, estate, schema.permits, [{
                "permit_id": pid, "card_uid": f"04{ei:02X}{i:08X}", "kind": "resident", "holder_name": "张伟",
                "id_masked": "4401**********123X", "id_hash": f"{ei:02x}{i:062x}", "photo": "", "phone": "13800000000",
                "unit_id": units[i % len(units)], "valid_from": start.isoformat(),
                "valid_until": (start + timedelta(days=730)).isoformat(), "status": "active", "replaces": ""}
                for i, pid in enumerate(permits[estate])], fresh=True)
            for k in range(2):
                add_guard(conn, estate, f"G{k}", f"保安{k}", f"B{ei:02X}{k:06X}", "2468")
            for gi in range(per_estate[ei]):
                gate_id = f"{ei:02d}g{gi:03d}"
                gates.append(SimGate(estate, gate_id, add_gate(conn, estate, gate_id, clock=clock),
                                     rush=ei < plan.rush_estates))
    engine.dispose()
    return cfg, gates, permits


class Server:
    """`gatepass office serve --workers N` as an operator starts it, on loopback."""

    def __init__(self, cfg: Path, port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "office", "serve", "--config", str(cfg), "--port", str(port)],
                                     cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_up(self, workers: int, timeout_s: float = 120.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"office server exited ({self.proc.returncode}); see {self.log.name}")
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=2).status_code == 200 and len(self.pids()) >= workers + 1:
                    time.sleep(1.0)  # the other workers finish starting
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"office server not up after {timeout_s} s; see {self.log.name}")

    def pids(self) -> list[int]:
        # uvicorn's master, its workers (and multiprocessing's resource tracker, which idles)
        return descendants(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


# ------------------------------------------------------------------ the gates

class Load:
    """Every simulated gate, the office clerk, and what they measured."""

    def __init__(self, plan: LoadPlan, server_url: str, db_url: str, tmp: Path, gates: list[SimGate],
                 permits: dict[str, list[str]], part: int = 0) -> None:
        from domain.chain import GENESIS
        from domain.clock import EstateTime

        self.plan, self.server_url, self.db_url, self.tmp = plan, server_url, db_url, tmp
        self.gates, self.permits = gates, permits
        self.rng = random.Random(plan.seed * 1000 + part)
        self.time = EstateTime.of("Asia/Shanghai")
        self.stopping = False
        self.measuring = False
        self.window: tuple[float, float] = (0.0, 0.0)
        self.rush: tuple[float, float] = (float("inf"), float("inf"))
        self.latency: dict[str, list[float]] = {"push": [], "pull": [], "heartbeat": []}
        self.requests: dict[str, int] = {"push": 0, "pull": 0, "heartbeat": 0}
        self.errors: dict[str, int] = {}
        self.error_samples: list[str] = []
        self.accepted: list[tuple[float, int]] = []       # (monotonic, rows newly accepted)
        self.duplicates_expected = self.duplicates_answered = 0
        #: event_id -> (gate, seq, hash) of every row a gate made
        self.made: dict[str, tuple[str, int, str]] = {}
        self.office_ops: dict[str, int] = {"slips": 0, "revocations": 0}
        self.lag: list[float] = []
        self.own_cpu = 0.0
        #: Rows recorded but not yet stored at the office when the window closed, over all gates.
        self.backlog = 0
        #: Rows the kiosks recorded within the window.
        self.recorded = 0
        for g in gates:
            g.head = GENESIS
            g.headers = {"Authorization": f"Bearer {g.credential}", "User-Agent": "gatepass-sync/1 (bench)"}
        self.by_estate: dict[str, list[SimGate]] = {}
        for g in gates:
            self.by_estate.setdefault(g.estate, []).append(g)
        if plan.sqlite_replicas:
            from kiosk.store import Replica
            from sync.replica_writer import ReplicaWriter

            for members in self.by_estate.values():
                g = members[0]
                g.replica_path = tmp / "replicas" / f"{g.gate_id}.db"
                g.replica_path.parent.mkdir(parents=True, exist_ok=True)
                g.writer = ReplicaWriter(Replica.open(g.replica_path))

    def error(self, kind: str, message: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.error_samples) < 20:
            self.error_samples.append(f"{kind}: {message[:300]}")

    def s(self, seconds: float) -> float:
        """A real gate's interval, compressed by ``speed``."""
        return seconds / self.plan.speed

    def in_rush(self, g: SimGate, now: float) -> bool:
        return g.rush and self.rush[0] <= now < self.rush[1]

    # -------------------------------------------------------------- HTTP

    async def call(self, kind: str, g: SimGate, method: str, path: str, **kwargs: Any) -> dict[str, Any] | None:
        import httpx

        from sync.client import API

        t0 = time.perf_counter()
        try:
            r = await g.http.request(method, API + path, headers=g.headers, **kwargs)
        except httpx.HTTPError as exc:
            self.error(kind, f"{g.gate_id}: {type(exc).__name__}: {exc}")
            return None
        elapsed = time.perf_counter() - t0
        if self.measuring:
            self.latency[kind].append(elapsed)
            self.requests[kind] += 1
        if r.status_code != 200:
            self.error(kind, f"{g.gate_id}: {r.status_code} {r.text[:200]}")
            return None
        reply: dict[str, Any] = r.json()
        return reply

    # -------------------------------------------------------------- a gate's duties

    def record(self, g: SimGate) -> None:
        """The kiosk appends one row: a release of a slip the gate has (once its replica holds it), else a card."""
        from domain.chain import seal
        from domain.exitrow import EntryKind, ExitRow, LogEntry
        from domain.reasons import Reason

        now = self.time.now()
        ready = [s for s in g.slips if ("slips", json.dumps([s])) in g.replica]
        if ready:
            g.slips.remove(ready[0])
            g.releases += 1
            entry = LogEntry(EntryKind.RELEASE, now, guard_id="G0", slip_id=ready[0], reasons=(Reason.SLIP_VALID.value,),
                             detail={"items_checked": True})
        else:
            i = self.rng.randrange(len(self.permits[g.estate]))
            ok = self.rng.random() < 0.95
            entry = LogEntry(EntryKind.CARD_PASS if ok else EntryKind.CARD_DENIED, now, guard_id="G0",
                             card_uid=f"04{int(g.estate[1:]):02X}{i:08X}", permit_id=self.permits[g.estate][i],
                             reasons=(Reason.CARD_VALID.value if ok else Reason.CARD_EXPIRED.value,))
        row = seal(ExitRow.of_entry(entry, event_id=str(uuid.uuid4()), gate_id=g.gate_id, seq=g.seq + 1,
                                    clock_synced=True, prev_hash=g.head))
        g.seq, g.head = row.seq, row.hash
        g.outbox.append(row.to_dict())
        self.recorded += self.measuring
        self.made[row.event_id] = (g.gate_id, row.seq, row.hash)

    async def push(self, g: SimGate) -> bool:
        batch = g.outbox[: self.plan.push_batch]
        replay = g.last_batch if g.last_batch and self.rng.random() < self.plan.replay_share else []
        reply = await self.call("push", g, "POST", "/events", json={"events": replay + batch})
        if reply is None:
            return False
        acked = int(reply["acked_seq"])
        if reply.get("rejected"):
            self.error("push", f"{g.gate_id}: rejected {reply['rejected'][:2]}")
        if replay:
            self.duplicates_expected += len(replay)
            self.duplicates_answered += int(reply.get("duplicates", 0))
        if acked < batch[-1]["seq"]:
            self.error("push", f"{g.gate_id}: acked {acked}, sent up to {batch[-1]['seq']} (held {reply.get('held')})")
        g.outbox = [r for r in g.outbox if r["seq"] > acked]
        g.last_batch = [r for r in batch if r["seq"] <= acked]
        if not self.stopping:
            self.accepted.append((time.monotonic(), int(reply.get("accepted", 0))))
        return True

    async def pull(self, g: SimGate) -> bool:
        from kiosk.store import REPLICA_TABLES

        while True:
            page = await self.call("pull", g, "GET", "/replica", params={"since": g.cursor, "limit": self.plan.page_size})
            if page is None:
                return False
            epoch = str(page["epoch"])
            if g.epoch and epoch != g.epoch:
                self.error("pull", f"{g.gate_id}: office epoch changed {g.epoch} -> {epoch}")
            g.epoch = epoch
            changes = page["changes"]
            for ch in changes:
                if ch["table"] not in REPLICA_TABLES:
                    continue
                key = (ch["table"], json.dumps(ch["key"]))
                if ch["op"] == "delete":
                    g.replica.pop(key, None)
                else:
                    g.replica[key] = row_digest(ch["row"])
            if g.writer is not None:
                g.writer.apply_page(changes, int(page["last_seq"]), epoch, self.time.now().isoformat(),
                                    _sync_defaults().rows_per_commit)
            g.cursor = int(page["last_seq"])
            if not page["more"]:
                return True

    async def heartbeat(self, g: SimGate) -> bool:
        from domain.contracts import DeviceHealth, DeviceState, HeartbeatBody

        now = self.time.now()
        body = HeartbeatBody(reader=DeviceHealth(DeviceState.ONLINE, "/dev/gatepass-reader open (rdm6300)", now),
                             camera=DeviceHealth(DeviceState.ONLINE, "/dev/video0 30 fps", now),
                             versions={"gatepass": "bench", "replica_cursor": str(g.cursor)}, outbox_depth=len(g.outbox),
                             sent_at=now, heartbeat_interval_s=self.plan.heartbeat_interval_s)
        return await self.call("heartbeat", g, "POST", "/heartbeat", json=body.to_json()) is not None

    async def run_kiosks(self) -> None:
        """Every gate's kiosk: rows at their own times, whatever its sync daemon is waiting for.

        Rows arrive at each gate as a Poisson process whose rate jumps in the rush: candidates come
        at the rush rate and outside the rush only one in rush_factor is kept (thinning), so the rush
        starts and ends on time. One heap for all gates rather than a task each."""
        import heapq

        plan, rng = self.plan, self.rng
        rate = plan.rows_per_gate_per_min / 60 * plan.speed
        tops = [rate * (plan.rush_factor if g.rush else 1.0) for g in self.gates]
        now = time.monotonic()
        due = [(now + rng.expovariate(tops[i]), i) for i in range(len(self.gates))]
        heapq.heapify(due)
        while not self.stopping:
            at, i = due[0]
            now = time.monotonic()
            if at > now:
                await asyncio.sleep(min(at - now, 0.5))
                continue
            heapq.heapreplace(due, (at + rng.expovariate(tops[i]), i))
            g = self.gates[i]
            if self.in_rush(g, now) or rng.random() * tops[i] < rate:
                self.record(g)
                g.wake.set()

    async def run_daemon(self, g: SimGate) -> None:
        """One gate's sync daemon: first pull somewhere in the first pull interval, then pull, push
        ``push_delay_s`` after the kiosk records, heartbeat, each on its schedule, backing off on failure."""
        plan, rng = self.plan, self.rng
        await asyncio.sleep(rng.uniform(0, self.s(plan.pull_interval_s)) * 0.9)
        now = time.monotonic()
        next_pull, next_beat = now, now + rng.uniform(0, self.s(plan.heartbeat_interval_s))
        next_push = now if g.outbox else float("inf")
        backoff = self.s(0.5)
        while not self.stopping:
            now = time.monotonic()
            if now >= next_pull:
                ok = await self.pull(g)
                next_pull = now + (self.s(plan.pull_interval_s) if ok else backoff)
            if g.outbox and time.monotonic() >= next_push:
                ok = await self.push(g)
                next_push = time.monotonic() + backoff if not ok else time.monotonic() if g.outbox else float("inf")
            if now >= next_beat:
                ok = await self.heartbeat(g)
                next_beat = now + (self.s(plan.heartbeat_interval_s) if ok else backoff)
            wake = min(next_pull, next_beat, next_push if g.outbox else float("inf"))
            g.wake.clear()
            try:
                await asyncio.wait_for(g.wake.wait(), timeout=max(0.0, wake - time.monotonic()))
            except TimeoutError:
                pass
            if g.outbox and next_push == float("inf"):
                next_push = time.monotonic() + self.s(plan.push_delay_s)

    # -------------------------------------------------------------- the office's clerks

    def _issue_slip(self, engine: Any, estate: str, gate_id: str, private: Any, hmac_key: bytes) -> str:
        from domain.model import Approval, ApprovalRole, SlipItem, SlipKind
        from office.slips import SlipRequest, issue_slip

        now = self.time.now()
        unit = f"{self.rng.randrange(1, 5)}-1-{self.rng.randrange(101, 101 + self.plan.units_per_estate // 4):04d}"
        req = SlipRequest(kind=SlipKind.MOVE_OUT, unit_id=unit, applicant_name="王芳", mover_name="李师傅",
                          items=[SlipItem("冰箱", 1, "双开门 180cm"), SlipItem("纸箱", 12)], valid_from=now - timedelta(hours=1),
                          valid_until=now + timedelta(days=1), approvals=[Approval(ApprovalRole.HANDLER, "李"),
                                                                          Approval(ApprovalRole.BUTLER_HEAD, "王")],
                          purpose="搬家", exit_gate_id=gate_id)
        with engine.begin() as conn:
            return issue_slip(conn, estate, req, private=private, hmac_key=hmac_key, out_dir=self.tmp / "slips", now=now).slip_id

    def _revoke(self, engine: Any, estate: str, permit_id: str) -> None:
        from domain.model import PermitStatus
        from office.records import set_permit_status

        with engine.begin() as conn:
            set_permit_status(conn, estate, permit_id, PermitStatus.REVOKED)

    async def run_clerk(self) -> None:
        """The office during the morning: move-out slips for every estate (more in a rush), revocations."""
        from domain.keyfiles import load_hmac_key, load_private
        from office.db import open_engine

        plan, rng = self.plan, self.rng
        engine = open_engine(_with_app_name(self.db_url, CLERK_APP), pool_size=1, max_overflow=1)
        signing = {e: (load_private(self.tmp / "keys" / e), load_hmac_key(self.tmp / "keys" / e)) for e in self.by_estate}
        slip_rate = plan.slips_per_estate_per_min / 60 * plan.speed
        revoke_rate = plan.revocations_per_min / 60 * plan.speed * len(self.by_estate) / plan.estates
        now = time.monotonic()
        next_slip = {e: now + rng.expovariate(slip_rate) for e in self.by_estate}
        next_revoke = now + rng.expovariate(revoke_rate)
        try:
            while not self.stopping:
                now = time.monotonic()
                for estate, due in next_slip.items():
                    if now >= due:
                        gate = rng.choice(self.by_estate[estate])
                        try:
                            slip_id = await asyncio.to_thread(self._issue_slip, engine, estate, gate.gate_id, *signing[estate])
                        except Exception as exc:  # noqa: BLE001 - a refused slip is an error of the run, counted
                            self.error("office", f"issue slip in {estate}: {type(exc).__name__}: {exc}")
                        else:
                            gate.slips.append(slip_id)
                            self.office_ops["slips"] += 1
                        factor = plan.rush_factor if gate.rush and self.rush[0] <= now < self.rush[1] else 1.0
                        next_slip[estate] = now + rng.expovariate(slip_rate * factor)
                if now >= next_revoke:
                    estate = rng.choice(list(self.by_estate))
                    permit = rng.choice(self.permits[estate])
                    try:
                        await asyncio.to_thread(self._revoke, engine, estate, permit)
                        self.office_ops["revocations"] += 1
                    except Exception as exc:  # noqa: BLE001
                        self.error("office", f"revoke {permit} in {estate}: {type(exc).__name__}: {exc}")
                    next_revoke = now + rng.expovariate(revoke_rate)
                wake = min([next_revoke, *next_slip.values()])
                await asyncio.sleep(max(0.0, min(wake - time.monotonic(), 0.5)))
        finally:
            engine.dispose()

    async def watch_lag(self) -> None:
        """How late the load generator's event loop wakes up: its latencies include this."""
        while not self.stopping:
            t = time.monotonic()
            await asyncio.sleep(0.1)
            if self.measuring:
                self.lag.append(time.monotonic() - t - 0.1)

    # -------------------------------------------------------------- the run

    async def run(self, t0: float, warm_end: float, window_end: float, barrier: Any = None) -> None:
        """Start every gate at ``t0`` (each makes its first pull within one pull interval), measure from
        ``warm_end`` to ``window_end``, then stop and drain. With other generator processes, ``barrier``
        holds the final pulls until every process has pushed everything."""
        import httpx

        plan = self.plan
        # One client per GATES_PER_CLIENT gates: each gate has at most one request in flight, and
        # httpcore's pool does work in proportion to its connections on every request, so one
        # pool for all gates would make the load generator, not the office, the bottleneck.
        # No keep-alive: a gate's requests are seconds apart, longer than uvicorn keeps an idle
        # connection (5 s), so a real gate connects for each; and a kept connection can be closed by
        # the server just as a lagging client reuses it ("disconnected without sending a response").
        limits = httpx.Limits(max_connections=GATES_PER_CLIENT, max_keepalive_connections=0)
        clients = [httpx.AsyncClient(base_url=self.server_url, timeout=60.0, limits=limits, verify=False)  # loopback HTTP
                   for _ in range(0, len(self.gates), GATES_PER_CLIENT)]
        for i, g in enumerate(self.gates):
            g.http = clients[i // GATES_PER_CLIENT]
        try:
            await asyncio.sleep(max(0.0, t0 - time.monotonic()))
            for g in self.gates:
                g.wake = asyncio.Event()
            tasks = [asyncio.create_task(self.run_daemon(g)) for g in self.gates]
            tasks += [asyncio.create_task(self.run_kiosks()), asyncio.create_task(self.run_clerk()),
                      asyncio.create_task(self.watch_lag())]
            self.rush = (warm_end + plan.duration_s / 3, warm_end + plan.duration_s * 2 / 3)
            await asyncio.sleep(max(0.0, warm_end - time.monotonic()))
            cpu = os.times()
            self.measuring = True
            await asyncio.sleep(max(0.0, window_end - time.monotonic()))
            self.window = (warm_end, time.monotonic())
            self.measuring = False
            self.backlog = sum(len(g.outbox) for g in self.gates)
            after = os.times()
            self.own_cpu = after.user + after.system - cpu.user - cpu.system
            self.stopping = True
            for g in self.gates:
                g.wake.set()                  # a daemon waiting for its next duty stops now
            await asyncio.gather(*tasks)
            await self.drain(barrier)
        finally:
            for c in clients:
                await c.aclose()

    async def drain(self, barrier: Any = None) -> None:
        """After the run: every gate pushes what it has left, then (so that every release's
        consumed-slip change is there) pulls to its estate's head."""
        sem = asyncio.Semaphore(100)

        async def until(done: Callable[[SimGate], Awaitable[bool]], g: SimGate) -> None:
            async with sem:
                for _ in range(10):
                    if await done(g):
                        return
                    await asyncio.sleep(0.5)

        async def push_all(g: SimGate) -> bool:
            while g.outbox:
                if not await self.push(g):
                    return False
            return True

        await asyncio.gather(*(until(push_all, g) for g in self.gates))
        if barrier is not None:
            await asyncio.to_thread(barrier.wait, 600)
        await asyncio.gather(*(until(self.pull, g) for g in self.gates))

    def summary(self) -> dict[str, Any]:
        """What this generator measured and made, to send to the parent (picklable)."""
        for g in self.gates:
            if g.writer is not None:
                g.writer.replica.db.conn.close()
            g.writer = g.http = g.wake = None
        return {"gates": self.gates, "made": self.made, "latency": self.latency, "requests": self.requests,
                "errors": self.errors, "error_samples": self.error_samples, "accepted": self.accepted,
                "duplicates_expected": self.duplicates_expected, "duplicates_answered": self.duplicates_answered,
                "office_ops": self.office_ops, "lag": self.lag, "own_cpu": self.own_cpu, "window": self.window,
                "rush": self.rush, "backlog": self.backlog,
                "recorded": self.recorded}


def _generator(part: int, plan: LoadPlan, server_url: str, db_url: str, tmp: Path, gates: list[SimGate],
               permits: dict[str, list[str]], barrier: Any, conn: Any) -> None:
    """One load-generator process: its share of the estates, their gates and their clerk. It says
    when it is ready, then receives the schedule (t0, warm_end, window_end) shared by all generators."""
    try:
        load = Load(plan, server_url, db_url, tmp, gates, permits, part)
        conn.send("ready")
        t0, warm_end, window_end = conn.recv()
        asyncio.run(load.run(t0, warm_end, window_end, barrier))
        conn.send(load.summary())
    except BaseException as exc:  # the parent reports it rather than waiting forever
        import traceback

        conn.send({"failed": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-3000:]}"})
        raise
    finally:
        conn.close()


@dataclass
class Outcome:
    """The generators' summaries put together."""

    gates: list[SimGate] = field(default_factory=list)
    made: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    latency: dict[str, list[float]] = field(default_factory=lambda: {"push": [], "pull": [], "heartbeat": []})
    requests: dict[str, int] = field(default_factory=lambda: {"push": 0, "pull": 0, "heartbeat": 0})
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    accepted: list[tuple[float, int]] = field(default_factory=list)
    duplicates_expected: int = 0
    duplicates_answered: int = 0
    office_ops: dict[str, int] = field(default_factory=lambda: {"slips": 0, "revocations": 0})
    lag: list[float] = field(default_factory=list)
    own_cpu: float = 0.0
    backlog: int = 0
    recorded: int = 0
    window: tuple[float, float] = (0.0, 0.0)
    rush: tuple[float, float] = (0.0, 0.0)

    def add(self, part: dict[str, Any]) -> None:
        self.gates += part["gates"]
        self.made.update(part["made"])
        for k in self.latency:
            self.latency[k] += part["latency"][k]
            self.requests[k] += part["requests"][k]
        for k, v in part["errors"].items():
            self.errors[k] = self.errors.get(k, 0) + v
        self.error_samples = (self.error_samples + part["error_samples"])[:20]
        self.accepted += part["accepted"]
        self.duplicates_expected += part["duplicates_expected"]
        self.duplicates_answered += part["duplicates_answered"]
        for k, v in part["office_ops"].items():
            self.office_ops[k] += v
        self.lag += part["lag"]
        self.own_cpu += part["own_cpu"]
        self.backlog += part["backlog"]
        self.recorded += part["recorded"]
        self.window = (part["window"][0], max(self.window[1], part["window"][1]))
        self.rush = part["rush"]

    @property
    def by_estate(self) -> dict[str, list[SimGate]]:
        out: dict[str, list[SimGate]] = {}
        for g in self.gates:
            out.setdefault(g.estate, []).append(g)
        return out


# ------------------------------------------------------------------ checks

def check_exactly_once(engine: Any, load: Outcome) -> dict[str, Any]:
    """The events table against every row the gates made: same rows, none twice, every gate's head at its last row."""
    from sqlalchemy import select

    from office import schema

    e, gt = schema.events, schema.gates
    stored: dict[str, tuple[str, int, str]] = {}
    twice = 0
    with engine.connect() as conn:
        for r in conn.execute(select(e.c.event_id, e.c.gate_id, e.c.seq, e.c.hash)):
            twice += r.event_id in stored
            stored[r.event_id] = (r.gate_id, int(r.seq), r.hash)
        heads = {r.gate_id: int(r.head_seq) for r in conn.execute(select(gt.c.gate_id, gt.c.head_seq))}
    missing = [k for k in load.made if k not in stored]
    extra = [k for k in stored if k not in load.made]
    differ = [k for k, v in load.made.items() if k in stored and stored[k] != v]
    heads_wrong = [g.gate_id for g in load.gates if heads.get(g.gate_id) != g.seq]
    return {"made": len(load.made), "stored": len(stored) + twice, "stored_twice": twice, "missing": len(missing),
            "not_made": len(extra), "differ": len(differ), "gates_head_wrong": len(heads_wrong),
            "duplicates_expected": load.duplicates_expected, "duplicates_answered": load.duplicates_answered,
            "ok": not (twice or missing or extra or differ or heads_wrong) and load.duplicates_answered == load.duplicates_expected}


def check_replicas(engine: Any, load: Outcome) -> dict[str, Any]:
    """Each gate's replica against its estate's replicated tables in the office, and its cursor at the estate's last change."""
    import base64
    import sqlite3

    from sqlalchemy import func, select

    from kiosk.store import REPLICA_TABLES
    from office import schema
    from office.changes import key_columns, replica_row
    from sync.replica_writer import BINARY_COLUMNS

    bad_gates: list[str] = []
    bad_files: list[str] = []
    rows_compared = 0
    with engine.connect() as conn:
        for estate, members in load.by_estate.items():
            office: dict[tuple[str, str], dict[str, Any]] = {}
            for name in REPLICA_TABLES:
                table = schema.metadata.tables[name]
                for r in conn.execute(select(table).where(table.c.estate == estate)).mappings():
                    row = replica_row(table, r)
                    office[(name, json.dumps([r[k] for k in key_columns(table)]))] = row
            digests = {k: row_digest(v) for k, v in office.items()}
            head = int(conn.execute(select(func.max(schema.changes.c.seq)).where(schema.changes.c.estate == estate)).scalar() or 0)
            for g in members:
                rows_compared += len(digests)
                if g.replica != digests or g.cursor != head:
                    bad_gates.append(f"{g.gate_id}: {len(g.replica)} rows vs {len(digests)}, cursor {g.cursor} vs {head}")
                if g.replica_path is None:
                    continue
                db = sqlite3.connect(g.replica_path)
                db.row_factory = sqlite3.Row
                held: dict[tuple[str, str], dict[str, Any]] = {}
                for name, pks in REPLICA_TABLES.items():
                    for r in db.execute(f"select * from [{name}]"):
                        held[(name, json.dumps([r[k] for k in pks]))] = dict(r)
                db.close()
                if held.keys() != office.keys():
                    bad_files.append(f"{g.replica_path.name}: rows {len(held)} vs office {len(office)}")
                    continue
                for key, want in office.items():
                    have = held[key]
                    for col, value in have.items():
                        expected = want.get(col)
                        if expected is not None and col in BINARY_COLUMNS.get(key[0], ()):
                            expected = base64.b64decode(expected)
                        if expected is not None and value != expected:
                            bad_files.append(f"{g.replica_path.name}: {key} {col} = {value!r}, office {expected!r}")
                            break
    return {"gates": len(load.gates), "gates_differing": len(bad_gates), "sqlite_replicas": sum(
        1 for g in load.gates if g.replica_path), "sqlite_replicas_differing": len(bad_files),
        "rows_compared": rows_compared, "examples": (bad_gates + bad_files)[:5], "ok": not bad_gates and not bad_files}


def _db_size(engine: Any) -> dict[str, int]:
    from sqlalchemy import text

    with engine.connect() as conn:
        return {"events_bytes": int(conn.execute(text("select pg_total_relation_size('events')")).scalar_one()),
                "events": int(conn.execute(text("select count(*) from events")).scalar_one()),
                "database_bytes": int(conn.execute(text("select pg_database_size(current_database())")).scalar_one()),
                "changes": int(conn.execute(text("select count(*) from changes")).scalar_one())}


def _backends(engine: Any) -> list[int]:
    from sqlalchemy import text

    with engine.connect() as conn:
        return [int(p) for p in conn.execute(text(
            "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() "
            "and application_name <> :clerk"), {"clerk": CLERK_APP}).scalars()]


# ------------------------------------------------------------------ the whole benchmark

def _generate(plan: LoadPlan, server_url: str, db_url: str, tmp: Path, gates: list[SimGate], permits: dict[str, list[str]],
              *meters: CpuMeter) -> Outcome:
    """Run the generator processes (estates dealt out among them) and measure ``meters`` over the window."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    estates = estate_ids(plan)
    n = max(1, min(plan.generators, len(estates)))
    barrier = ctx.Barrier(n)
    procs, pipes = [], []
    for part in range(n):
        mine = set(estates[part::n])
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=_generator, name=f"gatepass-load-{part}", args=(
            part, plan, server_url, db_url, tmp, [g for g in gates if g.estate in mine],
            {e: v for e, v in permits.items() if e in mine}, barrier, theirs))
        proc.start()
        theirs.close()
        procs.append(proc)
        pipes.append(ours)
    for proc, pipe in zip(procs, pipes):
        if not pipe.poll(300) or pipe.recv() != "ready":
            raise RuntimeError(f"{proc.name} did not start")
    t0 = time.monotonic() + 0.5
    warm_end = t0 + plan.pull_interval_s / plan.speed
    window_end = warm_end + plan.duration_s
    for pipe in pipes:
        pipe.send((t0, warm_end, window_end))
    time.sleep(max(0.0, warm_end - time.monotonic()))
    for m in meters:
        m.start()
    while time.monotonic() < window_end:
        time.sleep(min(1.0, max(0.0, window_end - time.monotonic())))
        for m in meters:
            m.sample()
    for m in meters:
        m.stop()
    out = Outcome()
    failures = []
    for proc, pipe in zip(procs, pipes):
        try:
            report: dict[str, Any] = pipe.recv()
        except EOFError:
            report = {"failed": f"{proc.name} ended without a report"}
        proc.join(60)
        if "failed" in report:
            failures.append(report["failed"])
        else:
            out.add(report)
    if failures:
        raise RuntimeError("load generator failed: " + "\n".join(failures))
    return out


def run(db_url: str, plan: LoadPlan, *, work_dir: Path | None = None) -> dict[str, Any]:
    """Set up the office in the (empty) database at ``db_url``, serve it, load it, check it; the report."""
    from bench.common import figure, percentile
    from office.db import open_engine
    from office.server import free_port

    with tempfile.TemporaryDirectory(prefix="gatepass-load-", dir=work_dir) as tmp_name:
        tmp = Path(tmp_name)
        t_setup = time.perf_counter()
        cfg, gates, permits = setup_office(db_url, tmp, plan)
        setup_s = time.perf_counter() - t_setup
        server = Server(cfg, free_port(), tmp / "server.log")
        probe = open_engine(_with_app_name(db_url, CLERK_APP), pool_size=1, max_overflow=1)
        try:
            server.wait_up(plan.workers)
            server_cpu = CpuMeter(server.pids)
            pg_cpu = CpuMeter(lambda: _backends(probe))
            load_before = os.getloadavg()
            load = _generate(plan, server.url, db_url, tmp, gates, permits, server_cpu, pg_cpu)
            load_after = os.getloadavg()
            once = check_exactly_once(probe, load)
            replicas = check_replicas(probe, load)
            size = _db_size(probe)
        finally:
            server.stop()
            probe.dispose()
            server_log = (tmp / "server.log").read_text(errors="replace")
        server_errors = server_log.count("Traceback")

    window = load.window[1] - load.window[0]
    accepted = sum(n for t, n in load.accepted if load.window[0] <= t < load.window[1])
    rush_len = max(1e-9, min(load.rush[1], load.window[1]) - load.rush[0])
    in_rush = sum(n for t, n in load.accepted if load.rush[0] <= t < load.rush[1])
    per_k_min = 1000 / plan.gates * 60 / window
    lat = load.latency
    ms = 1000.0
    errors = sum(load.errors.values())
    figures = [
        figure("sustained accepted events", accepted / window, "events/s"),
        figure("accepted events during the move-out rush", in_rush / rush_len, "events/s"),
        figure("offered events (rows the gates recorded)", load.recorded / window, "events/s"),
        figure("rows waiting at the gates when the window closed", load.backlog, "rows"),
        figure("requests", sum(load.requests.values()) / window, "requests/s",
               per_second={k: round(v / window, 1) for k, v in load.requests.items()}),
        figure("push latency p50", percentile(lat["push"], 50) * ms, "ms"),
        figure("push latency p99", percentile(lat["push"], 99) * ms, "ms"),
        figure("pull latency p50", percentile(lat["pull"], 50) * ms, "ms"),
        figure("pull latency p99", percentile(lat["pull"], 99) * ms, "ms"),
        figure("heartbeat latency p99", percentile(lat["heartbeat"], 99) * ms, "ms"),
        figure("errors", errors, "requests", target="0", met=errors == 0),
        figure("office server CPU per 1,000 gates", server_cpu.used * per_k_min, "CPU s per minute",
               total_cpu_s=round(server_cpu.used, 1), utilisation=round(server_cpu.used / window, 2)),
        figure("PostgreSQL backends CPU per 1,000 gates", pg_cpu.used * per_k_min, "CPU s per minute",
               total_cpu_s=round(pg_cpu.used, 1)),
        figure("load generator CPU (same machine)", load.own_cpu / window, "cores", processes=plan.generators),
        figure("load generator event-loop lag p50", percentile(load.lag, 50) * ms, "ms"),
        figure("load generator event-loop lag p99", percentile(load.lag, 99) * ms, "ms"),
        figure("events table + indexes per million events", size["events_bytes"] / max(1, size["events"]) * 1e6 / 2**20, "MiB",
               events=size["events"], events_bytes=size["events_bytes"]),
        figure("database per million events", size["database_bytes"] / max(1, size["events"]) * 1e6 / 2**20, "MiB",
               database_bytes=size["database_bytes"], changes_rows=size["changes"]),
        figure("every event stored exactly once", int(once["ok"]), "bool", target="1", met=once["ok"]),
        figure("every replica equals the office", int(replicas["ok"]), "bool", target="1", met=replicas["ok"]),
    ]
    return {
        "machine": {**machine(), "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in load_after]},
        "plan": asdict(plan),
        "setup_s": round(setup_s, 1),
        "window_s": round(window, 1),
        "office_changes_made": load.office_ops,
        "releases": sum(g.releases for g in load.gates),
        "rows_made": len(load.made),
        "figures": figures,
        "exactly_once": once,
        "replicas": replicas,
        "errors": load.errors,
        "error_samples": load.error_samples,
        "server_log_tracebacks": server_errors,
        "server_log_tail": server_log[-1500:] if server_errors else "",
        "ok": errors == 0 and once["ok"] and replicas["ok"],
    }


def _pg_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        v = str(conn.execute(text("show server_version")).scalar_one())
    engine.dispose()
    return v


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.office", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", required=True, help="a PostgreSQL URL (SQLAlchemy); its server hosts the bench database")
    parser.add_argument("--database", default="gatepass_bench_office",
                        help="database to (re)create for the run; '-' uses --pg-url's own database, wiping its tables")
    parser.add_argument("--quick", action="store_true", help=f"a short run ({QUICK.gates} gates, {QUICK.duration_s:.0f} s, compressed)")
    parser.add_argument("--gates", type=int)
    parser.add_argument("--estates", type=int)
    parser.add_argument("--seconds", type=float, help="measured duration")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--speed", type=float)
    parser.add_argument("--pull-every", type=float, help="a gate's pull interval, seconds (default: the sync daemon's)")
    parser.add_argument("--out", default=str(Path(__file__).with_name("office-report.json")))
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else LoadPlan()
    for name, attr in (("gates", "gates"), ("estates", "estates"), ("seconds", "duration_s"), ("workers", "workers"),
                       ("speed", "speed"), ("pull_every", "pull_interval_s")):
        if getattr(args, name) is not None:
            plan = replace(plan, **{attr: getattr(args, name)})
    if plan.gates < plan.estates or plan.gates > plan.estates * 1000:
        parser.error("gates: at least one and at most 1,000 per estate")
    url = args.pg_url if args.database == "-" else create_database(args.pg_url, args.database)
    if args.database == "-":
        wipe(url)
    report = run(url, plan)
    report["machine"]["postgresql"] = _pg_version(url)
    Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(report, ensure_ascii=False, indent=2))
    for f in report["figures"]:
        value = f["value"]
        print(f"{f['name']:<48} {value:>12.4g} {f['unit']}" if isinstance(value, float) else
              f"{f['name']:<48} {value!s:>12} {f['unit']}", file=sys.stderr)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
