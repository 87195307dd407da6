"""`gatepass check`: one decision against a replica, with what a guard would see.

Uses the same resolver and rules as the kiosk, so a decision here is the decision
the gate would make at that moment.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from domain.errors import GatepassError, StoreError
from domain.model import Gate, LargeItemHours
from domain.reasons import Reason
from domain.rules import decide_card, decide_slip, effective_until
from kiosk.exitlog import ExitLog
from kiosk.resolve import Resolver
from kiosk.store import Replica


def _messages(reasons: list[Reason]) -> list[dict[str, str]]:
    return [
        {"code": r.value, "zh": r.text.zh, "en": r.text.en, "next_zh": r.text.next_zh, "next_en": r.text.next_en}
        for r in reasons
    ]


def _open(db: Path) -> tuple[Replica, ExitLog | None]:
    if not db.exists():
        raise StoreError(f"{db}: replica not found (make one with `gatepass demo-data`)")
    replica = Replica.open(db)
    log_path = db.with_name("exitlog.db")
    log = ExitLog.open_readonly(log_path) if log_path.exists() else None
    return replica, log


def check_card(db: Path, uid: str, at: datetime) -> dict[str, Any]:
    replica, log = _open(db)
    presented = Resolver(replica, log, LargeItemHours()).card(uid)
    if presented.guard is not None and presented.permit is None:
        g = presented.guard
        return {"allowed": True, "subject": "guard_badge", "reasons": [], "messages": [],
                "guard": {"guard_id": g.guard_id, "name": g.name, "role": g.role.value}}
    decision = decide_card(presented.permit, at, presented.bad_record)
    out: dict[str, Any] = {
        "allowed": decision.allowed, "subject": "card", "uid": presented.uid,
        "reasons": [decision.reason.value], "messages": _messages([decision.reason]),
    }
    if presented.bad_record:
        out["record_problem"] = presented.bad_record
    p = decision.permit
    if p is not None:
        unit = replica.unit(p.unit_id)
        out["card"] = {
            "permit_id": p.permit_id, "name": p.holder.name, "unit": p.unit_id,
            "building": unit.building if unit else "", "kind": p.kind.value, "kind_zh": p.kind.label_zh,
            "status": p.status.value, "masked_id": p.holder.id_masked,
            "photo": bool(p.holder.photo and replica.photo(p.holder.photo)),
            "valid_from": p.valid_from.isoformat(), "valid_until": effective_until(p).isoformat(),
            "days_left": decision.days_left, "replaces": p.replaces,
        }
    return out


def check_slip(db: Path, text: str, at: datetime, gate: Gate, hours: LargeItemHours,
               keys_dir: str | None = None, gate_keys_dir: str | None = None) -> dict[str, Any]:
    """The gate's decision on a slip, by the kiosk's own path: the replica's keys and the gate's key
    folder ``gate_keys_dir`` (the config's store.keys), plus ``keys_dir`` (--keys)."""
    from domain.keyfiles import load_public_dir

    replica, log = _open(db)
    extra: dict[str, bytes] = {}
    for folder in (gate_keys_dir, keys_dir):
        if folder:
            extra.update(load_public_dir(folder))
    evidence = Resolver(replica, log, hours, extra).slip(text)
    decision = decide_slip(evidence, gate, at)
    reasons = list(decision.reasons) or [Reason.SLIP_VALID]
    out: dict[str, Any] = {
        "allowed": decision.allowed, "subject": "slip", "reasons": [r.value for r in reasons],
        "messages": _messages(reasons), "gate": gate.gate_id, "synced": decision.synced,
    }
    c, s = decision.claims, decision.slip
    if c is not None:
        out["slip"] = {
            "slip_id": c.slip_id, "kind": c.kind.value, "kind_zh": c.kind.label_zh, "unit": c.unit_id,
            "valid_from": c.valid_from.astimezone(at.tzinfo).isoformat(),
            "valid_until": c.valid_until.astimezone(at.tzinfo).isoformat(),
            "item_count": c.item_count, "key_id": c.key_id, "exit_gate": c.exit_gate_id,
        }
    if s is not None:
        out["slip"].update({
            "applicant": s.applicant.name, "mover": s.mover.name, "mover_masked_id": s.mover.id_masked,
            "mover_photo": bool(s.mover.photo), "status": s.status.value, "purpose": s.purpose,
            "items": [{"name": i.name, "quantity": i.quantity, "spec": i.spec} for i in s.items],
            "approvals": [{"role": a.role.value, "role_zh": a.role.label_zh, "name": a.name} for a in s.approvals],
        })
    if decision.missing_approvals:
        out["missing_approvals"] = [r.value for r in decision.missing_approvals]
    if decision.used is not None:
        out["used"] = {"gate": decision.used.gate_id, "at": decision.used.at.isoformat()}
    if evidence.bad_record:
        out["record_problem"] = evidence.bad_record
    elif evidence.token_reason is None and not decision.synced:
        out["messages"].append(_messages([Reason.SLIP_NOT_SYNCED])[0])
    return out


def decode_image(path: Path, decoder: str = "zxing") -> str:
    """Read a QR code from an image file with the kiosk's own decoder (and its fallback pass)."""
    from domain.images import ImageRefused
    from drivers.camera import read_image
    from drivers.qr import decode_frame, make_decoder

    try:
        img = read_image(path)
    except ImageRefused as exc:
        raise GatepassError(f"图片过大或格式不明,未解码\n{exc}") from None
    except OSError as exc:
        raise GatepassError(f"{path}: cannot read the image: {exc.strerror}") from None
    if img is None:
        raise GatepassError(f"{path}: not an image file (or missing)")
    found = decode_frame(make_decoder(decoder), img)
    if not found:
        raise GatepassError(f"{path}: no QR code found in the image")
    return found[0]


def render_text(result: dict[str, Any]) -> str:
    head = "ALLOWED 放行" if result["allowed"] else "REFUSED 不予放行"
    lines = [head]
    for m in result["messages"]:
        lines.append(f"  {m['code']}: {m['zh']} / {m['en']} -> {m['next_zh']} / {m['next_en']}")
    for key in ("card", "slip", "guard"):
        for k, v in result.get(key, {}).items():
            if k == "items":
                lines.append(f"  {key}.items:")
                lines.extend(f"    - {i['name']} ×{i['quantity']} {i['spec']}".rstrip() for i in v)
            elif k == "approvals":
                lines.append(f"  {key}.approvals: " + ", ".join(f"{a['role_zh']} {a['name']}" for a in v))
            else:
                lines.append(f"  {key}.{k}: {v}")
    return "\n".join(lines)
