"""A scripted walk through the gate flow in the terminal, on demo data.

It drives the real resolver, core and exit log, with a simulated clock, so what it
prints is what the gate would record. Useful without a screen and as a smoke test.
"""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from kiosk.core.events import Action, Command, Event, OpenGate, Press, Record, Signal, SlipPresented, Tick
from kiosk.core.flow import State, Timeouts, initial_state, step
from kiosk.core.model import Gate
from kiosk.demo import DEMO_GATE, build_demo
from kiosk.exitlog import ExitLog
from kiosk.resolve import Resolver
from kiosk.store import Replica


def walk(data_dir: Path, out: TextIO) -> int:
    demo = build_demo(data_dir, permits=200)
    for suffix in ("", "-wal", "-shm"):
        Path(str(demo.exit_log_path) + suffix).unlink(missing_ok=True)
    replica = Replica.open(demo.replica_path)
    log = ExitLog.open(demo.exit_log_path, DEMO_GATE)
    from kiosk.core.model import LargeItemHours

    resolver = Resolver(replica, log, LargeItemHours())
    state: State = initial_state(Gate(DEMO_GATE, "北门 North gate", designated_exit=True), Timeouts())
    now = demo.now
    badge, pin, _, guard_name = demo.guards[0]
    sup_badge = next(b for b, _, role, _ in demo.guards if role == "supervisor")

    def card(label_or_uid: str) -> Event:
        return resolver.card(demo.cards.get(label_or_uid, label_or_uid))

    def slip(label: str) -> Event:
        return SlipPresented(resolver.slip(demo.slips[label]))

    script: list[tuple[str, Event | None]] = [
        ("guard taps badge 值班员刷工牌", card(badge)),
        *[(f"PIN digit {d}", Press(Action.DIGIT, d)) for d in pin],
        ("PIN submit 确认密码", Press(Action.PIN_SUBMIT)),
        ("resident card 住户证 (valid)", card("valid")),
        ("card reported lost 挂失卡", card("lost")),
        ("expired card 过期卡", card("expired")),
        ("owner slip 业主放行条", None),
        ("all items match 物品一致", Press(Action.ALL_MATCH)),
        ("mover taps own card 搬运人刷卡", card("mover")),
        ("guard signs off 值班员签字", card(badge)),
        ("same slip again 重复使用", None),
        ("contractor slip 施工单位放行条", None),
        ("mismatch 不符", Press(Action.MISMATCH)),
        ("reason: extra items 物品多于放行条", Press(Action.MISMATCH_REASON, "extra_items")),
        ("slip used at another gate 他处已用", None),
        ("supervisor override 主管授权", Press(Action.OVERRIDE)),
        ("supervisor badge 主管刷卡", card(sup_badge)),
        ("override reason 授权理由", Press(Action.OVERRIDE_REASON, "office_confirmed_by_phone")),
        ("forged slip 伪造放行条", None),
        ("report suspicious 报告可疑", Press(Action.REPORT)),
        ("reason 可疑物品", Press(Action.REPORT_REASON, "forged_slip")),
        ("guard taps badge to sign out 签退", card(badge)),
        ("confirm 确认", Press(Action.CONFIRM)),
    ]
    lazy = {"owner slip 业主放行条": "owner", "same slip again 重复使用": "owner",
            "contractor slip 施工单位放行条": "contractor", "slip used at another gate 他处已用": "used",
            "forged slip 伪造放行条": "forged"}
    print(f"gatepass walk: gate {DEMO_GATE}, guard {guard_name}, demo data in {data_dir}", file=out)
    for label, event in script:
        now += timedelta(seconds=3)
        state, _ = step(state, Tick(), now)
        if event is None:
            event = slip(lazy[label])     # resolved now, so it sees what was recorded before
        state, commands = step(state, event, now)
        done = _carry_out(commands, log)
        reason = f" — {state.refusal[0].text.zh} / {state.refusal[0].text.en}" if state.scene.value == "refused" else ""
        if state.scene.value == "card_result" and state.card is not None:
            reason = f" — {state.card.reason.text.zh} / {state.card.reason.text.en}"
        print(f"{now:%H:%M:%S}  {label:<40} -> {state.scene.value}{reason}{done}", file=out)
    print("\nexit log 出门记录:", file=out)
    for row in log.rows():
        print(json.dumps({k: row[k] for k in ("seq", "kind", "at", "guard_id", "card_uid", "slip_id", "reasons",
                                                "detail")}, ensure_ascii=False), file=out)
    log.verify()
    print(f"\nhash chain intact over {log.last_seq} rows", file=out)
    return 0


def _carry_out(commands: list[Command], log: ExitLog) -> str:
    notes = []
    for c in commands:
        if isinstance(c, Record):
            row = log.append(c.entry, clock_synced=False)
            notes.append(f"recorded #{row['seq']} {row['kind']}")
        elif isinstance(c, OpenGate):
            notes.append("gate opens")
        elif isinstance(c, Signal):
            notes.append(f"signal {c.pattern.value}")
    return ("  [" + "; ".join(notes) + "]") if notes else ""
