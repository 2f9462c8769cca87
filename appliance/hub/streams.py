"""Streams on the server side: durable evidence, live fan-out, retention (D3–D8, S17, S1).

The server stores and forwards ciphertext only. A chunk is acknowledged to the camera only
after its frame is on disk (written, fsynced, renamed into place) and its metadata row is
committed; a resent chunk that is already stored is acknowledged again and stored once. Live
subscribers get the init segment and the chunks since the last keyframe when they join (a GOP
cache of ciphertext frames), then every chunk as it lands; a subscriber that falls behind is
dropped rather than allowed to hold memory. Recordings are kept 24 hours of lab time (D8).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bwlab.errors import Refused
from bwlab.wire import chunk as wire_chunk

from .. import quarantine
from ..datadir import UnsafePath, under
from ..db import Database
from ..devices import DeviceId
from ..fanout import Fanout, Subscriber
from . import store

log = logging.getLogger(__name__)

RETENTION = 24 * 3600  # D8
SUBSCRIBER_QUEUE = 256  # frames; about 50 s of media
CHANGES_QUEUE = 256  # Active streams events a listener may fall behind before it is cut off
RESUME_GRACE = 120.0  # lab seconds a stream live at a restart waits for its camera to resume it
NOT_RESUMED = "not_resumed"  # the end reason of a stream its camera did not resume
MAX_SEQ_GAP = 100_000


class ChunkRejected(Refused):
    def __init__(self, code: str, message: str, stream_id: str | None = None, seq: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.stream_id = stream_id
        self.seq = seq


def check_reopen(kind: str, owner: DeviceId, stored_key: bytes, device: DeviceId, upload_key: bytes) -> None:
    """A start naming a stream or track (``kind``) that exists: only its own camera may open it
    again, with the same upload key; raises ChunkRejected."""
    if owner != device:
        raise ChunkRejected("foreign_stream", f"that {kind} id belongs to another camera")
    if stored_key != upload_key:
        raise ChunkRejected("stream_conflict", f"that {kind} exists with another upload key")


@dataclass
class _StreamInfo:
    device: DeviceId
    org_id: str
    region: str
    upload_key: bytes
    ended_at: float | None
    last_seq: int | None
    top: int  # the highest sequence number stored
    admitted: int = -1  # the highest sequence number handed to live viewers


@dataclass(slots=True)
class AdmittedChunk:
    """A chunk checked and forwarded live, not yet durable (``StreamHub.persist_chunk``)."""

    chunk: wire_chunk.Chunk
    frame: bytes
    digest: str
    info: _StreamInfo
    stored: bool  # a resend of a chunk already stored: nothing to write


class EvidenceStore:
    """Evidence files per region (S17, T5): ``evidence/<region>/<org>/<stream>/<seq>.bwc``.

    Every path is built with ``datadir.under`` inside the method that writes, reads or deletes
    (these run in a worker thread), so no name can lead outside the evidence directory."""

    def __init__(self, root: Path):
        self.root = root

    def stream_dir(self, region: str, org_id: str, stream_id: str) -> Path:
        return under(self.root, region, org_id, stream_id)

    def chunk_path(self, region: str, org_id: str, stream_id: str, seq: int) -> Path:
        return under(self.root, region, org_id, stream_id, f"{seq:012d}.bwc")

    def write_chunk(self, region: str, org_id: str, stream_id: str, seq: int, frame: bytes) -> None:
        """Write durably: temp file, fsync, rename, fsync of the directory."""
        path = self.chunk_path(region, org_id, stream_id, seq)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{threading.get_ident()}.tmp")  # two writers of one resend never share it
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            try:
                if os.write(fd, frame) != len(frame):
                    raise OSError(errno.ENOSPC, "short write: no space left on the device", str(tmp))
                os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException:  # e.g. a full disk: leave no partial file behind
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, path)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def read_chunk(self, region: str, org_id: str, stream_id: str, seq: int) -> bytes:
        return self.chunk_path(region, org_id, stream_id, seq).read_bytes()

    def remove_chunk(self, region: str, org_id: str, stream_id: str, seq: int) -> None:
        self.chunk_path(region, org_id, stream_id, seq).unlink(missing_ok=True)

    def remove_stream(self, region: str, org_id: str, stream_id: str) -> None:
        shutil.rmtree(self.stream_dir(region, org_id, stream_id), ignore_errors=True)


@dataclass
class LiveStream:
    """A stream's live state in memory: its GOP cache and its subscribers."""

    id: str
    org_id: str
    region: str
    meta: dict
    init: bytes | None = None
    gop: list[bytes] = field(default_factory=list)
    positions: list[bytes] = field(default_factory=list)
    subscribers: Fanout[bytes] = field(
        default_factory=lambda: Fanout(SUBSCRIBER_QUEUE)
    )  # viewers: the slow one is cut off
    low_latency: set[Subscriber[bytes]] = field(default_factory=set)  # viewers in the low-latency view
    ended: bool = False

    def add(self, c: wire_chunk.Chunk, frame: bytes) -> None:
        if c.kind == wire_chunk.KIND_INIT:
            self.init = frame
            self.gop = []
        elif c.kind == wire_chunk.KIND_MEDIA:
            if c.keyframe:
                self.gop = []
            self.gop.append(frame)
        else:
            self.positions = (self.positions + [frame])[-64:]
        self.subscribers.publish(frame)

    def snapshot(self) -> list[bytes]:
        """What a joining viewer receives first: init, then the current GOP."""
        return ([self.init] if self.init else []) + list(self.gop) + list(self.positions[-8:])


