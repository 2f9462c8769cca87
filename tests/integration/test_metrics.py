"""/metrics counts the parts' rows through their stores (issue 11: no SQL outside a part's store.py)."""

# covers: issue 11 (structure)
from __future__ import annotations


async def _metrics(lab, url: str) -> dict[str, float]:
    async with lab.http.get(url + "/metrics", ssl=lab.ssl) as r:
        assert r.status == 200
        text = await r.text()
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("bwlab_") and len(line.split()) == 2
    }


async def test_the_row_gauges_count_each_parts_tables(appliance, demo_lab, lab):
    status = await lab.get("/api/lab/status")
    metrics = await _metrics(lab, appliance.url)
    cameras = sum(len(s["cameras"]) for s in status["systems"])
    connected = sum(1 for s in status["systems"] if s["cloud_system_id"])
    assert cameras > 0 and connected > 0  # the demo has both, so the counts below can fail
    assert metrics["bwlab_ctl_cameras"] == cameras
    assert metrics["bwlab_cloud_systems"] == connected
    assert metrics["bwlab_accounts"] >= 1 and metrics["bwlab_organizations"] >= 1
    assert metrics["bwlab_streams"] == 0  # no camera runs
