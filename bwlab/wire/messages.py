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
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from bwlab.errors import WireError
from bwlab.schema import SchemaError, as_json, from_mapping

from . import jsontext
from .identifiers import ID, SEQ, SERIAL, TIMESTAMP

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

M = TypeVar("M", bound="DataclassInstance")

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
    serial: str = field(metadata=SERIAL)
    certificate: str = field(metadata={"max_len": 8192})
    signature: str = field(metadata={"max_len": 512})  # base64url DER ECDSA
    firmware: str = field(default="bwlab-stub", metadata={"max_len": 64})
    type: Literal["hello"] = "hello"


@dataclass(frozen=True)
class Welcome:
    """``licence_valid``/``licence_until``: where the organization's licence stands (S15, T2 row
    2b), as in ``Licence``, which the hub sends later when it changes."""

    serial: str
    system_id: str
    not_after: float
    server_time: float
    licence_valid: bool = True
    licence_until: float | None = None
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


class ProtocolError(WireError, ValueError):
    """A frame that is not a valid message; ``code`` is stable."""

    def __init__(self, message: str, code: str = "bad_message"):
        super().__init__(message)
        self.code = code


def register(cls: type[M]) -> type[M]:
    """Add a message type (other modules of the wire format add theirs)."""
    name = cls.__dataclass_fields__["type"].default
    if not isinstance(name, str):
        raise TypeError(f"{cls.__name__}: a message type needs a `type` field with a default name")
    MESSAGES[name] = cls
    return cls


def encode(message: Any) -> str:
    return json.dumps(as_json(message), separators=(",", ":"))


def decode(text: str | bytes, allowed: tuple[type, ...] | None = None) -> Any:
    return decode_from(MESSAGES, text, allowed, MAX_TEXT_FRAME)


def decode_from(registry: dict[str, type], text: str | bytes, allowed: tuple[type, ...] | None, max_frame: int) -> Any:
    """The message of ``registry`` in a text frame (one of ``allowed``, when given); ``ProtocolError``
    with a stable code for anything else (shared by every JSON protocol of ``bwlab.wire``)."""
    if len(text) > max_frame:
        raise ProtocolError(f"text frame of {len(text)} bytes is larger than {max_frame}", "frame_too_large")
    try:
        data = jsontext.loads(text)
    except jsontext.JSONTextError as exc:
        raise ProtocolError(f"frame is not JSON bwlab accepts: {exc}", exc.code) from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("frame must be an object with a string 'type'")
    cls = registry.get(data["type"])
    if cls is None or (allowed is not None and cls not in allowed):
        raise ProtocolError(f"unexpected message type {data['type']!r}", "unexpected_message")
    try:
        return from_mapping(cls, data)
    except SchemaError as exc:
        raise ProtocolError(f"{data['type']}: {exc}", "invalid_message") from None


# ---- streams (D3–D6, S17) ---------------------------------------------------------------------


@register
@dataclass(frozen=True)
class StreamStart:
    """camera → hub: open a stream. The camera names it (the content key is bound to the id),
    and sends the content key wrapped for the system key (envelope.wrap_content_key)."""

    stream_id: str = field(metadata=ID)
    reason: Literal["record", "function", "remote", "help"]  # help: a help request (bwlab/wire/help.py)
    wrapped_key: dict[str, Any]
    mime: str = field(metadata={"max_len": 200})
    started_at: float = field(metadata=TIMESTAMP)  # camera clock
    user_id: str = field(metadata={"max_len": 64})
    user_name: str = field(metadata={"max_len": 120})
    upload_key: str = field(metadata={"max_len": 64})  # base64url, 32 bytes: keys the chunks' upload tags
    request_id: str | None = field(default=None, metadata=ID)
    resume: bool = False
    type: Literal["stream_start"] = "stream_start"


@register
@dataclass(frozen=True)
class StreamAccepted:
    stream_id: str
    next_seq: int = 0  # on resume: the hub has every chunk below this
    type: Literal["stream_accepted"] = "stream_accepted"


@register
@dataclass(frozen=True)
class StreamRefused:
    stream_id: str
    code: str
    message: str
    type: Literal["stream_refused"] = "stream_refused"


@register
@dataclass(frozen=True)
class StreamStop:
    """camera → hub: the stream ended (D5 long press, docked, certificate expired)."""

    stream_id: str | None = field(metadata=ID)
    reason: str = field(metadata={"max_len": 64})
    last_seq: int | None = field(default=None, metadata=SEQ)
    ended_at: float | None = field(default=None, metadata=TIMESTAMP)
    type: Literal["stream_stop"] = "stream_stop"


@register
@dataclass(frozen=True)
class ChunkAck:
    """hub → camera: the chunk is durable (evidence file and metadata committed)."""

    stream_id: str
    seq: int
    type: Literal["chunk_ack"] = "chunk_ack"


@register
@dataclass(frozen=True)
class ChunkRefused:
    """hub → camera: the chunk was refused and not stored; the reason's code is stable."""

    code: str
    message: str
    stream_id: str | None = None
    seq: int | None = None
    type: Literal["chunk_refused"] = "chunk_refused"


@register
@dataclass(frozen=True)
class RemoteStart:
    """hub → camera: an operator pressed Start stream (D4)."""

    request_id: str
    operator: str
    type: Literal["remote_start"] = "remote_start"


@register
@dataclass(frozen=True)
class RemoteStartResult:
    """camera → hub: whether the camera honours the remote start, and why not (D4, S7)."""

    request_id: str = field(metadata=ID)
    ok: bool
    reason: str | None = field(default=None, metadata={"max_len": 64})
    type: Literal["remote_start_result"] = "remote_start_result"


@register
@dataclass(frozen=True)
class Acknowledge:
    """hub → camera: an operator acknowledged the stream (D6): vibrate."""

    stream_id: str
    operator: str
    type: Literal["acknowledge"] = "acknowledge"


@register
@dataclass(frozen=True)
class ViewerLatency:
    """hub → camera: whether the stream has viewers in the low-latency view (issue 16 item 6).

    While ``low``, the camera sends its media in 1-frame fragments and its sound ahead of the
    picture in small audio-only fragments, so sound and picture can play within 150 ms of capture;
    without such viewers it goes back to the chunking it was set up with (fewer, larger chunks:
    less work for the hub's durable writes). Sent on each change and when a stream is accepted."""

    stream_id: str = field(metadata=ID)
    low: bool
    type: Literal["viewer_latency"] = "viewer_latency"


@register
@dataclass(frozen=True)
class Log:
    """camera → hub: a telemetry fact with a stable code (refused starts, T2; L3)."""

    level: str = field(metadata={"max_len": 16})
    code: str = field(metadata={"max_len": 64})
    message: str = field(metadata={"max_len": 500})
    at: float = field(metadata=TIMESTAMP)
    type: Literal["log"] = "log"


# ---- licence (S15, T2 row 2b) -----------------------------------------------------------------


@register
@dataclass(frozen=True)
class Licence:
    """hub → camera: whether the organization holds a valid licence, and until when its cover
    runs without a gap (cloud time). ``welcome`` carries the same; this is sent whenever the
    organization orders or renews licences. With it the camera knows, at a start, that it must not
    react (T2 row 2b)."""

    valid: bool
    until: float | None = None
    type: Literal["licence"] = "licence"
