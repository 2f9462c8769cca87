"""Camera health (issue 16 item 5): the camera's battery, temperature and storage models on the lab
clock, the ``health`` message's checks, and the warnings before a camera runs out."""

# covers: O5

from __future__ import annotations

import json

import pytest

from bwlab.clock import ManualClock
from bwlab.wire import health as wire
from bwlab.wire import messages as m
from firmware_stub.health import AMBIENT_C, HealthModel

GB = 10**9
WIFI = {"mode": "WLAN", "network": {"up": True, "mode": "WLAN"}, "wifi": {"signal_db": -58}, "mobile": None}


def run(model: HealthModel, clock: ManualClock, seconds: float, **doing) -> None:
    model.advance(clock.now(), **doing)
    clock.advance(seconds)
    model.advance(clock.now(), **doing)


def test_the_battery_drains_faster_while_streaming_and_charges_in_the_dock():
    clock = ManualClock()
    idle, recording, streaming = (HealthModel(clock.now(), battery_percent=90) for _ in range(3))
    doings = ((idle, False, False), (recording, True, False), (streaming, True, True))
    for model, rec, live in doings:
        model.advance(clock.now(), docked=False, recording=rec, streaming=live)
    clock.advance(3600)
    for model, rec, live in doings:
        model.advance(clock.now(), docked=False, recording=rec, streaming=live)
    assert 90 > idle.battery > recording.battery > streaming.battery > 50
    run(streaming, clock, 2 * 3600, docked=True, recording=False, streaming=False)
    assert streaming.battery == 100.0, "two hours in the dock charge it full"
    run(streaming, clock, 30 * 3600, docked=False, recording=True, streaming=True)
    assert streaming.battery == 0.0, "never below empty"


def test_time_travel_moves_the_battery_at_once():
    clock = ManualClock()
    model = HealthModel(clock.now(), battery_percent=90)
    model.advance(clock.now(), docked=False, recording=True, streaming=True)
    clock.advance(3 * 3600)  # a time travel: the lab clock jumps
    model.advance(clock.now(), docked=False, recording=True, streaming=True)
    report = model.report(clock.now(), {"used": 0, "capacity": 64 * GB}, WIFI)
    assert report.battery_percent == pytest.approx(15.0)
    assert report.battery_minutes_left == pytest.approx(36.0)
    assert [w["code"] for w in wire.warnings(json.loads(m.encode(report)))] == ["battery_low"]


def test_the_camera_warms_while_streaming_and_cools_in_the_dock():
    clock = ManualClock()
    model = HealthModel(clock.now())
    start = model.temperature
    run(model, clock, 1800, docked=False, recording=True, streaming=True)
    warm = model.temperature
    assert warm > start + 8
    run(model, clock, 3600, docked=True, recording=False, streaming=False)
    assert AMBIENT_C < model.temperature < warm


def test_storage_minutes_left_come_from_the_rate_it_fills_at_while_recording():
    clock = ManualClock()
    model = HealthModel(clock.now())
    model.advance(clock.now(), docked=False, recording=True, streaming=False)
    model.report(clock.now(), {"used": 10 * GB, "capacity": 16 * GB}, WIFI)
    clock.advance(60)
    model.advance(clock.now(), docked=False, recording=True, streaming=False)
    report = model.report(clock.now(), {"used": 10 * GB + 100_000_000, "capacity": 16 * GB}, WIFI)
    assert report.storage_minutes_left == pytest.approx(59.0)  # 5.9 GB free at 100 MB a minute
    clock.advance(60)
    model.advance(clock.now(), docked=False, recording=False, streaming=False)
    assert (
        model.report(clock.now(), {"used": 10 * GB + 200_000_000, "capacity": 16 * GB}, WIFI).storage_minutes_left
        is None
    )


def test_the_report_names_the_network_and_its_signal():
    clock = ManualClock()
    model = HealthModel(clock.now())
    assert (
        model.report(clock.now(), {"used": 0, "capacity": 1}, WIFI).link,
        model.report(clock.now(), {"used": 0, "capacity": 1}, WIFI).signal_dbm,
    ) == ("wifi", -58.0)
    lte = {"mode": "LTE", "network": {"up": True}, "wifi": {"signal_db": None}, "mobile": {"signal_db": -97}}
    assert model.report(clock.now(), {"used": 0, "capacity": 1}, lte).signal_dbm == -97.0
    down = {"mode": "WLAN", "network": {"up": False}, "wifi": {"signal_db": None}}
    report = model.report(clock.now(), {"used": 0, "capacity": 1}, down)
    assert (report.link, report.signal_dbm) == (None, None)


BASE = {
    "type": "health",
    "battery_percent": 80.0,
    "charging": False,
    "battery_minutes_left": 200.0,
    "storage_used": 1,
    "storage_capacity": 64 * GB,
    "storage_minutes_left": None,
    "temperature_c": 30.0,
    "signal_dbm": -60.0,
    "link": "wifi",
    "at": 1_765_000_000.0,
}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"battery_percent": 101}, "battery_percent"),
        ({"battery_percent": -1}, "battery_percent"),
        ({"storage_capacity": 0}, "storage_capacity"),
        ({"temperature_c": 300}, "temperature_c"),
        ({"signal_dbm": 5}, "signal_dbm"),
        ({"link": "pigeon"}, "link"),
        ({"charging": "yes"}, "charging"),
        ({"battery": 3}, "battery"),
    ],
)
def test_a_report_out_of_range_is_refused_naming_the_field(change, field):
    with pytest.raises(m.ProtocolError) as refused:
        m.decode(json.dumps({**BASE, **change}))
    assert refused.value.code == "invalid_message" and field in str(refused.value)


@pytest.mark.parametrize(
    "change, codes",
    [
        ({}, []),
        ({"battery_percent": 19.0}, ["battery_low"]),
        ({"battery_minutes_left": 25.0}, ["battery_low"]),
        ({"battery_percent": 10.0, "charging": True, "battery_minutes_left": None}, []),
        ({"battery_percent": 0.0, "battery_minutes_left": 0.0}, ["battery_empty"]),
        ({"storage_used": 60 * GB}, ["storage_low"]),
        ({"storage_minutes_left": 12.0}, ["storage_low"]),
        ({"storage_used": 64 * GB}, ["storage_full"]),
        ({"temperature_c": 46.0}, ["temperature_high"]),
        ({"signal_dbm": -80.0}, ["signal_weak"]),
    ],
)
def test_warnings_come_before_the_camera_runs_out(change, codes):
    assert [w["code"] for w in wire.warnings({**BASE, **change})] == codes


def test_a_time_travel_gives_no_storage_rate():
    """Media is made in real time: bytes over a jump of the lab clock are no rate."""
    clock = ManualClock()
    model = HealthModel(clock.now())
    model.advance(clock.now(), docked=False, recording=True, streaming=False)
    model.report(clock.now(), {"used": GB, "capacity": 16 * GB}, WIFI)
    clock.advance(3 * 3600)
    model.advance(clock.now(), docked=False, recording=True, streaming=False)
    assert model.report(clock.now(), {"used": GB + 50_000_000, "capacity": 16 * GB}, WIFI).storage_minutes_left is None
    clock.advance(30)
    model.advance(clock.now(), docked=False, recording=True, streaming=False)
    report = model.report(clock.now(), {"used": GB + 100_000_000, "capacity": 16 * GB}, WIFI)
    assert report.storage_minutes_left == pytest.approx((15 * GB - 100_000_000) / (50_000_000 / 30) / 60, rel=1e-3)
