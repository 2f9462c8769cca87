"""A demo stream end to end over real sockets: camera → device hub → evidence → viewer."""

import pytest

from bwlab.client import ApiError

ANNA = "B8A44F000101"  # W100, profile "Patrol live" (live stream on record)


@pytest.fixture
async def anna(demo_fleet, undock_online):
    """Anna's camera, out of its dock and on the device hub."""
    fleet = await demo_fleet({ANNA})
    await undock_online(fleet, ANNA)
    return fleet.cameras[ANNA]


# covers: D3, D5, D6, D8, S4, S17
async def test_record_press_streams_and_recording_plays_back_whole(appliance, anna, demo_viewer, poll):
    cam, viewer = anna, demo_viewer
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


# covers: L5, D3
async def test_low_latency_viewers_get_small_chunks_only_while_they_watch(anna, demo_viewer, poll):
    """Issue 16 item 6: a viewer in the low-latency view (``latency=low``) makes the camera send
    1-frame fragments and its sound ahead in audio-only fragments; when the last such viewer
    leaves, the camera goes back to 2-frame fragments with the sound inside."""
    cam, viewer = anna, demo_viewer
    await cam.press("record")
    stream = await viewer.wait_for_stream(timeout=10)
    plain = await viewer.watch(stream["id"], seconds=1.5)
    assert cam.low_latency_stream is None
    assert max(plain.live_chunk_pictures) == 2 and 0 not in plain.live_chunk_pictures
    low = await viewer.watch(stream["id"], seconds=2.5, low_latency=True)
    settled = low.live_chunk_pictures[4:]  # the first ones may still be cut the old way
    assert settled and max(settled) == 1 and 0 in settled  # 1-frame fragments and audio-only ones
    await poll(lambda: cam.low_latency_stream is None, "the camera back to normal chunks", timeout=10)
    again = await viewer.watch(stream["id"], seconds=1.5)
    assert max(again.live_chunk_pictures[4:]) == 2 and 0 not in again.live_chunk_pictures[4:]
    await cam.press("record", "long")
    await poll(lambda: _ended(viewer, stream["id"]), "the stream to end", timeout=10)
    rec = await viewer.watch(stream["id"], recording=True)
    assert rec.frame_counters == list(range(rec.video_frames))  # the switches lost no picture


async def test_the_latency_of_a_view_is_normal_or_low(appliance, anna, demo_viewer):
    """Bad input: any other ``latency`` is a 400 that names the parameter."""
    await anna.press("record")
    stream = await demo_viewer.wait_for_stream(timeout=10)
    async with appliance.session() as op:
        await op.sign_in_cloud("operator@demo.bwlab.test", "demo-operator-pass")
        with pytest.raises(ApiError) as refused:
            await op.get(f"/api/cloud/orgs/{demo_viewer.org_id}/streams/{stream['id']}/live?latency=lowest")
    assert refused.value.status == 400 and "latency" in refused.value.message
