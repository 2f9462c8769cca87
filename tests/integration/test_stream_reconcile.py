"""A stream live when the appliance stops (issue 12): after a restart, a stream its camera does not
resume is ended — at once when the camera connects afresh without it, after the resume grace when
the camera never comes back (docked) — so there is no ghost live stream, no second listing after
a new press, and the new stream opens without a clock refusal.

covers: D3, D5, S1, S17
"""

from __future__ import annotations

import asyncio

import pytest

from appliance.hub.streams import NOT_RESUMED, RESUME_GRACE
from bwlab.apply import apply_scenario
from bwlab.scenario import load_scenario
from firmware_stub.fleet import Fleet
from tests.conftest import poll_until, start_appliance

ANNA = "B8A44F000101"  # W100, "Patrol live": a record press streams

pytestmark = pytest.mark.timeout(120)


async def _fleet(handle, scenario) -> Fleet:
    fleet = Fleet(url=handle.url, ca_pem=handle.ca_pem, lab_token=handle.lab_token, clock=handle.clock, media="shared")
    await fleet.start(scenario, only={ANNA})
    return fleet


async def _stop(stop: asyncio.Event, task: asyncio.Task) -> None:
    stop.set()
    await asyncio.wait_for(task, 15)


async def _ghost(tmp_path):
    """The appliance and a fleet; Anna streams; both stop while she streams; the appliance starts
    again on the same data. Returns (handle, stop, task, the ghost stream id, the demo)."""
    data = tmp_path / "data"
    handle, stop, task = await start_appliance(data)
    scenario, _ = load_scenario(None)
    demo = await apply_scenario(scenario, handle.url, handle.ca_pem, handle.lab_token)
    fleet = await _fleet(handle, scenario)
    try:
        cam = fleet.cameras[ANNA]
        await fleet.undock(ANNA)
        await poll_until(
            lambda: cam.state.get("streaming") is None and cam.state.get("hub") == "up", "Anna connected", 15
        )
        await cam.press("record")
        await poll_until(lambda: cam.state.get("streaming") == "live" and cam.chunks_acked >= 3, "Anna live", 15)
        ghost = cam.state["stream_id"]
    finally:
        await fleet.close()  # the cameras go with `bwlab up`, their stream never stopped on the hub
    await _stop(stop, task)
    handle, stop, task = await start_appliance(data, port=handle.port)
    return handle, stop, task, ghost, demo


async def test_a_camera_connecting_afresh_ends_its_ghost_stream_and_a_new_press_is_listed_once(tmp_path):
    handle, stop, task, ghost, demo = await _ghost(tmp_path)
    scenario, _ = load_scenario(None)
    fleet = await _fleet(handle, scenario)
    try:
        async with handle.operator_viewer(demo.systems[0], protected=True) as viewer:
            assert [s["id"] for s in await viewer.streams("live")] == [ghost]  # within the resume grace
            cam = fleet.cameras[ANNA]
            await fleet.undock(ANNA)  # out of the dock: she connects to the hub, with no stream
            await poll_until(lambda: _live_ids(viewer, []), "the ghost stream ended at her fresh connection", 15)
            ended = next(s for s in await viewer.streams("recorded") if s["id"] == ghost)
            assert ended["end_reason"] == NOT_RESUMED and ended["duration"] > 0
            await cam.press("record")
            await poll_until(lambda: cam.state.get("streaming") == "live", "her new stream live", 15)
            new = cam.state["stream_id"]
            await poll_until(lambda: _live_ids(viewer, [new]), "only her new stream listed live", 10)
            report = await viewer.watch(new, seconds=1.0)  # no S1 refusal from a stale stream
            assert report.chunks > 0
    finally:
        await fleet.close()
        await _stop(stop, task)


async def test_a_ghost_stream_whose_camera_stays_docked_ends_after_the_resume_grace(tmp_path):
    handle, stop, task, ghost, demo = await _ghost(tmp_path)
    scenario, _ = load_scenario(None)
    fleet = await _fleet(handle, scenario)  # Anna docked again: she never connects to the hub
    try:
        async with handle.operator_viewer(demo.systems[0], protected=True) as viewer, handle.lab() as lab:
            await asyncio.sleep(0.5)
            assert [s["id"] for s in await viewer.streams("live")] == [ghost]
            await lab.post("/api/lab/time/travel", {"seconds": RESUME_GRACE + 1})
            await poll_until(lambda: _live_ids(viewer, []), "the ghost stream ended after the grace", 10)
            ended = next(s for s in await viewer.streams("recorded") if s["id"] == ghost)
            assert ended["end_reason"] == NOT_RESUMED
    finally:
        await fleet.close()
        await _stop(stop, task)


async def _live_ids(viewer, expected: list[str]) -> bool:
    return [s["id"] for s in await viewer.streams("live")] == expected
