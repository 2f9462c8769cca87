"""Bad input on the device hub is refused with a stable code and loses nothing else (issue 3
"must show"; DESIGN "Storage"; D8, S17).

The test speaks the device hub protocol itself, as a camera would, with the key and certificate
of a camera it docked through the dock API: hello, ``stream_start``, sealed chunk frames
(bwlab.wire.chunk) carrying real H.264/AAC from the camera's encoder. Between the good chunks it
sends truncated frames, tampered ciphertext, a second version of a stored sequence number, a
sequence far ahead, a chunk for another camera's stream, an oversized chunk and garbage text:
each gets a ``chunk_refused`` or ``error`` naming its code, the link stays up, nothing of it
reaches the evidence store or the database, and the recording still plays whole.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import sqlite3
import ssl
import uuid
from dataclasses import dataclass

import aiohttp
import pytest

from appliance.context import ApplianceConfig
from bwlab.client import Session
from bwlab.wire import chunk as wire_chunk
from bwlab.wire import envelope
from bwlab.wire import messages as m
from bwlab.wire import positions as wire_positions
from bwlab.wire.device_auth import answer_challenge, make_csr, new_device_key
from firmware_stub.media.live import LiveEncoder
from firmware_stub.media.stream import MediaChunk

ANNA = ("B8A44F000101", "Dock A", 1)
BEN = ("B8A44F000102", "Dock A", 2)
MAX_CHUNK = ApplianceConfig(data_dir=None).max_chunk  # what the appliance fixture runs with


@dataclass
class HubStream:
    """One stream as a camera sends it: its keys and how to make its chunk frames."""

    stream_id: str
    content_key: bytes
    upload_key: bytes

    def frame(self, seq: int, media: MediaChunk, *, upload_key: bytes | None = None) -> bytes:
        kind = wire_chunk.KIND_INIT if media.kind == "init" else wire_chunk.KIND_MEDIA
        sealed = envelope.seal_chunk(self.content_key, self.stream_id, kind, seq, media.data)
        return wire_chunk.Chunk(
            self.stream_id, kind, seq, media.capture_time, media.duration, media.keyframe, sealed
        ).encode(upload_key or self.upload_key)


class HubCamera:
    """A docked camera's identity, speaking the device hub protocol directly."""

    def __init__(self, appliance, provisioning: dict, key, serial: str):
        self.appliance, self.provisioning, self.key, self.serial = appliance, provisioning, key, serial
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._http = aiohttp.ClientSession()
        self._ssl = ssl.create_default_context(cadata=appliance.ca_pem)

    async def hello(self) -> m.Welcome | m.Error:
        """Connect and send the hello; the hub's answer (welcome or refusal)."""
        url = self.appliance.url.replace("https://", "wss://") + "/hub/v1/devices"
        self.ws = await self._http.ws_connect(url, ssl=self._ssl, max_msg_size=0)
        challenge = await self.receive(m.Challenge)
        await self.ws.send_str(
            m.encode(
                m.Hello(
                    serial=self.serial,
                    certificate=self.provisioning["certificate"],
                    signature=answer_challenge(self.key, challenge.nonce),
                )
            )
        )
        return await self.receive(m.Welcome, m.Error)

    async def connect(self) -> None:
        answer = await self.hello()
        assert isinstance(answer, m.Welcome), f"expected a welcome, got {answer}"

    async def receive(self, *expected: type):
        assert self.ws is not None
        msg = await self.ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.TEXT, f"expected a message, got {msg.type!r} {msg.data!r}"
        message = m.decode(msg.data)
        assert isinstance(message, expected), f"expected {[t.__name__ for t in expected]}, got {message}"
        return message

    async def open_stream(self, mime: str) -> HubStream:
        stream = HubStream(uuid.uuid4().hex, os.urandom(32), os.urandom(32))
        public = envelope.public_key_from_b64(self.provisioning["e2e"]["public_key"])
        user = self.provisioning["camera_user"]
        await self.send_text(
            m.encode(
                m.StreamStart(
                    stream_id=stream.stream_id,
                    reason="record",
                    mime=mime,
                    started_at=self.appliance.clock.now(),
                    wrapped_key=envelope.wrap_content_key(public, stream.stream_id, stream.content_key),
                    user_id=user["id"],
                    user_name=user["name"],
                    upload_key=base64.urlsafe_b64encode(stream.upload_key).decode().rstrip("="),
                )
            )
        )
        accepted = await self.receive(m.StreamAccepted)
        assert accepted.stream_id == stream.stream_id and accepted.next_seq == 0
        return stream

    async def send_text(self, text: str) -> None:
        assert self.ws is not None
        await self.ws.send_str(text)

    async def stored(self, frame: bytes) -> m.ChunkAck:
        """Send a chunk frame that must be stored: the hub acknowledges exactly it."""
        assert self.ws is not None
        await self.ws.send_bytes(frame)
        ack = await self.receive(m.ChunkAck)
        c = wire_chunk.decode(frame)
        assert (ack.stream_id, ack.seq) == (c.stream_id, c.seq)
        return ack

    async def refused(self, frame: bytes) -> str:
        """Send a chunk frame that must be refused; returns the refusal's code."""
        assert self.ws is not None
        await self.ws.send_bytes(frame)
        refusal = await self.receive(m.ChunkRefused)
        assert refusal.message
        return refusal.code

    async def error(self, text: str) -> str:
        await self.send_text(text)
        error = await self.receive(m.Error)
        assert error.message
        return error.code

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self._http.close()


