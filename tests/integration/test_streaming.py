"""A demo stream end to end over real sockets: camera → device hub → evidence → viewer."""

ANNA = "B8A44F000101"  # W100, profile "Patrol live" (live stream on record)


# covers: D3, D5, D6, D8, S4, S17
async def test_record_press_streams_and_recording_plays_back_whole(
    appliance, demo_fleet, demo_viewer, undock_online, poll
):
    viewer = demo_viewer
    fleet = await demo_fleet({ANNA})
    cam = fleet.cameras[ANNA]
    await undock_online(fleet, ANNA)
    await cam.press("record")
    stream = await viewer.wait_for_stream(timeout=10)
    assert stream["user_name"] == "Anna Berg" and stream["reason"] == "record"
    live = await viewer.watch(stream["id"], seconds=2.5)
    assert live.video_frames >= 15 and live.audio_frames > 0
    assert live.percentile(50) is not None
    async with appliance.session() as op:
        await op.sign_in_cloud("operator@demo.bwlab.test", "demo-operator-pass")
        await op.post(f"/api/cloud/orgs/{viewer.org_id}/streams/{stream['id']}/acknowledge")
    await poll(lambda: cam.vibrations > 0, "the acknowledgement to reach the camera", timeout=10)
    await cam.press("record", "long")
    await poll(lambda: _ended(viewer, stream["id"]), "the stream to end", timeout=10)
    await poll(lambda: cam.unacked == 0, "every chunk acknowledged", timeout=10)
    rec = await viewer.watch(stream["id"], recording=True)
    assert rec.ended
    assert rec.seqs == list(range(len(rec.seqs)))
    assert rec.chunks == cam.chunks_sent
    assert rec.frame_counters == list(range(rec.video_frames))
    assert rec.video_frames >= live.video_frames


async def _ended(viewer, stream_id):
    streams = await viewer.streams("recorded")
    return any(s["id"] == stream_id for s in streams)
