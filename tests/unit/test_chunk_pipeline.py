"""A camera's chunks are made durable behind the live hand-off, and answered in order.

covers: D3, L5
"""

from __future__ import annotations

import asyncio

import pytest

from appliance.hub import chunk_pipeline
from appliance.hub.chunk_pipeline import ChunkPipeline, Job
from appliance.hub.streams import ChunkRejected


class Camera:
    """What the hub answered, in order, and a failure if the pipeline reported one."""

    def __init__(self) -> None:
        self.answers: list[str] = []
        self.failure: BaseException | None = None

    async def on_failure(self, exc: BaseException) -> None:
        self.failure = exc

    def job(self, name: str, done: asyncio.Future) -> Job:
        async def work() -> object:
            return await done

        async def answer(result: object) -> None:
            self.answers.append(f"ack {result}")

        async def refused(exc: ChunkRejected) -> None:
            self.answers.append(f"refused {exc.code}")

        return Job(work, answer, refused)


async def test_answers_keep_the_arrival_order_when_later_writes_finish_first() -> None:
    camera = Camera()
    pipeline = ChunkPipeline("cam", camera.on_failure)
    loop = asyncio.get_running_loop()
    first, second, third = loop.create_future(), loop.create_future(), loop.create_future()
    await pipeline.put(camera.job("0", first))
    await pipeline.put(camera.job("1", second))
    await pipeline.put(camera.job("2", third))
    third.set_result(2)
    second.set_exception(ChunkRejected("sequence_conflict", "other content"))
    await asyncio.sleep(0.01)
    assert camera.answers == []  # chunk 0 is not durable yet: nothing after it is answered
    first.set_result(0)
    await asyncio.wait_for(pipeline.settle(), 5)
    assert camera.answers == ["ack 0", "refused sequence_conflict", "ack 2"]
    await pipeline.close()


async def test_a_full_pipeline_holds_the_reader_back_and_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunk_pipeline, "DEPTH", 2)
    camera = Camera()
    pipeline = ChunkPipeline("cam", camera.on_failure)
    loop = asyncio.get_running_loop()
    disk = [loop.create_future() for _ in range(5)]
    for k in range(4):  # 0 and 1 fill the queue, the worker takes them as a batch, 2 and 3 fill it again
        await pipeline.put(camera.job(str(k), disk[k]))
    await asyncio.sleep(0.01)
    blocked = asyncio.ensure_future(pipeline.put(camera.job("4", disk[4])))
    await asyncio.sleep(0.01)
    assert not blocked.done()  # the socket is not read while the disk is behind
    for k, f in enumerate(disk):
        f.set_result(k)
    await asyncio.wait_for(blocked, 5)
    await asyncio.wait_for(pipeline.settle(), 5)
    assert camera.answers == [f"ack {k}" for k in range(5)]
    await pipeline.close()


async def test_a_disk_failure_closes_the_socket_and_acknowledges_nothing_after_it() -> None:
    camera = Camera()
    pipeline = ChunkPipeline("cam", camera.on_failure)
    loop = asyncio.get_running_loop()
    held = loop.create_future()
    broken, later = loop.create_future(), loop.create_future()
    await pipeline.put(camera.job("0", held))
    await pipeline.put(camera.job("1", broken))
    await pipeline.put(camera.job("2", later))
    broken.set_exception(OSError(28, "No space left on device"))
    later.set_result(2)
    held.set_result(0)
    await asyncio.wait_for(pipeline.settle(), 5)
    assert camera.answers == ["ack 0"]  # the camera keeps 1 and 2 and resends them
    assert isinstance(camera.failure, OSError)
    await pipeline.put(camera.job("3", loop.create_future()))  # ignored: the socket is closing
    await asyncio.wait_for(pipeline.close(), 5)
    assert camera.answers == ["ack 0"]


async def test_a_closed_socket_still_gets_its_chunks_made_durable() -> None:
    written: list[int] = []
    answers: list[int] = []

    def job(k: int) -> Job:
        async def work() -> object:
            await asyncio.sleep(0)
            written.append(k)
            return k

        async def answer(result: object) -> None:
            answers.append(k)
            raise ConnectionResetError("Cannot write to closing transport")

        async def refused(exc: ChunkRejected) -> None:
            raise AssertionError("not refused")

        return Job(work, answer, refused)

    async def on_failure(exc: BaseException) -> None:
        raise AssertionError(f"a closed socket is not a failure: {exc}")

    pipeline = ChunkPipeline("cam", on_failure)
    for k in range(3):
        await pipeline.put(job(k))
    await asyncio.wait_for(pipeline.close(), 5)
    assert written == [0, 1, 2]
    assert answers == [0]  # the first answer found the socket gone; no more were tried
