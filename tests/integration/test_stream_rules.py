"""The rules around a stream, over real sockets with real cameras: retention (D8), an expired
licence (S15, T2), remote start (D4, S7), no remote stop (D5) and acknowledgement (D6)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from aiohttp import web

from appliance.app import create_app
from appliance.context import ApplianceConfig
from bwlab.client import ApiError
from bwlab.viewer import Viewer

ANNA = "B8A44F000101"  # W100, "Patrol live": live stream on record, remote activation Always
FELIX = "B8A44F000106"  # W102, "Record only": streaming off
DAY = 86400


async def _stream(viewer: Viewer, stream_id: str, state: str = "all") -> dict | None:
    return next((s for s in await viewer.streams(state) if s["id"] == stream_id), None)


def _chunk_rows(data_dir, stream_id: str) -> int:
    db = sqlite3.connect(f"file:{data_dir / 'cloud.sqlite3'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM chunks WHERE stream_id = ?", (stream_id,)).fetchone()[0]
    finally:
        db.close()


# covers: D8, D5, S17
async def test_recordings_are_kept_24_hours_then_purged(
    appliance, demo_fleet, demo_viewer, travel, poll, undock_online
):
    fleet = await demo_fleet({ANNA})
    cam = fleet.cameras[ANNA]
    await undock_online(fleet, ANNA)
    await cam.press("record")
    live = await demo_viewer.wait_for_stream(timeout=10)
    await poll(lambda: cam.chunks_acked >= 4, "some media stored")
    await cam.press("record", "long")
    await poll(lambda: cam.unacked == 0, "every chunk acknowledged")
    recording = await poll(lambda: _stream(demo_viewer, live["id"], "recorded"), "the recording to be listed")
    assert recording["chunks"] == cam.chunks_sent and recording["ended_at"] is not None
    folder = appliance.data_dir / "evidence" / recording["region"] / recording["org_id"] / recording["id"]
    assert len(list(folder.iterdir())) == cam.chunks_sent

    # A day less two minutes later it is still there (the purge job woke on the travel, too).
    await travel(DAY - 120)
    await asyncio.sleep(0.3)
    assert await _stream(demo_viewer, live["id"], "recorded") is not None and folder.is_dir()

    # 24 hours and a minute after it ended, it is gone: listing, metadata, chunks and evidence.
    await travel(180)
    await poll(lambda: not folder.exists(), "the recording's evidence to be deleted")
    assert await _stream(demo_viewer, live["id"]) is None
    with pytest.raises(ApiError) as gone:
        await demo_viewer.session.get(f"/api/cloud/orgs/{demo_viewer.org_id}/streams/{live['id']}")
    assert gone.value.status == 404
    assert await asyncio.to_thread(_chunk_rows, appliance.data_dir, live["id"]) == 0


# covers: S15, T2, D1, D3
async def test_after_the_trial_a_record_press_records_but_does_not_stream(
    appliance, demo_lab, demo_fleet, travel, poll, undock_online
):
    fleet = await demo_fleet({ANNA})
    cam = fleet.cameras[ANNA]
    await travel(31 * DAY)  # the 30-day trial (S3) is over
    await poll(lambda: fleet.clock.offset >= 31 * DAY, "the cameras' clocks to follow lab time")
    # A month undocked would also expire the camera's certificate (D1): dock it first, as
    # at the start of a shift, so that only the licence stands in the way.
    await fleet.dock(ANNA, "Dock A", 1)
    await undock_online(fleet, ANNA)
    await cam.press("record")
    state = await poll(
        lambda: (cam.state.get("last_error") or {}).get("code") == "licence_expired" and cam.state,
        "the cloud to refuse the stream",
    )
    assert state["recording"] is True and state["leds"]["record"] == "red"  # it records locally
    assert state["streaming"] is None and state["stream_id"] is None  # and "does not react" to stream (T2)
    assert state["leds"]["wifi"] != "green"
    assert "licence" in state["last_error"]["message"].lower()
    assert cam.chunks_sent == 0
    system = demo_lab.systems[0]
    async with appliance.operator_viewer(system) as viewer:
        licence = await viewer.session.get(f"/api/cloud/orgs/{viewer.org_id}/licence")
        assert licence["valid"] is False
        await asyncio.sleep(0.3)
        assert await viewer.streams("live") == [] and await viewer.streams("all") == []
    # It goes on recording: only a long press stops (D5).
    assert cam.state["recording"] is True
    await cam.press("record", "long")
    assert cam.state["recording"] is False


# covers: S15, T2, D3
async def test_after_the_trial_a_double_press_does_nothing_until_an_admin_orders_licences(
    appliance, demo_lab, demo_fleet, travel, poll, undock_online
):
    """T2 row 2b as the manual has it: with the licence expired the camera does not react (no
    recording, no stream); the fix — buying licences (S15) — lets it stream again at once."""
    fleet = await demo_fleet({ANNA})
    cam = fleet.cameras[ANNA]
    await travel(31 * DAY)
    await poll(lambda: fleet.clock.offset >= 31 * DAY, "the cameras' clocks to follow lab time")
    await fleet.dock(ANNA, "Dock A", 1)
    await undock_online(fleet, ANNA)
    await poll(lambda: cam.state.get("licence", {}).get("told") and cam.state, "the hub to tell the licence")
    assert cam.state["licence"]["valid"] is False
    await cam.press("function", "double")
    state = cam.state
    assert state["recording"] is False and state["leds"]["record"] == "off"  # it does not react at all
    assert state["streaming"] is None and state["last_error"]["code"] == "licence_expired"
    await asyncio.sleep(0.3)
    assert cam.state["recording"] is False and cam.chunks_sent == 0

    async with appliance.session() as admin:
        await admin.sign_in_cloud("admin@demo.bwlab.test", "demo-admin-pass")
        order = await admin.post(f"/api/cloud/orgs/{demo_lab.org_id}/licences", {"quantity": 3, "term_months": 12})
        assert order["state"] == "purchased" and order["valid"] and order["quantity"] == 3
    await poll(lambda: cam.state["licence"]["valid"], "the hub to tell the camera of the purchase")
    system = demo_lab.systems[0]
    async with appliance.operator_viewer(system) as viewer:
        await cam.press("function", "double")
        live = await viewer.wait_for_stream(timeout=10)
        assert live["serial"] == ANNA and cam.state["recording"] is True
    await cam.press("record", "long")


# covers: D4, D5, D6, S7, D3
async def test_remote_start_acknowledge_and_long_press_stop(
    appliance, demo_lab, demo_fleet, demo_viewer, poll, camera_online, undock_online
):
    fleet = await demo_fleet({ANNA, FELIX})
    anna, felix = fleet.cameras[ANNA], fleet.cameras[FELIX]
    ops = demo_viewer.session
    org = demo_viewer.org_id
    system = demo_lab.systems[0]
    async with appliance.session() as manager:
        await manager.sign_in_manager(system.id, system.admin_password)
        users = {
            u["name"]: u["id"] for u in (await manager.get(f"/controller/{system.id}/api/camera-users"))["camera_users"]
        }

        # D4: Anna's profile has remote activation "Always": out of the dock, an operator starts her stream.
        await undock_online(fleet, ANNA)
        listed = await poll(lambda: _online_user(ops, org, users["Anna Berg"]), "Anna online among the camera users")
        assert listed["remote_start"] is True and listed["remote_start_reason"] is None
        assert anna.state["recording"] is False
        started = await ops.post(f"/api/cloud/orgs/{org}/camera-users/{users['Anna Berg']}/start")
        assert started["started"] is True
        stream = await demo_viewer.wait_for_stream(timeout=10, user_name="Anna Berg")
        assert stream["reason"] == "remote" and stream["serial"] == ANNA
        await poll(lambda: anna.state.get("streaming") == "live", "the camera to stream")
        assert anna.state["recording"] is True  # a remote start starts a recording (D4)

        # D6: acknowledging makes the camera vibrate.
        assert anna.vibrations == 0 and anna.state["vibrating_until"] is None
        await ops.post(f"/api/cloud/orgs/{org}/streams/{stream['id']}/acknowledge")
        await poll(lambda: anna.vibrations == 1, "the camera to vibrate")
        assert anna.state["vibrating_until"] is not None and anna.state["acknowledged_by"] == "Olivia Operator"
        assert (await ops.get(f"/api/cloud/orgs/{org}/streams/{stream['id']}"))["acknowledged_by"] == "Olivia Operator"

        # D5: neither a short press of record nor the stream button stops it; a long press stops
        # stream and recording together.
        await anna.press("record")
        await anna.press("function", "double")
        await asyncio.sleep(0.2)
        assert anna.state["streaming"] == "live" and anna.state["recording"] is True
        assert (await _stream(demo_viewer, stream["id"]))["live"] is True
        await anna.press("record", "long")
        assert anna.state["recording"] is False and anna.state["streaming"] is None
        ended = await poll(lambda: _stream(demo_viewer, stream["id"], "recorded"), "the stream to end")
        assert ended["end_reason"] == "user"
        with pytest.raises(ApiError) as late:
            await ops.post(f"/api/cloud/orgs/{org}/streams/{stream['id']}/acknowledge")
        assert late.value.code == "stream_ended"

        # D4 refused: a docked camera cannot be started (it is charging, not connected).
        await fleet.dock(ANNA, "Dock A", 1)
        await poll(lambda: _not(camera_online(ANNA)), "the docked camera to leave the device hub")
        with pytest.raises(ApiError) as docked:
            await ops.post(f"/api/cloud/orgs/{org}/camera-users/{users['Anna Berg']}/start")
        assert (docked.value.status, docked.value.code) == (409, "camera_offline")
        listed = await _camera_user(ops, org, users["Anna Berg"])
        assert listed["remote_start"] is False and listed["remote_start_reason"] == "camera_offline"

        # D4 refused, "Record only" (streaming off). Such a camera never connects to the cloud;
        # the cloud knows from the controller's list of camera users that streaming is off…
        await fleet.undock(FELIX)
        await asyncio.sleep(0.3)
        assert not await camera_online(FELIX)
        with pytest.raises(ApiError) as unreachable:
            await ops.post(f"/api/cloud/orgs/{org}/camera-users/{users['Felix Garcia']}/start")
        assert (unreachable.value.status, unreachable.value.code) == (409, "streaming_disabled")
        # …and when it does connect (its profile now reports positions), the camera itself
        # refuses, and says why: streaming is off in its profile (S7).
        api = f"/controller/{system.id}/api"
        profile = next(p for p in (await manager.get(api + "/profiles"))["profiles"] if p["name"] == "Record only")
        settings = {k: v for k, v in profile.items() if k != "id"}
        settings["location"] = {"W102": {"enabled": True, "mode": "always"}}
        await manager.put(api + "/profiles/Record only", settings)
        await fleet.dock(FELIX, "Dock B", 3)
        await undock_online(fleet, FELIX)
        listed = await poll(
            lambda: _online_user(ops, org, users["Felix Garcia"]), "Felix online among the camera users"
        )
        assert listed["remote_start"] is False and listed["remote_start_reason"] == "streaming_disabled"
        with pytest.raises(ApiError) as refused:
            await ops.post(f"/api/cloud/orgs/{org}/camera-users/{users['Felix Garcia']}/start")
        assert (refused.value.status, refused.value.code) == (409, "streaming_disabled")
        assert "streaming_disabled" in refused.value.message
        assert felix.state["recording"] is False and felix.state["streaming"] is None
        assert await demo_viewer.streams("live") == []


async def _camera_user(ops, org: str, user_id: str) -> dict | None:
    users = (await ops.get(f"/api/cloud/orgs/{org}/camera-users"))["camera_users"]
    return next((u for u in users if u["id"] == user_id), None)


async def _online_user(ops, org: str, user_id: str) -> dict | None:
    user = await _camera_user(ops, org, user_id)
    return user if user and user["online"] else None


async def _not(awaitable) -> bool:
    return not await awaitable


def _routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path) of every route of the application and its sub-applications (whose
    resources carry the sub-application's prefix already)."""
    out = []
    for resource in app.router.resources():
        info = resource.get_info()
        if "app" in info:
            out += _routes(info["app"])
            continue
        path = info.get("path") or info.get("formatter") or ""
        out += [(route.method, path) for route in resource]
    return out


