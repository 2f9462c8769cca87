"""Faults on the destination path (issue 13 item 7, SPEC L2), as the lab destination applies them.

A pure holder the HTTP layer reads on each API request (``/auth/v1.0`` and ``/v1/…``):

* ``status`` on the next ``count`` requests (400, 401, 402, 403, 404, 500, 503, 507: the README's
  error table), each answered with that status and nothing stored;
* ``delay`` seconds before each answer (a slow destination);
* ``corrupt_capabilities_etag``: ``System/Capabilities.json`` served with an Etag that is not its
  md5 (the client must log "object corrupt" and treat capabilities as absent).

Token expiry (every token forgotten) and a full destination (its quota set to what it holds) are
one-off actions the server applies. An outage is the listener stopping (``RunningDestination.close``
or the process ending), which no in-process fault can imitate faithfully.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .store import BadRequest

STATUSES = (400, 401, 402, 403, 404, 500, 503, 507)
MAX_DELAY = 60.0
_KEYS = {"status", "count", "delay", "corrupt_capabilities_etag", "revoke_tokens", "full"}


@dataclass
class Faults:
    status: int | None = None
    remaining: int = 0
    delay: float = 0.0
    corrupt_capabilities_etag: bool = False

    def next_status(self) -> int | None:
        """The status to answer this request with, if a status fault is armed (counts it down)."""
        if self.status is None or self.remaining <= 0:
            return None
        self.remaining -= 1
        status = self.status
        if self.remaining == 0:
            self.status = None
        return status

    def clear(self) -> None:
        self.status, self.remaining, self.delay, self.corrupt_capabilities_etag = None, 0, 0.0, False

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "count": self.remaining,
            "delay": self.delay,
            "corrupt_capabilities_etag": self.corrupt_capabilities_etag,
        }

    def update(self, doc: Any) -> tuple[bool, bool]:
        """Apply ``{"status", "count", "delay", "corrupt_capabilities_etag", "revoke_tokens",
        "full"}`` (all optional); returns the one-off actions asked (revoke_tokens, full).
        Checks everything before changing anything."""
        if not isinstance(doc, dict):
            raise BadRequest("a JSON object is expected")
        unknown = sorted(set(doc) - _KEYS)
        if unknown:
            raise BadRequest(f"{unknown[0]}: not a fault (known: {', '.join(sorted(_KEYS))})")
        status, count = doc.get("status", self.status), doc.get("count", 1 if "status" in doc else self.remaining)
        if status is not None and (isinstance(status, bool) or status not in STATUSES):
            raise BadRequest(f"status: one of {', '.join(map(str, STATUSES))} or null")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10000:
            raise BadRequest("count: a whole number from 0 to 10000")
        delay = doc.get("delay", self.delay)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= MAX_DELAY:
            raise BadRequest(f"delay: seconds from 0 to {MAX_DELAY:g}")
        flags = {}
        for key in ("corrupt_capabilities_etag", "revoke_tokens", "full"):
            value = doc.get(key, False if key != "corrupt_capabilities_etag" else self.corrupt_capabilities_etag)
            if not isinstance(value, bool):
                raise BadRequest(f"{key}: true or false")
            flags[key] = value
        self.status, self.remaining = (status, count) if status is not None and count > 0 else (None, 0)
        self.delay = float(delay)
        self.corrupt_capabilities_etag = flags["corrupt_capabilities_etag"]
        return flags["revoke_tokens"], flags["full"]
