"""D1, the six-day docking rule, with a real camera driver against the real device hub: a camera
out of its dock for more than six days of lab time is refused by the hub; docking renews its
certificate and the hub takes it again. Time moves by the lab API, never by sleeping."""

# covers: D1, T2

from __future__ import annotations

import asyncio
import json
import ssl

import aiohttp
import pytest

from bwlab.apply import apply_scenario
from bwlab.clock import LabClock, monotonic
from bwlab.scenario import load_scenario
from bwlab.wire import messages as m
from bwlab.wire.device_auth import answer_challenge
from firmware_stub.fleet import Fleet

CHLOE = "B8A44F000103"  # W102, profile "Patrol live" (streaming on): holds a hub connection undocked
DAY, HOUR, MINUTE = 86400, 3600, 60


async def wait_until(predicate, what: str, timeout: float = 10.0, step: float = 0.1):
    deadline = monotonic() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(step)


@pytest.fixture
async def camera(appliance):
    """The demo built through the APIs and one of its cameras running as a real driver, in a
    fleet with its own clock that follows the lab's time travel like a separate process."""
    scenario, _ = load_scenario(None)
    await apply_scenario(scenario, appliance.url, appliance.ca_pem, appliance.lab_token)
    fleet = Fleet(
        url=appliance.url, ca_pem=appliance.ca_pem, lab_token=appliance.lab_token, clock=LabClock(), media="shared"
    )
    await fleet.start(scenario, only={CHLOE})
    yield fleet
    await fleet.close()


async def status_of(lab, serial: str) -> dict:
    status = await lab.get("/api/lab/status")
    return next(c for s in status["systems"] for c in s["cameras"] if c["serial"] == serial)


async def online(lab, serial: str):
    cam = await status_of(lab, serial)
    return cam if cam["online"] else None


async def action(lab, serial: str, **body) -> dict:
    return await lab.post(f"/api/lab/cameras/{serial}/actions", body)


async def hub_handshake(appliance, driver) -> dict:
    """A fresh connection to the device hub with the camera's current certificate and key."""
    ssl_ctx = ssl.create_default_context(cadata=appliance.ca_pem)
    url = appliance.url.replace("https://", "wss://") + "/hub/v1/devices"
    async with aiohttp.ClientSession() as http, http.ws_connect(url, ssl=ssl_ctx) as ws:
        challenge = m.decode((await ws.receive(timeout=5)).data, (m.Challenge,))
        await ws.send_str(
            m.encode(
                m.Hello(
                    serial=driver.serial,
                    certificate=driver.provisioning["certificate"],
                    signature=answer_challenge(driver._key, challenge.nonce),
                )
            )
        )
        reply = json.loads((await ws.receive(timeout=5)).data)
        closing = await ws.receive(timeout=5) if reply["type"] == "error" else None
        if closing is not None:
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
            reply["close_code"] = ws.close_code
        return reply


async def test_six_days_undocked_the_hub_refuses_and_docking_restores(appliance, lab, camera, travel):
    driver = camera.cameras[CHLOE]
    docked = await status_of(lab, CHLOE)
    assert docked["docked"] and docked["cert_valid"] and not docked["online"]
    not_after = docked["cert_not_after"]

    await action(lab, CHLOE, action="undock")
    cam = await wait_until(lambda: online(lab, CHLOE), "the undocked camera connects to the hub")
    assert cam["last_refusal"] is None and not cam["docked"]

    # 5 days 23 hours out of the dock: still fine, and a fresh connection is welcomed.
    await travel(5 * DAY + 23 * HOUR)
    cam = await status_of(lab, CHLOE)
    assert cam["online"] and cam["cert_valid"] and cam["last_refusal"] is None
    welcome = await hub_handshake(appliance, driver)
    assert welcome["type"] == "welcome" and welcome["serial"] == CHLOE and welcome["not_after"] == not_after
    # (the test's connection replaced the camera's for a moment; the camera comes back by itself)
    await wait_until(lambda: online(lab, CHLOE), "the camera reconnects at 5 d 23 h")

    # Six days and a minute: the camera is off the hub and shows why; the hub refuses its
    # certificate, to the camera's own attempt as to a fresh one, and says why.
    await travel(HOUR + MINUTE)
    gone = await wait_until(_offline_and(lab, CHLOE), "the camera is no longer on the hub")
    assert not gone["cert_valid"]
    state = await wait_until(
        lambda: _camera_state(lab, CHLOE, "certificate_expired"), "the camera reports its expired certificate"
    )
    assert state["certificate_valid"] is False and "six days" in state["last_error"]["message"]
    reply = await hub_handshake(appliance, driver)
    assert reply["type"] == "error" and reply["code"] == "certificate_expired", reply
    assert "six days" in reply["message"] and reply["close_code"] == 4403
    refused = await status_of(lab, CHLOE)
    assert not refused["online"] and refused["last_refusal"]["code"] == "certificate_expired"
    assert "six days" in refused["last_refusal"]["message"]

    # Dock again: a fresh certificate valid six days from now; undock: the hub takes it again.
    await action(lab, CHLOE, action="dock", dock="Dock A", bay=3)
    renewed = await status_of(lab, CHLOE)
    lab_time = (await lab.get("/api/lab/time"))["lab_time"]
    assert renewed["docked"] and renewed["cert_valid"]
    assert renewed["cert_not_after"] == pytest.approx(lab_time + 6 * DAY, abs=600)
    assert renewed["cert_not_after"] > not_after + 6 * DAY - 600
    await action(lab, CHLOE, action="undock")
    back = await wait_until(lambda: online(lab, CHLOE), "the re-docked camera is accepted again")
    assert back["last_refusal"] is None
    welcome = await hub_handshake(appliance, driver)
    assert welcome["type"] == "welcome" and welcome["not_after"] == renewed["cert_not_after"]


