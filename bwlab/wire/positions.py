"""Positions on the wire: the sealed position record and location tracks (SPEC S11, S17, D9).

A position is a chunk of kind 3 (``chunk.KIND_POSITION``) whose sealed payload is this record,
compact UTF-8 JSON::

    {"lat": 55.6051234, "lon": 12.9981234, "accuracy": 4.0, "t": 1767225600.125, "fix": true}

``t`` is the camera clock (seconds since the POSIX epoch) when the position was taken. When
the GPS has lost its fix the camera seals ``"fix": false`` with ``"accuracy": null``, the last
good position in ``lat``/``lon`` and its time in ``last_fix_t`` (D9: the map shows the lost-GPS
icon there, with that time on hover). On Wi-Fi the record also names the access point the camera
is on (``"ap"``), so the map marks roaming events on the trails (L4) without the server learning
where the camera is. The server never sees any of it in clear: the chunk
header only says "a position, seq n, at time t".

Positions go into the camera's stream while one is live (stored with it, D8). Otherwise, while
Location reporting is on (S11 *Always* out of the dock, or recording without a stream), they go
into a **location track**: a stream-like container of position chunks with its own content key
wrapped for the system key exactly like a stream's (docs/e2e-envelope.md §5, the track id in
place of the stream id), opened with ``track_start`` when reporting starts and closed with
``track_stop`` when it stops, kept 24 hours. See docs/decisions.md "Map and positions".
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from bwlab.errors import WireError

from . import jsontext
from .identifiers import ID, SEQ, TIMESTAMP
from .messages import register

POSITION_INTERVAL = 1.0
"""Seconds between two positions while the GPS has a fix (a 1 Hz receiver)."""

LOST_REPEAT = 10.0
"""Seconds between two ``fix: false`` records while the fix stays lost."""

TRACK_PREFIX = "trk-"
MAX_RECORD = 512

_KEYS = {"lat", "lon", "accuracy", "t", "fix", "last_fix_t", "ap"}


class PositionError(WireError, ValueError):
    """A position record that does not follow the layout."""


def encode_record(record: dict[str, Any]) -> bytes:
    """The plaintext a camera seals: compact JSON, keys in a fixed order."""
    check_record(record)
    return json.dumps(record, separators=(",", ":"), sort_keys=True).encode()


def decode_record(plaintext: bytes) -> dict[str, Any]:
    if len(plaintext) > MAX_RECORD:
        raise PositionError(f"position record of {len(plaintext)} bytes is larger than {MAX_RECORD}")
    try:
        record = jsontext.loads(plaintext)
    except jsontext.JSONTextError as exc:
        raise PositionError(f"position record is not JSON: {exc}") from None
    check_record(record)
    return record


def check_record(record: Any) -> None:
    if not isinstance(record, dict):
        raise PositionError("position record must be an object")
    missing = {"lat", "lon", "accuracy", "t", "fix"} - set(record)
    unknown = set(record) - _KEYS
    if missing or unknown:
        raise PositionError(f"position record keys: missing {sorted(missing)}, unknown {sorted(unknown)}")
    if not isinstance(record["fix"], bool):
        raise PositionError("fix: expected a boolean")
    for key, low, high in (("lat", -90, 90), ("lon", -180, 180)):
        v = record[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not low <= v <= high:
            raise PositionError(f"{key}: expected degrees between {low} and {high}")
    for key in ("t",) + (() if record["fix"] else ("last_fix_t",)):
        v = record.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise PositionError(f"{key}: expected seconds since the epoch")
    ap = record.get("ap")
    if ap is not None and (not isinstance(ap, str) or len(ap) > 80):
        raise PositionError("ap: expected the name of the access point the camera is on, or null")
    acc = record["accuracy"]
    if record["fix"]:
        if isinstance(acc, bool) or not isinstance(acc, (int, float)) or not 0 <= acc < 100_000:
            raise PositionError("accuracy: expected metres with a fix")
        if "last_fix_t" in record:
            raise PositionError("last_fix_t: only without a fix")
    elif acc is not None:
        raise PositionError("accuracy: expected null without a fix")


def is_track_id(container_id: str) -> bool:
    return container_id.startswith(TRACK_PREFIX)


@register
@dataclass(frozen=True)
class TrackStart:
    """camera → hub: open a location track (S11 reporting without a live stream). Like
    ``stream_start``: the camera names it and sends its content key wrapped for the system key."""

    track_id: str = field(metadata=ID)
    wrapped_key: dict[str, Any]
    started_at: float = field(metadata=TIMESTAMP)  # camera clock
    user_id: str = field(metadata={"max_len": 64})
    user_name: str = field(metadata={"max_len": 120})
    upload_key: str = field(metadata={"max_len": 64})  # base64url, 32 bytes
    mode: Literal["always", "while_recording_or_streaming"] = "always"
    type: Literal["track_start"] = "track_start"


@register
@dataclass(frozen=True)
class TrackAccepted:
    track_id: str
    next_seq: int = 0
    type: Literal["track_accepted"] = "track_accepted"


@register
@dataclass(frozen=True)
class TrackRefused:
    track_id: str
    code: str
    message: str
    type: Literal["track_refused"] = "track_refused"


@register
@dataclass(frozen=True)
class TrackStop:
    """camera → hub: reporting stopped (docked, recording ended, a stream took over)."""

    track_id: str = field(metadata=ID)
    reason: str = field(metadata={"max_len": 64})
    last_seq: int | None = field(default=None, metadata=SEQ)
    ended_at: float | None = field(default=None, metadata=TIMESTAMP)
    type: Literal["track_stop"] = "track_stop"
