"""T5 host names in the lab: the hosts file and dnsmasq snippet pointing at the appliance, and the
blocked-host-name fault that gives a camera the T2 "service error" (row 5, derived from its fix)."""

# covers: T5, T2, L2, S17

from __future__ import annotations

import asyncio

import pytest

from bwlab.client import ApiError
from bwlab.regions import SERVICE_HOSTS

ANNA = "B8A44F000101"  # W100 (LEDs, no screen), system "Main station" in region eu


async def test_hosts_file_and_dnsmasq_snippet_point_every_t5_name_at_the_appliance(appliance, lab):
    hosts = await lab.get("/api/lab/dns/hosts")
    lines = [line for line in hosts.splitlines() if not line.startswith("#")]
    assert lines == [f"127.0.0.1\t{h.name}" for h in SERVICE_HOSTS]  # the address this request reached
    assert "devices.bwlab.test" in hosts and "storage-japan.bwlab.test" in hosts
    dnsmasq = await lab.get("/api/lab/dns/dnsmasq.conf?address=10.20.30.40")
    assert "address=/devices.bwlab.test/10.20.30.40" in dnsmasq.splitlines()
    assert sum(line.startswith("address=/") for line in dnsmasq.splitlines()) == len(SERVICE_HOSTS)
    with pytest.raises(ApiError) as bad:
        await lab.get("/api/lab/dns/hosts?address=not-an-address")
    assert bad.value.status == 400 and bad.value.code == "invalid_input"
    async with appliance.session() as nobody:
        with pytest.raises(ApiError) as refused:
            await nobody.get("/api/lab/dns/hosts")
        assert refused.value.status == 401

    # the same through the CLI, as a trainer would feed a lab DNS
    code, out, err = await appliance.bwlab("dns", "--format", "dnsmasq", "--address", "192.168.56.10", timeout=30)
    assert code == 0, err
    assert "address=/live.bwlab.test/192.168.56.10" in out.splitlines()


async def test_a_blocked_host_name_gives_the_camera_a_service_error_until_unblocked(
    appliance, lab, demo_fleet, camera_online, poll, travel, undock_online
):
    fleet = await demo_fleet({ANNA})
    await undock_online(fleet, ANNA)

    with pytest.raises(ApiError) as bad:
        await lab.post("/api/lab/faults/blocked-hosts", {"hostname": "www.example.com"})
    assert bad.value.status == 400 and "T5" in bad.value.message
    # another region's storage host: the camera (region eu) does not need it and stays connected
    answer = await lab.post("/api/lab/faults/blocked-hosts", {"hostname": "storage-japan.bwlab.test"})
    assert answer["blocked"] == ["storage-japan.bwlab.test"]
    assert await camera_online(ANNA)
    # T5: cameras do not use the common Axis APIs (*.axis.com) nor the controllers' body-worn
    # APIs (*.bodyworn.axis.cloud): blocking them leaves the camera connected
    for name in ("common.bwlab.test", "controllers.bwlab.test"):
        await lab.post("/api/lab/faults/blocked-hosts", {"hostname": name})
        await asyncio.sleep(0.3)
        assert await camera_online(ANNA), name
        await lab.request("DELETE", "/api/lab/faults/blocked-hosts", {"hostname": name})

    # the storage host of the camera's region: the hub drops and then refuses it (T2 row 5)
    answer = await lab.post("/api/lab/faults/blocked-hosts", {"hostname": "storage-eu.bwlab.test"})
    assert answer["blocked"] == ["storage-eu.bwlab.test", "storage-japan.bwlab.test"]

    async def refused():
        status = await lab.get("/api/lab/status")
        cam = next(c for s in status["systems"] for c in s["cameras"] if c["serial"] == ANNA)
        return not cam["online"] and (cam["last_refusal"] or {}).get("code") == "service_unreachable" and cam

    cam = await poll(refused, "the hub refusing the camera with service_unreachable", timeout=10)
    assert "storage-eu.bwlab.test" in cam["last_refusal"]["message"]

    async def camera_shows_error():
        states = (await lab.get("/api/lab/cameras"))["cameras"]
        state = next(c["state"] for c in states if c["serial"] == ANNA)
        return (state["last_error"] or {}).get("code") == "service_unreachable" and state

    state = await poll(camera_shows_error, "the camera's service error", timeout=10)
    assert state["leds"]["wifi"] == "red"  # the W100 shows the error on its Wi-Fi LED

    # the device-to-cloud host alone has the same effect; unblocking everything brings it back
    await lab.request("DELETE", "/api/lab/faults/blocked-hosts", {"hostname": "storage-eu.bwlab.test"})
    await lab.post("/api/lab/faults/blocked-hosts", {"hostname": "devices.bwlab.test"})
    assert (await lab.get("/api/lab/faults/blocked-hosts"))["blocked"] == [
        "devices.bwlab.test",
        "storage-japan.bwlab.test",
    ]
    cleared = await lab.request("DELETE", "/api/lab/faults/blocked-hosts")
    assert cleared["blocked"] == []
    await travel(60)  # past the camera's reconnection backoff
    await poll(lambda: camera_online(ANNA), "the camera back on the hub", timeout=10)


def test_the_t5_table_is_the_manuals():
    """T5 as the manual has it: *.axis.com for browsers and controllers (not cameras), and the
    controllers-only *.bodyworn.axis.cloud as its own row; a camera needs *.bodyworn.axis.com,
    the device-to-cloud host and its region's storage host, nothing else."""
    from appliance.lab.hostnames import hosts_file
    from bwlab.regions import BROWSERS, CAMERAS, CONTROLLERS, camera_hosts

    table = {h.manual: (h.purpose, set(h.used_by)) for h in SERVICE_HOSTS}
    assert table["*.mysystems.axis.com"] == ("web application", {BROWSERS})
    assert table["*.bodyworn.axis.com"] == ("body-worn-specific APIs", {BROWSERS, CAMERAS, CONTROLLERS})
    assert table["*.bodyworn.axis.cloud"] == ("body-worn-specific APIs", {CONTROLLERS})
    assert table["*.axis.com"] == ("common Axis APIs", {BROWSERS, CONTROLLERS})
    assert table["axisbwsprod.webpubsub.azure.com"][1] == {BROWSERS}
    assert table["axisbws-prod.azure-devices.net"][1] == {CAMERAS, CONTROLLERS}
    storage = [h for h in SERVICE_HOSTS if h.manual.endswith(".blob.core.windows.net")]
    assert len(storage) == 11 and all(set(h.used_by) == {BROWSERS, CAMERAS} for h in storage)
    assert table["axislivee6dc2820e149af9f.blob.core.windows.net"][0] == "video storage, EU"
    assert all(h.port == 443 for h in SERVICE_HOSTS) and len(SERVICE_HOSTS) == 17
    by_manual = {h.manual: h.name for h in SERVICE_HOSTS}
    assert camera_hosts("eu") == (
        by_manual["*.bodyworn.axis.com"],
        by_manual["axisbws-prod.azure-devices.net"],
        by_manual["axislivee6dc2820e149af9f.blob.core.windows.net"],
    )
    text = hosts_file("10.0.0.1")
    assert "= *.bodyworn.axis.cloud (body-worn-specific APIs; controllers)" in text
    assert "= *.axis.com (common Axis APIs; browsers, controllers)" in text