# covers: D5
async def test_there_is_no_remote_stop(appliance, demo_viewer, tmp_path):
    routes = _routes(create_app(ApplianceConfig(data_dir=tmp_path / "unused")))
    assert ("POST", "/api/cloud/orgs/{org_id}/camera-users/{user_id}/start") in routes
    segments = {segment for _, path in routes for segment in path.lower().split("/")}
    assert not segments & {"stop", "end", "terminate", "cancel", "stop-stream"}, routes
    stream_routes = sorted(r for r in routes if "/streams" in r[1] and r[1].startswith("/api/cloud") and r[0] != "HEAD")
    assert stream_routes == sorted(
        [
            ("GET", "/api/cloud/orgs/{org_id}/streams"),
            ("GET", "/api/cloud/orgs/{org_id}/streams/{stream_id}"),
            ("GET", "/api/cloud/orgs/{org_id}/streams/{stream_id}/live"),
            ("GET", "/api/cloud/orgs/{org_id}/streams/{stream_id}/recording"),
            ("POST", "/api/cloud/orgs/{org_id}/streams/{stream_id}/acknowledge"),
            # talk-back (issue 16 item 3): speaking through the camera's speaker; it cannot end the stream
            ("GET", "/api/cloud/orgs/{org_id}/streams/{stream_id}/talk"),
        ]
    ), "a stream route that is neither viewing, acknowledging nor talking"
    # And over HTTP, as an operator would try.
    base = f"/api/cloud/orgs/{demo_viewer.org_id}/streams/some-stream"
    for method, path in (("POST", base + "/stop"), ("DELETE", base), ("PUT", base), ("PATCH", base)):
        with pytest.raises(ApiError) as refused:
            await demo_viewer.session.request(method, path, {})
        assert refused.value.status in (404, 405), (method, path, refused.value)
