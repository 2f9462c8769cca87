"""T2 row 1 in the running lab: a system whose network settings point at a proxy that does not
answer cannot enable cloud extensions; the Manager says to check the network settings, the lab's
diagnosis names the row, and fixing the setting fixes both (S3, L3)."""

# covers: T2, S3, L3

from __future__ import annotations

import pytest

from bwlab.client import ApiError
from tests.conftest import free_port


async def test_cloud_extensions_need_working_network_settings(appliance, lab, new_system):
    system_id, manager = await new_system("Behind a proxy")
    api = f"/controller/{system_id}/api"
    settings = (await manager.get(api))["settings"]
    dead_proxy = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    await manager.put(api + "/settings", {**settings, "network": {**settings["network"], "proxy": dead_proxy}})
    await manager.post(api + "/addon/install", {"hosting": "axis-hosted"})

    with pytest.raises(ApiError) as refused:
        await manager.put(api + "/addon/cloud-extensions", {"enabled": True})
    assert refused.value.code == "cloud_unreachable" and "network settings" in refused.value.message

    report = await lab.get("/api/lab/diagnosis")
    (system,) = [s for s in report["systems"] if s["id"] == system_id]
    assert system["codes"] == ["T2-1"] and system["connection_state"] == "installed"
    assert "Settings > Network" in system["findings"][0]["fix"]

    await manager.put(api + "/settings", {**settings, "network": {**settings["network"], "proxy": None}})
    await manager.put(api + "/addon/cloud-extensions", {"enabled": True})
    report = await lab.get("/api/lab/diagnosis")
    (system,) = [s for s in report["systems"] if s["id"] == system_id]
    assert system["codes"] == [] and system["connection_state"] == "extensions_enabled"
