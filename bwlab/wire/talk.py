"""Talk-back messages (issue 16 item 3): an operator talks to a camera user through the camera.

Two legs, both JSON text frames checked by ``bwlab.wire.messages.decode``:

* **talker ↔ cloud** — the talk socket ``/api/cloud/orgs/{org}/streams/{stream}/talk`` of Live and
  of ``bwlab talk``: the cloud sends ``talk_floor`` (who holds the floor of the stream's camera)
  on connect and on every change; the talker asks for the floor with ``talk_take`` (a fresh talk
  id), sends ``talk_audio`` packets while it holds it, and ``talk_release`` (or closes).
* **hub → camera** — ``talk_start``, ``talk_packet``, ``talk_stop`` on the device socket.

Audio is one Opus packet (20 ms, 48 kHz mono) per ``talk_audio`` / ``talk_packet``, sealed end to
end with the talk key (docs/e2e-envelope.md §13): the cloud relays ciphertext and cannot open it.
``captured_at`` (lab time, in clear like a chunk's capture time) is when the packet's first sample
was captured: the camera measures mouth-to-ear latency from it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Literal

from . import envelope
from .identifiers import ID, SEQ, TIMESTAMP
from .messages import register

#: Longest base64url of one sealed Opus packet (Opus packets are at most 1275 bytes, plus the tag).
MAX_PACKET_TEXT = 1800
TALK_ID_TEXT = {"max_len": 22, "pattern": r"[A-Za-z0-9_-]{22}"}  # base64url of 16 bytes
SAMPLE_RATE = 48_000
FRAME_SECONDS = 0.02


def talk_id_bytes(text: str) -> bytes:
    """The 16 bytes of a talk id given as base64url (already checked by the message schema)."""
    raw = envelope.b64url_decode(text, what="talk id")
    if len(raw) != envelope.TALK_ID_SIZE:
        raise envelope.MalformedEnvelope(f"talk id must be {envelope.TALK_ID_SIZE} bytes")
    return raw


def packet_bytes(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise envelope.MalformedEnvelope("talk packet is not base64url") from None


# ---- talker ↔ cloud ----------------------------------------------------------------------------


@register
@dataclass(frozen=True)
class TalkFloor:
    """cloud → talkers and viewers: who holds the floor of the stream's camera (None: free);
    ``mine`` is true on the socket that holds it."""

    stream_id: str
    talker: str | None = None
    mine: bool = False
    type: Literal["talk_floor"] = "talk_floor"


@register
@dataclass(frozen=True)
class TalkTake:
    """talker → cloud: ask for the floor, for a new talk (a fresh random talk id)."""

    talk_id: str = field(metadata=TALK_ID_TEXT)
    type: Literal["talk_take"] = "talk_take"


@register
@dataclass(frozen=True)
class TalkAudio:
    """talker → cloud: one sealed Opus packet of the current talk."""

    seq: int = field(metadata=SEQ)
    data: str = field(metadata={"max_len": MAX_PACKET_TEXT, "pattern": r"[A-Za-z0-9_-]*"})
    captured_at: float = field(metadata=TIMESTAMP)
    type: Literal["talk_audio"] = "talk_audio"


@register
@dataclass(frozen=True)
class TalkRelease:
    """talker → cloud: the operator let go of the button."""

    type: Literal["talk_release"] = "talk_release"


TALKER_MESSAGES = (TalkTake, TalkAudio, TalkRelease)


# ---- hub → camera -------------------------------------------------------------------------------


@register
@dataclass(frozen=True)
class TalkStart:
    """hub → camera: ``operator`` took the floor of ``stream_id``; derive the talk key."""

    stream_id: str = field(metadata=ID)
    talk_id: str = field(metadata=TALK_ID_TEXT)
    operator: str = field(metadata={"max_len": 120})
    type: Literal["talk_start"] = "talk_start"


@register
@dataclass(frozen=True)
class TalkPacket:
    """hub → camera: one sealed Opus packet of the talk (relayed as the talker sent it)."""

    stream_id: str = field(metadata=ID)
    talk_id: str = field(metadata=TALK_ID_TEXT)
    seq: int = field(metadata=SEQ)
    data: str = field(metadata={"max_len": MAX_PACKET_TEXT, "pattern": r"[A-Za-z0-9_-]*"})
    captured_at: float = field(metadata=TIMESTAMP)
    type: Literal["talk_packet"] = "talk_packet"


@register
@dataclass(frozen=True)
class TalkStop:
    """hub → camera: the talk ended (released, the talker left, the stream ended)."""

    stream_id: str = field(metadata=ID)
    talk_id: str = field(metadata=TALK_ID_TEXT)
    reason: str = field(metadata={"max_len": 64})
    type: Literal["talk_stop"] = "talk_stop"


CAMERA_MESSAGES = (TalkStart, TalkPacket, TalkStop)
