"""Office commands on units, permits, guards, rules, signing keys and gates.

Each function runs inside one transaction the caller opens (``engine.begin()``), so a
command either lands whole, with its replica changes, or not at all.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from domain.chain import GENESIS
from domain.clock import Clock
from domain.credential import GateCredential, parse_credential
from domain.keyfiles import load_public_dir
from domain.model import PERMIT_YEAR_DAYS, RENOVATION_PASS_MAX_DAYS, TEMPORARY_PASS_MAX_DAYS, Permit, PermitKind, PermitStatus, Person, Role
from domain.rules import card_permit
from domain.secrets import hash_pin, id_hash, mask_id
from domain.slip_token import GATE_ID, GATE_ID_FORM, MAX_UNIT_ID
from office import schema
from office.changes import get_row, lock_estate, patch, put_rows, remove_rows
from office.db import utcnow
from office.errors import NotFound, OfficeError, Refused
from office.photos import downscale_photo


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def add_gate(conn: Connection, estate: str, gate_id: str, name: str = "", *, clock: Clock) -> str:
    """Register a gate of ``estate``; return its credential (domain/credential.py: it names the
    estate and the gate; shown once, stored only as a hash). Gate ids are named within their
    estate: two estates may each have a "north". Its registration time, by ``clock``, is the
    earliest its pushed rows may be dated (domain.exitrow.AT_SLACK before)."""
    if not GATE_ID.fullmatch(gate_id):
        raise OfficeError(f"gate id {gate_id!r}: use {GATE_ID_FORM}")
    g = schema.gates
    if conn.execute(select(g.c.gate_id).where(g.c.estate == estate, g.c.gate_id == gate_id)).first():
        raise Refused(f"gate {gate_id!r} already exists in estate {estate!r}")
    secret = secrets.token_hex(32)
    conn.execute(insert(g).values(
        gate_id=gate_id, estate=estate, name=name or gate_id, token_hash=token_digest(secret),
        created_at=utcnow(clock), head_seq=0, head_hash=GENESIS))
    return GateCredential(estate, gate_id, secret).text()


def replace_gate(conn: Connection, estate: str, gate_id: str) -> str:
    """A new credential for a registered gate (its Pi replaced or re-imaged, or its credential lost or
    stolen): the old one is refused from now on. The gate keeps its name and its chain: the new Pi's
    exit log continues from the last row the office holds (the pull reply's ``gate_head``)."""
    g = schema.gates
    if conn.execute(select(g.c.gate_id).where(g.c.estate == estate, g.c.gate_id == gate_id)).first() is None:
        raise NotFound(f"no gate {gate_id!r} in estate {estate!r}")
    secret = secrets.token_hex(32)
    conn.execute(update(g).where(g.c.estate == estate, g.c.gate_id == gate_id).values(token_hash=token_digest(secret)))
    return GateCredential(estate, gate_id, secret).text()


def gate_for_credential(conn: Connection, credential: str) -> dict[str, Any] | None:
    """The gate a bearer credential belongs to, or None; compared in constant time.

    A credential of the old form (no estate) is matched by gate id and secret among the
    gates of that id in every estate: only one can hold the secret."""
    parsed = parse_credential(credential)
    if parsed is None:
        return None
    g = schema.gates
    query = select(g).where(g.c.gate_id == parsed.gate_id)
    if parsed.estate:
        query = query.where(g.c.estate == parsed.estate)
    digest = token_digest(parsed.secret)
    found = None
    for row in conn.execute(query).mappings():
        if hmac.compare_digest(row["token_hash"], digest):
            found = dict(row)
    return found


def add_unit(conn: Connection, estate: str, unit_id: str, building: str = "", room: str = "") -> dict[str, Any]:
    """A unit such as 3-2-1502 (building 3, entrance 2, room 1502); building and room default from the id."""
    if not unit_id or len(unit_id.encode("utf-8")) > MAX_UNIT_ID:
        raise OfficeError(f"unit id {unit_id!r}: 1 to {MAX_UNIT_ID} bytes, like 3-2-1502")
    parts = unit_id.split("-")
    old = get_row(conn, estate, schema.units, {"unit_id": unit_id})
    row = {"unit_id": unit_id, "building": building or parts[0], "room": room or parts[-1],
           "unpaid_fees": old["unpaid_fees"] if old else 0}
    put_rows(conn, estate, schema.units, [row])
    return row


def require_unit(conn: Connection, estate: str, unit_id: str) -> dict[str, Any]:
    row = get_row(conn, estate, schema.units, {"unit_id": unit_id})
    if row is None:
        raise NotFound(f"no unit {unit_id!r} in estate {estate!r} (add it with `gatepass office add-unit`)")
    return row


def set_fees(conn: Connection, estate: str, unit_id: str, unpaid: bool) -> dict[str, Any]:
    """Record whether a unit owes property, water or electricity fees (unpaid: no slip)."""
    require_unit(conn, estate, unit_id)
    return patch(conn, estate, schema.units, {"unit_id": unit_id}, unpaid_fees=int(unpaid))


class PermitRefused(Refused):
    """A permit refused for one of its fields (``field``: the console's form field it is about)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def issue_permit(
    conn: Connection, estate: str, *, card_uid: str, kind: PermitKind, holder_name: str, unit_id: str,
    id_number: str, hmac_key: bytes, valid_from: datetime, valid_until: datetime | None = None,
    phone: str = "", photo: tuple[bytes, str] | None = None, permit_id: str = "", replaces: str = "",
    holder_id: tuple[str, str] = ("", ""),
) -> dict[str, Any]:
    """Issue a card permit: a year by default, a temporary pass three days at most, a renovation
    pass RENOVATION_PASS_MAX_DAYS at most. Messages of refusals are Chinese, a newline, English.

    ``holder_id`` is an ID number already kept as (mask, HMAC), for a replacement card whose
    holder's number the office no longer has in clear; ``id_number`` wins when given.

    A card UID whose permit was reported lost or revoked is not simply issued again (the lost
    card would pass again): only as a replacement that names that permit in ``replaces``. A
    replacement on a new card names the lost or revoked permit it replaces, which stays refused."""
    lock_estate(conn, estate)  # the one-active-permit-per-card check must see other clerks' permits
    require_unit(conn, estate, unit_id)
    if valid_from.tzinfo is None:
        raise OfficeError("permit validity needs a timezone")
    if valid_until is None:
        days = {PermitKind.TEMPORARY: TEMPORARY_PASS_MAX_DAYS,
                PermitKind.RENOVATION: RENOVATION_PASS_MAX_DAYS}.get(kind, PERMIT_YEAR_DAYS)
        valid_until = valid_from + timedelta(days=days)
    if valid_until <= valid_from:
        raise PermitRefused("有效期的结束须晚于开始\na permit must end after it starts", "valid_until")
    if kind is PermitKind.TEMPORARY and valid_until - valid_from > timedelta(days=TEMPORARY_PASS_MAX_DAYS):
        raise PermitRefused(f"临时通行证最长 {TEMPORARY_PASS_MAX_DAYS} 天\n"
                            f"a temporary pass (临时通行证) is valid for at most {TEMPORARY_PASS_MAX_DAYS} days",
                            "valid_until")
    if kind is PermitKind.RENOVATION and valid_until - valid_from > timedelta(days=RENOVATION_PASS_MAX_DAYS):
        raise PermitRefused(f"装修出入证最长 {RENOVATION_PASS_MAX_DAYS} 天(按装修许可证的期限)\n"
                            f"a renovation pass (装修出入证) is valid for at most {RENOVATION_PASS_MAX_DAYS} days",
                            "valid_until")
    if not card_uid:
        raise OfficeError("请填写卡号\na permit needs the card's UID")
    p = schema.permits
    clash = conn.execute(select(p.c.permit_id).where(
        p.c.estate == estate, p.c.card_uid == card_uid, p.c.status == PermitStatus.ACTIVE.value)).first()
    if clash:
        raise PermitRefused(f"卡 {card_uid} 已在生效的证 {clash.permit_id} 上:请先挂失或注销该证\n"
                            f"card {card_uid} is already on active permit {clash.permit_id}; revoke or report it lost "
                            "first", "card_uid")
    if replaces:
        _check_replaced(conn, estate, replaces)
    old = _card_permit(conn, estate, card_uid)
    if old is not None and old.permit_id != replaces:
        zh, en = _STATUS_WORDS[old.status]
        raise PermitRefused(f"卡 {card_uid} 属于已{zh}的证 {old.permit_id}:不能直接重新发证,否则旧卡会重新生效。"
                            f"如确为该证补办,请在该证页面补办(或加 --replaces {old.permit_id})\n"
                            f"card {card_uid} belongs to permit {old.permit_id}, {en}: issuing on it would make that "
                            f"card pass again. If this is its replacement, re-issue it from that permit's page "
                            f"(or add --replaces {old.permit_id})", "card_uid")
    permit_id = permit_id or "P" + secrets.token_hex(4).upper()
    photo_id = put_photo(conn, estate, photo[0]) if photo is not None else ""
    row = {
        "permit_id": permit_id, "card_uid": card_uid, "kind": kind.value, "holder_name": holder_name,
        "id_masked": mask_id(id_number) if id_number else holder_id[0],
        "id_hash": id_hash(hmac_key, id_number) if id_number else holder_id[1],
        "photo": photo_id, "phone": phone, "unit_id": unit_id, "valid_from": valid_from.isoformat(),
        "valid_until": valid_until.isoformat(), "status": PermitStatus.ACTIVE.value, "replaces": replaces,
    }
    put_rows(conn, estate, p, [row])
    return row


def put_photo(conn: Connection, estate: str, data: bytes) -> str:
    """Store an accepted photo (office/photos.py `check_photo`) for the gates, downscaled
    (`downscale_photo`), and return its id: the same picture again (a replacement card, one carrier
    on two slips) is stored and sent to the gates once."""
    small, mime = downscale_photo(data)
    photo_id = "ph-" + hashlib.sha256(small).hexdigest()[:16]
    ph = schema.photos
    known = conn.execute(select(ph.c.photo_id).where(ph.c.estate == estate, ph.c.photo_id == photo_id)).first()
    if known is None:
        put_rows(conn, estate, schema.photos, [{"photo_id": photo_id, "mime": mime, "data": small}])
    return photo_id


#: How a clerk reads a permit's status in a refusal: (Chinese, English).
_STATUS_WORDS = {PermitStatus.LOST: ("挂失", "reported lost"), PermitStatus.REVOKED: ("注销", "revoked"),
                 PermitStatus.ACTIVE: ("生效", "still active")}


def _as_permit(r: Any) -> Permit:
    return Permit(r["permit_id"], r["card_uid"], PermitKind(r["kind"]), Person(r["holder_name"]), r["unit_id"],
                  datetime.fromisoformat(r["valid_from"]), datetime.fromisoformat(r["valid_until"]),
                  PermitStatus(r["status"]), r.get("replaces") or "")


def _card_permit(conn: Connection, estate: str, card_uid: str) -> Permit | None:
    """The permit the gates decide on for this card (domain.rules.card_permit), or None for a new card."""
    p = schema.permits
    return card_permit(_as_permit(r) for r in conn.execute(
        select(p).where(p.c.estate == estate, p.c.card_uid == card_uid)).mappings())


def _check_replaced(conn: Connection, estate: str, permit_id: str) -> None:
    """A replacement replaces a permit that exists and was reported lost or revoked."""
    row = get_row(conn, estate, schema.permits, {"permit_id": permit_id})
    if row is None:
        raise NotFound(f"没有证 {permit_id}\nno permit {permit_id!r} to replace in estate {estate!r}")
    if row["status"] == PermitStatus.ACTIVE.value:
        raise Refused(f"证 {permit_id} 仍然有效:请先挂失或注销\n"
                      f"permit {permit_id} is still active: report it lost or revoke it before replacing it")


def find_permit(conn: Connection, estate: str, permit_or_card: str) -> dict[str, Any]:
    """A permit by its id, or the permit that speaks for a card UID."""
    p = schema.permits
    row = conn.execute(select(p).where(p.c.estate == estate, p.c.permit_id == permit_or_card)).mappings().first()
    if row is None:
        on_card = {r["permit_id"]: r for r in conn.execute(
            select(p).where(p.c.estate == estate, p.c.card_uid == permit_or_card)).mappings()}
        # The permit the gates decide on for this card (domain.rules.card_permit), so that
        # `revoke CARD` hits the card's active permit, not an older one that ran longer.
        best = card_permit(_as_permit(r) for r in on_card.values())
        row = on_card[best.permit_id] if best is not None else None
    if row is None:
        raise NotFound(f"no permit or card {permit_or_card!r} in estate {estate!r}")
    return dict(row)


def set_permit_status(conn: Connection, estate: str, permit_or_card: str, status: PermitStatus) -> dict[str, Any]:
    """Report a card lost or revoke a permit; gates refuse the card after their next pull."""
    row = find_permit(conn, estate, permit_or_card)
    return patch(conn, estate, schema.permits, {"permit_id": row["permit_id"]}, status=status.value)


def renew_permit(conn: Connection, estate: str, permit_id: str, now: datetime) -> dict[str, Any]:
    """Renew a permit for a year (住户证 一年一续): its valid_until moves a year on from when it
    ends (or from ``now`` when it has ended already).

    The same row is changed, not a new permit issued: a card has one active permit (issue_permit),
    and a patched row reaches every gate's replica as one upsert of the permit it already holds, so
    the card passes throughout and no gate ever sees two permits for it. Only an active resident or
    standing-release permit renews; a temporary or renovation pass is issued afresh."""
    row = get_row(conn, estate, schema.permits, {"permit_id": permit_id})
    if row is None:
        raise NotFound(f"没有证 {permit_id}\nno permit {permit_id!r} in estate {estate!r}")
    if row["status"] != PermitStatus.ACTIVE.value:
        zh, en = _STATUS_WORDS[PermitStatus(row["status"])]
        raise Refused(f"证 {permit_id} 已{zh},不能续期\npermit {permit_id} is {en}: it cannot be renewed")
    if PermitKind(row["kind"]) not in (PermitKind.RESIDENT, PermitKind.STANDING_RELEASE):
        raise Refused("临时通行证和装修出入证不续期,请重新办理\n"
                      "temporary and renovation passes are not renewed: issue a new one")
    until = datetime.fromisoformat(row["valid_until"])
    start = max(until, now)
    return patch(conn, estate, schema.permits, {"permit_id": permit_id},
                 valid_until=(start + timedelta(days=PERMIT_YEAR_DAYS)).isoformat())


def add_guard(conn: Connection, estate: str, guard_id: str, name: str, badge_uid: str, pin: str,
              role: Role = Role.GUARD) -> dict[str, Any]:
    if not pin.isdigit() or not 4 <= len(pin) <= 8:
        raise OfficeError("a guard's PIN is 4 to 8 digits")
    row = {"guard_id": guard_id, "name": name, "badge_uid": badge_uid, "pin_hash": hash_pin(pin, secrets.token_bytes(16)),
           "role": role.value, "active": 1}
    put_rows(conn, estate, schema.guards, [row])
    return row


#: Words an estate adds to the prohibited goods (domain/issuing.py PROHIBITED_ITEMS): a JSON list of strings.
PROHIBITED_ITEMS_RULE = "prohibited_items"
#: The estate's size limit for one item, in centimetres: a JSON number.
MAX_ITEM_SIZE_RULE = "max_item_size_cm"


def _word_list(value: Any) -> list[str]:
    from domain.errors import ConfigError

    if not isinstance(value, list) or not all(isinstance(w, str) and 0 < len(w) <= 20 for w in value) or len(value) > 500:
        raise ConfigError(f"rule {PROHIBITED_ITEMS_RULE}: expected a JSON list of up to 500 words (1-20 characters)")
    return list(value)


def _size_limit(value: Any) -> float:
    from domain.errors import ConfigError

    if isinstance(value, bool) or not isinstance(value, int | float) or not 10 <= value <= 10_000:
        raise ConfigError(f"rule {MAX_ITEM_SIZE_RULE}: expected a number of centimetres from 10 to 10000")
    return float(value)


def estate_rule(conn: Connection, estate: str, name: str) -> Any:
    """A rule's value as the office published it (checked when it was set), or None."""
    row = get_row(conn, estate, schema.rules, {"name": name})
    return json.loads(row["value"]) if row else None


def check_rule(name: str, value: Any) -> None:
    """Refuse a rule the gates would not understand, before it reaches them."""
    from domain.errors import ConfigError
    from domain.hours import LARGE_ITEM_HOURS_RULE, parse_hours_rule

    known = {LARGE_ITEM_HOURS_RULE: parse_hours_rule, PROHIBITED_ITEMS_RULE: _word_list, MAX_ITEM_SIZE_RULE: _size_limit}
    if name not in known:
        raise OfficeError(f"rule {name}: unknown rule (known: {', '.join(sorted(known))})")
    try:
        known[name](value)
    except ConfigError as exc:
        raise OfficeError(str(exc)) from None


def set_rule(conn: Connection, estate: str, name: str, value_json: str) -> dict[str, Any]:
    try:
        value = json.loads(value_json)
    except json.JSONDecodeError as exc:
        raise OfficeError(f"rule {name}: value is not JSON: {exc}") from None
    check_rule(name, value)
    row = {"name": name, "value": json.dumps(value, ensure_ascii=False)}
    put_rows(conn, estate, schema.rules, [row])
    return row


def revoke_key(conn: Connection, estate: str, key_id: str) -> None:
    """Revoke a published signing key: every gate refuses its slips from its next pull on,
    whatever its own key folder holds. A revoked key cannot be reinstated."""
    row = get_row(conn, estate, schema.signing_keys, {"key_id": key_id})
    if row is None:
        raise NotFound(f"no signing key {key_id!r} in estate {estate!r} (see `gatepass office keys`)")
    if row["revoked"]:
        raise Refused(f"signing key {key_id} is already revoked")
    patch(conn, estate, schema.signing_keys, {"key_id": key_id}, revoked=1)
    publish_other_estate_keys(conn)


def list_keys(conn: Connection, estate: str) -> list[dict[str, Any]]:
    k = schema.signing_keys
    return [dict(r) for r in conn.execute(select(k.c.key_id, k.c.revoked).where(k.c.estate == estate)
                                          .order_by(k.c.key_id)).mappings()]


def signing_key_usable(conn: Connection, estate: str, key_id: str) -> None:
    """Refuse to sign with a key the gates would refuse: revoked, or never published to them."""
    row = get_row(conn, estate, schema.signing_keys, {"key_id": key_id})
    if row is None:
        raise Refused(f"signing key {key_id} is not published to the gates of estate {estate!r}: "
                      "run `gatepass office init` to publish it")
    if row["revoked"]:
        raise Refused(f"signing key {key_id} is revoked: run `gatepass office rotate-key` for a new one")


def import_public_keys(conn: Connection, estate: str, keys_dir: str | Path) -> list[str]:
    """Publish estate ``estate``'s public keys (keys_dir/*.pub) to its gates; return the new key ids.

    A key belongs to one estate: one already published for another estate is refused (its
    slips would pass in both; give each estate its own folder, office/keys.py)."""
    added = []
    k = schema.signing_keys
    for kid, raw in load_public_dir(keys_dir).items():
        if get_row(conn, estate, k, {"key_id": kid}) is not None:
            continue
        elsewhere = conn.execute(select(k.c.estate).where(k.c.key_id == kid, k.c.estate != estate)).scalar()
        if elsewhere is not None:
            raise Refused(f"signing key {kid} in {keys_dir} is estate {elsewhere!r}'s: each estate signs with its own "
                          f"key (`gatepass office init --estate {estate}` makes one)")
        put_rows(conn, estate, k, [{"key_id": kid, "public_key": base64.b64encode(raw).decode("ascii"), "revoked": 0}])
        added.append(kid)
    publish_other_estate_keys(conn)
    return added


def publish_other_estate_keys(conn: Connection) -> int:
    """Give each estate's gates the public keys in force of every OTHER estate (other_estate_keys),
    and take revoked ones back: a gate then tells a genuine slip of another estate (refused,
    slip.other_estate) from a forgery. Return how many rows changed. Run by the key commands
    (init, rotate-key, revoke-key); `gatepass office init` runs it again after an upgrade."""
    k, o = schema.signing_keys, schema.other_estate_keys
    estates = sorted(conn.execute(select(schema.estates.c.estate_id)).scalars())
    in_force = [(r.estate, r.key_id, r.public_key) for r in conn.execute(
        select(k.c.estate, k.c.key_id, k.c.public_key).where(k.c.revoked == 0).order_by(k.c.estate, k.c.key_id))]
    changed = 0
    for estate in estates:
        want = {kid: {"key_id": kid, "key_estate": owner, "public_key": pub}
                for owner, kid, pub in in_force if owner != estate}
        have = {r["key_id"]: {"key_id": r["key_id"], "key_estate": r["key_estate"], "public_key": r["public_key"]}
                for r in conn.execute(select(o).where(o.c.estate == estate)).mappings()}
        stale = [{"key_id": kid} for kid in sorted(set(have) - set(want))]
        fresh = [row for kid, row in sorted(want.items()) if have.get(kid) != row]
        if stale:
            changed += remove_rows(conn, estate, o, stale)
        if fresh:
            changed += put_rows(conn, estate, o, fresh)
    return changed
