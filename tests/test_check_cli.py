"""`gatepass check` on the demo estate: the decision a guard would get for every demo card and slip."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest


def check(demo, *args, at=None):
    cmd = [sys.executable, "-m", "kiosk.cli", "check", "--db", str(demo.replica_path), "--json",
           "--at", (at or demo.now).isoformat(), *args]
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode in (0, 1), out.stderr
    result = json.loads(out.stdout)
    assert (out.returncode == 0) == result["allowed"]
    return result


@pytest.mark.parametrize("label, allowed, reason", [
    ("valid", True, "card.valid"),
    ("mover", True, "card.valid"),
    ("temporary", True, "card.valid"),
    ("renovation", True, "card.valid"),
    ("expired", False, "card.expired"),
    ("lost", False, "card.lost"),
    ("revoked", False, "card.revoked"),
    ("not_yet_valid", False, "card.not_yet_valid"),
    ("unknown", False, "card.unknown"),
])
def test_each_demo_card(demo, label, allowed, reason):
    r = check(demo, "--card", demo.cards[label])
    assert r["allowed"] is allowed and r["reasons"] == [reason]
    if label != "unknown":
        card = r["card"]
        assert card["name"] and card["unit"] and re.fullmatch(r"\d{4}\*{10}[\dX]{4}", card["masked_id"])
    if label == "lost":
        assert "扣留" in r["messages"][0]["next_zh"] and "Keep the card" in r["messages"][0]["next_en"]


@pytest.mark.parametrize("label, allowed, reason", [
    ("owner", True, "slip.valid"),
    ("tenant", True, "slip.valid"),
    ("non_owner", True, "slip.valid"),
    ("contractor", True, "slip.valid"),
    ("move_out", True, "slip.valid"),
    ("company", True, "slip.valid"),
    ("not_synced", True, "slip.valid"),
    ("used", False, "slip.used_at_other_gate"),
    ("expired", False, "slip.expired"),
    ("not_yet_valid", False, "slip.not_yet_valid"),
    ("cancelled", False, "slip.cancelled"),
    ("wrong_gate", False, "slip.wrong_gate"),
    ("unpaid_fees", False, "slip.unpaid_fees"),
    ("approvals_missing", False, "slip.approvals_missing"),
    ("forged", False, "slip.unknown_key"),
    ("other_estate", False, "slip.other_estate"),
    ("tampered", False, "slip.signature_invalid"),
])
def test_each_demo_slip(demo, label, allowed, reason):
    r = check(demo, "--slip", demo.slips[label])
    assert r["allowed"] is allowed and r["reasons"][0] == reason


def test_a_synced_slip_shows_what_the_guard_checks(demo):
    r = check(demo, "--slip", demo.slips["owner"])
    s = r["slip"]
    assert s["items"] and all(i["name"] and i["quantity"] >= 1 for i in s["items"])
    assert s["applicant"] and s["mover"] and "*" in s["mover_masked_id"]
    assert {a["role"] for a in s["approvals"]} >= {"handler", "butler_head"}
    assert s["valid_from"] < s["valid_until"]


def test_a_slip_not_yet_synced_says_so(demo):
    r = check(demo, "--slip", demo.slips["not_synced"])
    assert r["synced"] is False and "items" not in r["slip"] and r["slip"]["item_count"] >= 2
    assert any(m["code"] == "slip.not_synced" for m in r["messages"])


def test_used_slip_says_where_and_when(demo):
    r = check(demo, "--slip", demo.slips["used"])
    assert r["used"]["gate"] == "south" and r["used"]["at"]


def test_slips_outside_large_item_hours(demo):
    night = demo.now.replace(hour=23)
    assert check(demo, "--slip", demo.slips["owner"], at=night)["reasons"] == ["slip.outside_hours"]


def test_move_out_at_another_gate_is_the_wrong_gate(demo):
    r = check(demo, "--slip", demo.slips["move_out"], "--gate", "east")
    assert r["reasons"] == ["slip.wrong_gate"]


def test_slip_image_is_decoded_from_the_demo_png(demo):
    r = check(demo, "--slip-image", str(demo.qr_dir / "contractor.png"))
    assert r["allowed"] and r["slip"]["kind"] == "contractor"


def test_a_picture_without_a_code_is_a_clear_error(demo, tmp_path):
    import cv2
    import numpy as np

    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 255, np.uint8))
    out = subprocess.run([sys.executable, "-m", "kiosk.cli", "check", "--db", str(demo.replica_path),
                          "--slip-image", str(blank)], capture_output=True, text=True)
    assert out.returncode == 2 and "no QR code" in out.stderr


def test_guard_badge_is_recognised(demo):
    r = check(demo, "--card", demo.guards[0][0])
    assert r["subject"] == "guard_badge" and r["guard"]["name"] == demo.guards[0][3]


def test_demo_data_command_writes_replica_qr_codes_and_manifest(tmp_path):
    out = subprocess.run([sys.executable, "-m", "kiosk.cli", "demo-data", "--db", str(tmp_path / "r.db"),
                          "--out", str(tmp_path / "demo"), "--permits", "30"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    manifest = json.loads((tmp_path / "demo" / "manifest.json").read_text())
    assert (tmp_path / "r.db").exists() and manifest["replica"] == str(tmp_path / "r.db")
    pngs = {p.stem for p in (tmp_path / "demo" / "slips").glob("*.png")}
    assert {"owner", "contractor", "move_out", "company", "used", "expired", "wrong_gate"} <= pngs
    assert list((tmp_path / "demo" / "keys").glob("*.pub"))


def test_no_plaintext_national_id_is_stored_on_the_gate(demo):
    data = demo.replica_path.read_bytes()
    wal = demo.replica_path.with_name("replica.db-wal")
    if wal.exists():
        data += wal.read_bytes()
    # an 18-character resident ID: the demo's region codes, a birth date, a sequence and a check digit
    id_number = rb"(?<!\d)(440106|440304|310115|110105|510107|330106)(19|20)\d{2}(0[1-9]|1[0-2])\d{2}\d{3}[\dX](?!\d)"
    assert re.search(id_number, data) is None
    assert re.search(rb"\d{4}\*{10}[\dX]{4}", data) is not None   # masked forms are there


def test_help_is_useful_on_every_subcommand():
    for sub in (["check"], ["demo-data"], ["log", "verify"], ["keys", "new"], ["config", "check"]):
        out = subprocess.run([sys.executable, "-m", "kiosk.cli", *sub, "--help"], capture_output=True, text=True)
        assert out.returncode == 0 and "usage: gatepass" in out.stdout and len(out.stdout) > 200, sub


def test_check_reads_times_in_the_gates_zone_not_the_machines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large-item hours are the estate's: 06:30 typed at a machine in another zone is still 06:30 at the gate."""
    import time
    from datetime import datetime

    from domain.clock import FixedClock
    from kiosk.commands import _parse_at

    for machine_zone in ("Etc/GMT+12", "Etc/GMT-14", "UTC"):
        monkeypatch.setenv("TZ", machine_zone)
        time.tzset()
        typed = _parse_at("2026-12-01T06:30", "Asia/Shanghai")
        assert typed.isoformat() == "2026-12-01T06:30:00+08:00"
        now = _parse_at(None, "Asia/Shanghai", FixedClock(datetime.fromisoformat("2026-11-30T20:00:00+00:00")))
        assert now.isoformat() == "2026-12-01T04:00:00+08:00"     # already tomorrow at the gate
    monkeypatch.delenv("TZ")
    time.tzset()


def test_a_replacement_card_says_which_permit_it_replaces_and_the_lost_one_is_still_refused(tmp_path):
    from dataclasses import replace

    from domain.model import PermitStatus
    from kiosk.check import check_card
    from kiosk.store import Replica, permit_row
    from tests.factories import NOW, permit

    db = tmp_path / "replica.db"
    replica = Replica.open(db)
    lost = permit(PermitStatus.LOST, pid="R1")
    new = replace(permit(pid="R2"), replaces="R1")
    replica.upsert("permits", [permit_row(lost), permit_row(new)])
    assert check_card(db, new.card_uid, NOW)["card"]["replaces"] == "R1"
    old = check_card(db, lost.card_uid, NOW)
    assert old["allowed"] is False and old["reasons"] == ["card.lost"] and old["card"]["replaces"] == ""
