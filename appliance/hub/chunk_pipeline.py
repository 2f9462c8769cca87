"""One camera's chunks on their way to the disk, behind the live hand-off (D3, L5).

The device socket's reader checks a chunk and hands it to live viewers at once
(``StreamHub.admit_chunk``); making it durable (an evidence file fsynced, then its row in the
group commit) is queued here, so the reader is not held by the fsyncs of the chunks before it.
A camera that sends a chunk every 30 ms would otherwise have its picture wait, chunk after chunk,
for the disk (docs/decisions.md, "Live before durable").

The queue is worked in batches: the chunks queued when the worker wakes are made durable
together (their files in parallel, their rows in one commit), then acknowledged in the order
they arrived. The queue is bounded: a camera that sends faster than the disk can take is held
back by its socket (TCP's flow control), and nothing it sent is dropped. A chunk is acknowledged
only once durable; one refused on the way is answered with a refusal, in its turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .streams import ChunkRejected

log = logging.getLogger(__name__)

DEPTH = 64  # chunks a camera may have on their way to the disk (about 2 s at 31 a second)
BATCH = 32  # chunks made durable together


@dataclass(frozen=True, slots=True)
class Job:
    """A chunk's durable work and how to answer the camera once it is done (or refused)."""

    work: Callable[[], Awaitable[object]]
    answer: Callable[[object], Awaitable[None]]
    refused: Callable[[ChunkRejected], Awaitable[None]]


class ChunkPipeline:
    """The durable writes of one device socket, in arrival order. ``put`` waits while full;
    ``settle`` waits until everything queued is answered (the reader calls it before a message
    whose meaning depends on the chunks before it, such as a stream's stop)."""

    def __init__(self, name: str, on_failure: Callable[[BaseException], Awaitable[None]]):
        self._queue: asyncio.Queue[Job] = asyncio.Queue(DEPTH)
        self._on_failure = on_failure
        self._failed = False
        self._gone = False  # the socket closed: chunks are still made durable, answers are not sent
        self._task = asyncio.create_task(self._run(), name=f"chunk pipeline {name}")

    async def put(self, job: Job) -> None:
        if self._failed:
            return  # the socket is closing: the camera resends what it has not had acknowledged
        await self._queue.put(job)

    async def settle(self) -> None:
        await self._queue.join()

    async def close(self) -> None:
        """Finish what is queued (a chunk received is made durable even if its socket is gone),
        then stop."""
        try:
            await self._queue.join()
        finally:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            jobs = [await self._queue.get()]
            while len(jobs) < BATCH and not self._queue.empty():
                jobs.append(self._queue.get_nowait())
            try:
                if not self._failed:
                    await self._do(jobs)
            except Exception as exc:  # a disk or database failure: the camera must resend
                self._failed = True
                log.warning("chunk pipeline failed: %s", exc)
                await self._on_failure(exc)
            finally:
                for _ in jobs:
                    self._queue.task_done()

    async def _do(self, jobs: list[Job]) -> None:
        results = await asyncio.gather(*(job.work() for job in jobs), return_exceptions=True)
        for job, result in zip(jobs, results, strict=True):  # answered in arrival order
            if isinstance(result, BaseException) and not isinstance(result, ChunkRejected):
                raise result  # nothing after it is answered: the camera resends from here
            if self._gone:
                continue
            try:
                if isinstance(result, ChunkRejected):
                    await job.refused(result)
                else:
                    await job.answer(result)
            except ConnectionResetError:
                self._gone = True  # the camera resends what it has not had acknowledged
