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
    fleet = Fleet(url=appliance.url, ca_pem=appliance.ca_pem, lab_token=appliance.lab_token, clock=LabClock(),
                  media="shared")
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
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url, ssl=ssl_ctx) as ws:
            challenge = m.decode((await ws.receive(timeout=5)).data, (m.Challenge,))
            await ws.send_str(m.encode(m.Hello(serial=driver.serial, certificate=driver.provisioning["certificate"],
                                               signature=answer_challenge(driver._key, challenge.nonce))))
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

    # Six days and a minute: the hub refuses it, and says why.
    await travel(HOUR + MINUTE)
    refused = await wait_until(
        lambda: _refused(lab, CHLOE), "the hub drops the camera with certificate_expired")
    assert not refused["online"] and not refused["cert_valid"]
    assert "six days" in refused["last_refusal"]["message"]
    # The camera itself shows the error (Wi-Fi LED red; the Lab panel names the cause).
    lab_view = (await lab.get("/api/lab/cameras"))["cameras"]
    (state,) = [c["state"] for c in lab_view if c["serial"] == CHLOE]
    assert state["certificate_valid"] is False and state["last_error"]["code"] == "certificate_expired"

    # A fresh attempt with the old certificate is refused as well.
    reply = await hub_handshake(appliance, driver)
    assert reply["type"] == "error" and reply["code"] == "certificate_expired", reply
    assert "six days" in reply["message"] and reply["close_code"] == 4403
    assert not (await status_of(lab, CHLOE))["online"]

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


async def _refused(lab, serial: str):
    cam = await status_of(lab, serial)
    refusal = cam["last_refusal"]
    if not cam["online"] and refusal and refusal["code"] == "certificate_expired":
        return cam
    return None
