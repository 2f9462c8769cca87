"""Each answer of the README's error table does what it says (issue 13 "must show"), with a real
Swift behind a fault-injecting proxy: 400 → "Recording not transferred", downloadable from the
Manager; 401 → authenticate again; 402/403/404 shown and tried later; 503 and 500 tried again
soon; 507 → an alert in the Manager and tried later; token URIs tried in order; a wrong
Capabilities Etag = "object corrupt", every capability absent; a destination bound to another
system's connection is refused."""

# covers: issue-13 (items 3 and 4: error semantics, capabilities, System ID)

from __future__ import annotations

import asyncio
import subprocess

import pytest

from bwlab.wire import content_destination as cd
from tests.conftest import free_port
from tests.integration.offload_support import FaultProxy, connection_file, manager, record

BEN = "B8A44F000102"


@pytest.fixture
async def proxy(swift_cluster):
    p = FaultProxy(upstream=f"http://127.0.0.1:{swift_cluster.proxy_port}")
    await p.start()
    yield p
    await p.close()


@pytest.fixture
async def offload(appliance, demo_lab, demo_fleet, swift_cluster, proxy, poll):
    """Factory: import a connection file through the proxy, then record and dock Ben; returns
    (manager session, system id, fleet)."""
    sessions = []

    async def start(seconds: float = 3.0, **conn):
        system = demo_lab.systems[0]
        mgr = await manager(appliance, system.id)
        sessions.append(mgr)
        await mgr.put(f"/controller/{system.id}/api/recording-settings", {"clip_seconds": 5})
        auth = f"{proxy.url}/auth/v1.0"
        if "uris" in conn:
            conn["uris"] = tuple(auth if u == "PROXY" else u for u in conn["uris"])
        raw = connection_file(auth, swift_cluster.auth_user, swift_cluster.key, **conn)
        await mgr.request("POST", f"/controller/{system.id}/api/content-destination", raw=raw)
        fleet = await demo_fleet({BEN})
        await record(fleet, BEN, seconds)
        return mgr, system.id, fleet

    yield start
    for s in sessions:
        await s.close()


async def recording(poll, mgr, system_id: str, state: str, timeout: float = 40.0) -> dict:
    async def check():
        recs = (await mgr.get(f"/controller/{system_id}/api/recordings"))["recordings"]
        if recs and recs[0]["state"] == state:
            return await mgr.get(f"/controller/{system_id}/api/recordings/{recs[0]['id']}")
        return None

    return await poll(check, f"the recording to be {state}", timeout=timeout, step=0.25)


async def test_400_makes_the_recording_not_transferred_and_downloadable(offload, proxy, poll, swift_cluster, tmp_path):
    proxy.add("PUT", r"\.mkv$", status=400)
    mgr, system_id, _ = await offload()
    rec = await recording(poll, mgr, system_id, "not_transferred")
    assert rec["last_error"].endswith(
        "Recording not transferred: the content destination refused it (400) and "
        "never will; download it from the Manager."
    )
    assert [e["outcome"] for e in rec["log"] if e["status"] == 400] == ["not_transferred"]
    assert rec["downloadable"]
    clip = rec["clips"][0]
    async with mgr.http.get(
        f"{mgr.base_url}/controller/{system_id}/api/recordings/{rec['id']}/files/{clip['file']}",
        headers=mgr.headers(),
        ssl=mgr.ssl,
    ) as r:
        assert r.status == 200
        body = await r.read()
    assert len(body) == clip["size"]
    path = tmp_path / "downloaded.mp4"
    path.write_bytes(body)
    subprocess.run(["ffprobe", "-v", "error", str(path)], check=True)
    swift = swift_cluster.connection()
    try:
        assert cd.read_meta("Container", swift.head_container(rec["container"]))["Status"] == "Transferring"
    finally:
        swift.close()


