"""A camera's place in the lab network as a pure model: what the firmware sees, the link its uplink
gets, walks, SIM cards and faults (S8, T2-T4, L2, L4); the uplink's shaping arithmetic; the
telemetry round trip to the lab; the timeline's value matching."""

# covers: S8, T2, T3, T4, L2, L4, L1

from __future__ import annotations

import asyncio
import random

import pytest

from appliance.lab.diagnosis import diagnose
from appliance.lab.facts import CameraFacts, camera_telemetry
from appliance.lab.symptoms import camera_symptoms
from bwlab.models import get_model
from firmware_stub.network import CameraNetwork, derive_imei
from firmware_stub.uplink import ShapedUplink, retransmission_delay, transmission_time
from labnet.faults import World, parse_fault
from labnet.mobile import Cell, Sim
from labnet.propagation import LinkQuality
from labnet.radio_config import AccessPoint, RadioConfig, WifiNetwork
from labnet.telemetry import frame_from_dict, frame_to_dict

T0 = 1_800_000_000.0
SERIAL = "B8A44F000777"
NET = WifiNetwork("LabNet", "labnet-pass")


def world(**kw) -> World:
    aps = kw.pop(
        "aps",
        (
            AccessPoint("West", "LabNet", channel=1, password="labnet-pass", position=(0, 0)),
            AccessPoint("East", "LabNet", channel=11, password="labnet-pass", position=(60, 0)),
        ),
    )
    return World(
        access_points=aps, cells=kw.pop("cells", (Cell("Mast", (3, 20), position=(400, 0)),)), sims=kw.pop("sims", {})
    )


def camera(model="W102", w=None, **kw) -> CameraNetwork:
    net = CameraNetwork(SERIAL, get_model(model), world=w or world(), now=T0, **kw)
    net.provisioned(T0, [NET], pin=kw.pop("pin", None))
    return net


def fault(n, **data):
    return parse_fault(data, fault_id=f"f{n}", now=T0)


def test_a_docked_camera_joins_wifi_and_the_firmware_sees_wlan_up():
    net = camera()
    assert net.network(T0) == (True, "WLAN")
    s = net.summary(T0)
    assert s["wifi"]["ap"] == "West" and s["mode"] == "WLAN" and s["link"]["up"] and s["wifi_networks"] == 1


def test_a_roam_keeps_the_network_up_but_pauses_the_link():
    net = camera(radio_config=RadioConfig(roam_hysteresis_s=1.0, handover_gap_s=2.0))
    net.undock(T0)
    net.move(T0, (55, 0))
    net.tick(T0 + 1.1)  # hysteresis over: the hand-over starts
    assert net.wifi.status(T0 + 1.1).state == "roaming"
    assert net.network(T0 + 1.2) == (True, "WLAN") and not net.link(T0 + 1.2).up
    net.tick(T0 + 3.2)
    assert net.summary(T0 + 3.2)["wifi"]["ap"] == "East" and net.link(T0 + 3.2).up
    assert [r["event"] for r in net.summary(T0 + 3.2)["roams"]] == ["roam_started", "roamed"]


def test_walks_and_routes_move_the_radio():
    net = camera(route=lambda now: (300.0, 0.0))
    assert net.position(T0) == (0.0, 0.0)  # docked: at the docks
    net.undock(T0)
    net.tick(T0 + 0.1)
    assert net.position(T0 + 0.1) == (300.0, 0.0) and net.network(T0 + 0.1) == (False, "WLAN")
    net.move(T0 + 1, (10, 0), walk_s=10)
    assert net.position(T0 + 6) == pytest.approx((155.0, 0.0))
    net.tick(T0 + 11)
    assert net.position(T0 + 11) == (10, 0) and net.network(T0 + 11) == (True, "WLAN")
    net.dock(T0 + 12)
    assert net.position(T0 + 12) == (0.0, 0.0)


def test_a_sim_puts_the_camera_on_lte_and_faults_change_it():
    w = world(sims={SERIAL: Sim(iccid="8946071234567890123")})
    net = camera("W120", w)
    assert net.network(T0) == (True, "LTE") and net.summary(T0)["wifi"]["state"] == "disabled"  # T3 row 1
    net.undock(T0)
    net.set_faults(T0 + 1, [fault(1, kind="sim", target=SERIAL, set={"credit_mb": 0})])
    assert net.network(T0 + 1) == (False, "LTE")  # T4 row 9: an address, no data
    assert net.summary(T0 + 1)["mobile"]["ipv4"] is not None
    net.set_faults(T0 + 2, [fault(2, kind="sim", target=SERIAL, set={"state": "absent"})])
    assert net.network(T0 + 2) == (True, "WLAN")  # no SIM: back on Wi-Fi
    net.set_faults(T0 + 3, [])
    assert net.mode(T0 + 3) == "LTE"


