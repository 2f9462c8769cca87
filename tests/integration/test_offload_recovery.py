"""A controller restart or a destination outage mid-offload loses nothing and duplicates nothing
(issue 13 "must show"). A real Swift behind a proxy that slows each clip upload down, so that
the fault lands in the middle; after recovery, every recording is in the destination exactly
once — one container, each object once, ``Status: Complete`` — and has left the controller's
buffer and the camera."""

# covers: issue-13 (item 2: durable buffer, resume, exactly once)

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bwlab.client import Session
from bwlab.clock import LabClock
from bwlab.scenario import load_scenario
from bwlab.wire import content_destination as cd
from firmware_stub.fleet import Fleet
from tests.integration.offload_support import FaultProxy, connection_file, manager, record
from tests.integration.test_durability import appliance_process  # noqa: F401  (the fixture)

BEN = "B8A44F000102"
CHLOE = "B8A44F000103"


@pytest.fixture
async def slow_proxy(swift_cluster):
    p = FaultProxy(upstream=f"http://127.0.0.1:{swift_cluster.proxy_port}")
    p.add("PUT", r"\.mkv$", delay=0.6, times=1000)
    await p.start()
    yield p
    await p.close()


def clip_puts(proxy: FaultProxy) -> int:
    return sum(1 for m, p, s in proxy.seen if m == "PUT" and p.endswith(".mkv") and s == 201)


def check_exactly_once(swift_cluster, recordings: list[dict]) -> None:
    swift = swift_cluster.connection()
    try:
        _, containers = swift.get_account()
        names = [c["name"] for c in containers]
        for rec in recordings:
            assert rec["state"] == "complete", rec
            assert names.count(rec["container"]) == 1
            serial_time = rec["container"].split("_", 1)[1]
            assert sum(1 for n in names if n.endswith(serial_time)) == 1  # no second container for it
            meta = cd.read_meta("Container", swift.head_container(rec["container"]))
            assert meta["Status"] == "Complete"
            _, objects = swift.get_container(rec["container"])
            object_names = [o["name"] for o in objects]
            assert len(object_names) == len(set(object_names))
            clips = sorted(n for n in object_names if n.endswith(".mkv"))
            assert len(clips) == len(rec["clips"])  # every clip, once
            starts = sorted(cd.name_time(c["start_time"]) for c in rec["clips"])
            assert [c.split("_")[0] + "_" + c.split("_")[1] for c in clips] == starts
    finally:
        swift.close()


async def test_the_destination_goes_down_mid_offload(appliance, demo_lab, demo_fleet, swift_cluster, slow_proxy, poll):
    system = demo_lab.systems[0]
    mgr = await manager(appliance, system.id)
    try:
        await mgr.put(f"/controller/{system.id}/api/recording-settings", {"clip_seconds": 1})
        await mgr.request(
            "POST",
            f"/controller/{system.id}/api/content-destination",
            raw=connection_file(f"{slow_proxy.url}/auth/v1.0", swift_cluster.auth_user, swift_cluster.key),
        )
        fleet = await demo_fleet({BEN, CHLOE})
        await asyncio.gather(record(fleet, BEN, 5.0), record(fleet, CHLOE, 4.0))
        await poll(lambda: clip_puts(slow_proxy) >= 2, "two clips to reach the destination", timeout=40)
        await slow_proxy.down()

        async def unreachable():
            dest = await mgr.get(f"/controller/{system.id}/api/content-destination")
            return dest["status"] == "unreachable"

        await poll(unreachable, "the Manager to show the destination unreachable", timeout=20)
        recs = (await mgr.get(f"/controller/{system.id}/api/recordings"))["recordings"]
        assert len(recs) == 2 and any(r["state"] != "complete" for r in recs)
        await slow_proxy.start()  # back on the same address

        async def all_complete():
            recs = (await mgr.get(f"/controller/{system.id}/api/recordings"))["recordings"]
            return recs if len(recs) == 2 and all(r["state"] == "complete" for r in recs) else None

        recs = await poll(all_complete, "both recordings to be Complete", timeout=90, step=0.5)
        check_exactly_once(swift_cluster, recs)
        assert all(fleet.cameras[s].recordings.state()["recordings"] == 0 for s in (BEN, CHLOE))
        assert not list((appliance.data_dir / "controllers" / system.id / "recordings").glob("*/clip-*"))
    finally:
        await mgr.close()


async def test_the_controller_is_killed_mid_offload(appliance_process, swift_cluster, slow_proxy, poll, tmp_path):  # noqa: F811
    app = appliance_process
    app.start()
    facts = await app.ready(poll)
    lab_json = json.loads((app.data_dir / "lab.json").read_text())
    url, token = lab_json["url"], lab_json["lab_token"]
    ca = Path(lab_json["ca_path"]).read_text()
    system_id = facts["systems"][0]["id"]

    async def signed_in() -> Session:
        session = Session(url, ca)
        await session.sign_in_manager(system_id, "manager-pass")
        return session

    mgr = await signed_in()
    await mgr.put(f"/controller/{system_id}/api/recording-settings", {"clip_seconds": 1})
    await mgr.request(
        "POST",
        f"/controller/{system_id}/api/content-destination",
        raw=connection_file(f"{slow_proxy.url}/auth/v1.0", swift_cluster.auth_user, swift_cluster.key),
    )
    await mgr.close()
    scenario, _ = load_scenario(None)
    fleet = Fleet(url=url, ca_pem=ca, lab_token=token, clock=LabClock(), data_dir=tmp_path / "fleet")
    try:
        await fleet.start(scenario, only={BEN, CHLOE})
        await asyncio.gather(record(fleet, BEN, 5.0), record(fleet, CHLOE, 4.0))
        await poll(lambda: clip_puts(slow_proxy) >= 2, "two clips to reach the destination", timeout=40)
        app.kill()  # SIGKILL: the offload stops mid-object
        await asyncio.sleep(1.0)
        app.start()
        await app.ready(poll)
        mgr = await signed_in()
        try:

            async def all_complete():
                recs = (await mgr.get(f"/controller/{system_id}/api/recordings"))["recordings"]
                return recs if len(recs) == 2 and all(r["state"] == "complete" for r in recs) else None

            recs = await poll(all_complete, "both recordings to be Complete after the restart", timeout=90, step=0.5)
        finally:
            await mgr.close()
        check_exactly_once(swift_cluster, recs)
        assert all(fleet.cameras[s].recordings.state()["recordings"] == 0 for s in (BEN, CHLOE))
    finally:
        await fleet.close()