@pytest.fixture
async def hub_camera(appliance, demo_lab):
    """Factory: ``await hub_camera((serial, dock, bay))`` docks the demo camera with a fresh key
    through the dock API and returns it, connected to the device hub."""
    system = demo_lab.systems[0]
    cameras: list[HubCamera] = []

    async def make(which: tuple[str, str, int]) -> HubCamera:
        serial, dock, bay = which
        key = new_device_key()
        async with Session(appliance.url, appliance.ca_pem, token=appliance.lab_token) as lab:
            provisioning = await lab.post(
                f"/controller/{system.id}/api/docks/{system.docks[dock]}/bays/{bay}",
                {"serial": serial, "csr": make_csr(key, serial)},
            )
        camera = HubCamera(appliance, provisioning, key, serial)
        cameras.append(camera)
        await camera.connect()
        return camera

    yield make
    for camera in cameras:
        await camera.close()


def _encode_media(user: str, start: float, seconds: float) -> tuple[str, list[MediaChunk]]:
    encoder = LiveEncoder(user)
    chunks, t = [], start
    while t < start + seconds:
        chunks += encoder.feed(t)
        t += 0.05
    chunks += encoder.close(t)
    return encoder.mime, chunks


def _stored_rows(data_dir, stream_id: str) -> list[tuple[int, str]]:
    db = sqlite3.connect(f"file:{data_dir / 'cloud.sqlite3'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT seq, digest FROM chunks WHERE stream_id = ? ORDER BY seq", (stream_id,)).fetchall()
    finally:
        db.close()


