"""A fleet of real camera drivers against the real appliance on loopback."""

import pytest

from bwlab.apply import apply_scenario
from bwlab.scenario import load_scenario
from firmware_stub.fleet import Fleet


@pytest.fixture
async def demo(appliance):
    scenario, _ = load_scenario(None)
    info = await apply_scenario(scenario, appliance.url, appliance.ca_pem, appliance.lab_token)
    fleet = Fleet(url=appliance.url, ca_pem=appliance.ca_pem, lab_token=appliance.lab_token, clock=appliance.clock)
    await fleet.start(scenario)
    yield info, fleet
    await fleet.close()


# covers: D1, D3
async def test_demo_fleet_provisions_six_cameras_and_takes_davids_out_ready_to_stream(appliance, demo, lab):
    status = await lab.get("/api/lab/status")
    cams = status["systems"][0]["cameras"]
    assert len(cams) == 6
    assert all(c["cert_valid"] for c in cams)
    assert [c["serial"] for c in cams if not c["docked"]] == ["B8A44F000104"]  # David's: out, ready to stream
    assert all(c["cert_not_after"] - status["lab_time"] == pytest.approx(6 * 86400, abs=600) for c in cams)
