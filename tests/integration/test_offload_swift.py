"""Docked cameras' recordings reach a real OpenStack Swift as the Body Worn Content Destination
API says (issue 13 "must show"): read back with python-swiftclient.

The camera (the demo's Ben Carter, a W101 with GPS, live stream on record) records with the
Manager's clip length of 5 s, its user adds a bookmark and a category, and it is docked: the dock
moves the recording to the controller, which pushes it to Swift.
"""

# covers: issue-13 (items 1, 2, 3), D3, D5

from __future__ import annotations

import asyncio
import json
import subprocess

from bwlab.wire import content_destination as cd
from bwlab.wire.recordings import Category
from tests.integration.offload_support import connection_file, manager
from tests.integration.offload_support import record as record_plain

BEN = "B8A44F000102"  # W101 (GPS), "Patrol live"


def swift_connection_file(swift, **kw) -> bytes:
    return connection_file(swift.auth_url, swift.auth_user, swift.key, **kw)


def ffprobe(path) -> dict:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format=duration,format_name:stream=codec_name",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


async def record(
    fleet, serial: str, seconds: float, *, bookmark: str | None = None, category: Category | None = None
) -> None:
    cam = fleet.cameras[serial]
    dock, bay = fleet.where[serial]
    await fleet.undock(serial)
    await cam.press("record")
    await asyncio.sleep(seconds)
    if bookmark is not None:
        await cam.recordings.annotate(text=bookmark, tags="Priority:High")
    if category is not None:
        await cam.recordings.annotate(category=category)
    await cam.press("record", "long")
    await fleet.dock(serial, dock, bay)


async def test_a_docked_recording_lands_in_swift_with_every_header(
    appliance, demo_lab, demo_fleet, swift_cluster, poll, tmp_path
):
    system = demo_lab.systems[0]
    mgr = await manager(appliance, system.id)
    try:
        await mgr.put(f"/controller/{system.id}/api/recording-settings", {"clip_seconds": 5})
        dest = await mgr.request(
            "POST", f"/controller/{system.id}/api/content-destination", raw=swift_connection_file(swift_cluster)
        )
        assert dest["configured"] and dest["connection"]["BlobAPIKey"] == "••••"
        fleet = await demo_fleet({BEN})
        await record(fleet, BEN, 7.0, bookmark="suspect ran north", category=Category("4", "Traffic"))
        cam = fleet.cameras[BEN]

        async def complete():
            recs = (await mgr.get(f"/controller/{system.id}/api/recordings"))["recordings"]
            return recs if recs and all(r["state"] == "complete" for r in recs) else None

        recs = await poll(complete, "the recording to be Complete on Swift", timeout=60, step=0.5)
        assert len(recs) == 1 and len(recs[0]["clips"]) == 2  # 7 s in clips of 5 s
        assert cam.recordings.state()["recordings"] == 0  # off the camera once the controller had it
        seen = (await mgr.get(f"/controller/{system.id}/api/camera-storage"))["cameras"][BEN]
        assert seen["storage"]["recordings"] == 0 and seen["storage"]["capacity"] > 0  # what the dock read
        assert seen["storage"]["offload"]["active"] is False and seen["controller"] == {"complete": 1}
        detail = await mgr.get(f"/controller/{system.id}/api/recordings/{recs[0]['id']}")
        assert detail["log"][-1]["outcome"] == "complete"
        dest = await mgr.get(f"/controller/{system.id}/api/content-destination")
        assert dest["status"] == "connected" and dest["system_id_stored"] and dest["capabilities"]["full"]
    finally:
        await mgr.close()

    swift = swift_cluster.connection()
    try:
        _, containers = swift.get_account()
        names = [c["name"] for c in containers]
        container = recs[0]["container"]
        assert container in names and {"System", "Users", "Devices"} <= set(names)
        user_uuid, serial, when = container.split("_", 2)
        assert serial == BEN and len(user_uuid) == 36
        meta = cd.read_meta("Container", swift.head_container(container))
        assert set(meta) == {cd.meta_key(k) for k in cd.RECORDING_META}  # every key, incl. both locations
        assert meta["Status"] == "Complete" and meta["Bwcserialnumber"] == BEN and meta["Bwcmodel"] == "W101"
        assert meta["Scuserialnumber"] == system.id and meta["Userid"] == user_uuid
        assert meta["Triggeron"] == "Button" and meta["Triggeroff"] == "Button"
        assert when == cd.name_time(float(meta["Triggerontime"]))
        assert meta["Triggerontimeiso"] == cd.rfc3339(float(meta["Triggerontime"]))
        assert meta["Triggeronlocation"].startswith("+55.60") and meta["Firmwareversion"]
        _, objects = swift.get_container(container)
        object_names = sorted(o["name"] for o in objects)
        clips = [n for n in object_names if n.endswith(".mkv")]
        assert len(clips) == 2 and not [n for n in object_names if n.endswith(".key")]
        total = 0.0
        for name in clips:
            headers, body = swift.get_object(container, name)
            om = cd.read_meta("Object", headers)
            assert set(om) == {cd.meta_key(k) for k in cd.CLIP_META} and om["Containertype"] == "mkv"
            path = tmp_path / name
            path.write_bytes(body)
            probe = ffprobe(path)
            assert probe["format"]["format_name"].startswith("matroska")
            assert sorted(s["codec_name"] for s in probe["streams"]) == ["aac", "h264"]
            duration = float(probe["format"]["duration"])
            assert abs(duration - (int(om["Stoptime"]) - int(om["Starttime"]))) <= 1.0
            total += duration
        assert 6.0 <= total <= 9.0
        trail = [n for n in object_names if n.endswith("_gpstrail.json")]
        assert len(trail) == 1 and f"_{BEN}_" in trail[0]
        headers, body = swift.get_object(container, trail[0])
        assert cd.read_meta("Object", headers) == {"Filetype": "json"}
        entries = cd.parse_gnss_trail(body)
        assert entries and 55.0 < entries[0].lat < 56.0 and 12.0 < entries[0].lon < 14.0
        marks = [n for n in object_names if n.startswith("bookmark_")]
        assert len(marks) == 1
        headers, body = swift.get_object(container, marks[0])
        bm = cd.read_meta("Object", headers)
        assert body.decode() == "suspect ran north"
        assert bm["Categoryid"] == "4" and bm["Categoryname"] == "Traffic"
        assert bm["Tags"] == "TriggerOn:Button;Priority:High" and "Starttime" in bm
        # Users/ and Devices/: registered with their nice names
        user = cd.read_meta("Object", swift.head_object("Users", user_uuid))
        assert user["Name"] == "Ben Carter" and user["Active"] == "True"
        device = cd.read_meta("Object", swift.head_object("Devices", BEN))
        assert device["Model"] == "W101" and device["Active"] == "True"
        sysobj = cd.read_meta("Object", swift.head_object("System", system.id))
        assert sysobj["Connectionid"] == dest["connection_id"] and sysobj["Systemname"] == "Main station"
    finally:
        swift.close()


