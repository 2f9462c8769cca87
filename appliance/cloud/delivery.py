"""Delivering SOC notifications from the durable outbox (SPEC S12; DESIGN "Storage").

Each ``soc_outbox`` row is one event for one integration. The worker sends the rows that are
due, oldest first, and records every attempt in ``soc_deliveries`` (the log admins read):

* success is any 2xx answer; the row is then ``delivered`` and never sent again — the
  ``webhook-id`` header is the event id, the same on every attempt, so a receiver can also drop
  the duplicate that an appliance crash between its 2xx and our commit would cause;
* anything else (refused connection, timeout, TLS failure, 3xx/4xx/5xx) is retried with
  exponential backoff on lab time: 10 s, 20 s, 40 s … doubling, capped at one hour; once the next
  attempt would fall more than 24 hours after the event, the row is ``failed`` and dropped;
* the worker sleeps until the next row is due, and wakes early when an event is enqueued and
  when lab time travels (so a test can travel through an hour of backoff in a moment);
* on shutdown it lets attempts in flight finish and be recorded before it stops, and after a
  restart every row still ``pending`` is picked up again.

HTTPS to the integration's URL trusts the system CA bundle plus the lab CA, so a receiver in the
lab may use a certificate from either. Redirects are not followed: the URL is what the admin
entered. Unless the lab setting ``soc_private_targets`` is on, a plain ``http://`` URL is not
tried and the HTTP client's sockets refuse every non-public address it resolves to
(appliance/cloud/soc_targets.py): such an attempt is logged as ``refused: private address``. ``RetryPolicy`` is the sans-I/O part; ``DeliveryWorker`` the asyncio driver.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from bwlab.clock import LabClock, monotonic, wait_event
from bwlab.wire import webhooks

from ..db import Database
from . import store
from .soc_targets import REFUSED_HTTP, REFUSED_PRIVATE, guarded_socket_factory, refused_by_guard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again after a failed attempt, in lab seconds."""

    first_delay: float = 10.0
    max_delay: float = 3600.0
    give_up_after: float = 24 * 3600.0

    def delay(self, attempts: int) -> float:
        """The wait after the ``attempts``-th failed attempt (1-based)."""
        if attempts < 1:
            return 0.0
        return min(self.max_delay, self.first_delay * 2 ** min(attempts - 1, 40))

    def next_attempt(self, created_at: float, attempts: int, now: float) -> float | None:
        """When to make attempt ``attempts + 1``, or None to give up."""
        at = now + self.delay(attempts)
        return None if at > created_at + self.give_up_after else at


ATTEMPT_TIMEOUT = 10.0  # seconds an integration has to answer one POST
BATCH = 50  # rows read per pass
CONCURRENCY = 4  # attempts in flight at once
IDLE_WAKE = 60.0  # real seconds between passes when nothing is due sooner
STOP_GRACE = ATTEMPT_TIMEOUT + 2.0
KEEP_FINISHED = 7 * 24 * 3600.0  # delivered and failed rows (and their log) kept a week of lab time
USER_AGENT = "bwlab-soc/1 (Standard Webhooks)"


def client_ssl_context(lab_ca_pem: str) -> ssl.SSLContext:
    """The system's trusted CAs plus the lab CA."""
    context = ssl.create_default_context()
    context.load_verify_locations(cadata=lab_ca_pem)
    return context


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    status: int | None
    error: str | None
    duration_ms: float


