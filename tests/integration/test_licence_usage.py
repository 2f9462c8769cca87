"""S15 in the running lab: the cloud counts, per day, the cameras assigned to camera users whose
profile streams, from the assignments the connected system sends it, and averages the days (the
arithmetic itself is tested against hand-computed tables in tests/unit/test_licences.py).

No camera needs to be out of its dock or connected: the manual counts assigned cameras. A profile
switched, a camera deleted and a camera added in the Manager each move the count, on the day they
happen and the next."""

# covers: S15, S3

from __future__ import annotations

import asyncio
import math

DAY = 86400
STREAMING_USERS = 5  # the demo: Anna, Ben, Chloe, David and Emma on "Patrol live"; Felix on "Record only"


async def test_licences_needed_follow_the_managers_assignments_day_by_day(appliance, demo_lab, poll, travel):
    system = demo_lab.systems[0]
    api = f"/controller/{system.id}/api"
    async with appliance.session() as operator, appliance.session() as manager:
        await operator.sign_in_cloud("operator@demo.bwlab.test", "demo-operator-pass")
        await manager.sign_in_manager(system.id, system.admin_password)
        path = f"/api/cloud/orgs/{demo_lab.org_id}/licence"

        async def counts(expected):
            lic = await operator.get(path)
            return lic if [d["cameras"] for d in lic["daily"]] == expected else None

        # Day 1: every camera is in its dock, never connected; five are assigned to streaming users.
        lic = await poll(lambda: counts([STREAMING_USERS]), "five licensed cameras on the first day")
        assert lic["valid"] is True and lic["needed"] == 5 and lic["window_days"] == 1

        # Felix's profile is switched to one that streams: his camera counts from now on, today too.
        await manager.put(api + "/camera-users/Felix Garcia", {"profile": "Patrol live"})
        await poll(lambda: counts([6]), "Felix's camera counted once his profile streams")

        # Day 2: back to "Record only" early in the day. He was on a streaming profile today, so
        # his camera still counts on day 2; from day 3 it does not.
        await travel(DAY)
        await manager.put(api + "/camera-users/Felix Garcia", {"profile": "Record only"})
        await poll(lambda: _synced(manager, api), "the change sent to the cloud")
        await travel(DAY)
        await poll(lambda: counts([6, 6, 5]), "day 3 without Felix")

        # Day 3: Emma's camera is deleted (counted today, gone tomorrow); a new camera user gets a
        # new camera on a streaming profile (counted today already).
        await manager.delete(api + "/cameras/B8A44F000105")
        await manager.post(api + "/camera-users", {"name": "Gina Holm", "profile": "Patrol live"})
        await manager.post(api + "/cameras", {"serial": "B8A44F000777", "model": "W101", "camera_user": "Gina Holm"})
        await poll(lambda: counts([6, 6, 6]), "Gina's new camera counted on day 3 with Emma's")
        await travel(DAY)
        lic = await poll(lambda: counts([6, 6, 6, 5]), "day 4 without Emma's camera")
        assert lic["average"] == round(23 / 4, 3)
        assert lic["needed"] == math.ceil(23 / 4) == 6
        assert [d["start"] for d in lic["daily"]] == [lic["daily"][0]["start"] + i * DAY for i in range(4)]


async def _synced(manager, api):
    status = (await manager.get(api))["cloud_sync"]
    return status if not status["pending"] and status["error"] is None else None


async def test_assignments_hold_across_a_restart(tmp_path, poll):
    """The appliance is stopped for a day and started again: the cameras still assigned count on
    the day it was down and after, as they stay assigned in the Manager."""
    from bwlab.apply import apply_scenario
    from bwlab.clock import LabClock
    from bwlab.scenario import load_scenario
    from tests.conftest import start_appliance

    clock = LabClock()
    data_dir = tmp_path / "data"
    handle, stop, task = await start_appliance(data_dir, clock=clock)
    try:
        demo = await apply_scenario(load_scenario(None)[0], handle.url, handle.ca_pem, handle.lab_token)
        async with handle.session() as operator:
            await operator.sign_in_cloud("operator@demo.bwlab.test", "demo-operator-pass")
            path = f"/api/cloud/orgs/{demo.org_id}/licence"
            await poll(lambda: _daily(operator, path, [STREAMING_USERS]), "five licensed cameras before the restart")
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    clock.travel(DAY)  # a day passes while the appliance is off
    handle, stop, task = await start_appliance(data_dir, clock=clock)
    try:
        async with handle.session() as operator:
            await operator.sign_in_cloud("operator@demo.bwlab.test", "demo-operator-pass")
            lic = await _daily(operator, path, [STREAMING_USERS, STREAMING_USERS])
            assert lic, "the day the appliance was off counts the assigned cameras"
            assert lic["needed"] == STREAMING_USERS
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def _daily(operator, path, expected):
    lic = await operator.get(path)
    return lic if [d["cameras"] for d in lic["daily"]] == expected else None
