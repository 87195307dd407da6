"""Benchmarks of the gate's own decisions: lookups against replicas of growing size,
slip verification, and the durable commit of one exit-log event."""
from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench.common import figure, percentile, skipped
from domain.clock import SystemClock


def _replica_with(path: Path, n: int) -> list[str]:
    """A replica with ``n`` permits, written in bulk; returns a sample of card UIDs to look up."""
    from kiosk.store import Replica

    replica = Replica.open(path)
    conn = replica.db.conn
    start = datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8))).isoformat()
    end = datetime(2027, 1, 1, tzinfo=timezone(timedelta(hours=8))).isoformat()
    conn.execute("begin")
    conn.executemany(
        "insert into permits (permit_id, card_uid, kind, holder_name, id_masked, id_hash, photo, phone, unit_id,"
        " valid_from, valid_until, status) values (?,?,?,?,?,?,?,?,?,?,?,?)",
        ((f"R{i:08d}", f"{0x3C00000000 + i * 7919:010X}", "resident", "张伟", "4401**********123X", f"h{i}", "",
          "", "3-2-1502", start, end, "active") for i in range(n)),
    )
    conn.execute("commit")
    conn.close()
    step = max(1, n // 997)
    return [f"{0x3C00000000 + i * 7919:010X}" for i in range(0, n, step)]


def _decision_latency(n: int, lookups: int) -> list[float]:
    from domain.model import LargeItemHours
    from domain.rules import decide_card
    from kiosk.resolve import Resolver
    from kiosk.store import Replica

    with tempfile.TemporaryDirectory() as d:
        uids = _replica_with(Path(d) / "replica.db", n)
        replica = Replica.open(Path(d) / "replica.db")
        resolver = Resolver(replica, None, LargeItemHours())
        now = datetime(2026, 6, 1, 10, tzinfo=timezone(timedelta(hours=8)))
        times = []
        for i in range(lookups):
            uid = uids[(i * 31) % len(uids)]
            t0 = time.perf_counter()
            presented = resolver.card(uid)
            decision = decide_card(presented.permit, now)
            times.append((time.perf_counter() - t0) * 1000)
            assert decision.allowed
        replica.db.conn.close()
        return times


def _commit_latency(count: int, folder: Path | None = None) -> list[float]:
    """``count`` durable commits of one release row, each timed; in a fresh temporary
    directory, or in ``folder`` (the throttled slow card)."""
    from domain.exitrow import EntryKind, LogEntry
    from kiosk.exitlog import ExitLog

    with tempfile.TemporaryDirectory(dir=folder) as d:
        log = ExitLog.open(Path(d) / "exitlog.db", "north")
        now = SystemClock().now()
        times = []
        for i in range(count):
            entry = LogEntry(EntryKind.RELEASE, now, guard_id="G001", slip_id=f"S{i:09d}", detail={"departure": "x"})
            t0 = time.perf_counter()
            log.append(entry, clock_synced=True)
            times.append((time.perf_counter() - t0) * 1000)
        log.db.conn.close()
        return times


def _verify_latency(count: int) -> list[float]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from domain import slip_token
    from domain.model import SlipKind, TokenClaims

    key = Ed25519PrivateKey.generate()
    keys = {slip_token.key_id_of(slip_token.public_raw(key)): slip_token.public_raw(key)}
    start = datetime(2026, 11, 25, tzinfo=UTC)
    text = slip_token.sign(TokenClaims("S261125001", SlipKind.OWNER, "3-2-1502", start, start + timedelta(days=1),
                                       3, "ab" * 8, ""), key)
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        assert slip_token.verify(text, keys).ok
        times.append((time.perf_counter() - t0) * 1000)
    return times


def _slow_card_commits(count: int) -> list[dict[str, Any]]:
    """The same durable commit on a block device throttled like a slow SD card (bench/slowdisk.py)."""
    from bench.slowdisk import SLOW_CARD_WRITE_IOPS, Unavailable, throttled_dir

    name = f"durable commit of one exit event on a throttled card (loop device, {SLOW_CARD_WRITE_IOPS} write IOPS)"
    try:
        with throttled_dir() as folder:
            t = _commit_latency(count, folder)
    except Unavailable as exc:
        return [skipped(name, str(exc))]
    p50, p99 = percentile(t, 50), percentile(t, 99)
    # Not a target for the card: what the screen must ride out (bench.kiosk's slow-card frames).
    return [figure(f"{name}, p50", p50, "ms", "≥ 500 ms (the throttle works: a slow card's fsync)", p50 >= 500),
            figure(f"{name}, p99", p99, "ms", None, None)]


def run(quick: bool) -> list[dict[str, Any]]:
    sizes = (1_000, 10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    lookups = 300 if quick else 3000
    out = []
    p50s = {}
    for n in sizes:
        t = _decision_latency(n, lookups)
        p50s[n] = percentile(t, 50)
        out.append(figure(f"card decision (lookup + rules), {n:,} permits, p50", p50s[n], "ms"))
        out.append(figure(f"card decision (lookup + rules), {n:,} permits, p99", percentile(t, 99), "ms",
                          "≤ 5 ms", percentile(t, 99) <= 5))
    ratio = p50s[sizes[-1]] / p50s[sizes[0]]
    out.append(figure(f"decision p50 ratio {sizes[-1]:,} / {sizes[0]:,} permits", ratio, "x",
                      "≤ 2 (lookups must not grow with the replica)", ratio <= 2))
    t = _commit_latency(100 if quick else 1000)
    out.append(figure("durable commit of one exit event (synchronous=FULL), p50", percentile(t, 50), "ms"))
    out.append(figure("durable commit of one exit event (synchronous=FULL), p99", percentile(t, 99), "ms",
                      "≤ 33 ms (one frame)", percentile(t, 99) <= 33))
    out += _slow_card_commits(5 if quick else 15)
    t = _verify_latency(200 if quick else 2000)
    out.append(figure("slip token verify (Ed25519), p50", percentile(t, 50), "ms"))
    out.append(figure("slip token verify (Ed25519), p99", percentile(t, 99), "ms", "≤ 50 ms", percentile(t, 99) <= 50))
    return out