class DeliveryWorker:
    """Sends due outbox rows; one named task, started and stopped by a cleanup context."""

    def __init__(
        self,
        db: Database,
        clock: LabClock,
        ssl_context: ssl.SSLContext,
        policy: RetryPolicy = RetryPolicy(),
        allow_private: Callable[[], bool] = lambda: False,
    ):
        self.db = db
        self.clock = clock
        self.ssl_context = ssl_context
        self.policy = policy
        self.allow_private = allow_private  # the lab setting soc_private_targets, read at each attempt
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None
        self._http: aiohttp.ClientSession | None = None
        self._failing: set[str] = set()  # integrations whose last attempt failed (log once)

    # ---------------------------------------------------------------- life cycle

    def start(self) -> None:
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(socket_factory=guarded_socket_factory(self.allow_private)),
            timeout=aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT),
            headers={"User-Agent": USER_AGENT},
        )
        self.clock.subscribe(self._on_travel)
        self._task = asyncio.create_task(self._run(), name="soc-delivery")

    async def stop(self) -> None:
        self.clock.unsubscribe(self._on_travel)
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    def wake(self) -> None:
        """Look at the outbox now (an event was enqueued, an integration changed)."""
        self._wake.set()

    def _on_travel(self, _offset: float) -> None:
        self._wake.set()

    # ---------------------------------------------------------------- the loop

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                sent = await self.deliver_due()
                if sent >= BATCH:
                    continue  # more may be due at once
                await self.prune()
                wait = await self._seconds_to_next()
            except Exception:  # a broken pass must not end deliveries for good
                log.exception("SOC delivery pass failed; retrying in %.0f s", IDLE_WAKE)
                wait = IDLE_WAKE
            if self._stopping:
                break
            await wait_event(self._wake, max(0.0, min(wait, IDLE_WAKE)))

    async def _seconds_to_next(self) -> float:
        due = await store.soc_next_attempt(self.db)
        if due is None:
            return IDLE_WAKE
        return due - self.clock.now()

    async def deliver_due(self) -> int:
        """Make one attempt for each row due now (at most ``BATCH``); returns how many."""
        now = self.clock.now()
        rows = await store.soc_due(self.db, now, BATCH)
        if not rows:
            return 0
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(row) -> None:
            async with gate:
                if not self._stopping:
                    await self._attempt(row)

        await asyncio.gather(*(one(r) for r in rows))
        return len(rows)

    async def _attempt(self, row) -> None:
        body = row["body"].encode()
        result = await self._post(
            row["url"], webhooks.headers(row["event_id"], self.clock.now(), body, row["secret"]), body
        )
        now = self.clock.now()
        attempt = row["attempts"] + 1
        if result.ok:
            state, next_at = "delivered", None
        else:
            next_at = self.policy.next_attempt(row["created_at"], attempt, now)
            state = "pending" if next_at is not None else "failed"
        await store.record_soc_attempt(
            self.db, row, attempt, now, result.status, result.ok, result.error, result.duration_ms, next_at, state
        )
        self._log_outcome(row, attempt, result, state)

    async def _post(self, url: str, headers: dict[str, str], body: bytes) -> AttemptResult:
        assert self._http is not None
        started = monotonic()
        if not url.startswith("https:") and not self.allow_private():
            return AttemptResult(False, None, REFUSED_HTTP, 0.0)
        ssl_arg: ssl.SSLContext | bool = self.ssl_context if url.startswith("https:") else True  # plain http: unused
        try:
            async with self._http.post(url, data=body, headers=headers, ssl=ssl_arg, allow_redirects=False) as r:
                await r.content.read(4096)
                ok = 200 <= r.status < 300
                return AttemptResult(
                    ok,
                    r.status,
                    None if ok else f"HTTP {r.status} {r.reason or ''}".strip(),
                    (monotonic() - started) * 1000,
                )
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            if refused_by_guard(exc):  # nothing was asked, so nothing about what is there is told
                return AttemptResult(False, None, REFUSED_PRIVATE, (monotonic() - started) * 1000)
            message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return AttemptResult(False, None, message[:300], (monotonic() - started) * 1000)

    def _log_outcome(self, row, attempt: int, result: AttemptResult, state: str) -> None:
        integration = row["integration_id"]
        if result.ok:
            if integration in self._failing:
                self._failing.discard(integration)
                log.info(
                    "SOC integration %s reachable again (%s delivered on attempt %d)",
                    integration,
                    row["event_id"],
                    attempt,
                )
            return
        if integration not in self._failing:
            self._failing.add(integration)
            log.warning("SOC integration %s: delivery failed (%s); retrying with backoff", integration, result.error)
        else:
            log.debug(
                "SOC integration %s: attempt %d of %s failed (%s)", integration, attempt, row["event_id"], result.error
            )
        if state == "failed":
            log.warning(
                "SOC integration %s: gave up on %s after %d attempts over 24 h", integration, row["event_id"], attempt
            )

    async def prune(self) -> int:
        """Forget delivered and failed rows (and their log) a week after they finished."""
        return await store.prune_soc_outbox(self.db, self.clock.now() - KEEP_FINISHED)