class StreamHub:
    """The streams of the whole cloud: store, fan out, purge."""

    def __init__(self, db: Database, evidence: EvidenceStore):
        self.db = db
        self.evidence = evidence
        self.live: dict[str, LiveStream] = {}
        self.recovered: dict[str, float] = {}  # streams live at the last stop → lab time of the restart
        self._info_cache: dict[str, _StreamInfo] = {}
        self.changes: Fanout[dict] = Fanout(CHANGES_QUEUE)  # Active streams listeners
        # Called with ("stream.started" | "stream.acknowledged" | "stream.ended", S17 metadata) right
        # after the event is committed (the SOC outbox, S12).
        self.observers: list[Callable[[str, dict], Awaitable[None]]] = []
        # Called with (stream id, camera, low) when a stream gains its first low-latency viewer or
        # loses its last (the hub tells the camera, ``viewer_latency``).
        self.latency_listeners: list[Callable[[str, DeviceId, bool], None]] = []

    # ---------------------------------------------------------------- streams

    async def open_stream(
        self,
        *,
        stream_id: str,
        org_id: str,
        device: DeviceId,
        user_id: str,
        user_name: str,
        reason: str,
        request_id: str | None,
        region: str,
        mime: str,
        wrapped_key: dict,
        upload_key: bytes,
        started_at: float,
        now: float,
        resume: bool,
    ) -> int:
        """Create (or resume) a stream; returns the next sequence number the hub expects."""
        cloud_system_id, serial = device.system_id, device.serial
        row = await store.stream(self.db, stream_id)
        if row is not None:
            owner = DeviceId(row["cloud_system_id"], row["serial"])
            check_reopen("stream", owner, bytes.fromhex(row["upload_key"]), device, upload_key)
            if row["ended_at"] is not None and not resume:
                raise ChunkRejected("stream_ended", "that stream has ended")
        else:
            await store.add_stream(
                self.db,
                (
                    stream_id,
                    org_id,
                    cloud_system_id,
                    serial,
                    user_id,
                    user_name,
                    reason,
                    request_id,
                    region,
                    mime,
                    json.dumps(wrapped_key),
                    upload_key.hex(),
                    started_at,
                    now,
                ),
            )
        if stream_id not in self.live and (row is None or row["ended_at"] is None):
            meta = await self.metadata(stream_id)
            self.live[stream_id] = LiveStream(stream_id, org_id, region, meta)
            await self._changed({"type": "stream_started", "stream": meta})
        if row is None:
            await self._notify("stream.started", stream_id)
        self.recovered.pop(stream_id, None)  # its camera resumed it
        last = await store.top_seq(self.db, stream_id)
        return 0 if last is None else last + 1

    async def end_stream(
        self, stream_id: str, device: DeviceId, reason: str, last_seq: int | None, ended_at: float
    ) -> None:
        row = await store.stream(self.db, stream_id)
        if row is None or DeviceId(row["cloud_system_id"], row["serial"]) != device:
            raise ChunkRejected("foreign_stream", "no such stream for this camera")
        if row["ended_at"] is not None and row["end_reason"] == NOT_RESUMED and reason != NOT_RESUMED:
            # the camera's own stop, sent after the hub had given up on it: the camera knows better
            await store.end_stream(self.db, stream_id, ended_at, reason, last_seq)
            self._info_cache.pop(stream_id, None)
        if row["ended_at"] is None:
            await store.end_stream(self.db, stream_id, ended_at, reason, last_seq)
            self._info_cache.pop(stream_id, None)
            await self._notify("stream.ended", stream_id)
        live = self.live.pop(stream_id, None)
        if live is not None:
            live.ended = True
            live.subscribers.close()  # each viewer gets what is queued, then "ended"
        await self._changed({"type": "stream_ended", "stream": await self.metadata(stream_id)})

    async def store_chunk(self, frame: bytes, device: DeviceId, max_size: int, now: float) -> wire_chunk.Chunk:
        """Validate and store one chunk frame durably; raises ChunkRejected, storing nothing."""
        return await self.persist_chunk(await self.admit_chunk(frame, device, max_size, now), now)

    async def admit_chunk(self, frame: bytes, device: DeviceId, max_size: int, now: float) -> AdmittedChunk:
        """Validate a chunk frame and hand it to the stream's live viewers; ``persist_chunk`` then
        makes it durable. Raises ChunkRejected (nothing forwarded, nothing stored)."""
        try:
            c = wire_chunk.decode(frame, max_size)
        except wire_chunk.ChunkError as exc:
            raise ChunkRejected(exc.code, str(exc)) from None
        try:
            return await self._admit(c, frame, device)
        except ChunkRejected as exc:
            exc.stream_id, exc.seq = c.stream_id, c.seq  # the camera can tell which chunk it was
            raise

    async def persist_chunk(self, admitted: AdmittedChunk, now: float) -> wire_chunk.Chunk:
        """Make an admitted chunk durable (evidence file, then its row); once this returns the
        camera may be acknowledged. Raises ChunkRejected for a sequence number stored meanwhile
        with other content."""
        c, info = admitted.chunk, admitted.info
        if admitted.stored or await self._stored_already(c, admitted.digest, info):
            return c  # stored once, acknowledged again
        try:
            await asyncio.to_thread(
                self.evidence.write_chunk, info.region, info.org_id, c.stream_id, c.seq, admitted.frame
            )
        except UnsafePath as exc:  # a stored row older than the wire's identifier check
            raise ChunkRejected("invalid_stream", exc.message, c.stream_id, c.seq) from None
        await store.add_chunk(
            self.db,
            (c.stream_id, c.seq, c.kind, c.capture_time, c.duration, int(c.keyframe), len(admitted.frame),
             admitted.digest, now),
        )  # fmt: skip
        info.top = max(info.top, c.seq)
        return c

    async def _info(self, stream_id: str) -> _StreamInfo | None:
        """What the chunk path needs to know of a stream, cached: no query per chunk."""
        info = self._info_cache.get(stream_id)
        if info is None:
            row = await store.stream(self.db, stream_id)
            if row is None:
                return None
            top = await store.top_seq(self.db, stream_id)
            info = _StreamInfo(
                DeviceId(row["cloud_system_id"], row["serial"]),
                row["org_id"],
                row["region"],
                bytes.fromhex(row["upload_key"]),
                row["ended_at"],
                row["last_seq"],
                -1 if top is None else top,
            )
            self._info_cache[stream_id] = info
        return info

    async def _admit(self, c: wire_chunk.Chunk, frame: bytes, device: DeviceId) -> AdmittedChunk:
        info = await self._info(c.stream_id)
        if info is None:
            raise ChunkRejected("unknown_stream", f"no stream {c.stream_id}; send stream_start first")
        if info.device != device:
            raise ChunkRejected("foreign_stream", "the chunk is for another camera's stream")
        if not wire_chunk.verify_upload_tag(info.upload_key, frame):
            raise ChunkRejected("tampered_chunk", "the chunk's upload tag does not match: it was altered")
        digest = hashlib.sha256(frame).hexdigest()
        if await self._stored_already(c, digest, info):
            return AdmittedChunk(c, frame, digest, info, stored=True)
        if info.ended_at is not None and info.last_seq is not None and c.seq > info.last_seq:
            raise ChunkRejected("wrong_sequence", f"seq {c.seq} is after the stream's last chunk {info.last_seq}")
        if c.seq > max(info.top, info.admitted) + MAX_SEQ_GAP:
            raise ChunkRejected("wrong_sequence", f"seq {c.seq} is too far ahead of the stream")
        info.admitted = max(info.admitted, c.seq)
        # Live viewers get a new chunk as it arrives (DESIGN "Media"), before it is made durable:
        # the fsyncs are the camera's acknowledgement's wait, not the picture's (docs/decisions.md).
        live = self.live.get(c.stream_id)
        if live is not None:
            live.add(c, frame)
        return AdmittedChunk(c, frame, digest, info, stored=False)

    async def _stored_already(self, c: wire_chunk.Chunk, digest: str, info: _StreamInfo) -> bool:
        """True for a resend of a stored chunk; ChunkRejected if that sequence number holds other
        content. Only a sequence number at or below the stored top asks the database."""
        if c.seq > info.top:
            return False
        existing = await store.chunk_digest(self.db, c.stream_id, c.seq)
        if existing is None:
            return False  # a gap being filled
        if existing != digest:
            raise ChunkRejected(
                "sequence_conflict", f"seq {c.seq} is stored already with other content", c.stream_id, c.seq
            )
        return True

    # ---------------------------------------------------------------- reading

    async def metadata(self, stream_id: str) -> dict:
        """S17 metadata, in clear: user id and name, stream id, organization, start, end, duration."""
        r = await store.stream(self.db, stream_id)
        if r is None:
            return {}
        end = r["ended_at"]
        last = await store.chunk_totals(self.db, stream_id)
        return {
            "id": r["id"],
            "org_id": r["org_id"],
            "system_id": r["cloud_system_id"],
            "serial": r["serial"],
            "user_id": r["user_id"],
            "user_name": r["user_name"],
            "reason": r["reason"],
            "region": r["region"],
            "mime": r["mime"],
            "started_at": r["started_at"],
            "ended_at": end,
            "end_reason": r["end_reason"],
            "duration": ((end if end is not None else (last["t"] or r["started_at"])) - r["started_at"]),
            "chunks": last["n"],
            "live": end is None,
            "acknowledged_by": r["acknowledged_by"],
            "acknowledged_at": r["acknowledged_at"],
            "wrapped_key": json.loads(r["wrapped_key"]),
        }

    async def chunk_frames(self, stream_id: str, after_seq: int = -1, limit: int = 500) -> list[bytes]:
        r = await store.stream(self.db, stream_id)
        if r is None:
            return []
        frames = []
        for seq in await store.chunk_seqs(self.db, stream_id, after_seq, limit):
            frames.append(await asyncio.to_thread(self.evidence.read_chunk, r["region"], r["org_id"], stream_id, seq))
        return frames

    def subscribe(self, stream_id: str, *, low_latency: bool = False) -> tuple[Subscriber[bytes], list[bytes]] | None:
        """A viewer joins: its queue and what it gets first. ``low_latency``: it plays in the
        low-latency view, so the camera is asked to send its media in small chunks."""
        live = self.live.get(stream_id)
        if live is None:
            return None
        sub = live.subscribers.subscribe()
        if low_latency:
            live.low_latency.add(sub)
            if len(live.low_latency) == 1:
                self._latency_changed(live)
        return sub, live.snapshot()

    def unsubscribe(self, stream_id: str, sub: Subscriber[bytes]) -> None:
        live = self.live.get(stream_id)
        if live is not None:
            live.subscribers.unsubscribe(sub)
            if sub in live.low_latency:
                live.low_latency.discard(sub)
                if not live.low_latency:
                    self._latency_changed(live)

    def wants_low_latency(self, stream_id: str) -> bool:
        """Whether the stream has viewers in the low-latency view now."""
        live = self.live.get(stream_id)
        return live is not None and bool(live.low_latency)

    def _latency_changed(self, live: LiveStream) -> None:
        device = DeviceId(live.meta.get("system_id", ""), live.meta.get("serial", ""))
        for listener in list(self.latency_listeners):
            listener(live.id, device, bool(live.low_latency))

    async def _changed(self, event: dict) -> None:
        self.changes.publish(event)

    async def acknowledge(self, stream_id: str, operator: str, now: float) -> None:
        await store.acknowledge_stream(self.db, stream_id, operator, now)
        await self._changed({"type": "stream_acknowledged", "stream": await self.metadata(stream_id)})
        await self._notify("stream.acknowledged", stream_id)

    async def _notify(self, event_type: str, stream_id: str) -> None:
        if not self.observers:
            return
        meta = await self.metadata(stream_id)
        for observer in list(self.observers):
            try:
                await observer(event_type, meta)
            except Exception:  # an observer's failure must not fail the camera's request
                log.exception("stream observer failed on %s of %s", event_type, stream_id)

    # ---------------------------------------------------------------- retention (D8)

    async def purge(self, now: float) -> int:
        """Delete recordings that ended more than 24 hours (lab time) ago, and the evidence of
        rows quarantined as long ago (their end time could not be trusted)."""
        rows = await store.streams_ended_before(self.db, now - RETENTION)
        purged = 0
        for r in rows:
            try:
                await asyncio.to_thread(self.evidence.remove_stream, r["region"], r["org_id"], r["id"])
            except UnsafePath as exc:
                await quarantine.move_aside(self.db, "streams", r, f"evidence path refused: {exc.message}", now)
                continue
            await store.delete_stream(self.db, r["id"])
            self._info_cache.pop(r["id"], None)
            purged += 1
        for q in await quarantine.expired(self.db, now - RETENTION):
            region, org_id, stream_id = q.get("region"), q.get("org_id"), q.get("id")
            if not (isinstance(region, str) and isinstance(org_id, str) and isinstance(stream_id, str)):
                continue  # a row too broken to name any evidence: nothing of it to remove
            try:
                await asyncio.to_thread(self.evidence.remove_stream, region, org_id, stream_id)
            except UnsafePath as exc:  # nothing of it can be where a bad name points
                log.warning("quarantined row %s: evidence left alone: %s", q["quarantine_id"], exc.message)
            await quarantine.forget(self.db, q["quarantine_id"])
        return purged

    async def quarantine_bad_rows(self, now: float) -> int:
        """At start-up: move aside stream rows no check would accept now (issue 10)."""
        return await quarantine.sweep(self.db, "streams", now)

    async def end_not_resumed(self, stream_id: str) -> None:
        """End a live stream its camera does not go on with (it restarted, or the appliance did
        and the camera never came back for it): a recording up to its last chunk."""
        self.recovered.pop(stream_id, None)
        meta = await self.metadata(stream_id)
        if meta and meta["live"]:
            log.info("stream %s of camera %s: not resumed by its camera, ended", stream_id, meta["serial"])
            await self.end_stream(
                stream_id,
                DeviceId(meta["system_id"], meta["serial"]),
                NOT_RESUMED,
                None,
                meta["started_at"] + meta["duration"],
            )

    async def reconcile_camera(self, device: DeviceId, keep: set[str]) -> int:
        """A camera connected afresh and said which stream it has: end its other live streams."""
        ghosts = [
            sid
            for sid, live in self.live.items()
            if DeviceId(live.meta.get("system_id", ""), live.meta.get("serial", "")) == device and sid not in keep
        ]
        for stream_id in ghosts:
            await self.end_not_resumed(stream_id)
        return len(ghosts)

    async def end_unresumed(self, now: float, grace: float = RESUME_GRACE) -> int:
        """Streams live at the last stop that no camera resumed within ``grace`` lab seconds."""
        due = [sid for sid, at in self.recovered.items() if now - at >= grace]
        for stream_id in due:
            await self.end_not_resumed(stream_id)
        return len(due)

    async def recover(self, now: float) -> None:
        """After a restart, streams that had not ended are live again (their cameras will resend);
        those not resumed within ``RESUME_GRACE`` are ended by ``end_unresumed``. A stream whose
        evidence cannot be read back is live without its cached frames."""
        rows = await store.unended_streams(self.db)
        for r in rows:
            self.recovered[r["id"]] = now
            live = LiveStream(r["id"], r["org_id"], r["region"], await self.metadata(r["id"]))
            try:
                frames = await self.chunk_frames(r["id"], -1, 100_000)
                for frame in frames[-400:] if len(frames) > 400 else frames:
                    c = wire_chunk.decode(frame)
                    live.add(c, frame)
            except (OSError, ValueError, UnsafePath) as exc:
                log.warning(
                    "stream %s: its evidence cannot be read back (%s); live without cached frames", r["id"], exc
                )
                live = LiveStream(r["id"], r["org_id"], r["region"], live.meta)
                frames = []
            if frames and live.init is None:
                live.init = frames[0]
            self.live[r["id"]] = live
