"""Users/ and Devices/ on the content destination follow the Manager: an object on registration
(PUT), its metadata updated on rename (POST) — issue 13, the README's Device and User API — with
a real Swift."""

# covers: issue-13 (item 3: Users/ and Devices/)

from __future__ import annotations

import asyncio

import pytest

from appliance.controller.offload.plan import user_uuid
from bwlab.client import ApiError
from bwlab.wire import content_destination as cd
from tests.integration.offload_support import connection_file


async def test_registration_and_rename_reach_users_and_devices(appliance, new_system, swift_cluster, poll):
    system_id, mgr = await new_system("Directory station")
    api = f"/controller/{system_id}/api"
    await mgr.request(
        "POST",
        api + "/content-destination",
        raw=connection_file(swift_cluster.auth_url, swift_cluster.auth_user, swift_cluster.key),
    )
    user = await mgr.post(api + "/camera-users", {"name": "Åsa Lind"})
    await mgr.post(api + "/cameras", {"serial": "B8A44F0009D1", "model": "W120", "camera_user": user["id"]})

    def head(container: str, name: str) -> dict | None:
        swift = swift_cluster.connection()
        try:
            return cd.read_meta("Object", swift.head_object(container, name))
        except Exception:  # noqa: BLE001 - not there (yet)
            return None
        finally:
            swift.close()

    async def stored(container: str, name: str, key: str, value: str):
        meta = await asyncio.to_thread(head, container, name)
        return meta if meta and meta.get(key) == value else None

    key = user_uuid(user["id"])
    meta = await poll(lambda: stored("Users", key, "Name", "Åsa Lind"), "the Users/ object", timeout=20, step=0.3)
    assert meta["Active"] == "True"  # UTF-8, URL-encoded on the wire, read back as written
    device = await poll(
        lambda: stored("Devices", "B8A44F0009D1", "Model", "W120"), "the Devices/ object", timeout=20, step=0.3
    )
    assert device["Name"] == "B8A44F0009D1" and device["Active"] == "True"

    await mgr.put(api + f"/camera-users/{user['id']}", {"name": "Åsa Lind-Berg"})
    await poll(
        lambda: stored("Users", key, "Name", "Åsa Lind-Berg"), "the rename on the Users/ object", timeout=20, step=0.3
    )
    dest = await mgr.get(api + "/content-destination")
    # registration was a PUT, the rename a POST of the object's metadata (202 Accepted)
    assert [(e["method"], e["status"]) for e in dest["log"] if e["target"] == f"Users/{key}"] == [
        ("PUT", 201),
        ("POST", 202),
    ]

    await mgr.post(api + "/camera-users", {"name": "Other"})
    with pytest.raises(ApiError) as err:  # a rename onto another user's name changes nothing
        await mgr.put(api + f"/camera-users/{user['id']}", {"name": "Other"})
    assert err.value.status == 409
