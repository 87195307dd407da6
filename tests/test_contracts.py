"""The health and status contracts: lossless for what our own parts write, never raising on what others send."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.contracts import (
    HEALTH_STALE_AFTER_BEATS,
    MAX_DETAIL,
    MAX_TEXT,
    SYNC_STATUS_KEYS,
    DeviceHealth,
    DeviceState,
    HeartbeatBody,
    KioskHealth,
    SyncState,
    SyncStatus,
    age_devices,
)

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=timezone(timedelta(hours=8)))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20)
# objects shaped like the real thing, with any value in any slot
device_like = st.fixed_dictionaries({}, optional={"state": json_values | st.sampled_from([s.value for s in DeviceState]),
                                                  "detail": json_values, "at": json_values | st.just(T0.isoformat())})
beat_like = st.fixed_dictionaries({}, optional={k: json_values | device_like for k in (
    "reader", "camera", "versions", "outbox_depth", "clock_offset_s", "sent_at", "heartbeat_interval_s")})


def test_every_state_has_a_chinese_and_an_english_label_and_only_online_is_healthy():
    assert [(s.zh, s.healthy) for s in DeviceState] == [("正常", True), ("离线", False), ("故障", False),
                                                        ("未知", False), ("过期", False)]
    assert DeviceState.STALE.en == "Stale: no recent report" and DeviceState.ONLINE.en == "Online"


def test_a_drivers_report_becomes_a_timed_device_health():
    assert DeviceHealth.of(True, "/dev/ttyUSB0 open (rdm6300)", T0) == \
        DeviceHealth(DeviceState.ONLINE, "/dev/ttyUSB0 open (rdm6300)", T0)
    assert DeviceHealth.of(False, "unplugged", T0).state is DeviceState.OFFLINE
    never = DeviceHealth.of(None, "", T0)
    assert never.state is DeviceState.UNKNOWN and never.detail
    with pytest.raises(ValueError):
        DeviceHealth(DeviceState.ONLINE, "", datetime(2026, 11, 30, 8, 0))     # a time without a zone


def test_what_our_parts_write_reads_back_unchanged():
    reader = DeviceHealth(DeviceState.ONLINE, "/dev/gatepass-reader open (pn532)", T0)
    camera = DeviceHealth(DeviceState.FAULT, "camera 0: no frames for 5 s", T0 - timedelta(seconds=3))
    assert DeviceHealth.from_json(reader.to_json()) == reader
    health = KioskHealth(T0, {"reader": reader, "camera": camera})
    assert KioskHealth.from_json(health.to_json()) == health
    beat = HeartbeatBody(reader, camera, {"gatepass": "0.3"}, 12, -0.25, T0, 30.0)
    assert HeartbeatBody.from_json(beat.to_json()) == beat
    status = SyncStatus(gate_id="north", pid=4242, updated_at=T0, state=SyncState.OFFLINE, ok=False,
                        error="connect timeout", last_pull_at=T0, pull_cursor=10, push_cursor=7, outbox_depth=3,
                        clock_offset_s=0.5, office_epoch="e1")
    assert SyncStatus.from_json(status.to_json()) == status
    assert tuple(status.to_json()) == SYNC_STATUS_KEYS


@pytest.mark.parametrize("text, state, detail", [
    ("online: /dev/ttyUSB0 open (rdm6300)", DeviceState.ONLINE, "/dev/ttyUSB0 open (rdm6300)"),
    ("ok", DeviceState.ONLINE, ""),
    ("offline: camera 0: gone", DeviceState.OFFLINE, "camera 0: gone"),
    ("unknown", DeviceState.UNKNOWN, ""),
])
def test_an_older_gates_free_text_is_read_by_its_first_word(text, state, detail):
    d = DeviceHealth.from_json(text)
    assert (d.state, d.detail, d.at) == (state, detail, None)


@pytest.mark.parametrize("data, says", [
    ({"state": "exploded", "detail": "boom"}, "unknown state 'exploded' (boom)"),
    ({"state": "online", "at": "last tuesday"}, "bad time 'last tuesday'"),
    ("sparkling", "unrecognised report 'sparkling'"),
    (42, "malformed report (int, not an object)"),
    (["online"], "malformed report (list, not an object)"),
    (None, "not reported"),
])
def test_a_malformed_report_is_unknown_and_says_what_was_wrong(data, says):
    d = DeviceHealth.from_json(data)
    assert d.state is DeviceState.UNKNOWN and d.detail == says


def test_hostile_text_is_bounded_and_cannot_drive_a_terminal():
    d = DeviceHealth.from_json({"state": "offline", "detail": "\x1b[2J\x00" + "x" * 100_000, "at": "9" * 10_000})
    assert len(d.detail) <= MAX_DETAIL and "\x1b" not in d.detail and "\x00" not in d.detail
    assert d.state is DeviceState.UNKNOWN and d.detail.startswith("bad time '999")
    s = SyncStatus.from_json({"error": "e" * 100_000, "last_error": "\x07" * 10, "state": "ok"})
    assert len(s.error or "") <= MAX_TEXT and "\x07" not in (s.last_error or "")
    b = HeartbeatBody.from_json({"versions": {f"k{i}": "v" * 1000 for i in range(1000)}})
    assert len(b.versions) == HeartbeatBody.MAX_VERSIONS and all(len(v) <= 64 for v in b.versions.values())


def test_a_report_older_than_three_heartbeats_is_stale():
    assert HEALTH_STALE_AFTER_BEATS == 3
    devices = {"reader": DeviceHealth(DeviceState.ONLINE, "open", T0),
               "camera": DeviceHealth(DeviceState.OFFLINE, "gone", T0),
               "gpio": DeviceHealth(DeviceState.UNKNOWN, "never said", None),
               "old": DeviceHealth(DeviceState.ONLINE, "no time", None)}
    at_limit = age_devices(devices, T0 + timedelta(seconds=180), 60)
    assert at_limit["reader"].state is DeviceState.ONLINE and at_limit["camera"].state is DeviceState.OFFLINE
    later = age_devices(devices, T0 + timedelta(seconds=181), 60)
    assert later["reader"] == DeviceHealth(DeviceState.STALE, "open", T0)      # keeps what and when it last said
    assert later["camera"].state is DeviceState.STALE
    assert later["gpio"].state is DeviceState.UNKNOWN                          # unknown stays unknown
    assert at_limit["old"].state is DeviceState.STALE                         # a report without a time proves nothing


def test_the_office_ages_a_silent_gates_reports_on_its_own_clock_corrected_by_the_gates_offset():
    beat = HeartbeatBody(DeviceHealth(DeviceState.ONLINE, "", T0), DeviceHealth(DeviceState.ONLINE, "", T0),
                         clock_offset_s=-100.0, heartbeat_interval_s=60)
    # the gate's clock is 100 s ahead: its T0 is the office's T0 - 100 s
    assert beat.as_of(T0 + timedelta(seconds=80))["reader"].state is DeviceState.ONLINE
    assert beat.as_of(T0 + timedelta(seconds=81))["reader"].state is DeviceState.STALE


def test_a_missing_or_damaged_health_file_makes_every_device_unknown():
    for health in (KioskHealth.from_json("nonsense"), KioskHealth.from_json([1]), KioskHealth.missing("no file")):
        assert {k: d.state for k, d in health.devices.items()} == {"reader": DeviceState.UNKNOWN,
                                                                   "camera": DeviceState.UNKNOWN}
    half = KioskHealth.from_json({"written_at": T0.isoformat(), "devices": {"reader": {"state": "online", "at": T0.isoformat()}}})
    assert half.devices["reader"].state is DeviceState.ONLINE and half.devices["camera"].state is DeviceState.UNKNOWN
    old = KioskHealth.from_json({"reader": "online: /dev/ttyUSB0 open", "camera": "offline"})   # the old file
    assert old.written_at is None and old.devices["reader"].state is DeviceState.ONLINE


@settings(max_examples=150, deadline=None)
@given(data=json_values | device_like)
def test_parsing_any_device_report_never_raises(data):
    d = DeviceHealth.from_json(data)
    assert isinstance(d.state, DeviceState) and len(d.detail) <= MAX_DETAIL
    assert d.at is None or d.at.tzinfo is not None
    DeviceHealth.from_json(d.to_json())


@settings(max_examples=150, deadline=None)
@given(data=json_values | beat_like)
def test_parsing_any_heartbeat_or_health_file_never_raises(data):
    beat = HeartbeatBody.from_json(data)
    assert beat.heartbeat_interval_s > 0 and beat.outbox_depth >= 0
    beat.as_of(T0)
    KioskHealth.from_json(data)
    KioskHealth.from_json({"devices": data, "written_at": data})


@settings(max_examples=150, deadline=None)
@given(data=json_values | st.dictionaries(st.sampled_from(SYNC_STATUS_KEYS), json_values))
def test_parsing_any_status_file_never_raises(data):
    s = SyncStatus.from_json(data)
    assert isinstance(s.state, SyncState) and s.push_cursor >= 0
    s.running(T0)
