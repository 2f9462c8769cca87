"""The lab clock (DESIGN "Time"; SPEC D1, D2, D8, S1, S15, L2).

Every time-dependent rule in bwlab reads a clock passed in to it, never the system time
directly. The lab clock is real time plus an offset that only moves forward ("time travel"),
so the six-day docking rule, 24-hour retention, 7-day sessions and the weekly licence average
can be tested in seconds. A party (a camera, the controller, a browser) may carry its own skew
on top of lab time: that is a fault the lab injects (S1, L2).

This module is the only place in bwlab that reads the system time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

log = logging.getLogger(__name__)


class Clock(Protocol):
    """Anything that tells the time as POSIX seconds."""

    def now(self) -> float: ...


def system_time() -> float:
    """Real wall-clock time; the single call of ``time.time`` in the code base."""
    return time.time()


def monotonic() -> float:
    """A monotonic counter for measuring durations (latency, timeouts), never for rules."""
    return time.monotonic()


@dataclass
class LabClock:
    """Real time plus a forward-only offset.

    ``travel(seconds)`` moves lab time forward; it never goes back, because nothing in a real
    deployment sees time run backwards and the rules (certificate expiry, retention) assume so.
    Listeners are told after each travel so that timers can be re-armed.
    """

    offset: float = 0.0
    source: Callable[[], float] = system_time
    _listeners: list[Callable[[float], None]] = field(default_factory=list, repr=False)

    def now(self) -> float:
        return self.source() + self.offset

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def travel(self, seconds: float) -> float:
        """Move lab time forward by ``seconds`` (> 0) and return the new offset."""
        if seconds < 0:
            raise ValueError("lab time only travels forward")
        self.offset += seconds
        for listener in list(self._listeners):
            listener(self.offset)
        return self.offset

    def set_offset(self, offset: float) -> None:
        """Adopt an offset known elsewhere (a fleet following the appliance's lab time)."""
        if offset < self.offset:
            raise ValueError("lab time only travels forward")
        self.offset = offset

    def subscribe(self, listener: Callable[[float], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[float], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)


@dataclass
class SkewedClock:
    """One party's clock: a base clock plus that party's skew (a fault, S1)."""

    base: Clock
    skew: float = 0.0

    def now(self) -> float:
        return self.base.now() + self.skew


@dataclass
class ManualClock:
    """A clock that only moves when told to; for pure-core unit tests."""

    t: float = 1_800_000_000.0

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds pass; True if it was set.

    Loops that sleep "until woken or until the next round" use this rather than
    ``asyncio.wait_for(event.wait(), timeout)`` + ``except TimeoutError``: on Python 3.11 a
    cancellation that arrives just as the timeout ends can come out of ``wait_for`` as a
    ``TimeoutError``, which such a loop swallows, so the task never stops (seen as an appliance
    shutdown that hung). ``asyncio.wait`` never turns a cancellation into anything else."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        done, _ = await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()
    return bool(done)


async def run_every(clock: LabClock, interval: float, job: Callable[[], Awaitable[object]]) -> None:
    """Run ``job`` now, then every ``interval`` seconds and at once after each time travel, until
    cancelled: the housekeeping loop of every rule that time travel must trigger at once
    (retention, certificate expiry, clock syncs). A round that fails is logged (once while it keeps
    failing) and the next one runs as planned."""
    wake = asyncio.Event()

    def on_travel(_offset: float) -> None:
        wake.set()

    clock.subscribe(on_travel)
    failing = False
    try:
        while True:
            wake.clear()  # before the job: a travel while it runs brings the next round forward
            try:
                await job()
                failing = False
            except Exception:  # one failed round (a full disk, say) must not end the housekeeping for good
                (log.debug if failing else log.exception)(
                    "%s failed; trying again in %.0f s", getattr(job, "__qualname__", job), interval
                )
                failing = True
            await wait_event(wake, interval)
    finally:
        clock.unsubscribe(on_travel)


def isoformat(ts: float) -> str:
    """POSIX seconds as an ISO 8601 UTC string with a trailing Z."""
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
