"""An acknowledgement made while the camera is offline still vibrates it when it comes back (D6,
and issue 16 item 2's help acknowledgement): the device hub keeps what it owes the camera in its
tables, across a restart of the appliance, delivers it on the camera's next connection with the
right pattern, once, and then forgets it (docs/decisions.md "Acknowledgements owed to an offline
camera").

covers: D6
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

from bwlab.apply import apply_scenario
from bwlab.scenario import load_scenario
from firmware_stub.fleet import Fleet
from tests.conftest import start_appliance

ANNA = "B8A44F000101"  # W100, "Patrol live": live stream on record
CHLOE = "B8A44F000103"  # W102, "Patrol live": help gesture (long press of the function button)
OPERATOR = ("operator@demo.bwlab.test", "demo-operator-pass")


async def _network(lab, serial: str, up: bool) -> None:
    """The lab takes the camera out of coverage, or brings it back (L2)."""
    await lab.post(f"/api/lab/cameras/{serial}/actions", {"action": "network", "up": up})


async def _offline(lab, serial: str, poll, camera_online) -> None:
    await _network(lab, serial, False)
    await poll(lambda: _not(camera_online(serial)), f"camera {serial} to leave the device hub", timeout=15)


async def _not(awaitable) -> bool:
    return not await awaitable


def _pending_rows(data_dir) -> int:
    """How many acknowledgements the hub owes cameras, read from its table (read-only)."""
    with contextlib.closing(sqlite3.connect(f"file:{data_dir / 'cloud.sqlite3'}?mode=ro", uri=True)) as db:
        return db.execute("SELECT COUNT(*) FROM device_pending_acks").fetchone()[0]


# covers: D6
async def test_a_stream_acknowledged_while_the_camera_is_offline_vibrates_it_once_when_it_is_back(
    appliance, demo_fleet, demo_viewer, lab, poll, camera_online, undock_online
):
    fleet = await demo_fleet({ANNA})
    anna = fleet.cameras[ANNA]
    ops, org = demo_viewer.session, demo_viewer.org_id
    await undock_online(fleet, ANNA)
    await anna.press("record")
    stream = await demo_viewer.wait_for_stream(timeout=10, user_name="Anna Berg")
    await poll(lambda: anna.state.get("streaming") == "live", "the camera to stream")

    # Out of coverage: the stream stays live for the operators, the camera cannot be reached.
    await _offline(lab, ANNA, poll, camera_online)
    ack = await ops.post(f"/api/cloud/orgs/{org}/streams/{stream['id']}/acknowledge")
    assert ack["by"] == "Olivia Operator" and ack["camera_notified"] is False
    assert (await ops.get(f"/api/cloud/orgs/{org}/streams/{stream['id']}"))["acknowledged_by"] == "Olivia Operator"
    await asyncio.sleep(0.3)
    assert anna.vibration_patterns == [] and await asyncio.to_thread(_pending_rows, appliance.data_dir) == 1

    # Back in coverage: the camera vibrates with D6's pattern, and the hub forgets what it owed.
    await _network(lab, ANNA, True)
    await poll(lambda: anna.vibration_patterns == ["acknowledged"], "the camera to vibrate on its return", timeout=20)
    assert anna.state["acknowledged_by"] == "Olivia Operator"
    await poll(lambda: _gone(appliance.data_dir), "the delivered acknowledgement to be forgotten")

    # Once: another outage and return bring no second vibration.
    await _offline(lab, ANNA, poll, camera_online)
    await _network(lab, ANNA, True)
    await poll(lambda: camera_online(ANNA), "Anna's camera back on the device hub", timeout=20)
    await asyncio.sleep(0.5)
    assert anna.vibration_patterns == ["acknowledged"]


async def _gone(data_dir) -> bool:
    return await asyncio.to_thread(_pending_rows, data_dir) == 0


# covers: D6
async def test_a_help_request_acknowledged_while_the_camera_is_offline_vibrates_it_after_an_appliance_restart(
    tmp_path, poll
):
    """The acknowledgement is kept in the hub's tables: the appliance stops and starts again
    before the camera comes back, and the camera still vibrates with the help pattern, once."""
    data_dir = tmp_path / "data"
    handle, stop, task = await start_appliance(data_dir)
    fleet = None
    try:
        scenario, _ = load_scenario(None)
        info = await apply_scenario(scenario, handle.url, handle.ca_pem, handle.lab_token)
        base = f"/api/cloud/orgs/{info.org_id}/help-requests"
        fleet = Fleet(url=handle.url, ca_pem=handle.ca_pem, lab_token=handle.lab_token, clock=handle.clock)
        await fleet.start(scenario, only={CHLOE})
        chloe = fleet.cameras[CHLOE]
        await fleet.undock(CHLOE)
        await poll(lambda: chloe.firmware.state()["hub"] == "up", "Chloe on the hub", timeout=10)
        await chloe.press("function", "long")
        async with handle.session() as operator, handle.lab() as lab:
            await operator.sign_in_cloud(*OPERATOR)
            (help_request,) = await poll(lambda: _open(operator, base), "the help request in the cloud", timeout=10)
            await _network(lab, CHLOE, False)
            await poll(lambda: chloe.firmware.state()["hub"] != "up", "Chloe to leave the hub", timeout=15)
            ack = await operator.post(f"{base}/{help_request['id']}/acknowledge")
        assert ack["camera_notified"] is False
        assert chloe.vibration_patterns == [] and chloe.firmware.state()["help"]["acknowledged_by"] is None

        stop.set()
        await asyncio.wait_for(task, 20)
        handle, stop, task = await start_appliance(data_dir, clock=handle.clock, port=handle.port)
        await poll(lambda: _fleet_back(handle), "the fleet's control link back", timeout=15)
        async with handle.lab() as lab:
            await _network(lab, CHLOE, True)
        await poll(
            lambda: chloe.vibration_patterns == ["help_acknowledged"],
            "the help pattern on the camera's return",
            timeout=30,
        )
        assert chloe.firmware.state()["help"]["acknowledged_by"] == ack["by"]
        await poll(lambda: _gone(data_dir), "the delivered acknowledgement to be forgotten")
    finally:
        if fleet is not None:
            await fleet.close()
        stop.set()
        await asyncio.wait_for(task, 20)


async def _fleet_back(handle) -> bool:
    """Whether the fleet running Chloe's camera is linked to the (restarted) appliance again."""
    async with handle.lab() as lab:
        return any(c["serial"] == CHLOE and c["running"] for c in (await lab.get("/api/lab/cameras"))["cameras"])


async def _open(session, base: str) -> list:
    return (await session.get(base))["help_requests"]
