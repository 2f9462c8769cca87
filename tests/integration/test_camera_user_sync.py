"""A connected system keeps the cloud's list of its camera users current (the manual's metadata
"related to the user: user id, user name"; D4, D7, S7).

Live lists every camera user of the organization's systems before any camera has connected, with
why a remote start cannot happen; a camera user added or a profile changed in the Manager shows
in Live; a controller that cannot reach the cloud keeps the change and sends it once its network
settings are fixed; a bad list is refused with the bad key and changes nothing.

covers: D4, D7, S7, S3
"""

from __future__ import annotations

import asyncio

import pytest

from bwlab.client import ApiError, Session
from tests.conftest import controller_connections, free_port

REASONS = {  # the demo's camera users, none of whose cameras has reached the hub
    "Anna Berg": "camera_offline",
    "Ben Carter": "camera_offline",
    "Chloe Dubois": "camera_offline",
    "David Eriksson": "camera_offline",
    "Emma Fischer": "camera_offline",
    "Felix Garcia": "streaming_disabled",  # profile "Record only" (S7)
}


async def _listed(viewer) -> dict[str, dict]:
    users = (await viewer.session.get(f"/api/cloud/orgs/{viewer.org_id}/camera-users"))["camera_users"]
    return {u["name"]: u for u in users}


async def test_live_lists_the_systems_camera_users_before_any_camera_connects(
    appliance, demo_lab, demo_viewer, camera_online, poll
):
    listed = await poll(lambda: _all_listed(demo_viewer), "the six demo camera users in Live")
    assert {name: u["remote_start_reason"] for name, u in listed.items()} == REASONS
    assert not any(u["online"] or u["remote_start"] for u in listed.values())
    assert listed["Anna Berg"]["serial"] == "B8A44F000101" and listed["Anna Berg"]["model"] == "W100"
    assert not await camera_online("B8A44F000101")
    with pytest.raises(ApiError) as refused:
        await demo_viewer.session.post(
            f"/api/cloud/orgs/{demo_viewer.org_id}/camera-users/{listed['Felix Garcia']['id']}/start"
        )
    assert (refused.value.status, refused.value.code) == (409, "streaming_disabled")


async def _all_listed(viewer):
    listed = await _listed(viewer)
    return listed if set(REASONS) <= set(listed) else None


async def test_manager_changes_reach_live_and_wait_out_an_unreachable_cloud(appliance, demo_lab, demo_viewer, poll):
    system = demo_lab.systems[0]
    api = f"/controller/{system.id}/api"
    async with appliance.session() as manager:
        await manager.sign_in_manager(system.id, system.admin_password)
        await poll(lambda: _all_listed(demo_viewer), "the demo camera users in Live")

        # A new camera user without a camera; then one of "Record only" moves to "Patrol live".
        await manager.post(api + "/camera-users", {"name": "Gina Holm", "profile": "Patrol live"})
        gina = await poll(lambda: _user(demo_viewer, "Gina Holm"), "Gina in Live")
        assert gina["remote_start_reason"] == "no_camera" and gina["serial"] is None
        await manager.put(api + "/camera-users/Felix Garcia", {"profile": "Patrol live"})
        await poll(lambda: _reason(demo_viewer, "Felix Garcia", "camera_offline"), "Felix streaming in Live's list")
        overview = await manager.get(api)
        assert overview["cloud_sync"]["error"] is None and overview["cloud_sync"]["camera_users"] == 7

        # The controller's proxy goes dead (T2 row 1): the next change waits, and says why.
        settings = overview["settings"]
        dead_proxy = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        await manager.put(api + "/settings", {**settings, "network": {**settings["network"], "proxy": dead_proxy}})
        await manager.put(api + "/camera-users/Felix Garcia", {"profile": "Record only"})
        stuck = await poll(lambda: _sync_error(manager, api), "the sync to report the unreachable cloud")
        assert stuck["pending"] is True and "network settings" in stuck["error"]
        assert (await _user(demo_viewer, "Felix Garcia"))["remote_start_reason"] == "camera_offline", "not sent yet"

        # Fixed: the waiting list goes out by itself (the retry, or the settings change itself).
        await manager.put(api + "/settings", {**settings, "network": {**settings["network"], "proxy": None}})
        await poll(
            lambda: _reason(demo_viewer, "Felix Garcia", "streaming_disabled"), "Felix back to Record only", timeout=10
        )
        synced = (await manager.get(api))["cloud_sync"]
        assert synced["error"] is None and synced["pending"] is False