async def test_with_want_encryption_key_objects_unwrap_with_openssl_into_playable_clips(
    appliance, demo_lab, demo_fleet, swift_cluster, poll, tmp_path
):
    private, public = cd.new_key_pair()
    (tmp_path / "private_key.pem").write_bytes(cd.private_key_pem(private))
    system = demo_lab.systems[0]
    mgr = await manager(appliance, system.id)
    try:
        await mgr.request(
            "POST",
            f"/controller/{system.id}/api/content-destination",
            raw=swift_connection_file(
                swift_cluster, container_type="mp4", want_encryption=True, public_key=public, public_key_id="lab-key-1"
            ),
        )
        fleet = await demo_fleet({BEN})
        await record_plain(fleet, BEN, 3.0)

        async def complete():
            recs = (await mgr.get(f"/controller/{system.id}/api/recordings"))["recordings"]
            return recs[0] if recs and recs[0]["state"] == "complete" else None

        rec = await poll(complete, "the encrypted recording to be Complete", timeout=60, step=0.5)
        # WantEncryption cannot be turned off again: refused with the field named, nothing changes
        refused = await mgr.request(
            "POST",
            f"/controller/{system.id}/api/content-destination",
            raw=swift_connection_file(swift_cluster, container_type="mp4"),
            expect=(409,),
        )
        assert refused["error"]["code"] == "invalid_connection_file" and "WantEncryption" in refused["error"]["message"]
        dest = await mgr.get(f"/controller/{system.id}/api/content-destination")
        assert dest["connection"]["WantEncryption"] is True
    finally:
        await mgr.close()
    swift = swift_cluster.connection()
    try:
        _, objects = swift.get_container(rec["container"])
        names = sorted(o["name"] for o in objects)
        clip = next(n for n in names if n.endswith(".mp4"))
        trail = next(n for n in names if n.endswith("_gpstrail.json"))
        for content in (clip, trail):
            key_name = cd.key_object_name(content)
            assert key_name in names
            _, key_body = swift.get_object(rec["container"], key_name)
            _, body = swift.get_object(rec["container"], content)
            (tmp_path / "videofile.key").write_bytes(key_body)
            (tmp_path / "encrypted").write_bytes(body)
            # the README's recipe, step by step (EXAMPLE.md "File decryption"; od for xxd, pkeyutl for rsautl)
            script = (
                "grep EncryptedKey videofile.key | cut -d'\"' -f 4 > wrapped.b64 && base64 -d wrapped.b64 > wrapped && "
                "openssl pkeyutl -decrypt -pkeyopt rsa_padding_mode:oaep -inkey private_key.pem -in wrapped "
                "-out encryption.key && "
                "grep ContentEncryptionIV videofile.key | cut -d'\"' -f 4 > iv.b64 && base64 -d iv.b64 > iv && "
                "openssl enc -d -aes-256-cbc -iv $(od -An -tx1 iv | tr -d ' \\n') -K $(od -An -tx1 encryption.key | tr -d ' \\n') "
                "-in encrypted -out decrypted"
            )
            subprocess.run(["bash", "-c", script], cwd=tmp_path, check=True)
            plain = (tmp_path / "decrypted").read_bytes()
            if content == trail:
                assert cd.parse_gnss_trail(plain)
            else:
                path = tmp_path / "decrypted.mp4"
                path.write_bytes(plain)
                probe = ffprobe(path)
                assert sorted(s["codec_name"] for s in probe["streams"]) == ["aac", "h264"]
                assert 2.0 <= float(probe["format"]["duration"]) <= 4.0
        assert b"PublicKeyId" in key_body and b"lab-key-1" in key_body
    finally:
        swift.close()
