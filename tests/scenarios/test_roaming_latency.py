"""T3 row 5 measured: a camera streams while it walks from one access point to the next; the
glass-to-glass latency the reference viewer measures per frame (L5) jumps for the frames caught
in the hand-over gap and comes back once the camera is on the new AP. Then an L2 link impairment
(extra latency on the camera's uplink) shows in the same measurement, and clearing it restores it.

The comparisons are between frames of the same stream (during the gap vs. before and after it),
with margins far wider than the scheduling noise of a loaded machine.
"""

# covers: T3, L2, L4, L5

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

import pytest

from bwlab.apply import apply_scenario
from bwlab.scenario import load_scenario
from bwlab.viewer import Viewer
from firmware_stub.fleet import Fleet
from tests.conftest import start_appliance

SCENARIO = Path(__file__).parent / "t3-5-roaming.toml"


@pytest.fixture
async def roaming_lab(tmp_path):
    scenario, _ = load_scenario(SCENARIO)
    appliance, stop, task = await start_appliance(tmp_path / "data", ntp_port=0)
    info = await apply_scenario(scenario, appliance.url, appliance.ca_pem, appliance.lab_token)
    fleet = Fleet(
        url=appliance.url, ca_pem=appliance.ca_pem, lab_token=appliance.lab_token, clock=appliance.clock, media="shared"
    )
    await fleet.start(scenario)
    system = info.systems[0]
    viewer = Viewer(
        appliance.url,
        appliance.ca_pem,
        email="operator@lab.bwlab.test",
        password="operator-pass",
        link=system.protected_link,
        passphrase=system.link_passphrase,
        clock=appliance.clock,
    )
    async with appliance.lab() as lab, viewer:
        yield scenario, fleet, lab, viewer
    await fleet.close()
    stop.set()
    await task


def window(report, start: float, end: float) -> list[float]:
    return [lat for lat, t in zip(report.latencies_ms, report.capture_times, strict=True) if start <= t < end]


async def test_roaming_gap_shows_in_the_measured_latency_and_recovers(roaming_lab, poll):
    scenario, fleet, lab, viewer = roaming_lab
    serial = scenario.systems[0].cameras[0].serial
    user = scenario.systems[0].cameras[0].camera_user
    camera = fleet.cameras[serial]
    gap = float(scenario.radio["handover_gap_s"])

    await lab.post(f"/api/lab/cameras/{serial}/actions", {"action": "undock"})
    await poll(lambda: camera.state.get("hub") == "up", "the camera on the device hub")
    assert camera.state["radio"]["wifi"]["ap"] == "AP-West"
    await lab.post(f"/api/lab/cameras/{serial}/actions", {"action": "press", "button": "record"})
    stream = await viewer.wait_for_stream(10, user)

    async def walk_east():
        await asyncio.sleep(2.0)
        await lab.post(f"/api/lab/cameras/{serial}/actions", {"action": "move", "position": [55, 0]})

    walker = asyncio.create_task(walk_east())
    report = await viewer.watch(stream["id"], seconds=7.5)
    await walker

    roams = camera.state["radio"]["roams"]
    started = next(r["at"] for r in roams if r["event"] == "roam_started")
    roamed = next(r["at"] for r in roams if r["event"] == "roamed")
    assert [r["to_ap"] for r in roams] == ["AP-East", "AP-East"]
    assert roamed - started == pytest.approx(gap, abs=0.3)

    before = window(report, 0, started - 0.3)
    during = window(report, started, roamed)
    after = window(report, roamed + 1.0, float("inf"))
    assert len(before) >= 10 and len(during) >= 10 and len(after) >= 10, (len(before), len(during), len(after))
    calm = statistics.median(before)
    # The first frames of the gap wait for the whole hand-over (the uplink is paused, nothing lost).
    assert max(during) > calm + 0.5 * gap * 1000, (calm, max(during))
    # Then the camera is on AP-East and the latency is back where it was.
    assert statistics.median(after) < calm + 300, (calm, statistics.median(after))
    assert statistics.median(after) < 0.5 * max(during)
    seqs = report.seqs  # no chunk lost or reordered across the hand-over
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))

    # L2: 400 ms more on this camera's uplink shows in the viewer's measurement; clearing restores it.
    fault = await lab.post("/api/lab/faults", {"kind": "link", "target": serial, "set": {"latency_ms": 400}})
    await poll(lambda: (camera.state["radio"].get("impairment") or {}).get("latency_ms") == 400, "the impairment")
    slowed = await viewer.watch(stream["id"], seconds=2.0)
    await lab.delete(f"/api/lab/faults/{fault['id']}")
    await poll(lambda: camera.state["radio"].get("impairment") is None, "the impairment cleared")
    await asyncio.sleep(0.5)
    restored = await viewer.watch(stream["id"], seconds=2.0)
    slow_median, fast_median = statistics.median(slowed.latencies_ms), statistics.median(restored.latencies_ms)
    assert slow_median > fast_median + 250, (slow_median, fast_median)
    assert fast_median < calm + 300
