"""The scenario regression suite (SPEC L1; issue 5): every ``tests/scenarios/*.toml`` runs against a
real appliance (with its NTP server) and a real fleet of camera drivers on loopback, and its
timeline's ``expect`` steps assert the symptom the manual lists (the camera's LEDs and screen, the
SIM state and dock alert, the hub's verdict, what the viewer sees), the fields of the
troubleshooting pages (T1) and the diagnosis codes (L3). One file per cause the lab reproduces;
docs/network-faults.md lists every row of T2-T4 and the file that reproduces it, or why none does.

Scenarios that travel in time get an appliance of their own (lab time only moves forward); the
others share one, each with its own system, camera, camera user and access points, and the lab's
faults are cleared after each.
"""

# covers: T1, T2, T3, T4, S1, S8, L1, L2, L3

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio

from bwlab.apply import apply_scenario
from bwlab.scenario import Scenario, load_scenario
from bwlab.timeline import Timeline, Viewing
from firmware_stub.fleet import Fleet
from tests.conftest import RunningAppliance, start_appliance

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")  # the shared lab lives in the module's loop

HERE = Path(__file__).parent
SCENARIOS = sorted(HERE.glob("*.toml"))


def travels(scenario: Scenario) -> bool:
    return any(s.action == "travel" or (s.action == "fault" and (s.fault or {}).get("kind") == "travel")
               for s in scenario.timeline)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_lab(tmp_path_factory):
    appliance, stop, task = await start_appliance(tmp_path_factory.mktemp("scenarios") / "data", ntp_port=0)
    yield appliance
    stop.set()
    await task


async def run_scenario(scenario: Scenario, appliance: RunningAppliance) -> None:
    info = await apply_scenario(scenario, appliance.url, appliance.ca_pem, appliance.lab_token)
    operator = next(a for a in scenario.accounts if a.email.startswith("operator@"))
    system = next(s for s in info.systems if s.name == scenario.systems[0].name)
    viewing = Viewing(operator.email, operator.password, system.protected_link, system.link_passphrase,
                      appliance.ca_pem)
    fleet = Fleet(url=appliance.url, ca_pem=appliance.ca_pem, lab_token=appliance.lab_token,
                  clock=appliance.clock, media="shared")
    async with appliance.lab() as lab:
        try:
            await fleet.start(scenario)
            await Timeline(scenario, lab, viewing=viewing, clock=appliance.clock).run()
        finally:
            await fleet.close()
            await lab.delete("/api/lab/faults")
            await lab.request("DELETE", "/api/lab/faults/blocked-hosts")


def test_every_scenario_file_loads_and_expects_a_diagnosis():
    assert len(SCENARIOS) >= 25
    serials: set[str] = set()
    for path in SCENARIOS:
        scenario, _ = load_scenario(path)
        assert scenario.name == path.stem == scenario.systems[0].name, f"{path.name}: name = file stem = system name"
        assert any(s.action == "expect" and ("diagnosis" in s.expect or "no_diagnosis" in s.expect)
                   for s in scenario.timeline), f"{path.name}: no diagnosis expectation"
        mine = {c.serial for c in scenario.systems[0].cameras}
        assert not mine & serials, f"{path.name}: a serial another scenario uses (they share a lab)"
        serials |= mine


SHARED = [p for p in SCENARIOS if not travels(load_scenario(p)[0])]
OWN_LAB = [p for p in SCENARIOS if p not in SHARED]


@MODULE_LOOP
@pytest.mark.parametrize("path", SHARED, ids=lambda p: p.stem)
async def test_scenario(path, shared_lab):
    scenario, _ = load_scenario(path)
    await run_scenario(scenario, shared_lab)


@MODULE_LOOP
@pytest.mark.parametrize("path", OWN_LAB, ids=lambda p: p.stem)
async def test_scenario_that_travels(path, tmp_path):
    scenario, _ = load_scenario(path)
    appliance, stop, task = await start_appliance(tmp_path / "data", ntp_port=0)
    try:
        await run_scenario(scenario, appliance)
    finally:
        stop.set()
        await task
