"""The lab destination's access tokens, as Swift's tempauth hands them out (issue 13).

``GET /auth/v1.0`` with ``X-Auth-User``/``X-Auth-Key`` (or tempauth's ``X-Storage-User``/
``X-Storage-Pass``) returns a fresh token that is good for ``lifetime`` seconds of the injected
clock; every storage request carries it in ``X-Auth-Token`` and gets 401 once it has expired, so
a client re-authenticates. Tokens live in memory, as tempauth's live in memcached: a restarted
destination answers 401 to old tokens and the client logs in again. A pure core: no I/O.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

from bwlab.clock import Clock

TOKEN_PREFIX = "AUTH_tk"
DEFAULT_LIFETIME = 3600.0


@dataclass(frozen=True)
class Grant:
    token: str
    account: str
    expires: float


@dataclass
class TokenAuthority:
    user: str
    key: str = field(repr=False)
    clock: Clock
    lifetime: float = DEFAULT_LIFETIME
    _tokens: dict[str, Grant] = field(default_factory=dict, repr=False)

    @property
    def account(self) -> str:
        """The one account this destination serves: ``AUTH_<user>`` (tempauth's reseller prefix)."""
        return f"AUTH_{self.user}"

    def login(self, user: str | None, key: str | None) -> Grant | None:
        """A new token for the right credentials, else None (the caller answers 401)."""
        if user is None or key is None:
            return None
        ok_user = hmac.compare_digest(user.encode(), self.user.encode())
        ok_key = hmac.compare_digest(key.encode(), self.key.encode())
        if not (ok_user and ok_key):
            return None
        now = self.clock.now()
        self._forget_expired(now)
        grant = Grant(TOKEN_PREFIX + secrets.token_hex(16), self.account, now + self.lifetime)
        self._tokens[grant.token] = grant
        return grant

    def check(self, token: str | None) -> Grant | None:
        """The grant of a token that is known and not expired, else None."""
        if not token:
            return None
        grant = self._tokens.get(token)
        if grant is None:
            return None
        if self.clock.now() >= grant.expires:
            del self._tokens[token]
            return None
        return grant

    def revoke_all(self) -> None:
        """Forget every token (a fault: every client must log in again)."""
        self._tokens.clear()

    def _forget_expired(self, now: float) -> None:
        for token in [t for t, g in self._tokens.items() if now >= g.expires]:
            del self._tokens[token]