async def test_a_camera_undocked_six_days_cannot_connect_at_all(appliance, lab, camera, travel):
    """Travel while the camera sits out of the dock with no connection (its profile streams, but
    the travel happens before it connects): it must not get in with the expired certificate."""
    driver = camera.cameras[CHLOE]
    await action(lab, CHLOE, action="network", up=False)
    await action(lab, CHLOE, action="undock")
    await travel(6 * DAY + MINUTE)
    await action(lab, CHLOE, action="network", up=True, mode="WLAN")
    reply = await hub_handshake(appliance, driver)
    assert reply["type"] == "error" and reply["code"] == "certificate_expired"
    cam = await status_of(lab, CHLOE)
    assert not cam["online"] and not cam["cert_valid"]
    assert cam["last_refusal"]["code"] == "certificate_expired"


async def _camera_state(lab, serial: str, error: str):
    """The camera's own state as its fleet reports it to the lab, once it shows ``error``."""
    for cam in (await lab.get("/api/lab/cameras"))["cameras"]:
        if cam["serial"] == serial and ((cam["state"] or {}).get("last_error") or {}).get("code") == error:
            return cam["state"]
    return None


def _offline_and(lab, serial: str):
    async def check():
        cam = await status_of(lab, serial)
        return None if cam["online"] else cam

    return check


# ---- the hub's side alone, with a camera played by this test over a raw socket ---------------


