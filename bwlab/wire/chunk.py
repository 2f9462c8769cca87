"""The media chunk frame: a cleartext header followed by the sealed payload (DESIGN "Media").

One binary WebSocket frame carries one chunk, from camera to hub and from hub to viewers, and
the evidence store keeps exactly these bytes. The header stays in clear because the server
needs it (ordering, keyframes for the GOP cache, capture time for S1, retention); everything
that is video, audio or a position is in the payload, sealed with ``envelope.seal_chunk``.

Layout, big-endian (version 1)::

    0   4  magic  b"BWC1"
    4   1  kind   1 = init segment, 2 = media fragment, 3 = position (envelope.ChunkKind)
    5   1  flags  bit 0: the fragment begins with a keyframe
    6   2  stream id length n (1..64)
    8   8  seq    unsigned; unique within the stream across all kinds
    16  8  capture time, microseconds since the POSIX epoch, camera clock (signed)
    24  4  duration, microseconds of media in the chunk (0 for init and positions)
    28  n  stream id, ASCII
    28+n   sealed payload (AES-256-GCM ciphertext || tag)
    -16    upload tag: HMAC-SHA256 over everything before it, truncated to 16 bytes

The upload tag is keyed with the stream's upload key, which the camera sends to the hub in
``stream_start`` (it is not an end-to-end key: it only lets the hub, and later an audit of the
evidence store, tell a chunk that was altered after the camera made it). Viewers skip it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass

from bwlab.errors import WireError

from .identifiers import MAX_SEQ, is_id

MAGIC = b"BWC1"
_HEAD = struct.Struct(">4sBBHQqI")
HEADER_SIZE = _HEAD.size
KIND_INIT, KIND_MEDIA, KIND_POSITION = 1, 2, 3
KIND_NAMES = {KIND_INIT: "init", KIND_MEDIA: "media", KIND_POSITION: "position"}
FLAG_KEYFRAME = 0x01
MAX_STREAM_ID = 64
TAG_SIZE = 16
UPLOAD_TAG_SIZE = 16


class ChunkError(WireError, ValueError):
    """A frame that is not a valid chunk; ``code`` is stable."""

    def __init__(self, message: str, code: str = "bad_chunk"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Chunk:
    stream_id: str
    kind: int
    seq: int
    capture_time: float  # seconds, camera clock
    duration: float  # seconds
    keyframe: bool
    payload: bytes  # sealed

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    def encode(self, upload_key: bytes) -> bytes:
        sid = self.stream_id.encode("ascii")
        if not 1 <= len(sid) <= MAX_STREAM_ID:
            raise ChunkError("stream id must be 1 to 64 ASCII characters")
        head = _HEAD.pack(
            MAGIC,
            self.kind,
            FLAG_KEYFRAME if self.keyframe else 0,
            len(sid),
            self.seq,
            round(self.capture_time * 1_000_000),
            round(self.duration * 1_000_000),
        )
        body = head + sid + self.payload
        return body + upload_tag(upload_key, body)


def decode_upload_key(text: str) -> bytes:
    """The 32-byte upload key a ``stream_start`` (or ``track_start``) carries as base64url;
    ValueError if it is not one."""
    key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(key) != 32:
        raise ValueError("upload_key must be 32 bytes, base64url")
    return key


def upload_tag(upload_key: bytes, body: bytes) -> bytes:
    return hmac.new(upload_key, body, hashlib.sha256).digest()[:UPLOAD_TAG_SIZE]


def verify_upload_tag(upload_key: bytes, frame: bytes) -> bool:
    """Whether the frame's upload tag matches: the chunk is as the camera made it."""
    return hmac.compare_digest(upload_tag(upload_key, frame[:-UPLOAD_TAG_SIZE]), frame[-UPLOAD_TAG_SIZE:])


def decode(frame: bytes, max_size: int | None = None) -> Chunk:
    if max_size is not None and len(frame) > max_size:
        raise ChunkError(f"chunk of {len(frame)} bytes is larger than the {max_size} accepted", "chunk_too_large")
    if len(frame) < HEADER_SIZE:
        raise ChunkError("chunk is shorter than its header", "truncated_chunk")
    magic, kind, flags, sid_len, seq, capture_us, duration_us = _HEAD.unpack_from(frame)
    if magic != MAGIC:
        raise ChunkError("chunk does not start with BWC1", "bad_magic")
    if kind not in KIND_NAMES:
        raise ChunkError(f"unknown chunk kind {kind}", "bad_kind")
    if not 1 <= sid_len <= MAX_STREAM_ID:
        raise ChunkError("stream id length out of range", "bad_chunk")
    end = HEADER_SIZE + sid_len
    if len(frame) < end + TAG_SIZE + UPLOAD_TAG_SIZE:
        raise ChunkError("chunk is truncated: no room for the sealed payload and upload tag", "truncated_chunk")
    try:
        stream_id = frame[HEADER_SIZE:end].decode("ascii")
    except UnicodeDecodeError:
        raise ChunkError("stream id is not ASCII", "bad_chunk") from None
    if seq > MAX_SEQ:
        raise ChunkError(f"seq {seq} is larger than {MAX_SEQ}", "bad_chunk")
    if not is_id(stream_id):
        raise ChunkError("stream id must be letters, digits, '_' and '-' (identifiers.ID_PATTERN)", "bad_chunk")
    return Chunk(
        stream_id=stream_id,
        kind=kind,
        seq=seq,
        capture_time=capture_us / 1_000_000,
        duration=duration_us / 1_000_000,
        keyframe=bool(flags & FLAG_KEYFRAME),
        payload=bytes(frame[end:-UPLOAD_TAG_SIZE]),
    )
