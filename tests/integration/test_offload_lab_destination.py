"""The same path with ``bwlab content-destination`` as the content destination (issue 13 "must
show"): HTTPS with its certificate pinned from the connection file, WantEncryption, capabilities
published in System/Capabilities.json (not FullStoreAndReadSupport), categories; read back with
python-swiftclient and decrypted with ``bwlab content-destination decrypt``."""

# covers: issue-13 (items 2, 3 with the lab destination)

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys

import pytest
from swiftclient.client import Connection

from bwlab.content_destination.service import ServeOptions, start
from bwlab.wire import content_destination as cd
from bwlab.wire.recordings import Category
from tests.integration.offload_support import manager, record

BEN = "B8A44F000102"


@pytest.fixture
async def lab_destination(appliance, tmp_path):
    running = await start(ServeOptions(directory=tmp_path / "cd", port=0, encrypt=True), appliance.clock)
    yield running
    await running.close()


def ffprobe(path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


async def test_recordings_reach_the_lab_destination_encrypted_and_decrypt(
    appliance, demo_lab, demo_fleet, lab_destination, poll, travel, tmp_path
):
    system = demo_lab.systems[0]
    mgr = await manager(appliance, system.id)
    try:
        await mgr.put(f"/controller/{system.id}/api/recording-settings", {"clip_seconds": 2})
        await mgr.request(
            "POST", f"/controller/{system.id}/api/content-destination", raw=lab_destination.connection_path.read_bytes()
        )
        fleet = await demo_fleet({BEN})
        cam = fleet.cameras[BEN]
        dock, bay = fleet.where[BEN]
        await fleet.undock(BEN)
        await cam.press("record")
        await poll(lambda: cam.recordings.recording is not None, "the recording to start")
        await cam.recordings.annotate(text="", tags="")  # a bare bookmark: only its timestamp
        await cam.recordings.annotate(category=Category("2", "Disorderly conduct"))
        await poll(lambda: cam.recordings.state()["used"] > 100_000, "some media on the camera", timeout=30)
        await cam.press("record", "long")
        await fleet.dock(BEN, dock, bay)

        async def complete(n: int):
            recs = (await mgr.get(f"/controller/{system.id}/api/recordings"))["recordings"]
            return recs if len(recs) == n and all(r["state"] == "complete" for r in recs) else None

        (rec,) = await poll(lambda: complete(1), "the recording to be Complete", timeout=60, step=0.5)
        dest = await mgr.get(f"/controller/{system.id}/api/content-destination")
        assert dest["status"] == "connected" and not dest["capabilities"]["full"]
        assert set(dest["capabilities"]["names"]) >= {
            cd.STORE_READ_SYSTEM_ID,
            cd.STORE_BOOKMARKS,
            cd.STORE_GNSS_TRACK_RECORDING,
            cd.READ_CATEGORIES,
        }
        assert {"id": "2", "name": "Disorderly conduct"} in dest["categories"]

        # the token expires (the destination's lifetime is an hour of lab time): a new recording re-authenticates
        await travel(2 * 3600)
        await record(fleet, BEN, 2.5)
        await poll(lambda: complete(2), "the second recording to be Complete", timeout=60, step=0.5)
        log = [
            (e["status"], e["outcome"])
            for e in (await mgr.get(f"/controller/{system.id}/api/content-destination"))["log"]
        ]
        assert (401, "reauth") in log and log[log.index((401, "reauth")) + 1] == (200, "reauthenticated"), "\n".join(
            map(str, log)
        )

        # capabilities and categories are read again once per lab day, without any recording to send
        def reads(dest: dict) -> int:
            return sum(1 for e in dest["log"] if e["method"] == "GET" and e["target"].endswith("Categories.json"))

        before = reads(await mgr.get(f"/controller/{system.id}/api/content-destination"))
        await travel(86_400)

        async def read_again():
            return reads(await mgr.get(f"/controller/{system.id}/api/content-destination")) > before

        await poll(read_again, "System/Categories.json to be read again the next lab day", timeout=20)
    finally:
        await mgr.close()

    # python-swiftclient is synchronous and the destination runs in this event loop: read back from a thread
    await asyncio.to_thread(read_back, lab_destination, rec, system.id, dest["connection_id"], tmp_path)
    await asyncio.sleep(0.5)  # the destination sees the client's sockets close before it stops


def read_back(lab_destination, rec: dict, system_id: str, connection_id: str, tmp_path) -> None:
    conn = lab_destination.connection
    swift = Connection(
        authurl=conn.authentication_token_uri[0],
        user=conn.blob_api_user_name,
        key=conn.blob_api_key,
        cacert=str(lab_destination.certificate_path),
        retries=0,
    )
    try:
        meta = cd.read_meta("Container", swift.head_container(rec["container"]))
        assert set(meta) == {cd.meta_key(k) for k in cd.RECORDING_META} and meta["Status"] == "Complete"
        _, objects = swift.get_container(rec["container"])
        names = sorted(o["name"] for o in objects)
        clips = [n for n in names if n.endswith(".mkv")]
        assert len(clips) == len(rec["clips"]) >= 1
        assert all(cd.key_object_name(n) in names for n in clips)
        trail = next(n for n in names if n.endswith("_gpstrail.json"))
        assert cd.key_object_name(trail) in names
        (bookmark,) = [n for n in names if n.startswith("bookmark_")]
        headers, body = swift.get_object(rec["container"], bookmark)
        assert body == b"" and cd.read_meta("Object", headers)["Categoryname"] == "Disorderly conduct"
        for name in clips[:1]:
            for obj in (name, cd.key_object_name(name)):
                _, data = swift.get_object(rec["container"], obj)
                (tmp_path / obj).write_bytes(data)
            out = tmp_path / "clear.mkv"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bwlab",
                    "content-destination",
                    "decrypt",
                    str(tmp_path / cd.key_object_name(name)),
                    str(tmp_path / name),
                    "--private-key",
                    str(lab_destination.private_key_path),
                    "-o",
                    str(out),
                ],
                check=True,
                capture_output=True,
                env={**os.environ},
            )
            probe = ffprobe(out)
            assert sorted(s["codec_name"] for s in probe["streams"]) == ["aac", "h264"]
        assert cd.read_meta("Object", swift.head_object("Devices", BEN))["Model"] == "W101"
        assert cd.read_meta("Object", swift.head_object("System", system_id))["Connectionid"] == connection_id
    finally:
        swift.close()
        gc.collect()  # swiftclient's auth request leaves its connection to the garbage collector
