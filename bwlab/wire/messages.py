"""Messages of the device hub protocol (camera ↔ cloud), shared by both ends.

Text frames are JSON objects ``{"type": ..., ...}``; each type has a frozen dataclass here, and
``decode`` checks a received frame against it (unknown types and fields are refused). Binary
frames carry media chunks (``bwlab.wire.chunk``).

Authentication (DESIGN "Trust and encryption"): on connect the hub sends ``challenge`` with a
fresh random nonce; the camera answers ``hello`` with its certificate and an ECDSA-SHA256
signature over ``b"bwlab-hub-v1" || nonce``. The hub checks the chain against the connected
systems' device CAs at lab time and the signature, then answers ``welcome`` or ``error`` and
closes. A replayed hello fails because the nonce is new on every connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from bwlab.schema import SchemaError, as_json, from_mapping

PROTOCOL = "bwlab-hub-v1"
CHALLENGE_PREFIX = PROTOCOL.encode()
MAX_TEXT_FRAME = 64 * 1024


@dataclass(frozen=True)
class Challenge:
    nonce: str  # base64url, 32 random bytes
    server_time: float
    type: Literal["challenge"] = "challenge"


@dataclass(frozen=True)
class Hello:
    serial: str = field(metadata={"max_len": 32})
    certificate: str = field(metadata={"max_len": 8192})
    signature: str = field(metadata={"max_len": 512})  # base64url DER ECDSA
    firmware: str = field(default="bwlab-stub", metadata={"max_len": 64})
    type: Literal["hello"] = "hello"


@dataclass(frozen=True)
class Welcome:
    serial: str
    system_id: str
    not_after: float
    server_time: float
    type: Literal["welcome"] = "welcome"


@dataclass(frozen=True)
class Error:
    code: str
    message: str
    ref: str | None = None
    type: Literal["error"] = "error"


@dataclass(frozen=True)
class State:
    """The camera's state snapshot (LEDs, screen, dock, stream), reported on every change."""

    state: dict[str, Any]
    type: Literal["state"] = "state"


@dataclass(frozen=True)
class Ping:
    type: Literal["ping"] = "ping"


MESSAGES: dict[str, type] = {
    "challenge": Challenge,
    "hello": Hello,
    "welcome": Welcome,
    "error": Error,
    "state": State,
    "ping": Ping,
}


class ProtocolError(ValueError):
    """A frame that is not a valid message; ``code`` is stable."""

    def __init__(self, message: str, code: str = "bad_message"):
        super().__init__(message)
        self.code = code


def register(cls: type) -> type:
    """Add a message type (other modules of the wire format add theirs)."""
    name = cls.__dataclass_fields__["type"].default
    MESSAGES[name] = cls
    return cls


def encode(message: Any) -> str:
    return json.dumps(as_json(message), separators=(",", ":"))


def decode(text: str | bytes, allowed: tuple[type, ...] | None = None) -> Any:
    if len(text) > MAX_TEXT_FRAME:
        raise ProtocolError(f"text frame of {len(text)} bytes is larger than {MAX_TEXT_FRAME}", "frame_too_large")
    try:
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"frame is not JSON: {exc}", "malformed_json") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("frame must be an object with a string 'type'")
    cls = MESSAGES.get(data["type"])
    if cls is None or (allowed is not None and cls not in allowed):
        raise ProtocolError(f"unexpected message type {data['type']!r}", "unexpected_message")
    try:
        return from_mapping(cls, data)
    except SchemaError as exc:
        raise ProtocolError(f"{data['type']}: {exc}", "invalid_message") from None
