"""Help requests end to end (issue 16 item 2): a real camera of the demo (profile "Patrol live":
help gesture = long press of the function button) asks for help through the device hub; the
cloud keeps its position sealed, starts nothing itself, announces it on the events socket,
notifies the SOC (``help.requested``, signed), and an operator's acknowledgement makes the camera
vibrate with the help pattern.

covers: S7, S11, S12, S14, S17, D6
"""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from bwlab.apply import apply_scenario
from bwlab.client import ApiError
from bwlab.scenario import load_scenario
from bwlab.wire import envelope
from bwlab.wire.help import decode_sealed
from bwlab.wire.positions import decode_record
from firmware_stub.fleet import Fleet
from tests.conftest import free_port, start_appliance
from tests.integration.test_hub_chunks import ANNA, BEN, hub_camera  # noqa: F401
from tests.integration.test_soc_notifications import (  # noqa: F401
    ADMIN,
    OPERATOR,
    receivers,
    signed_in,
)

CHLOE = "B8A44F000103"  # W102 with GPS, "Patrol live" (Location always, help gesture, streaming)


def open_position(help_request: dict, link: str) -> dict:
    """What only a browser with the link with key can do: open the sealed position."""
    private = envelope.parse_link(link)
    key = envelope.unwrap_content_key(private, help_request["id"], help_request["wrapped_key"])
    return decode_record(
        envelope.open_chunk(
            key, help_request["id"], envelope.ChunkKind.POSITION, 0, decode_sealed(help_request["position"])
        )
    )


async def test_a_help_request_reaches_the_operators_sealed_starts_a_stream_and_its_acknowledgement_vibrates(
    appliance, demo_lab, demo_fleet, receivers, undock_online, poll, lab
):  # noqa: F811
    await lab.put("/api/lab/settings", {"soc_private_targets": True})
    org = demo_lab.org_id
    base = f"/api/cloud/orgs/{org}/help-requests"
    async with await signed_in(appliance, ADMIN) as admin, await signed_in(appliance, OPERATOR) as operator:
        soc = await receivers()
        created = await admin.post(
            f"/api/cloud/orgs/{org}/soc-integrations", {"url": soc.url, "sign_messages": True}
        )  # no opt-in: help is always sent
        soc.soc.secret = created["secret"]
        fleet = await demo_fleet({CHLOE})
        cam = fleet.cameras[CHLOE]
        await undock_online(fleet, CHLOE)
        await poll(lambda: cam.positions.last_record is not None, "a GPS position", timeout=10)
        assert (await operator.get(base))["help_requests"] == []

        await cam.press("function", "long")
        found = await poll(lambda: _open(operator, base), "the help request in the cloud", timeout=10)
        assert len(found) == 1
        help_request = found[0]
        assert help_request["user_name"] == "Chloe Dubois" and help_request["serial"] == CHLOE
        assert help_request["gesture"] == "function_long" and help_request["acknowledged_by"] is None
        assert cam.firmware.state()["help"]["id"] == help_request["id"]
        # the position: sealed for the system key, opened here with the link with key only
        record = open_position(help_request, demo_lab.systems[0].link)
        assert 55 < record["lat"] < 56 and record["fix"] is True
        assert str(record["lat"])[:7] not in str(help_request)
        # the profile streams: the help request started a stream, its reason says so
        live = await poll(lambda: _live(operator, org), "the help request's stream", timeout=10)
        assert [s["reason"] for s in live] == ["help"]
        # SOC: help.requested, signed, with who and when but no position
        events = await poll(lambda: soc.of_type("help.requested"), "help.requested at the SOC", timeout=15)
        assert events[0].verified is True
        data = events[0].data["data"]
        assert data["help_id"] == help_request["id"] and data["user_name"] == "Chloe Dubois"
        assert data["has_position"] is True and "position" not in data and "wrapped_key" not in data

        # acknowledged by the operator: the camera vibrates with the help pattern, not D6's
        ack = await operator.post(f"{base}/{help_request['id']}/acknowledge")
        assert ack["camera_notified"] is True and ack["by"]
        state = await poll(lambda: _help_state(cam), "the camera to take the acknowledgement", timeout=5)
        assert state["vibration"] == "help_acknowledged" and state["help"]["acknowledged_by"] == ack["by"]
        assert (await operator.get(base))["help_requests"] == []
        (listed,) = (await operator.get(base + "?state=all"))["help_requests"]
        assert listed["acknowledged_by"] == ack["by"]
        # refusals: a second acknowledgement, an unknown id, a bad filter — and nothing changes
        for call, status, code in (
            (operator.post(f"{base}/{help_request['id']}/acknowledge"), 409, "already_acknowledged"),
            (operator.post(f"{base}/help-nope/acknowledge"), 404, "not_found"),
            (operator.get(base + "?state=closed"), 400, "invalid_input"),
        ):
            with pytest.raises(ApiError) as refused:
                await call
            assert (refused.value.status, refused.value.code) == (status, code)
        assert (await operator.get(base + "?state=all"))["help_requests"] == [listed]


