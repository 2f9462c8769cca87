from bwlab.apply import apply_scenario
from bwlab.scenario import load_scenario


# covers: S2, S3, S4, S5, S10
async def test_demo_scenario_builds_through_public_apis(appliance):
    scenario, _ = load_scenario(None)
    info = await apply_scenario(scenario, appliance.url, appliance.ca_pem, appliance.lab_token)
    assert info.systems[0].connected and info.systems[0].fingerprint
    async with appliance.lab() as lab:
        status = await lab.get("/api/lab/status")
    assert status["systems"][0]["connected"]
    assert len(status["systems"][0]["cameras"]) == 6
    again = await apply_scenario(scenario, appliance.url, appliance.ca_pem, appliance.lab_token)
    assert again.systems[0].id == info.systems[0].id
