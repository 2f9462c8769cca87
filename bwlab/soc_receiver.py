"""A SOC's receiving end for the lab: verify each notification and print it (SPEC S12).

``bwlab soc-receiver --port P [--secret whsec_…] [--json]`` listens over HTTP (or HTTPS with a
certificate) and answers every ``POST``:

* with a secret, the Standard Webhooks signature is verified with the ``standardwebhooks``
  package; a bad or missing signature, or a timestamp more than five minutes off the receiver's
  clock, is answered 401 and printed as ``verified: false``;
* a notification that verifies (or any, without a secret) is answered 204 and printed; one whose
  ``webhook-id`` was seen before is printed as a duplicate (and still answered 204, as the
  standard asks, so that the sender stops retrying).

The lab's clock may run ahead of real time (time travel), and notifications carry lab time. The
package checks the timestamp against the system clock, so a receiver that follows the lab
(``clock_offset``/``--clock-offset``, the lab's travel offset) checks the timestamp against its
own clock and lets the package compute the expected signature for comparison.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from bwlab.clock import Clock, isoformat, system_time

log = logging.getLogger(__name__)

TOLERANCE = 300.0  # seconds, as in the standard
MAX_BODY = 1024 * 1024


class SystemClock:
    def now(self) -> float:
        return system_time()


@dataclass(frozen=True)
class Received:
    """One notification as the receiver saw it."""

    id: str
    type: str | None
    timestamp: int | None
    received_at: float
    verified: bool | None  # None: no secret configured, nothing to check
    duplicate: bool
    error: str | None
    data: Any
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "timestamp": self.timestamp,
            "received_at": isoformat(self.received_at),
            "verified": self.verified,
            "duplicate": self.duplicate,
            "error": self.error,
            "data": self.data,
        }

    def line(self) -> str:
        data = self.data if isinstance(self.data, dict) else {}
        inner = data.get("data")
        d = inner if isinstance(inner, dict) else {}
        check = {True: "signature ok", False: f"REJECTED ({self.error})", None: "unsigned"}[self.verified]
        dup = " (duplicate)" if self.duplicate else ""
        if "help_id" in d:  # help.requested (issue 16)
            return (
                f"{isoformat(self.received_at)} {self.type or '?'} {self.id}{dup}: HELP {d['help_id']} "
                f"user {d.get('user_name', '?')} ({d.get('user_id', '?')}) org {d.get('organization_id', '?')} "
                f"requested {d.get('requested')} — {check}"
            )
        return (
            f"{isoformat(self.received_at)} {self.type or '?'} {self.id}{dup}: stream {d.get('stream_id', '?')} "
            f"user {d.get('user_name', '?')} ({d.get('user_id', '?')}) org {d.get('organization_id', '?')} "
            f"region {d.get('region', '?')} start {d.get('start')} end {d.get('end')} — {check}"
        )


def verify(secret: str, body: bytes, headers: dict[str, str], now: float, tolerance: float = TOLERANCE) -> Any:
    """The parsed body if the notification verifies at receiver time ``now``; raises
    ``WebhookVerificationError`` otherwise. At real time the package's own ``verify`` does
    everything; on a lab clock that runs ahead, the timestamp is checked against ``now`` here
    and the signature against the package's ``sign``."""
    wh = Webhook(secret)
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, signatures = lower.get("webhook-id"), lower.get("webhook-timestamp"), lower.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError("Missing required headers")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("Invalid Signature Headers") from None
    if abs(now - system_time()) < 1.0:
        return wh.verify(body, lower)
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError("Message timestamp too old" if timestamp < now else "Message timestamp too new")
    expected = wh.sign(msg_id, datetime.fromtimestamp(timestamp, tz=UTC), body.decode())
    expected_bytes = base64.b64decode(expected.split(",", 1)[1])
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version != "v1":
            continue
        try:
            if hmac.compare_digest(expected_bytes, base64.b64decode(value)):
                return json.loads(body)
        except (ValueError, TypeError):
            continue
    raise WebhookVerificationError("No matching signature found")


class SocReceiver:
    """The receiver's state and its aiohttp application (every path accepts POST)."""

    def __init__(
        self,
        secret: str | None = None,
        clock: Clock | None = None,
        on_event: Callable[[Received], None] | None = None,
        status: int = 204,
    ):
        if secret is not None:
            Webhook(secret)  # fail early on a malformed secret
        self.secret = secret
        self.clock = clock or SystemClock()
        self.on_event = on_event
        self.status = status
        self.events: list[Received] = []
        self.seen: set[str] = set()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/{path:.*}", self.handle)
        return app

    def accepted(self) -> list[Received]:
        """Notifications answered with success (verified, or unsigned without a secret)."""
        return [e for e in self.events if e.verified is not False]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        now = self.clock.now()
        msg_id = request.headers.get("webhook-id", "")
        verified: bool | None = None
        error = None
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        if self.secret is not None:
            try:
                data = verify(self.secret, body, headers, now)
                verified = True
            except (WebhookVerificationError, ValueError) as exc:
                verified, error = False, str(exc) or type(exc).__name__
        stamp = request.headers.get("webhook-timestamp", "")
        event = Received(
            id=msg_id,
            type=data.get("type") if isinstance(data, dict) else None,
            timestamp=int(stamp) if stamp.isdigit() else None,
            received_at=now,
            verified=verified,
            duplicate=verified is not False and msg_id in self.seen,
            error=error,
            data=data,
            body=body,
            headers=headers,
        )
        self.events.append(event)
        if verified is not False:
            self.seen.add(msg_id)
        if self.on_event is not None:
            self.on_event(event)
        if verified is False:
            return web.json_response({"error": error}, status=401)
        return web.Response(status=self.status)


class OffsetClock:
    """The system clock plus a fixed offset (a SOC following the lab's time travel)."""

    def __init__(self, offset: float):
        self.offset = offset

    def now(self) -> float:
        return system_time() + self.offset


def printer(as_json: bool, out: Callable[[str], None]) -> Callable[[Received], None]:
    def show(event: Received) -> None:
        out(json.dumps(event.as_json(), separators=(",", ":")) if as_json else event.line())

    return show