def test_ap_faults_and_link_impairments():
    net = camera()
    base = net.link(T0)
    net.set_faults(T0, [fault(1, kind="link", target=SERIAL, set={"latency_ms": 300, "bandwidth_kbps": 800})])
    impaired = net.link(T0)
    assert impaired.latency_ms == pytest.approx(base.latency_ms + 300) and impaired.throughput_kbps == 800
    net.set_faults(
        T0 + 1,
        [
            fault(2, kind="ap", target="West", set={"security": "wpa3-only"}),
            fault(3, kind="ap", target="East", set={"enabled": False}),
        ],
    )
    assert net.network(T0 + 1) == (False, "WLAN")
    assert net.summary(T0 + 2)["wifi"]["failure"] == "wpa2_not_allowed"  # once the association response is in
    net.set_faults(T0 + 20, [])
    net.tick(T0 + 20)
    assert net.network(T0 + 20) == (True, "WLAN")


def test_derived_imeis_are_valid():
    imei = derive_imei(SERIAL)
    digits = [int(c) for c in imei]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits)))
    assert len(imei) == 15 and total % 10 == 0 and imei == derive_imei(SERIAL)


# ---- the uplink ------------------------------------------------------------------------------


def test_loss_becomes_retransmission_delay_and_rate_becomes_serialisation():
    rng = random.Random(1)
    link = LinkQuality(True, 50.0, 0.0, 8000.0)
    assert retransmission_delay(100_000, link, rng) == 0.0
    assert transmission_time(100_000, link) == pytest.approx(0.1)
    lossy = LinkQuality(True, 50.0, 0.5, 8000.0)
    delays = [retransmission_delay(14_480, lossy, rng) for _ in range(200)]  # 10 segments
    assert 0.4 < sum(delays) / len(delays) < 0.6  # 5 lost segments × one 100 ms round trip


class _Socket:
    def __init__(self):
        self.sent: list = []
        self.closed = False

    async def send_bytes(self, data):
        self.sent.append(data)

    async def send_str(self, data):
        self.sent.append(data)


async def test_the_uplink_holds_everything_while_down_and_keeps_the_order():
    link = {"now": LinkQuality(False, 5.0, 0.0, 100_000.0)}
    ws = _Socket()
    uplink = ShapedUplink(ws, lambda: link["now"], random.Random(0))
    task = asyncio.create_task(uplink.run())
    for i in range(5):
        await uplink.send(f"m{i}" if i % 2 else bytes([i]))
    await asyncio.sleep(0.1)
    assert ws.sent == [] and uplink.queued == 5 and uplink.unsent_text() == ["m1", "m3"]
    link["now"] = LinkQuality(True, 5.0, 0.0, 100_000.0)
    await uplink.drain(2.0)
    assert ws.sent == [b"\x00", "m1", b"\x02", "m3", b"\x04"] and uplink.queued == 0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


# ---- telemetry and timeline matching -----------------------------------------------------------


def test_reported_radio_state_round_trips_into_the_diagnosis():
    net = camera(w=world(aps=(AccessPoint("West", "LabNet", channel=1, password="other-pass"),)))
    later = T0 + 10  # the failing handshake takes seconds
    net.tick(later)  # the driver's radio loop: the camera's Wi-Fi log gets its line
    state = {
        "docked": False,
        "provisioned": True,
        "wifi_ssids": ["LabNet"],
        "profile": {"streaming": True},
        "radio": {**net.summary(later), "clock_offset_s": 0.0},
    }
    assert state["radio"]["wifi_log"][-1]["event"] == "wrong_key"  # what a supplicant logs, not the cause code
    assert "wrong_password" not in str(state["radio"]["wifi_log"])
    telemetry = camera_telemetry(later, CameraFacts(SERIAL, "W102"), state)
    assert telemetry.wifi.failure == "wrong_password" and telemetry.wifi.link.up is False
    seen = camera_symptoms(later, CameraFacts(SERIAL, "W102"), state)
    assert seen.wifi.failure is None  # the diagnosis never gets the cause code
    assert {"T2-3c", "T3-2b"} <= {f.code for f in diagnose(seen)}
    frames = net.frames(later)
    assert [frame_from_dict(frame_to_dict(f)) for f in frames] == list(frames)