# covers: S17, D5, D8
async def test_bad_chunks_are_refused_and_lose_nothing(appliance, demo_lab, demo_viewer, hub_camera, poll):
    anna = await hub_camera(ANNA)
    mime, media = await asyncio.to_thread(_encode_media, "Anna Berg", appliance.clock.now(), 1.2)
    assert media[0].kind == "init" and len(media) >= 6
    stream = await anna.open_stream(mime)
    good = [stream.frame(seq, chunk) for seq, chunk in enumerate(media)]
    await anna.stored(good[0])
    await anna.stored(good[1])

    # Truncated frames: shorter than the header; no room for the sealed payload; cut at the end.
    assert await anna.refused(good[2][:10]) == "truncated_chunk"
    assert await anna.refused(good[2][: wire_chunk.HEADER_SIZE + 32 + 20]) == "truncated_chunk"
    assert await anna.refused(good[2][:-100]) == "tampered_chunk"  # its upload tag no longer matches

    # Tampered: one byte of ciphertext flipped; a header field changed without the upload key.
    flipped = bytearray(good[2])
    flipped[len(flipped) // 2] ^= 0x01
    assert await anna.refused(bytes(flipped)) == "tampered_chunk"
    reseq = bytearray(good[2])
    reseq[8:16] = (5).to_bytes(8, "big")
    assert await anna.refused(bytes(reseq)) == "tampered_chunk"
    await anna.stored(good[2])  # the real seq 2 is taken: nothing of the tampered ones was stored

    # The same sequence number again with other content (sealed and tagged as the camera would).
    assert await anna.refused(stream.frame(1, media[3])) == "sequence_conflict"
    await anna.stored(good[1])  # a resend of what is stored is acknowledged again, stored once
    # A sequence number out of any plausible range.
    assert await anna.refused(stream.frame(10**9, media[3])) == "wrong_sequence"
    # A frame for a stream the hub does not know.
    stranger = HubStream(uuid.uuid4().hex, os.urandom(32), os.urandom(32))
    assert await anna.refused(stranger.frame(0, media[0])) == "unknown_stream"

    # Another camera's stream: a chunk with a valid upload tag for it, a stream_start and a
    # stream_stop naming it — all refused; that stream goes on.
    ben = await hub_camera(BEN)
    ben_stream = await ben.open_stream(mime)
    ben_frames = [ben_stream.frame(seq, chunk) for seq, chunk in enumerate(media[:2])]
    await ben.stored(ben_frames[0])
    assert await anna.refused(ben_stream.frame(1, media[1])) == "foreign_stream"
    await anna.send_text(
        m.encode(
            m.StreamStart(
                stream_id=ben_stream.stream_id,
                reason="record",
                mime=mime,
                started_at=appliance.clock.now(),
                wrapped_key={},
                user_id="x",
                user_name="x",
                upload_key=base64.urlsafe_b64encode(ben_stream.upload_key).decode().rstrip("="),
            )
        )
    )
    refusal = await anna.receive(m.StreamRefused)
    assert (refusal.stream_id, refusal.code) == (ben_stream.stream_id, "foreign_stream")
    assert await anna.error(m.encode(m.StreamStop(stream_id=ben_stream.stream_id, reason="user"))) == "foreign_stream"
    await ben.stored(ben_frames[1])
    live = {s["id"] for s in await demo_viewer.streams("live")}
    assert live == {stream.stream_id, ben_stream.stream_id}

    # Oversized: one byte over the hub's limit, well formed and correctly tagged.
    big = MediaChunk("media", os.urandom(MAX_CHUNK), media[3].capture_time, False, 0.2, 3, 9)
    oversized = stream.frame(3, big)
    assert len(oversized) > MAX_CHUNK
    assert await anna.refused(oversized) == "chunk_too_large"

    # Garbage: text that is not JSON, not an object, an unknown type, a message missing fields;
    # binary that is not a chunk frame.
    assert await anna.error("this is not json {") == "malformed_json"
    assert await anna.error("[1, 2, 3]") == "bad_message"
    assert await anna.error('{"type": "launch_missiles"}') == "unexpected_message"
    assert await anna.error('{"type": "stream_start", "stream_id": "x"}') == "invalid_message"
    assert await anna.error('{"type": "chunk_ack", "stream_id": "x", "seq": 1}') == "unexpected_message"
    assert await anna.refused(b"\x00" * 200) == "bad_magic"
    assert await anna.refused(b"BWC1\x09" + good[3][5:]) == "bad_kind"

    # The rest of the stream, then its end; nothing may follow the last chunk.
    for frame in good[3:]:
        await anna.stored(frame)
    last = len(good) - 1
    await anna.send_text(
        m.encode(m.StreamStop(stream_id=stream.stream_id, reason="user", last_seq=last, ended_at=appliance.clock.now()))
    )
    await poll(lambda: _recorded(demo_viewer, stream.stream_id), "the stream to end")
    assert await anna.refused(stream.frame(last + 1, media[3])) == "wrong_sequence"

    # A frame too big even to read (over the WebSocket's message limit) ends that connection
    # (the hub closes with 1009; the unread rest of the frame makes the close arrive as a
    # reset) and stores nothing either.
    await anna.close()
    anna = await hub_camera(ANNA)
    assert anna.ws is not None
    huge = MediaChunk("media", os.urandom(MAX_CHUNK + 8192), 0, False, 0, 0, 0)
    await anna.ws.send_bytes(stream.frame(last + 1, huge))
    closed = await anna.ws.receive(timeout=5)
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    assert anna.ws.closed

    # Exactly the good frames are stored: in the database and, byte for byte, in the evidence store.
    rows = await asyncio.to_thread(_stored_rows, appliance.data_dir, stream.stream_id)
    assert rows == [(seq, hashlib.sha256(frame).hexdigest()) for seq, frame in enumerate(good)]
    evidence = sorted(p for p in (appliance.data_dir / "evidence").rglob("*") if p.is_file())
    anna_dir = {p for p in evidence if p.parent.name == stream.stream_id}
    assert [p.read_bytes() for p in sorted(anna_dir)] == good
    assert {p for p in evidence if p.parent.name == ben_stream.stream_id} and all(
        p.suffix == ".bwc" for p in evidence
    ), "no stray or temporary files"
    assert [p.read_bytes() for p in sorted(p for p in evidence if p.parent.name == ben_stream.stream_id)] == ben_frames
    assert len(evidence) == len(good) + len(ben_frames)

    # The recording plays whole: every chunk once, every frame in order, the sound.
    report = await demo_viewer.watch(stream.stream_id, recording=True)
    assert report.ended and report.seqs == list(range(len(good)))
    assert report.video_frames == sum(c.video_frames for c in media) >= 15
    assert report.frame_counters == list(range(report.video_frames))
    assert report.audio_frames == sum(c.audio_frames for c in media) > 0
    assert report.user_name == "Anna Berg"


def _b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


# covers: D3, S11, S17
async def test_a_stream_or_track_start_is_refused_with_its_code(appliance, hub_camera):
    """A stream and a location track are refused alike: a bad upload key, an id of another
    camera's, the same id again with another upload key; a stop naming another camera's."""
    anna, ben = await hub_camera(ANNA), await hub_camera(BEN)
    now = appliance.clock.now()

    def stream_start(stream_id: str, upload_key: str) -> str:
        return m.encode(
            m.StreamStart(
                stream_id=stream_id,
                reason="record",
                mime="video/mp4",
                started_at=now,
                wrapped_key={},
                user_id="x",
                user_name="x",
                upload_key=upload_key,
            )
        )

    def track_start(track_id: str, upload_key: str) -> str:
        return m.encode(
            wire_positions.TrackStart(
                track_id=track_id, wrapped_key={}, started_at=now, user_id="x", user_name="x", upload_key=upload_key
            )
        )

    key, other_key = os.urandom(32), os.urandom(32)
    stream_id, track_id = uuid.uuid4().hex, wire_positions.TRACK_PREFIX + uuid.uuid4().hex
    for start, refused, accepted, ident in (
        (stream_start, m.StreamRefused, m.StreamAccepted, stream_id),
        (track_start, wire_positions.TrackRefused, wire_positions.TrackAccepted, track_id),
    ):
        await ben.send_text(start(ident, "not a key"))
        refusal = await ben.receive(refused)
        assert refusal.code == "invalid_message" and "upload_key" in refusal.message, refusal
        await ben.send_text(start(ident, _b64(key)))
        assert (await ben.receive(accepted)).next_seq == 0
        await ben.send_text(start(ident, _b64(other_key)))
        refusal = await ben.receive(refused)
        assert refusal.code == "stream_conflict" and "another upload key" in refusal.message, refusal
        await anna.send_text(start(ident, _b64(key)))
        refusal = await anna.receive(refused)
        assert refusal.code == "foreign_stream" and "another camera" in refusal.message, refusal
    assert await anna.error(m.encode(m.StreamStop(stream_id=stream_id, reason="user"))) == "foreign_stream"
    assert await anna.error(m.encode(wire_positions.TrackStop(track_id=track_id, reason="user"))) == "foreign_stream"
    await ben.send_text(track_start(track_id, _b64(key)))  # both still belong to Ben, unchanged
    assert (await ben.receive(wire_positions.TrackAccepted)).track_id == track_id


async def _recorded(viewer, stream_id: str) -> bool:
    return any(s["id"] == stream_id for s in await viewer.streams("recorded"))


# covers: S17
async def test_a_frame_over_the_socket_limit_closes_with_1009_and_the_camera_carries_on(
    appliance, demo_lab, demo_viewer, hub_camera
):
    """A binary frame larger than the hub's WebSocket limit (the largest chunk plus its header
    room) is not read into the evidence store: the hub closes the socket with 1009 (message too
    big, RFC 6455), and the camera reconnects and goes on with the stream it had."""
    anna = await hub_camera(ANNA)
    mime, media = await asyncio.to_thread(_encode_media, "Anna Berg", appliance.clock.now(), 0.6)
    stream = await anna.open_stream(mime)
    good = [stream.frame(seq, chunk) for seq, chunk in enumerate(media)]
    await anna.stored(good[0])
    await anna.ws.send_bytes(os.urandom(MAX_CHUNK + 64 * 1024))
    closing = await anna.ws.receive(timeout=5)
    assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, aiohttp.WSCloseCode.MESSAGE_TOO_BIG), closing

    await anna.connect()
    for frame in good[1:]:
        await anna.stored(frame)
    assert [seq for seq, _ in _stored_rows(appliance.data_dir, stream.stream_id)] == list(range(len(good)))
