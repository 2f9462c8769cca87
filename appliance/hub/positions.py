"""Positions on the server: location tracks and the organization's live positions feed
(SPEC S11, S17, D9; docs/decisions.md "Map and positions").

The server handles positions exactly like media: sealed kind-3 chunk frames it cannot open.

* **Location tracks** — while a camera reports positions without a live stream (S11 *Always*
  out of the dock), it opens a track (``track_start``: its content key wrapped for the system
  key, like a stream's) and sends its positions into it. A track's chunks are stored durably in
  the evidence store like a stream's (``evidence/<region>/<org>/<track id>/<seq>.bwc``), then
  acknowledged; the metadata row is in clear (camera, camera user, start, end). Each position is
  kept 24 hours of lab time (D8's retention, applied per position, because a track can stay
  open for days).
* **The live feed** — every position chunk that lands, from a stream or a track, goes to the
  organization's map subscribers with the wrapped key of its container, so the browser can
  unwrap and open it. A joining map gets, per camera still reporting, the last
  ``FEED_WINDOW`` seconds of its positions (D9's trails) before the live ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import deque
from dataclasses import dataclass, field

from bwlab.wire import chunk as wire_chunk
from bwlab.wire import messages as m
from bwlab.wire import positions as wire_positions

from ..db import Database
from ..devices import FEED_WINDOW, DeviceId
from ..fanout import Fanout, Subscriber
from . import store
from .containers import end_from_camera, upload_target
from .streams import MAX_SEQ_GAP, RETENTION, ChunkRejected, EvidenceStore, StreamHub, check_reopen

log = logging.getLogger(__name__)

FEED_MAX_PER_CAMERA = 64
FEED_QUEUE = 2048  # messages; a map that falls further behind is dropped and reconnects


@dataclass(frozen=True)
class Container:
    """A stream or a location track: what a browser needs to open its positions."""

    id: str
    kind: str  # "stream" | "track"
    org_id: str
    device: DeviceId
    user_id: str
    user_name: str
    wrapped_key: dict
    started_at: float

    def message(self) -> dict:
        return {
            "type": "container",
            "id": self.id,
            "kind": self.kind,
            "serial": self.device.serial,
            "user_id": self.user_id,
            "user_name": self.user_name,
            "wrapped_key": self.wrapped_key,
            "started_at": self.started_at,
        }


@dataclass
class _Camera:
    device: DeviceId
    container: Container
    frames: deque = field(default_factory=lambda: deque(maxlen=FEED_MAX_PER_CAMERA))  # (t, container, seq, frame)
    closed: bool = False


@dataclass
class _Track:
    id: str
    org_id: str
    device: DeviceId
    region: str
    upload_key: bytes
    ended_at: float | None
    last_seq: int | None


def frame_container_id(frame: bytes) -> str | None:
    """The container (stream or track) id in a chunk frame's header, without decoding the rest."""
    if len(frame) < wire_chunk.HEADER_SIZE or frame[:4] != wire_chunk.MAGIC:
        return None
    n = int.from_bytes(frame[6:8], "big")
    try:
        return frame[wire_chunk.HEADER_SIZE : wire_chunk.HEADER_SIZE + n].decode("ascii")
    except UnicodeDecodeError:
        return None


