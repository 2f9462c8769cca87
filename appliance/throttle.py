"""Sign-in throttling per account and per address (docs/security.md, issue 10 item 5).

Every sign-in — a cloud account (``POST /api/cloud/sessions``), a Manager administrator
(``POST /controller/{id}/api/login``) and the Lab panel (``POST /api/lab/login``, per address
only) — counts its failures under two keys: the account it names and the address it comes from. Once a key holds
``limit`` failures within ``window`` seconds of lab time, every sign-in under that key is refused
with ``429 too_many_attempts`` and ``Retry-After`` (whole seconds until the oldest failure leaves
the window) *before* the password is looked at, so a locked account cannot be probed either.
A successful sign-in clears its account's failures (not its address's). The per-address limit is
higher: on a shared lab box a whole class may sign in from one address.

``SignInThrottle`` is the pure core (failures in, decisions out, time passed in); the state is
in memory and starts empty after a restart. It keeps at most ``max_keys`` keys, forgetting the
least recently failed, so a spray of made-up accounts cannot grow it without bound.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from aiohttp import web

from .context import APPLIANCE
from .errors import ClientError, TooManyRequests

T = TypeVar("T")
Key = tuple[str, ...]


@dataclass(frozen=True)
class ThrottlePolicy:
    """per_account / per_address: failed sign-ins allowed within ``window`` lab seconds."""

    per_account: int = 5
    per_address: int = 30
    window: float = 15 * 60.0
    max_keys: int = 20_000


class SignInThrottle:
    def __init__(self, policy: ThrottlePolicy = ThrottlePolicy()):
        self.policy = policy
        self._failures: OrderedDict[Key, deque[float]] = OrderedDict()

    def _limit(self, key: Key) -> int:
        return self.policy.per_address if key[0] == "address" else self.policy.per_account

    def retry_after(self, keys: Iterable[Key], now: float) -> float | None:
        """Seconds until a sign-in under all of ``keys`` may be tried again; None: now."""
        wait = 0.0
        for key in keys:
            times = self._failures.get(key)
            if times is None:
                continue
            while times and times[0] <= now - self.policy.window:
                times.popleft()
            if len(times) >= self._limit(key):
                wait = max(wait, times[0] + self.policy.window - now)
        return wait if wait > 0 else None

    def failed(self, keys: Iterable[Key], now: float) -> None:
        for key in keys:
            times = self._failures.pop(key, None) or deque(maxlen=self._limit(key))
            times.append(now)
            self._failures[key] = times  # most recently failed last
        while len(self._failures) > self.policy.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, key: Key) -> None:
        self._failures.pop(key, None)


SIGN_INS = web.AppKey("sign_ins", SignInThrottle)


def setup_sign_in_throttle(app: web.Application, policy: ThrottlePolicy = ThrottlePolicy()) -> None:
    app[SIGN_INS] = SignInThrottle(policy)


async def throttled(
    request: web.Request, account: Key | None, check: Callable[[], Awaitable[T | None]], refusal: ClientError
) -> T:
    """Run the credential ``check`` for ``account`` unless it or the caller's address is locked out;
    count a failure (``check`` returned None) and raise ``refusal``, or clear the account's count.
    ``account=None``: per address only (the lab token, 256 random bits, is no guessable password,
    and a lock shared by every trainer would let anyone lock them all out)."""
    throttle = request.config_dict[SIGN_INS]
    clock = request.config_dict[APPLIANCE].clock
    address = ("address", request.remote or "?")
    keys = (address,) if account is None else (account, address)
    wait = throttle.retry_after(keys, clock.now())
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(
            f"too many failed sign-ins; try again in {seconds} s",
            code="too_many_attempts",
            retry_after=seconds,
            headers={"Retry-After": str(seconds)},
        )
    result = await check()
    if result is None:
        throttle.failed(keys, clock.now())
        raise refusal
    if account is not None:
        throttle.succeeded(account)
    return result
