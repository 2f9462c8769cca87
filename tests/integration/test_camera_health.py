"""Camera health over real sockets (issue 16 item 5): a camera reports its battery, storage, signal
and temperature to the device hub; Live's camera users and ``bwlab status --json`` show them with
the last contact, and its text the battery, storage, temperature and warnings; streaming through
three hours of lab time drains the battery to a warning.
"""

# covers: O5, D3, L2

from __future__ import annotations

import asyncio
import json
import re

from tests.integration.test_streaming import ANNA

OPERATOR = ("operator@demo.bwlab.test", "demo-operator-pass")


async def _anna(session, org_id: str) -> dict:
    users = (await session.get(f"/api/cloud/orgs/{org_id}/camera-users"))["camera_users"]
    return next(u for u in users if u["name"] == "Anna Berg")


async def test_live_and_status_show_each_cameras_health_and_warn_before_the_battery_runs_out(
    appliance, demo_lab, demo_fleet, demo_viewer, lab, poll, travel, undock_online
):
    fleet = await demo_fleet({ANNA})
    await undock_online(fleet, ANNA)
    org = demo_lab.org_id
    async with appliance.session() as operator:
        await operator.sign_in_cloud(*OPERATOR)

        async def reported():
            return (await _anna(operator, org)).get("health")

        first = await poll(reported, "Anna's first health report", timeout=15)
        assert 0 < first["battery_percent"] <= 100 and first["charging"] is False
        assert first["storage_capacity"] > 0 and first["link"] in ("wifi", "mobile")
        assert 10 < first["temperature_c"] < 60 and first["warnings"] == []
        assert abs(first["last_contact"] - appliance.clock.now()) < 30

        await fleet.cameras[ANNA].press("record")
        await demo_viewer.wait_for_stream(timeout=10)
        await asyncio.sleep(1)  # the camera streams, then three hours of lab time pass
        await travel(3 * 3600)
        moved = appliance.clock.now()

        async def drained():
            h = (await _anna(operator, org)).get("health")
            return h if h and h["at"] >= moved and h["battery_percent"] < first["battery_percent"] - 50 else None

        low = await poll(drained, "the battery drained by three hours of streaming", timeout=15)
        assert low["warnings"][0]["code"] in ("battery_low", "battery_empty")
        assert low["temperature_c"] > first["temperature_c"], "streaming warms the camera"
        assert low["storage_used"] > first["storage_used"], "recording fills the storage"

    status = await lab.get("/api/lab/status")
    camera = next(c for s in status["systems"] for c in s["cameras"] if c["serial"] == ANNA)
    assert camera["health"]["battery_percent"] < first["battery_percent"] - 50
    assert {"storage_used", "storage_capacity", "temperature_c", "last_contact"} <= set(camera["health"])
    printed = json.loads(await _bwlab_status(appliance, "--json"))
    cli_camera = next(c for s in printed["systems"] for c in s["cameras"] if c["serial"] == ANNA)
    assert cli_camera["health"]["battery_percent"] < first["battery_percent"] - 50
    assert cli_camera["health"]["warnings"] and cli_camera["health"]["last_contact"] >= moved
    # the text of `bwlab status`: battery and storage in percent, temperature, the warnings marked
    line = next(line for line in (await _bwlab_status(appliance)).splitlines() if ANNA in line)
    health = cli_camera["health"]  # read a moment before: a newer report may have come meanwhile
    shown = re.search(r"battery +(\d+) % +storage +(\d+) % +(-?[\d.]+) °C +! ([a-z_ ]+)$", line)
    assert shown, line
    assert abs(int(shown[1]) - health["battery_percent"]) <= 1
    assert abs(int(shown[2]) - 100 * health["storage_used"] / health["storage_capacity"]) <= 1
    assert abs(float(shown[3]) - health["temperature_c"]) <= 0.5
    assert shown[4].split()[0] in ("battery_low", "battery_empty")


async def _bwlab_status(appliance, *extra: str) -> str:
    code, out, err = await appliance.bwlab("status", *extra)
    assert code == 0, err
    return out
