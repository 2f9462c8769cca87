"""The one bounded subscriber type behind every fan-out (viewers, maps, Active streams, the lab's
fleet link and Lab panel feed): a publisher never waits, a slow consumer is cut off or loses its
oldest items, and the drops are counted."""

# covers: S9, S12, D9, L2

from __future__ import annotations

import asyncio
import json

import pytest

from appliance.fanout import Fanout, FeedEnded, Subscriber, TooSlow
from appliance.hub.streams import SUBSCRIBER_QUEUE, LiveStream
from appliance.lab.routes import OUTBOX, FleetLink
from bwlab.wire import chunk as wire_chunk
from bwlab.wire import fleet_link


async def test_a_consumer_that_keeps_up_gets_everything_in_order():
    feed: Fanout[int] = Fanout(4)
    sub = feed.subscribe()
    for i in range(3):
        feed.publish(i)
    assert [await sub.get() for _ in range(3)] == [0, 1, 2]
    assert sub.dropped == 0 and feed.dropped == 0


async def test_a_slow_consumer_is_cut_off_at_once_and_the_others_keep_their_feed():
    feed: Fanout[int] = Fanout(4)
    slow, fast = feed.subscribe(), feed.subscribe()
    for i in range(5):
        feed.publish(i)
        assert await fast.get() == i
    assert slow.too_slow and len(feed) == 1  # the publisher dropped it; fast is still there
    assert slow.dropped == 5 and feed.dropped == 5
    with pytest.raises(TooSlow):  # at once, not after the stale items
        await asyncio.wait_for(slow.get(), 1.0)
    feed.publish(99)
    assert await fast.get() == 99


async def test_drop_oldest_keeps_the_newest_items_and_counts_the_rest():
    sub: Subscriber[int] = Subscriber(3, "drop_oldest")
    for i in range(7):
        assert sub.offer(i)
    assert sub.dropped == 4
    assert [await sub.get() for _ in range(3)] == [4, 5, 6]


async def test_closing_the_feed_delivers_what_is_queued_then_ends():
    feed: Fanout[str] = Fanout(8)
    sub = feed.subscribe()
    feed.publish("a")
    feed.close()
    assert await sub.get() == "a"
    with pytest.raises(FeedEnded):
        await sub.get()
    assert not sub.offer("late")


async def test_a_waiting_consumer_wakes_for_the_next_item():
    feed: Fanout[int] = Fanout(2)
    sub = feed.subscribe()
    getter = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    feed.publish(7)
    assert await asyncio.wait_for(getter, 1.0) == 7


def media(seq: int) -> tuple[wire_chunk.Chunk, bytes]:
    c = wire_chunk.Chunk("str_1", wire_chunk.KIND_MEDIA, seq, 0.0, 0.2, seq == 0, b"x")
    return c, f"frame {seq}".encode()


async def test_a_viewer_that_falls_behind_a_live_stream_is_told_instead_of_waiting_forever():
    # Before: the viewer's queue was dropped from the stream with a flag set on it, and its
    # handler then waited on that queue for frames that would never come (no 4408, no "ended").
    live = LiveStream("str_1", "org_1", "eu", {})
    viewer, watching = live.subscribers.subscribe(), live.subscribers.subscribe()
    for seq in range(SUBSCRIBER_QUEUE + 1):
        live.add(*media(seq))
        await watching.get()
    with pytest.raises(TooSlow):
        await asyncio.wait_for(viewer.get(), 1.0)
    live.subscribers.close()  # the stream ends: the viewer that kept up is told
    with pytest.raises(FeedEnded):
        await asyncio.wait_for(watching.get(), 1.0)


class FakeSocket:
    """A WebSocket the lab writes to; a stuck one never finishes a write (a peer that stopped reading)."""

    def __init__(self, stuck: bool = False) -> None:
        self.stuck = stuck
        self.sent: list[dict] = []  # the JSON objects written
        self.closed = False
        self.close_code: int | None = None

    async def send_str(self, text: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.sent.append(json.loads(text))

    async def close(self, *, code: int = 1000, message: bytes = b"") -> None:
        self.closed, self.close_code = True, code


async def test_one_stuck_lab_socket_stalls_no_other_and_is_cut_off_when_it_falls_behind():
    # Before: FleetLink.broadcast awaited each socket in turn, so a Lab panel that stopped
    # reading held up the fault list every fleet was waiting for.
    link = FleetLink()
    stuck, fleet = FakeSocket(stuck=True), FakeSocket()
    pumps = []
    for ws, group in ((stuck, link.listeners), (fleet, link.all)):
        outbox = link.attach(ws)  # type: ignore[arg-type]
        group.add(ws)  # type: ignore[arg-type]
        pumps.append(asyncio.create_task(link.pump(ws, outbox)))  # type: ignore[arg-type]
    await asyncio.wait_for(link.broadcast(fleet_link.Faults(faults=[])), 1.0)
    for _ in range(10):
        await asyncio.sleep(0)
    assert fleet.sent == [{"type": "faults", "faults": []}]
    for i in range(OUTBOX + 1):
        await link.broadcast(fleet_link.State(serial="B1", state={"n": i}), to_fleets=False)
    await asyncio.sleep(0)
    assert link.dropped > 0 and not link.send(stuck, fleet_link.Clock(offset=1.0))  # type: ignore[arg-type]
    for task in pumps:
        task.cancel()
    await asyncio.gather(*pumps, return_exceptions=True)
