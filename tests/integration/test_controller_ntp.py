"""The system controller keeps its clock with NTP (S1; issue 5: "the controller and the cameras
sync with ntplib"): against the lab's NTP server by default or the one set in its settings; an
NTP offset fault skews the controller and, through the dock, the time its cameras receive.

covers: S1, L2, D1
"""

from __future__ import annotations

import pytest

from bwlab.wire.device_auth import make_csr, new_device_key
from tests.conftest import free_port, start_appliance


@pytest.fixture
async def lab_with_ntp(tmp_path):
    appliance, stop, task = await start_appliance(tmp_path / "data", ntp_port=0)
    async with appliance.lab() as lab:
        system = await lab.post("/controller/systems", {"name": "Clocked", "admin_password": "clocked-pass"})
        async with appliance.session() as mgr:
            await mgr.sign_in_manager(system["id"], "clocked-pass")
            api = f"/controller/{system['id']}/api"
            await mgr.post(api + "/docks", {"name": "D", "bays": 2})
            await mgr.post(api + "/cameras", {"serial": "CLOCK1", "model": "W110"})
            yield appliance, lab, mgr, api
    stop.set()
    await task


async def test_the_controller_follows_the_lab_ntp_server_and_its_faults(lab_with_ntp):
    appliance, lab, mgr, api = lab_with_ntp
    ntp_port = (await lab.get("/api/lab/time"))["ntp"]["port"]

    synced = (await mgr.put(api + "/settings", {"ntp_server": None}))["time_sync"]
    assert synced["server"] == f"127.0.0.1:{ntp_port}" and synced["error"] is None
    assert abs(synced["skew"]) < 0.5

    await lab.post("/api/lab/faults", {"kind": "ntp", "set": {"offset_s": 30}})
    skewed = (await mgr.put(api + "/settings", {"ntp_server": f"127.0.0.1:{ntp_port}"}))["time_sync"]
    assert skewed["error"] is None and skewed["skew"] == pytest.approx(30, abs=0.5)
    overview = await mgr.get(api)
    assert overview["time"] - appliance.clock.now() == pytest.approx(30, abs=0.5)

    # the dock hands the camera the controller's (wrong) time: the root of an S1 refusal
    provisioning = await lab.post(
        api + "/docks/D/bays/1", {"serial": "CLOCK1", "csr": make_csr(new_device_key(), "CLOCK1")}
    )
    assert provisioning["time"] - appliance.clock.now() == pytest.approx(30, abs=0.5)

    # an outage leaves the clock where it was, and says why
    await lab.post("/api/lab/faults", {"kind": "ntp", "set": {"mode": "outage"}})
    lost = (await mgr.put(api + "/settings", {"ntp_server": f"127.0.0.1:{ntp_port}"}))["time_sync"]
    assert "no answer" in lost["error"] and lost["skew"] == pytest.approx(30, abs=0.5)


async def test_a_wrong_ntp_server_in_the_settings_is_reported(lab_with_ntp):
    _, _, mgr, api = lab_with_ntp
    closed = free_port()
    result = (await mgr.put(api + "/settings", {"ntp_server": f"127.0.0.1:{closed}"}))["time_sync"]
    assert result["server"] == f"127.0.0.1:{closed}" and "no answer" in result["error"]
    assert (await mgr.get(api))["time_sync"]["error"] == result["error"]