async def _user(viewer, name):
    return (await _listed(viewer)).get(name)


async def _reason(viewer, name, reason):
    user = await _user(viewer, name)
    return user if user and user["remote_start_reason"] == reason else None


async def _sync_error(manager, api):
    status = (await manager.get(api))["cloud_sync"]
    return status if status["error"] else None


async def test_a_bad_list_is_refused_and_changes_nothing(appliance, demo_lab, demo_viewer, poll):
    system = demo_lab.systems[0]
    connection = controller_connections(appliance.data_dir)[system.id]
    before = await poll(lambda: _all_listed(demo_viewer), "the demo camera users in Live")
    path = f"/api/cloud/systems/{connection['cloud_system_id']}/camera-users"
    async with Session(appliance.url, appliance.ca_pem, token=connection["system_token"]) as controller:
        bad = [
            (
                {"camera_users": [{"id": "u1", "name": "A"}, {"id": "u1", "name": "B"}]},
                "each camera user id may appear once",
            ),
            (
                {"camera_users": [{"id": "u1", "name": "A", "remote_activation": "sometimes"}]},
                "camera_users[0].remote_activation",
            ),
            ({"camera_users": [{"id": "u1", "name": ""}]}, "camera_users[0].name"),
            (
                {"camera_users": [{"id": "u1", "name": "A", "cameras": [{"serial": "X"}]}]},
                "camera_users[0].cameras[0].model",
            ),
            ({"users": []}, "users"),
        ]
        for body, says in bad:
            with pytest.raises(ApiError) as refused:
                await controller.put(path, body)
            assert refused.value.status == 400 and says in refused.value.message, (body, refused.value.message)
        with pytest.raises(ApiError) as foreign:
            await controller.put("/api/cloud/systems/sys_0000000000000000/camera-users", {"camera_users": []})
        assert foreign.value.status == 403
    assert await _listed(demo_viewer) == before


class ConnectProxy:
    """A minimal HTTP CONNECT proxy on 127.0.0.1 (what a site's web proxy does for HTTPS): it
    counts the tunnels it opened and pipes bytes both ways."""

    def __init__(self, port: int):
        self.port = port
        self.tunnels: list[str] = []
        self.peers: list[str] = []  # the address each client came from
        self.server: asyncio.base_events.Server | None = None
        self._pipes: set[asyncio.Task] = set()

    async def start(self) -> ConnectProxy:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        return self

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.peers.append(writer.get_extra_info("peername")[0])
        request = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        method, target, _ = request.split("\r\n", 1)[0].split(" ", 2)
        host, port = target.rsplit(":", 1)
        if method != "CONNECT" or host not in ("127.0.0.1", "localhost"):
            writer.write(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        self.tunnels.append(target)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            dst.close()


async def test_a_change_waits_for_the_proxy_and_goes_out_through_it_by_itself(appliance, demo_lab, demo_viewer, poll):
    """The controller's proxy is down when the Manager changes a profile; nobody touches the
    Manager again; once the proxy answers, the retry sends the list through it."""
    system = demo_lab.systems[0]
    api = f"/controller/{system.id}/api"
    port = free_port()
    async with appliance.session() as manager:
        await manager.sign_in_manager(system.id, system.admin_password)
        await poll(lambda: _all_listed(demo_viewer), "the demo camera users in Live")
        settings = (await manager.get(api))["settings"]
        await manager.put(
            api + "/settings", {**settings, "network": {**settings["network"], "proxy": f"http://127.0.0.1:{port}"}}
        )
        await manager.put(api + "/camera-users/Felix Garcia", {"profile": "Patrol live"})
        await poll(lambda: _sync_error(manager, api), "the sync to fail while the proxy is down")
        proxy = await ConnectProxy(port).start()
        try:
            await poll(
                lambda: _reason(demo_viewer, "Felix Garcia", "camera_offline"),
                "the retry through the proxy",
                timeout=15,
            )
            assert proxy.tunnels, "the list went through the controller's proxy"
            status = (await manager.get(api))["cloud_sync"]
            assert status["error"] is None and status["pending"] is False
        finally:
            await proxy.close()
