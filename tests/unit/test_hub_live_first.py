"""The hub forwards a live chunk as it arrives, while it is made durable (issue 16 item 6).

covers: D3, D6, L5
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from appliance.db import Database
from appliance.hub.streams import DeviceId, EvidenceStore, StreamHub
from bwlab.wire import chunk as wire_chunk

UPLOAD_KEY = bytes(range(32))
DEVICE = DeviceId("sys-1", "B8A44F000101")


class SlowDisk(EvidenceStore):
    """Evidence whose writes wait until the test lets them finish."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.release = threading.Event()

    def write_chunk(self, region: str, org_id: str, stream_id: str, seq: int, frame: bytes) -> None:
        assert self.release.wait(10)
        super().write_chunk(region, org_id, stream_id, seq, frame)


@pytest.fixture
async def hub(tmp_path: Path):
    db = await Database.open(tmp_path / "cloud.sqlite")
    try:
        yield StreamHub(db, SlowDisk(tmp_path / "evidence"))
    finally:
        await db.close()


async def test_viewers_get_a_chunk_before_it_is_durable_and_the_camera_only_after(hub: StreamHub) -> None:
    await hub.open_stream(
        stream_id="s1",
        org_id="org-1",
        device=DEVICE,
        user_id="u1",
        user_name="Anna",
        reason="record",
        request_id=None,
        region="eu",
        mime="video/mp4",
        wrapped_key={},
        upload_key=UPLOAD_KEY,
        started_at=100.0,
        now=100.0,
        resume=False,
    )
    subscribed = hub.subscribe("s1")
    assert subscribed is not None
    viewer, _ = subscribed
    frame = wire_chunk.Chunk(
        stream_id="s1",
        kind=wire_chunk.KIND_MEDIA,
        seq=0,
        capture_time=100.0,
        duration=0.067,
        keyframe=True,
        payload=bytes(64),
    ).encode(UPLOAD_KEY)
    storing = asyncio.ensure_future(hub.store_chunk(frame, DEVICE, 1 << 20, 100.1))
    got = await asyncio.wait_for(viewer.get(), 5)  # the evidence write is still held
    assert got == frame and not storing.done()
    assert hub.live["s1"].snapshot()[-1] == frame  # a joiner gets it too
    hub.evidence.release.set()  # type: ignore[attr-defined]
    stored = await asyncio.wait_for(storing, 5)  # the acknowledgement waits for the durable write
    assert stored.seq == 0
    assert await hub.chunk_frames("s1") == [frame]
