"""A demo stream end to end over real sockets: camera → device hub → evidence → viewer."""

import asyncio

import pytest

from bwlab.apply import apply_scenario
from bwlab.client import ApiError
from bwlab.clock import monotonic
from bwlab.scenario import load_scenario
from bwlab.viewer import Viewer
from firmware_stub.fleet import Fleet

ANNA = "B8A44F000101"  # W100, profile "Patrol live" (live stream on record)


async def wait_until(predicate, timeout=10.0, step=0.05):
    deadline = monotonic() + timeout
    while monotonic() < deadline:
        result = await predicate()
        if result:
            return result
        await asyncio.sleep(step)
    raise AssertionError("condition not met in time")


@pytest.fixture
async def demo(appliance):
    scenario, _ = load_scenario(None)
    info = await apply_scenario(scenario, appliance.url, appliance.ca_pem, appliance.lab_token)
    fleet = Fleet(url=appliance.url, ca_pem=appliance.ca_pem, lab_token=appliance.lab_token, clock=appliance.clock)
    await fleet.start(scenario, only={ANNA})
    yield info, fleet
    await fleet.close()


@pytest.fixture
async def viewer(appliance, demo):
    info, _ = demo
    system = info.systems[0]
    async with Viewer(
        appliance.url,
        appliance.ca_pem,
        email="operator@demo.bwlab.test",
        password="demo-operator-pass",
        link=system.protected_link,
        passphrase=system.link_passphrase,
        clock=appliance.clock,
    ) as v:
        yield v


# covers: D3, D5, D6, D8, S4, S17
async def test_record_press_streams_and_recording_plays_back_whole(appliance, demo, viewer, lab):
    _, fleet = demo
    cam = fleet.cameras[ANNA]
    await fleet.undock(ANNA)
    await wait_until(lambda: _online(lab, ANNA))
    await cam.press("record")
    stream = await viewer.wait_for_stream(timeout=10)
    assert stream["user_name"] == "Anna Berg" and stream["reason"] == "record"
    live = await viewer.watch(stream["id"], seconds=2.5)
    assert live.video_frames >= 15 and live.audio_frames > 0
    assert live.percentile(50) is not None
    async with appliance.session() as op:
        await op.sign_in_cloud("operator@demo.bwlab.test", "demo-operator-pass")
        await op.post(f"/api/cloud/orgs/{viewer.org_id}/streams/{stream['id']}/acknowledge")
    await wait_until(lambda: _true(cam.vibrations > 0))
    await cam.press("record", "long")
    await wait_until(lambda: _ended(viewer, stream["id"]))
    await wait_until(lambda: _true(cam.unacked == 0))
    rec = await viewer.watch(stream["id"], recording=True)
    assert rec.ended
    assert rec.seqs == list(range(len(rec.seqs)))
    assert rec.chunks == cam.chunks_sent
    assert rec.frame_counters == list(range(rec.video_frames))
    assert rec.video_frames >= live.video_frames


async def _online(lab, serial):
    status = await lab.get("/api/lab/status")
    return any(c["serial"] == serial and c["online"] for s in status["systems"] for c in s["cameras"])


async def _true(value):
    return value


async def _ended(viewer, stream_id):
    streams = await viewer.streams("recorded")
    return any(s["id"] == stream_id for s in streams)


# covers: L5, D3
async def test_low_latency_viewers_get_small_chunks_only_while_they_watch(appliance, demo, viewer, lab):
    """Issue 16 item 6: a viewer in the low-latency view (``latency=low``) makes the camera send
    1-frame fragments and its sound ahead in audio-only fragments; when the last such viewer
    leaves, the camera goes back to 2-frame fragments with the sound inside."""
    _, fleet = demo
    cam = fleet.cameras[ANNA]
    await fleet.undock(ANNA)
    await wait_until(lambda: _online(lab, ANNA))
    await cam.press("record")
    stream = await viewer.wait_for_stream(timeout=10)
    plain = await viewer.watch(stream["id"], seconds=1.5)
    assert cam.low_latency_stream is None
    assert max(plain.live_chunk_pictures) == 2 and 0 not in plain.live_chunk_pictures
    low = await viewer.watch(stream["id"], seconds=2.5, low_latency=True)
    settled = low.live_chunk_pictures[4:]  # the first ones may still be cut the old way
    assert settled and max(settled) == 1 and 0 in settled  # 1-frame fragments and audio-only ones
    await wait_until(lambda: _true(cam.low_latency_stream is None))  # its last low-latency viewer left
    again = await viewer.watch(stream["id"], seconds=1.5)
    assert max(again.live_chunk_pictures[4:]) == 2 and 0 not in again.live_chunk_pictures[4:]
    await cam.press("record", "long")
    await wait_until(lambda: _ended(viewer, stream["id"]))
    rec = await viewer.watch(stream["id"], recording=True)
    assert rec.frame_counters == list(range(rec.video_frames))  # the switches lost no picture


async def test_the_latency_of_a_view_is_normal_or_low(appliance, demo, viewer, lab):
    """Bad input: any other ``latency`` is a 400 that names the parameter."""
    _, fleet = demo
    await fleet.undock(ANNA)
    await wait_until(lambda: _online(lab, ANNA))
    await fleet.cameras[ANNA].press("record")
    stream = await viewer.wait_for_stream(timeout=10)
    async with appliance.session() as op:
        await op.sign_in_cloud("operator@demo.bwlab.test", "demo-operator-pass")
        with pytest.raises(ApiError) as refused:
            await op.get(f"/api/cloud/orgs/{viewer.org_id}/streams/{stream['id']}/live?latency=lowest")
    assert refused.value.status == 400 and "latency" in refused.value.message
