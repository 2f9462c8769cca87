"""S15 with real cameras: the cloud counts the cameras of streaming-enabled camera users per day
from what the cameras report to the device hub, and averages the days (the arithmetic itself is
tested against hand-computed tables in tests/unit/test_licences.py)."""

# covers: S15, S3

from __future__ import annotations

import math

ANNA = "B8A44F000101"  # profile "Patrol live": streaming on
CHLOE = "B8A44F000103"  # profile "Patrol live": streaming on
FELIX = "B8A44F000106"  # profile "Record only": streaming off
DAY = 86400


async def test_licences_needed_follow_the_cameras_in_service_day_by_day(
        appliance, demo_lab, demo_fleet, camera_online, poll, travel):
    fleet = await demo_fleet({ANNA, CHLOE, FELIX})
    async with appliance.session() as operator:
        await operator.sign_in_cloud("operator@demo.bwlab.test", "demo-operator-pass")
        path = f"/api/cloud/orgs/{demo_lab.org_id}/licence"

        async def licence_with(cameras_today):
            lic = await operator.get(path)
            return lic["daily"][-1]["cameras"] == cameras_today and lic

        docked = await operator.get(path)
        assert docked["valid"] is True and docked["needed"] == 0  # every camera still in its dock
        assert len(docked["daily"]) == 1  # the trial began today: the week so far is one day

        for serial in (ANNA, CHLOE, FELIX):
            await fleet.undock(serial)
        for serial in (ANNA, CHLOE):
            await poll(lambda: camera_online(serial), f"{serial} on the hub", timeout=10)
        lic = await poll(lambda: licence_with(2), "two licensed cameras today")
        assert lic["needed"] == 2  # Felix's profile does not stream: his camera needs no licence

        await travel(2 * DAY)  # Anna and Chloe stay out on patrol for two more days
        lic = await poll(lambda: licence_with(2), "two cameras on the third day")
        assert [d["cameras"] for d in lic["daily"]][-3:] == [2, 2, 2]

        await fleet.dock(CHLOE, "Dock A", 3)  # Chloe's shift ends
        await poll(lambda: _offline(camera_online, CHLOE), "Chloe's camera off the hub once docked", timeout=10)
        await travel(DAY)
        lic = await poll(lambda: licence_with(1), "one camera on the fourth day")
        counts = [d["cameras"] for d in lic["daily"]]
        assert counts[-4:] == [2, 2, 2, 1] and len(counts) <= 7
        assert lic["average"] == round(sum(counts) / len(counts), 3)
        assert lic["needed"] == math.ceil(sum(counts) / len(counts)) == 2
        assert [d["start"] for d in lic["daily"]] == [lic["daily"][0]["start"] + i * DAY for i in range(len(counts))]


async def _offline(camera_online, serial: str) -> bool:
    return not await camera_online(serial)
