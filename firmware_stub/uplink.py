"""The camera's uplink as the lab network lets it through (SPEC T3 row 5, T2 row 7, L2, L5).

Everything the camera sends to the device hub — control messages and media chunk frames — goes
through one ordered queue per hub connection, which applies the link quality the radio model and
the lab's impairments give (``CameraNetwork.link``) to the real WebSocket:

* **latency**: a message leaves ``latency_ms`` after it was queued;
* **throughput**: messages are serialised at ``throughput_kbps`` (a big chunk on a slow link waits
  for the ones before it);
* **loss**: TCP under the WebSocket never loses a message, it retransmits; each ~1448-byte segment
  is lost with probability ``loss_ratio`` and every lost segment costs one more round trip
  (2 × latency, at least 10 ms). The random draws come from a generator seeded with the camera's
  serial, so a scenario gives the same delays on every run;
* **down** (no link: during a hand-over gap, a cut, or 100 % loss): the queue holds everything and
  resumes in order when the link is back — nothing is dropped, so the stream lags and catches up
  (the viewer's measured glass-to-glass latency shows it, L5).

With an ideal link and an empty queue a message goes straight out. ``ShapedSocket`` puts the
queue in front of the WebSocket, so every part of the camera that sends to the hub (control,
media, positions) goes through it in order.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque
from collections.abc import Callable
from typing import Any

from bwlab.clock import monotonic
from labnet.propagation import LinkQuality

MAX_UNACKED = 3000  # frames the camera keeps until the hub acknowledges them: about ten minutes of media

SEGMENT_BYTES = 1448
MIN_RTT_S = 0.010
PAUSED_POLL_S = 0.02
CLOSE_DRAIN_S = 2.0


def retransmission_delay(nbytes: int, link: LinkQuality, rng: random.Random) -> float:
    """Seconds of retransmissions for ``nbytes`` on ``link`` (see the module docstring)."""
    if link.loss_ratio <= 0:
        return 0.0
    segments = max(1, math.ceil(nbytes / SEGMENT_BYTES))
    lost = sum(1 for _ in range(min(segments, 4096)) if rng.random() < link.loss_ratio)
    return lost * max(MIN_RTT_S, 2 * link.latency_ms / 1000)


def transmission_time(nbytes: int, link: LinkQuality) -> float:
    if not math.isfinite(link.throughput_kbps) or link.throughput_kbps <= 0:
        return 0.0
    return nbytes * 8 / (link.throughput_kbps * 1000)


def ideal(link: LinkQuality) -> bool:
    return link.up and link.latency_ms <= 0 and link.loss_ratio <= 0 and not math.isfinite(link.throughput_kbps)


def usable(link: LinkQuality) -> bool:
    return link.up and link.loss_ratio < 1.0


class ShapedUplink:
    """One hub connection's outgoing queue (see the module docstring)."""

    def __init__(
        self, ws: Any, link: Callable[[], LinkQuality], rng: random.Random, on_sent: Callable[[int], None] | None = None
    ):
        self.ws = ws
        self._link = link
        self._rng = rng
        self._on_sent = on_sent
        self._queue: deque[tuple[float, str | bytes]] = deque()
        self._wake = asyncio.Event()
        self._free_at = 0.0
        self.sent = 0

    async def send(self, data: str | bytes) -> None:
        """Queue ``data`` for the hub (straight out on an ideal link with nothing queued; a
        message is unqueued once written)."""
        if not self._queue and ideal(self._link()):
            await self._write(data)
            return
        self._queue.append((monotonic(), data))
        self._wake.set()

    def unsent_text(self) -> list[str]:
        """The text (control) messages still queued; binary frames are resent from the camera's
        buffer of unacknowledged chunks after the next connection."""
        return [data for _, data in self._queue if isinstance(data, str)]

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def drain(self, timeout: float) -> None:
        """Wait (at most ``timeout`` s) until what is queued has left, as a TCP close lets the
        bytes already written go out first (also across a short hand-over gap)."""
        deadline = monotonic() + timeout
        while self._queue and monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def run(self) -> None:
        """Drain the queue until the connection ends (cancel to stop)."""
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            queued_at, data = self._queue[0]
            link = self._link()
            if not usable(link):
                await asyncio.sleep(PAUSED_POLL_S)
                self._free_at = max(self._free_at, monotonic())
                continue
            size = len(data)
            start = max(queued_at, self._free_at)
            done = start + transmission_time(size, link)
            deliver = done + link.latency_ms / 1000 + retransmission_delay(size, link, self._rng)
            wait = deliver - monotonic()
            while wait > 0:
                await asyncio.sleep(min(wait, 0.05))
                if not usable(self._link()):
                    break
                wait = deliver - monotonic()
            if wait > 0:
                continue  # the link went down while this message was on its way: it waits
            self._free_at = done
            await self._write(data)
            self._queue.popleft()  # only now: a close waits for what is being written

    async def _write(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_str(data)
        self.sent += 1
        if self._on_sent is not None:
            self._on_sent(len(data))


class ShapedSocket:
    """A hub WebSocket whose sends go through a ``ShapedUplink`` (receiving is untouched)."""

    def __init__(self, ws: Any, uplink: ShapedUplink):
        self.ws = ws
        self.uplink = uplink

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def send_str(self, data: str) -> None:
        await self.uplink.send(data)

    async def send_bytes(self, data: bytes) -> None:
        await self.uplink.send(data)

    async def close(self, **kwargs: Any) -> Any:
        if not self.ws.closed:
            await self.uplink.drain(CLOSE_DRAIN_S)
        return await self.ws.close(**kwargs)
