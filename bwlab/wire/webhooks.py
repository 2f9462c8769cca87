"""SOC notifications on the wire: Standard Webhooks signing and the event payload (SPEC S12, S17).

The manual says only that an admin adds a SOC URL and, optionally, ticks **Sign messages** so
that "the receiver can check that the notification comes from the right source"; the receiver's
format lives in a separate "SOC Integration" document that we do not have (docs/manual-vs-spec.md
row 11). bwlab therefore uses the open Standard Webhooks scheme (https://www.standardwebhooks.com),
so that integrators can verify with off-the-shelf libraries — a lab assumption, not wire
compatibility with the real service:

* ``POST`` to the integration's URL, ``Content-Type: application/json``;
* ``webhook-id``: the event id — the same on every retry, so a receiver can drop duplicates;
* ``webhook-timestamp``: integer POSIX seconds of the attempt, read from the lab clock;
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, keyed by the
  secret's bytes (the secret is ``whsec_<base64>``), present only when messages are signed.

The body is ``{"type", "timestamp", "data"}``; ``data`` is the stream's S17 metadata in clear —
never a key, never media, never a position. The appliance signs here; receivers (``bwlab
soc-receiver``, the tests) verify with the ``standardwebhooks`` package, so both ends meet only on
the wire.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import secrets
from typing import Any

from bwlab.clock import isoformat

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64

STREAM_STARTED = "stream.started"
STREAM_ACKNOWLEDGED = "stream.acknowledged"
STREAM_ENDED = "stream.ended"
HELP_REQUESTED = "help.requested"
EVENT_TYPES = (STREAM_STARTED, STREAM_ACKNOWLEDGED, STREAM_ENDED)
"""S12 names only the start of a new live stream; the other two are opt-in lab extras."""
ALWAYS_SENT = (STREAM_STARTED, HELP_REQUESTED)
"""Sent to every enabled integration: a new live stream (S12) and a camera user's help request
(the ``help_requested`` notification, issue 16: who, when, which system — never the position,
which only the operators' browsers can open)."""

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret; ValueError says what is wrong with it."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a signing secret starts with 'whsec_' followed by base64 (Standard Webhooks)")
    text = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the part after 'whsec_' is not base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(f"the secret must decode to {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, not {len(key)}")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one attempt."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(msg_id: str, now: float, body: bytes, secret: str | None) -> dict[str, str]:
    """The headers of one delivery attempt made at lab time ``now``."""
    timestamp = math.floor(now)
    out = {"Content-Type": "application/json", HEADER_ID: msg_id, HEADER_TIMESTAMP: str(timestamp)}
    if secret:
        out[HEADER_SIGNATURE] = sign(secret, msg_id, timestamp, body)
    return out


def event_id(event_type: str, stream_id: str, discriminator: str = "") -> str:
    """A stable id per event: the same stream event always gets the same id, so enqueueing it
    twice (after a restart) cannot make two deliveries."""
    digest = hashlib.sha256(f"{event_type}\n{stream_id}\n{discriminator}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


def stream_data(meta: dict[str, Any], event_type: str) -> dict[str, Any]:
    """S17 metadata in clear for the payload's ``data``; every other field of ``meta`` (the
    wrapped content key, the camera serial, chunk counts) is left out."""
    ended = meta.get("ended_at")
    data = {
        "stream_id": meta["id"],
        "organization_id": meta["org_id"],
        "system_id": meta["system_id"],
        "user_id": meta["user_id"],
        "user_name": meta["user_name"],
        "region": meta["region"],
        "start": isoformat(meta["started_at"]),
        "end": None if ended is None else isoformat(ended),
        "duration": None if ended is None else round(float(meta["duration"]), 3),
    }
    if event_type == STREAM_ACKNOWLEDGED:
        data["acknowledged_by"] = meta.get("acknowledged_by")
        at = meta.get("acknowledged_at")
        data["acknowledged_at"] = None if at is None else isoformat(at)
    return data


def help_data(meta: dict[str, Any]) -> dict[str, Any]:
    """A help request's metadata in clear for ``help.requested``: no key, no position."""
    return {
        "help_id": meta["id"],
        "organization_id": meta["org_id"],
        "system_id": meta["system_id"],
        "user_id": meta["user_id"],
        "user_name": meta["user_name"],
        "region": meta["region"],
        "requested": isoformat(meta["requested_at"]),
        "has_position": meta["position"] is not None,
    }


def payload(event_type: str, meta: dict[str, Any], at: float) -> bytes:
    """The request body of one event (identical on every attempt)."""
    data = help_data(meta) if event_type == HELP_REQUESTED else stream_data(meta, event_type)
    body = {"type": event_type, "timestamp": isoformat(at), "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