class PositionHub:
    """Location tracks of the whole cloud and the per-organization live feed."""

    def __init__(self, db: Database, evidence: EvidenceStore, streams: StreamHub):
        self.db = db
        self.evidence = evidence
        self.streams = streams
        self._tracks: dict[str, _Track] = {}
        self._containers: dict[str, Container] = {}  # open containers seen by the feed
        self._cameras: dict[str, dict[DeviceId, _Camera]] = {}  # org → camera → feed state
        self._subscribers: dict[str, Fanout[dict | bytes]] = {}  # org → its maps

    async def load(self) -> None:
        rows = await store.tracks(self.db)
        for r in rows:
            self._tracks[r["id"]] = _Track(
                r["id"],
                r["org_id"],
                DeviceId(r["cloud_system_id"], r["serial"]),
                r["region"],
                bytes.fromhex(r["upload_key"]),
                r["ended_at"],
                r["last_seq"],
            )

    # ---------------------------------------------------------------- tracks

    def owns(self, frame: bytes) -> bool:
        """Whether a chunk frame belongs to a location track (else it is a stream's)."""
        cid = frame_container_id(frame)
        return cid is not None and cid in self._tracks

    async def open_track(
        self,
        msg: wire_positions.TrackStart,
        *,
        org_id: str,
        device: DeviceId,
        region: str,
        upload_key: bytes,
        now: float,
    ) -> int:
        """Create (or, after a reconnect, find) a track; returns the next sequence number expected."""
        if not wire_positions.is_track_id(msg.track_id) or not msg.track_id.isascii():
            raise ChunkRejected("bad_track", f"a track id starts with {wire_positions.TRACK_PREFIX!r} and is ASCII")
        track = self._tracks.get(msg.track_id)
        if track is not None:
            check_reopen("track", track.device, track.upload_key, device, upload_key)
        else:
            await store.add_track(
                self.db,
                (
                    msg.track_id,
                    org_id,
                    device.system_id,
                    device.serial,
                    msg.user_id,
                    msg.user_name,
                    msg.mode,
                    region,
                    json.dumps(msg.wrapped_key),
                    upload_key.hex(),
                    msg.started_at,
                    now,
                ),
            )
            track = _Track(msg.track_id, org_id, device, region, upload_key, None, None)
            self._tracks[msg.track_id] = track
        if track.ended_at is None:
            self._containers[msg.track_id] = Container(
                msg.track_id, "track", org_id, device, msg.user_id, msg.user_name, msg.wrapped_key, msg.started_at
            )
        top = await store.track_top_seq(self.db, msg.track_id)
        return 0 if top is None else top + 1

    async def end_track(
        self, track_id: str, device: DeviceId, reason: str, last_seq: int | None, ended_at: float
    ) -> None:
        track = self._tracks.get(track_id)
        if track is None or track.device != device:
            raise ChunkRejected("foreign_stream", "no such track for this camera")
        if track.ended_at is None:
            await store.end_track(self.db, track_id, ended_at, reason, last_seq)
            track.ended_at, track.last_seq = ended_at, last_seq
        self.container_closed(track_id)

    async def store_chunk(self, frame: bytes, device: DeviceId, max_size: int, now: float) -> wire_chunk.Chunk:
        """Validate and store a track's position chunk durably; raises ChunkRejected, storing nothing."""
        try:
            c = wire_chunk.decode(frame, max_size)
        except wire_chunk.ChunkError as exc:
            raise ChunkRejected(exc.code, str(exc)) from None
        track = self._tracks.get(c.stream_id)
        if track is None:
            raise ChunkRejected("unknown_stream", f"no track {c.stream_id}; send track_start first")
        if track.device != device:
            raise ChunkRejected("foreign_stream", "the chunk is for another camera's track")
        if c.kind != wire_chunk.KIND_POSITION:
            raise ChunkRejected("bad_kind", "a location track holds positions only")
        if not wire_chunk.verify_upload_tag(track.upload_key, frame):
            raise ChunkRejected("tampered_chunk", "the chunk's upload tag does not match: it was altered")
        digest = hashlib.sha256(frame).hexdigest()
        existing = await store.track_chunk_digest(self.db, c.stream_id, c.seq)
        if existing is not None:
            if existing != digest:
                raise ChunkRejected("sequence_conflict", f"seq {c.seq} is stored already with other content")
            return c
        if track.ended_at is not None and track.last_seq is not None and c.seq > track.last_seq:
            raise ChunkRejected("wrong_sequence", f"seq {c.seq} is after the track's last position {track.last_seq}")
        top = await store.track_top_seq(self.db, c.stream_id)
        if c.seq > (top if top is not None else -1) + MAX_SEQ_GAP:
            raise ChunkRejected("wrong_sequence", f"seq {c.seq} is too far ahead of the track")
        await asyncio.to_thread(self.evidence.write_chunk, track.region, track.org_id, c.stream_id, c.seq, frame)
        await store.add_track_chunk(self.db, (c.stream_id, c.seq, c.capture_time, len(frame), digest, now))
        return c

    async def track_metadata(self, org_id: str, *, live_only: bool = False) -> list[dict]:
        out = []
        for r in await store.org_tracks(self.db, org_id, live_only=live_only):
            n = await store.track_chunk_count(self.db, r["id"])
            out.append(
                {
                    "id": r["id"],
                    "org_id": r["org_id"],
                    "system_id": r["cloud_system_id"],
                    "serial": r["serial"],
                    "user_id": r["user_id"],
                    "user_name": r["user_name"],
                    "mode": r["mode"],
                    "region": r["region"],
                    "started_at": r["started_at"],
                    "ended_at": r["ended_at"],
                    "end_reason": r["end_reason"],
                    "positions": n,
                    "live": r["ended_at"] is None,
                    "wrapped_key": json.loads(r["wrapped_key"]),
                }
            )
        return out

    async def track_frames(self, track_id: str) -> list[bytes]:
        track = self._tracks.get(track_id)
        if track is None:
            return []
        return [
            await asyncio.to_thread(self.evidence.read_chunk, track.region, track.org_id, track_id, seq)
            for seq in await store.track_seqs(self.db, track_id)
        ]

    # ---------------------------------------------------------------- retention (24 h per position)

    async def purge(self, now: float) -> int:
        """Delete positions stored more than 24 hours (lab time) ago, and tracks that ended as long ago."""
        cutoff = now - RETENTION
        rows = await store.track_chunks_before(self.db, cutoff)
        for r in rows:
            track = self._tracks.get(r["track_id"])
            if track is not None:
                await asyncio.to_thread(self.evidence.remove_chunk, track.region, track.org_id, r["track_id"], r["seq"])
        await store.delete_track_chunks_before(self.db, cutoff)
        ended = await store.tracks_ended_before(self.db, cutoff)
        for r in ended:
            await asyncio.to_thread(self.evidence.remove_stream, r["region"], r["org_id"], r["id"])
            await store.delete_track(self.db, r["id"])
            self._tracks.pop(r["id"], None)
        return len(rows)

    # ---------------------------------------------------------------- the live feed

    def on_position(self, org_id: str, device: DeviceId, c: wire_chunk.Chunk, frame: bytes) -> None:
        """A position chunk was stored (in a stream or a track): show it to the org's maps."""
        container = self._containers.get(c.stream_id)
        if container is None:
            live = self.streams.live.get(c.stream_id)
            if live is None:
                return  # a late resend into an ended stream: history, not live
            meta = live.meta
            container = Container(
                c.stream_id,
                "stream",
                org_id,
                device,
                meta.get("user_id", ""),
                meta.get("user_name", ""),
                meta.get("wrapped_key") or {},
                meta.get("started_at", 0.0),
            )
            self._containers[c.stream_id] = container
        cameras = self._cameras.setdefault(org_id, {})
        cam = cameras.get(device)
        announce = cam is None or cam.container.id != container.id or cam.closed
        if cam is None:
            cam = cameras[device] = _Camera(device, container)
        if any(seq == c.seq and held.id == container.id for _, held, seq, _ in cam.frames):
            return  # a resend after a reconnect: already shown
        cam.container, cam.closed = container, False
        cam.frames.append((c.capture_time, container, c.seq, frame))
        newest = max(t for t, *_ in cam.frames)
        while cam.frames and cam.frames[0][0] < newest - FEED_WINDOW:
            cam.frames.popleft()
        if announce:
            self._publish(org_id, container.message())
        self._publish(org_id, frame)

    def container_closed(self, container_id: str) -> None:
        """A stream ended or a track stopped: a camera reporting through it no longer is."""
        container = self._containers.pop(container_id, None)
        if container is None:
            return
        cam = self._cameras.get(container.org_id, {}).get(container.device)
        if cam is not None and cam.container.id == container_id:
            cam.closed = True
            self._publish(container.org_id, {"type": "closed", "id": container_id, "serial": container.device.serial})

    def subscribe(self, org_id: str) -> tuple[Subscriber[dict | bytes], list]:
        """A map joins: its subscriber, and the recent positions of every camera still reporting."""
        q = self._subscribers.setdefault(org_id, Fanout(FEED_QUEUE)).subscribe()
        snapshot: list = []
        for cam in self._cameras.get(org_id, {}).values():
            if cam.closed:
                continue
            announced: set[str] = set()
            for _, container, _, frame in cam.frames:
                if container.id not in announced:
                    announced.add(container.id)
                    snapshot.append(container.message())
                snapshot.append(frame)
        return q, snapshot

    def unsubscribe(self, org_id: str, q: Subscriber[dict | bytes]) -> None:
        subs = self._subscribers.get(org_id)
        if subs is not None:
            subs.unsubscribe(q)

    def _publish(self, org_id: str, message: dict | bytes) -> None:
        subs = self._subscribers.get(org_id)
        if subs is not None:
            subs.publish(message)  # a map that falls FEED_QUEUE behind is cut off and rejoins

    async def follow_streams(self) -> None:
        """Close the feed's stream containers as streams end (the StreamHub's change events)."""
        q: Subscriber[dict] = self.streams.changes.subscribe(1024, "drop_oldest")
        try:
            while True:
                event = await q.get()
                if event.get("type") == "stream_ended":
                    self.container_closed((event.get("stream") or {}).get("id", ""))
        finally:
            self.streams.changes.unsubscribe(q)


async def on_track_message(ws, ctx, session, hub: PositionHub, message, now: float) -> None:
    """``track_start`` / ``track_stop`` from a camera (S11)."""
    if isinstance(message, wire_positions.TrackStop):
        await end_from_camera(ws, hub.end_track, message.track_id, session.device, message, now)
        return
    try:
        upload_key, region = await upload_target(ctx.db, session.cloud_system_id, message.upload_key)
        next_seq = await hub.open_track(
            message, org_id=session.org_id, device=session.device, region=region, upload_key=upload_key, now=now
        )
    except ChunkRejected as exc:
        await ws.send_str(
            m.encode(wire_positions.TrackRefused(track_id=message.track_id, code=exc.code, message=exc.message))
        )
        return
    await ws.send_str(m.encode(wire_positions.TrackAccepted(track_id=message.track_id, next_seq=next_seq)))