async def _open(session, base: str) -> list:
    return (await session.get(base))["help_requests"]


async def _live(session, org: str) -> list:
    return (await session.get(f"/api/cloud/orgs/{org}/streams?state=live"))["streams"]


def _help_state(cam) -> dict | None:
    state = cam.firmware.state()
    return state if state["vibration"] == "help_acknowledged" else None


async def test_the_hub_refuses_bad_and_foreign_help_requests_and_stores_a_resend_once(
    appliance, demo_lab, hub_camera, poll
):  # noqa: F811
    """The device hub's side, spoken as a camera would: a malformed help request and one naming
    another camera's help id are refused with their code and change nothing; a resend after a
    reconnect is stored once."""
    anna, ben = await hub_camera(ANNA), await hub_camera(BEN)
    user = anna.provisioning["camera_user"]
    good = {
        "type": "help_request",
        "help_id": "help-anna-1",
        "requested_at": appliance.clock.now(),
        "user_id": user["id"],
        "user_name": user["name"],
        "gesture": "function_long",
    }
    assert (
        await anna.error(json.dumps({**good, "position": "AAAA", "wrapped_key": {"version": 1}})) == "invalid_message"
    )
    assert await anna.error(json.dumps({**good, "help_id": "../../etc"})) == "invalid_message"
    await anna.send_text(json.dumps(good))
    await anna.send_text(json.dumps(good))  # a resend
    async with await signed_in(appliance, OPERATOR) as operator:
        base = f"/api/cloud/orgs/{demo_lab.org_id}/help-requests"
        found = await poll(lambda: _open(operator, base), "Anna's help request")
        assert await ben.error(json.dumps({**good, "user_name": "Not Anna"})) == "foreign_help"
        found = await _open(operator, base)
    assert [(h["id"], h["serial"], h["user_name"], h["position"]) for h in found] == [
        ("help-anna-1", ANNA[0], user["name"], None)
    ]


async def test_a_help_request_stored_but_not_enqueued_reaches_the_soc_outbox_after_a_restart(tmp_path, poll):
    """The appliance stopped between storing a help request and enqueueing its notification (its
    outbox row is missing): at the next start the outbox gets it, once."""
    data_dir = tmp_path / "data"
    handle, stop, task = await start_appliance(data_dir)
    fleet = None
    try:
        scenario, _ = load_scenario(None)
        info = await apply_scenario(scenario, handle.url, handle.ca_pem, handle.lab_token)
        async with handle.lab() as lab:
            await lab.put("/api/lab/settings", {"soc_private_targets": True})
        async with handle.session() as admin:
            await admin.sign_in_cloud(*ADMIN)
            base = f"/api/cloud/orgs/{info.org_id}/soc-integrations"
            integration = await admin.post(base, {"url": f"http://127.0.0.1:{free_port()}/hook"})  # nobody listens
            log_path = f"{base}/{integration['id']}/deliveries"
            fleet = Fleet(url=handle.url, ca_pem=handle.ca_pem, lab_token=handle.lab_token, clock=handle.clock)
            await fleet.start(scenario, only={CHLOE})
            await fleet.undock(CHLOE)
            await poll(lambda: fleet.cameras[CHLOE].firmware.state()["hub"] == "up", "Chloe on the hub", timeout=10)
            await fleet.cameras[CHLOE].press("function", "long")
            await poll(lambda: _help_events(admin, log_path), "help.requested in the outbox", timeout=10)
            await fleet.close()
            fleet = None
        stop.set()
        await asyncio.wait_for(task, 20)
        with sqlite3.connect(data_dir / "cloud.sqlite3") as db:  # as if the appliance had stopped before the enqueue
            assert db.execute("DELETE FROM soc_outbox WHERE event_type = 'help.requested'").rowcount == 1
        db.close()
        handle, stop, task = await start_appliance(data_dir, clock=handle.clock)
        async with handle.session() as admin:
            await admin.sign_in_cloud(*ADMIN)
            assert len(await _help_events(admin, log_path)) == 1
    finally:
        if fleet is not None:
            await fleet.close()
        stop.set()
        await asyncio.wait_for(task, 20)


async def _help_events(admin, log_path: str) -> list:
    return [e for e in (await admin.get(log_path))["events"] if e["event_type"] == "help.requested"]