async def test_401_503_and_500_are_retried_and_the_recording_completes(offload, proxy, poll, swift_cluster):
    proxy.add("PUT", r"\.mkv$", status=401)  # the token expired: authenticate again
    proxy.add("PUT", r"/bookmark_|_gpstrail\.json$", status=503, times=2)  # busy: again soon
    proxy.add("POST", r"/v1/AUTH_test/[^/]+_B8A44F000102_[^/]+$", status=500)  # any other error
    dead = f"http://127.0.0.1:{free_port()}/auth/v1.0"  # the first token URI does not answer
    mgr, system_id, _ = await offload(uris=(dead, "PROXY"))
    rec = await recording(poll, mgr, system_id, "complete")
    outcomes = [(e["status"], e["outcome"]) for e in rec["log"]]
    assert (401, "reauth") in outcomes and (200, "reauthenticated") in outcomes
    assert outcomes.count((503, "retry_soon")) == 2, outcomes
    assert (500, "retry") in outcomes, "\n".join(map(str, rec["log"]))
    assert outcomes[-1] == (None, "complete")
    swift = swift_cluster.connection()
    try:  # the pass that resumed after the 503s still set Status: Complete (it once did not)
        assert cd.read_meta("Container", swift.head_container(rec["container"]))["Status"] == "Complete"
    finally:
        swift.close()


@pytest.mark.parametrize("status, dest_status", [(402, "refused"), (403, "refused"), (404, "refused"), (507, "full")])
async def test_402_403_404_507_are_shown_and_tried_later(offload, proxy, poll, travel, status, dest_status):
    proxy.add("PUT", r"\.mkv$", status=status)
    mgr, system_id, _ = await offload()

    async def shown():
        dest = await mgr.get(f"/controller/{system_id}/api/content-destination")
        return dest if dest["status"] == dest_status else None

    dest = await poll(shown, f"the destination to show {dest_status}", timeout=40)
    assert (dest["alert"] is not None) == (status == 507)
    if status == 507:
        assert "out of disk space" in dest["alert"]["message"]
    recs = (await mgr.get(f"/controller/{system_id}/api/recordings"))["recordings"]
    assert recs[0]["state"] == "transferring"
    assert f"({status})" in recs[0]["last_error"]
    await travel(301)  # "later": five lab minutes
    await recording(poll, mgr, system_id, "complete")


async def test_a_wrong_capabilities_etag_means_no_capabilities(offload, proxy, poll, swift_cluster):
    swift = swift_cluster.connection()
    try:
        swift.put_container("System")
        caps = cd.Capabilities(store=frozenset({cd.STORE_BOOKMARKS, cd.STORE_GNSS_TRACK_RECORDING}))
        swift.put_object("System", "Capabilities.json", caps.to_json())
        proxy.add("GET", r"/System/Capabilities\.json$", bad_etag=True)
        mgr, system_id, _ = await offload(full_store_and_read_support=False)
        rec = await recording(poll, mgr, system_id, "complete")
        dest = await mgr.get(f"/controller/{system_id}/api/content-destination")
        assert dest["capabilities"] == {"names": [], "full": False}
        assert "object corrupt" in dest["capabilities_error"]
        _, objects = swift.get_container(rec["container"])
        assert all(o["name"].endswith(".mkv") for o in objects)  # no trail, no bookmark without capabilities
    finally:
        swift.delete_object("System", "Capabilities.json")
        swift.close()


async def test_a_destination_bound_to_another_connection_is_refused(
    appliance, demo_lab, offload, proxy, poll, swift_cluster
):
    system_id = demo_lab.systems[0].id
    swift = swift_cluster.connection()
    try:
        swift.put_container("System")
        swift.put_object(
            "System", system_id, b"", headers=cd.meta_headers("Object", {"ConnectionId": "another", "SystemName": "x"})
        )
        mgr, _, fleet = await offload()

        async def refused():
            dest = await mgr.get(f"/controller/{system_id}/api/content-destination")
            return dest if dest["status"] == "system_id_mismatch" else None

        dest = await poll(refused, "the destination to be refused", timeout=40)
        assert "another connection ID" in dest["status_message"]
        await recording(poll, mgr, system_id, "buffered")
        await asyncio.sleep(2.0)  # passes go by: nothing is uploaded, nothing is lost
        recs = (await mgr.get(f"/controller/{system_id}/api/recordings"))["recordings"]
        assert recs[0]["state"] == "buffered"
        assert (await mgr.get(f"/controller/{system_id}/api/content-destination"))["status"] == "system_id_mismatch"
        assert not [p for m, p, _ in proxy.seen if m == "PUT" and "_B8A44F000102_" in p]
    finally:
        swift.delete_object("System", system_id)
        swift.close()
