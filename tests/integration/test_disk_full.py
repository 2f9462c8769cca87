"""Issue 10, item 8: a full disk. The data directory is a small tmpfs this test mounts (the suite
runs as root, like CI) and fills to the last byte: clients get ``507 insufficient_storage`` and
nothing changes, a camera gets an ``insufficient_storage`` refusal (close code 4507) and keeps
its chunks, ``/healthz`` says degraded; once space is freed everything the camera kept is stored,
in order, exactly once.

covers: D3, D8, S2
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from bwlab.client import ApiError
from tests.conftest import start_appliance

ANNA = "B8A44F000101"  # W100, profile "Patrol live" (live stream on record)


@pytest.fixture
def small_disk(tmp_path):
    """A 32 MiB tmpfs as the data directory, and a way to fill it up and free it again."""
    data = tmp_path / "data"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", str(data)], check=True)
    try:
        yield SmallDisk(data)
    finally:
        subprocess.run(["umount", "-l", str(data)], check=True)


class SmallDisk:
    def __init__(self, path: Path):
        self.path = path
        self.filler = path / "filler"

    def fill(self) -> None:
        """Take every free byte (the appliance's next write fails with ENOSPC)."""
        with open(self.filler, "ab", buffering=0) as f:
            for block in (1 << 20, 4096, 1):
                try:
                    while True:
                        f.write(b"\0" * block)
                except OSError:
                    pass

    def free(self) -> None:
        self.filler.unlink()


@pytest.fixture
async def appliance(small_disk):
    """The conftest's appliance, on the small disk (demo_lab and demo_fleet stack on it)."""
    handle, stop, task = await start_appliance(small_disk.path)
    yield handle
    stop.set()
    await asyncio.wait_for(task, 15)


async def test_clients_get_507_and_nothing_changes_while_the_disk_is_full(appliance, small_disk, cloud_account):
    await cloud_account("full@disk.test", "full-disk-pass")
    async with appliance.session() as s:
        assert (await s.get("/healthz"))["status"] == "ok"
        small_disk.fill()
        health = await s.get("/healthz")
        assert health["status"] == "degraded" and health["problems"] == ["insufficient_storage"]
        for call in (
            s.post("/api/cloud/sessions", {"email": "full@disk.test", "password": "full-disk-pass"}),
            s.post("/api/cloud/accounts", {"email": "new@disk.test", "name": "New", "password": "new-account-pass"}),
        ):
            with pytest.raises(ApiError) as refused:
                await call
            assert (refused.value.status, refused.value.code) == (507, "insufficient_storage")

        # the lab's own changes too: a time travel that cannot be kept does not happen
        async with appliance.lab() as lab:
            offset = (await lab.get("/api/lab/time"))["offset"]
            with pytest.raises(ApiError) as refused:
                await lab.post("/api/lab/time/travel", {"seconds": 3600})
            assert refused.value.status == 507 and (await lab.get("/api/lab/time"))["offset"] == offset

        small_disk.free()
        assert (await s.get("/healthz"))["status"] == "ok"
        await s.sign_in_cloud("full@disk.test", "full-disk-pass")
        with pytest.raises(ApiError) as unknown:  # the refused sign-up created nothing
            await s.sign_in_cloud("new@disk.test", "new-account-pass")
        assert unknown.value.status == 401


async def test_a_camera_is_refused_keeps_its_chunks_and_loses_nothing(
    appliance, small_disk, demo_lab, demo_fleet, undock_online, poll
):
    fleet = await demo_fleet({ANNA})
    cam = fleet.cameras[ANNA]
    await undock_online(fleet, ANNA)
    await cam.press("record")
    await poll(
        lambda: cam.state.get("streaming") == "live" and cam.chunks_acked >= 5, "a live stream stored", timeout=10
    )
    stream_id = cam.state["stream_id"]

    small_disk.fill()
    acked = cam.chunks_acked
    await poll(lambda: cam.unacked >= 6, "the camera keeping what the full disk refused", timeout=10)
    assert cam.chunks_acked <= acked + 2  # at most what was in flight when the disk filled
    # a camera connecting now is told why, with a refusal code (no silent drop)
    async with appliance.session() as s:
        async with s.http.ws_connect(appliance.url.replace("https", "wss") + "/hub/v1/devices", ssl=s.ssl) as ws:
            await ws.receive(timeout=5)  # the challenge
            await ws.send_str(json.dumps({"type": "hello", "serial": ANNA, "certificate": "x", "signature": "AA"}))
            refusal = json.loads((await ws.receive(timeout=5)).data)
            assert refusal["code"] == "insufficient_storage"
            await ws.receive(timeout=5)
            assert ws.close_code == 4507
        assert (await s.get("/healthz"))["status"] == "degraded"

    small_disk.free()
    await poll(lambda: cam.unacked == 0 and cam.chunks_acked > acked + 6, "every kept chunk stored", timeout=20)
    await cam.press("record", "long")
    await poll(lambda: cam.unacked == 0 and cam.state.get("streaming") is None, "the stream ended and stored")

    system = demo_lab.systems[0]
    async with appliance.operator_viewer(system) as viewer:
        rec = await viewer.watch(stream_id, recording=True)
    assert rec.seqs == list(range(cam.chunks_sent)), "every chunk the camera made, exactly once, in order"
    with sqlite3.connect(f"file:{small_disk.path / 'cloud.sqlite3'}?mode=ro", uri=True) as db:
        assert (
            db.execute("SELECT COUNT(*) FROM chunks WHERE stream_id = ?", (stream_id,)).fetchone()[0] == cam.chunks_sent
        )
    assert not list((small_disk.path / "evidence").rglob("*.tmp")), "no partial evidence file left behind"