class RawCamera:
    """A camera of the demo's connected system, docked by the lab with this test's own key."""

    def __init__(self, appliance, serial: str, key, certificate: str):
        self.appliance, self.serial, self._key = appliance, serial, key
        self.provisioning = {"certificate": certificate}

    async def connect(self, http: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
        ws = await http.ws_connect(
            self.appliance.url.replace("https://", "wss://") + "/hub/v1/devices",
            ssl=ssl.create_default_context(cadata=self.appliance.ca_pem),
        )
        challenge = m.decode((await ws.receive(timeout=5)).data, (m.Challenge,))
        await ws.send_str(
            m.encode(
                m.Hello(
                    serial=self.serial,
                    certificate=self.provisioning["certificate"],
                    signature=answer_challenge(self._key, challenge.nonce),
                )
            )
        )
        welcome = m.decode((await ws.receive(timeout=5)).data, (m.Welcome,))
        assert welcome.serial == self.serial
        return ws


@pytest.fixture
async def raw_camera(appliance, demo_lab, lab):
    from bwlab.wire.device_auth import make_csr, new_device_key

    system = demo_lab.systems[0]
    api = f"/controller/{system.id}/api"
    async with appliance.session() as mgr:
        await mgr.sign_in_manager(system.id, system.admin_password)
        await mgr.post(api + "/cameras", {"serial": "RAWCAM1", "model": "W110", "camera_user": "Anna Berg"})
    key = new_device_key()
    prov = await lab.post(api + "/docks/Dock B/bays/4", {"serial": "RAWCAM1", "csr": make_csr(key, "RAWCAM1")})
    await lab.delete(api + "/docks/Dock B/bays/4")
    return RawCamera(appliance, "RAWCAM1", key, prov["certificate"])


async def _expect_refusal(ws, code: str, timeout: float = 5.0) -> m.Error:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    error = m.decode(msg.data, (m.Error,))
    assert error.code == code, error
    closing = await ws.receive(timeout=5)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == 4403
    return error


async def test_the_hub_drops_a_connected_camera_once_six_days_have_passed(lab, raw_camera, travel):
    async with aiohttp.ClientSession() as http:
        ws = await raw_camera.connect(http)
        await travel(5 * DAY + 23 * HOUR)
        await ws.send_str(m.encode(m.Ping()))
        await ws.send_str(m.encode(m.State(state={"docked": False})))
        assert (await status_of(lab, "RAWCAM1"))["online"], "5 d 23 h: still welcome"
        await travel(HOUR + MINUTE)
        try:
            await ws.send_str(m.encode(m.Ping()))
        except ConnectionResetError:
            pass  # the hub may have dropped it at the time jump already, before this message
        error = await _expect_refusal(ws, "certificate_expired")
        assert "six days" in error.message
    cam = await status_of(lab, "RAWCAM1")
    assert not cam["online"] and cam["last_refusal"]["code"] == "certificate_expired"


async def test_the_hub_drops_a_silent_camera_when_lab_time_jumps_past_its_certificate(lab, raw_camera, travel):
    async with aiohttp.ClientSession() as http:
        ws = await raw_camera.connect(http)
        await travel(6 * DAY + MINUTE)
        try:
            await _expect_refusal(ws, "certificate_expired", timeout=2.0)  # a clock jump is acted on at once
        finally:
            await ws.close()
    cam = await status_of(lab, "RAWCAM1")
    assert not cam["online"] and cam["last_refusal"]["code"] == "certificate_expired"


async def test_a_camera_left_in_its_dock_is_kept_renewed(appliance, lab, camera, travel):
    """D1: the manual asks only that a camera be docked at least once every six days, so one left
    in its bay over six days of lab time — in one jump or in steps — comes out valid; the dock
    renews it on the lab clock. The six-day rule still bites once it is out (tested above)."""
    # covers: D1, T2
    driver = camera.cameras[CHLOE]
    first = (await status_of(lab, CHLOE))["cert_not_after"]
    await travel(6 * DAY + HOUR)  # one jump past the first certificate's expiry
    cam = await wait_until(lambda: _valid_after(lab, CHLOE, first), "the dock renews the certificate")
    lab_time = (await lab.get("/api/lab/time"))["lab_time"]
    assert cam["docked"] and cam["cert_not_after"] == pytest.approx(lab_time + 6 * DAY, abs=600)
    for _ in range(3):  # three more days, one at a time: the dock keeps it valid
        await travel(3 * DAY)
    cam = await wait_until(lambda: _valid_after(lab, CHLOE, cam["cert_not_after"] - 1), "renewed again")
    await action(lab, CHLOE, action="undock")
    back = await wait_until(lambda: online(lab, CHLOE), "the camera taken out after 15 days in its bay connects")
    assert back["last_refusal"] is None and back["cert_valid"]
    assert driver.state["last_error"] is None and driver.state["certificate_valid"]
    welcome = await hub_handshake(appliance, driver)
    assert welcome["type"] == "welcome" and welcome["not_after"] > first + 9 * DAY


async def _valid_after(lab, serial: str, not_after: float):
    cam = await status_of(lab, serial)
    return cam if cam["cert_valid"] and cam["cert_not_after"] > not_after else None


async def test_status_does_not_show_live_a_stream_the_hub_ended(appliance, lab, camera, travel):
    """`bwlab status` (the lab status) reads ``live`` from the hub: when the hub ends a stream (here
    the certificate expires while streaming, D1) the camera's last report to the hub may still
    say live — the status must not."""
    # covers: D1, L2
    await action(lab, CHLOE, action="undock")
    await wait_until(lambda: online(lab, CHLOE), "the undocked camera connects")
    await action(lab, CHLOE, action="press", button="function", gesture="double")
    cam = await wait_until(lambda: _streaming(lab, CHLOE, "live"), "the stream goes live")
    assert cam["stream"] == "live"
    await travel(6 * DAY + HOUR)
    await wait_until(_offline_and(lab, CHLOE), "the hub drops the expired camera and ends its stream")
    await asyncio.sleep(0.3)
    cam = await status_of(lab, CHLOE)
    assert cam["stream"] != "live", cam


async def _streaming(lab, serial: str, stream: str):
    cam = await status_of(lab, serial)
    return cam if cam["stream"] == stream else None
