"""How many WebSockets one cloud account may hold open (docs/security.md, issue 10 item 10).

Every account WebSocket of the cloud — Active streams' events, live views, recordings, the
positions feed and location tracks — is counted under its account. Live needs a handful at once
(events, the map's feed, a group of four live views); ``MAX_PER_ACCOUNT`` leaves room for several
tabs and browsers, and past it the upgrade is refused with ``429 too_many_websockets`` before any
socket is set up, so one account cannot tie up the appliance with hundreds of sockets.
"""

from __future__ import annotations

import functools
from collections import Counter

from aiohttp import web

from ..auth import ACCOUNT_KEY
from ..errors import TooManyRequests
from ..http import Handler

MAX_PER_ACCOUNT = 24


class AccountSockets:
    """Open sockets per account (pure bookkeeping)."""

    def __init__(self, limit: int = MAX_PER_ACCOUNT):
        self.limit = limit
        self.open: Counter[str] = Counter()

    def acquire(self, account_id: str) -> bool:
        if self.open[account_id] >= self.limit:
            return False
        self.open[account_id] += 1
        return True

    def release(self, account_id: str) -> None:
        self.open[account_id] -= 1
        if self.open[account_id] <= 0:
            del self.open[account_id]


ACCOUNT_SOCKETS = web.AppKey("account_sockets", AccountSockets)


def setup_account_sockets(app: web.Application, limit: int = MAX_PER_ACCOUNT) -> None:
    app[ACCOUNT_SOCKETS] = AccountSockets(limit)


def counted_socket(handler: Handler) -> Handler:
    """Wrap an account WebSocket handler (under ``@access``): refuse past the account's limit,
    and count the socket while the handler runs."""

    @functools.wraps(handler)
    async def counted(request: web.Request) -> web.StreamResponse:
        sockets = request.config_dict[ACCOUNT_SOCKETS]
        account_id = request[ACCOUNT_KEY].account_id
        if not sockets.acquire(account_id):
            raise TooManyRequests(
                f"this account has {sockets.limit} WebSockets open already; close one (another tab?) and retry",
                code="too_many_websockets",
                limit=sockets.limit,
            )
        try:
            return await handler(request)
        finally:
            sockets.release(account_id)

    return counted
