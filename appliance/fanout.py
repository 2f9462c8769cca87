"""One bounded subscriber type for every fan-out of the appliance (CONVENTIONS 9).

A publisher (a live stream's chunks, the map's positions, the Active streams events, the lab's
fleet link and Lab panel feed) never waits for a consumer: ``Fanout.publish`` offers the item to
each ``Subscriber`` without blocking. Each subscriber holds at most ``maxsize`` items and, when a
consumer falls that far behind, follows its policy:

* ``"disconnect"`` (disconnect the slow one): the subscriber is cut off, counts the drop, and its
  next ``get`` raises ``TooSlow`` at once (the queued items are stale anyway); the handler closes
  the socket (4408: rejoin at the live edge).
* ``"drop_oldest"``: the oldest item is discarded and counted, and the subscriber stays (for a
  consumer that only needs recent items).

``close`` ends the feed: the consumer gets what is queued, then ``get`` raises ``FeedEnded``.
No I/O here; the drivers (the WebSocket handlers) pump ``get`` into their sockets.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from typing import Generic, Literal, TypeVar

from bwlab.errors import Refused, Unavailable

T = TypeVar("T")

Policy = Literal["disconnect", "drop_oldest"]


class TooSlow(Refused):
    """The consumer fell more than ``maxsize`` items behind and was cut off."""

    code = "too_slow"


class FeedEnded(Unavailable):
    """The publisher closed the feed (a stream ended); everything queued was delivered."""

    code = "feed_ended"


class Subscriber(Generic[T]):
    """A bounded queue between one publisher and one consumer, with a drop counter."""

    def __init__(self, maxsize: int, policy: Policy = "disconnect") -> None:
        if maxsize < 1:
            raise ValueError("maxsize: at least 1")
        self.maxsize = maxsize
        self.policy: Policy = policy
        self.dropped = 0  # items this consumer never got
        self.too_slow = False
        self.ended = False
        self._items: deque[T] = deque()
        self._wakeup = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def active(self) -> bool:
        """Still taking items (not cut off, not ended)."""
        return not (self.too_slow or self.ended)

    def offer(self, item: T) -> bool:
        """Queue ``item`` without waiting; False when the subscriber is (now) cut off or ended."""
        if not self.active:
            return False
        if len(self._items) >= self.maxsize:
            if self.policy == "drop_oldest":
                self._items.popleft()
                self.dropped += 1
            else:
                self.too_slow = True
                self.dropped += 1 + len(self._items)
                self._items.clear()
                self._wakeup.set()
                return False
        self._items.append(item)
        self._wakeup.set()
        return True

    def close(self) -> None:
        """End the feed: ``get`` returns what is queued, then raises ``FeedEnded``."""
        self.ended = True
        self._wakeup.set()

    def get_nowait(self) -> T:
        """The next item; ``TooSlow``/``FeedEnded`` as ``get``; ``IndexError`` when none is queued."""
        if self.too_slow:
            raise TooSlow(f"fell more than {self.maxsize} items behind")
        if self._items:
            return self._items.popleft()
        if self.ended:
            raise FeedEnded()
        raise IndexError("no item queued")

    async def get(self) -> T:
        """The next item, waiting for one."""
        while True:
            try:
                return self.get_nowait()
            except IndexError:
                self._wakeup.clear()
                await self._wakeup.wait()


class Fanout(Generic[T]):
    """The subscribers of one feed; ``publish`` reaches each without waiting for any."""

    def __init__(self, maxsize: int, policy: Policy = "disconnect") -> None:
        self.maxsize = maxsize
        self.policy: Policy = policy
        self._subscribers: set[Subscriber[T]] = set()
        self.dropped = 0  # items lost by subscribers that were cut off or fell behind (a metric)

    def __len__(self) -> int:
        return len(self._subscribers)

    def __iter__(self) -> Iterator[Subscriber[T]]:
        return iter(list(self._subscribers))

    def subscribe(self, maxsize: int | None = None, policy: Policy | None = None) -> Subscriber[T]:
        """A new subscriber (the feed's bound and policy unless given)."""
        sub: Subscriber[T] = Subscriber(maxsize or self.maxsize, policy or self.policy)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber[T]) -> None:
        self._subscribers.discard(sub)

    def publish(self, item: T) -> None:
        for sub in list(self._subscribers):
            before = sub.dropped
            if not sub.offer(item):
                self._subscribers.discard(sub)
            self.dropped += sub.dropped - before

    def close(self) -> None:
        """End the feed for every subscriber (a stream ended)."""
        for sub in self._subscribers:
            sub.close()
        self._subscribers.clear()
