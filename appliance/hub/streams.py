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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

from bwlab.wire import chunk as wire_chunk

from ..db import Database

log = logging.getLogger(__name__)

RETENTION = 24 * 3600  # D8
SUBSCRIBER_QUEUE = 256  # frames; about 50 s of media
MAX_SEQ_GAP = 100_000


class ChunkRejected(Exception):
    def __init__(self, code: str, message: str, stream_id: str | None = None, seq: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.stream_id = stream_id
        self.seq = seq


@dataclass
class _StreamInfo:
    serial: str
    org_id: str
    region: str
    upload_key: bytes
    ended_at: float | None
    last_seq: int | None
    top: int  # the highest sequence number stored


class EvidenceStore:
    """Evidence files per region (S17, T5): ``evidence/<region>/<org>/<stream>/<seq>.bwc``."""

    def __init__(self, root: Path):
        self.root = root

    def stream_dir(self, region: str, org_id: str, stream_id: str) -> Path:
        return self.root / region / org_id / stream_id

    def chunk_path(self, region: str, org_id: str, stream_id: str, seq: int) -> Path:
        return self.stream_dir(region, org_id, stream_id) / f"{seq:012d}.bwc"

    def write(self, path: Path, frame: bytes) -> None:
        """Write durably: temp file, fsync, rename, fsync of the directory."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
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

    def read(self, path: Path) -> bytes:
        return path.read_bytes()

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
    subscribers: set[asyncio.Queue] = field(default_factory=set)
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
        for q in list(self.subscribers):
            try:
                q.put_nowait(frame)
            except asyncio.QueueFull:
                self.subscribers.discard(q)
                q.put_nowait_overflow = True  # type: ignore[attr-defined]

    def snapshot(self) -> list[bytes]:
        """What a joining viewer receives first: init, then the current GOP."""
        return ([self.init] if self.init else []) + list(self.gop) + list(self.positions[-8:])


class StreamHub:
    """The streams of the whole cloud: store, fan out, purge."""

    def __init__(self, db: Database, evidence: EvidenceStore):
        self.db = db
        self.evidence = evidence
        self.live: dict[str, LiveStream] = {}
        self._info_cache: dict[str, _StreamInfo] = {}
        self.changes: set[asyncio.Queue] = set()  # Active streams listeners
        # Called with ("stream.started" | "stream.acknowledged" | "stream.ended", S17 metadata) right
        # after the event is committed (the SOC outbox, S12).
        self.observers: list[Callable[[str, dict], Awaitable[None]]] = []

    # ---------------------------------------------------------------- streams

    async def open_stream(self, *, stream_id: str, org_id: str, cloud_system_id: str, serial: str, user_id: str,
                          user_name: str, reason: str, request_id: str | None, region: str, mime: str,
                          wrapped_key: dict, upload_key: bytes, started_at: float, now: float, resume: bool) -> int:
        """Create (or resume) a stream; returns the next sequence number the hub expects."""
        row = await self.db.fetchone("SELECT serial, ended_at, upload_key FROM streams WHERE id = ?", (stream_id,))
        if row is not None:
            if row["serial"] != serial:
                raise ChunkRejected("foreign_stream", "that stream id belongs to another camera")
            if bytes.fromhex(row["upload_key"]) != upload_key:
                raise ChunkRejected("stream_conflict", "that stream exists with another upload key")
            if row["ended_at"] is not None and not resume:
                raise ChunkRejected("stream_ended", "that stream has ended")
        else:
            await self.db.execute(
                "INSERT INTO streams (id, org_id, cloud_system_id, serial, user_id, user_name, reason, request_id, region, "
                "mime, wrapped_key, upload_key, started_at, created_lab_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (stream_id, org_id, cloud_system_id, serial, user_id, user_name, reason, request_id, region, mime,
                 json.dumps(wrapped_key), upload_key.hex(), started_at, now))
        if stream_id not in self.live and (row is None or row["ended_at"] is None):
            meta = await self.metadata(stream_id)
            self.live[stream_id] = LiveStream(stream_id, org_id, region, meta)
            await self._changed({"type": "stream_started", "stream": meta})
        if row is None:
            await self._notify("stream.started", stream_id)
        last = await self.db.fetchone("SELECT MAX(seq) AS s FROM chunks WHERE stream_id = ?", (stream_id,))
        return 0 if last["s"] is None else last["s"] + 1

    async def end_stream(self, stream_id: str, serial: str, reason: str, last_seq: int | None, ended_at: float) -> None:
        row = await self.db.fetchone("SELECT serial, ended_at FROM streams WHERE id = ?", (stream_id,))
        if row is None or row["serial"] != serial:
            raise ChunkRejected("foreign_stream", "no such stream for this camera")
        if row["ended_at"] is None:
            await self.db.execute("UPDATE streams SET ended_at = ?, end_reason = ?, last_seq = ? WHERE id = ?",
                                  (ended_at, reason, last_seq, stream_id))
            self._info_cache.pop(stream_id, None)
            await self._notify("stream.ended", stream_id)
        live = self.live.pop(stream_id, None)
        if live is not None:
            live.ended = True
            for q in list(live.subscribers):
                try:
                    q.put_nowait(None)
                except asyncio.QueueFull:
                    pass
        await self._changed({"type": "stream_ended", "stream": await self.metadata(stream_id)})

    async def store_chunk(self, frame: bytes, serial: str, max_size: int, now: float) -> wire_chunk.Chunk:
        """Validate and store one chunk frame durably; raises ChunkRejected, storing nothing."""
        try:
            c = wire_chunk.decode(frame, max_size)
        except wire_chunk.ChunkError as exc:
            raise ChunkRejected(exc.code, str(exc)) from None
        try:
            return await self._store(c, frame, serial, now)
        except ChunkRejected as exc:
            exc.stream_id, exc.seq = c.stream_id, c.seq  # the camera can tell which chunk it was
            raise

    async def _info(self, stream_id: str) -> "_StreamInfo | None":
        """What the chunk path needs to know of a stream, cached: no query per chunk."""
        info = self._info_cache.get(stream_id)
        if info is None:
            row = await self.db.fetchone(
                "SELECT serial, org_id, region, ended_at, last_seq, upload_key FROM streams WHERE id = ?", (stream_id,))
            if row is None:
                return None
            top = await self.db.fetchone("SELECT MAX(seq) AS s FROM chunks WHERE stream_id = ?", (stream_id,))
            info = _StreamInfo(row["serial"], row["org_id"], row["region"], bytes.fromhex(row["upload_key"]),
                               row["ended_at"], row["last_seq"], -1 if top["s"] is None else top["s"])
            self._info_cache[stream_id] = info
        return info

    async def _store(self, c: wire_chunk.Chunk, frame: bytes, serial: str, now: float) -> wire_chunk.Chunk:
        info = await self._info(c.stream_id)
        if info is None:
            raise ChunkRejected("unknown_stream", f"no stream {c.stream_id}; send stream_start first")
        if info.serial != serial:
            raise ChunkRejected("foreign_stream", "the chunk is for another camera's stream")
        if not wire_chunk.verify_upload_tag(info.upload_key, frame):
            raise ChunkRejected("tampered_chunk", "the chunk's upload tag does not match: it was altered")
        digest = hashlib.sha256(frame).hexdigest()
        if c.seq <= info.top:  # a resend, or a gap being filled: only then ask the database
            existing = await self.db.fetchone("SELECT digest FROM chunks WHERE stream_id = ? AND seq = ?",
                                              (c.stream_id, c.seq))
            if existing is not None:
                if existing["digest"] != digest:
                    raise ChunkRejected("sequence_conflict", f"seq {c.seq} is stored already with other content")
                return c  # stored once, acknowledged again
        if info.ended_at is not None and info.last_seq is not None and c.seq > info.last_seq:
            raise ChunkRejected("wrong_sequence", f"seq {c.seq} is after the stream's last chunk {info.last_seq}")
        if c.seq > info.top + MAX_SEQ_GAP:
            raise ChunkRejected("wrong_sequence", f"seq {c.seq} is too far ahead of the stream")
        row = {"region": info.region, "org_id": info.org_id}
        path = self.evidence.chunk_path(row["region"], row["org_id"], c.stream_id, c.seq)
        await asyncio.to_thread(self.evidence.write, path, frame)
        await self.db.execute_grouped(
            "INSERT OR IGNORE INTO chunks (stream_id, seq, kind, capture_time, duration, keyframe, size, digest, stored_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (c.stream_id, c.seq, c.kind, c.capture_time, c.duration, int(c.keyframe), len(frame), digest, now))
        info.top = max(info.top, c.seq)
        live = self.live.get(c.stream_id)
        if live is not None:
            live.add(c, frame)
        return c

    # ---------------------------------------------------------------- reading

    async def metadata(self, stream_id: str) -> dict:
        """S17 metadata, in clear: user id and name, stream id, organization, start, end, duration."""
        r = await self.db.fetchone("SELECT * FROM streams WHERE id = ?", (stream_id,))
        if r is None:
            return {}
        end = r["ended_at"]
        last = await self.db.fetchone(
            "SELECT MAX(capture_time + duration) AS t, COUNT(*) AS n FROM chunks WHERE stream_id = ?", (stream_id,))
        return {
            "id": r["id"], "org_id": r["org_id"], "system_id": r["cloud_system_id"], "serial": r["serial"],
            "user_id": r["user_id"], "user_name": r["user_name"], "reason": r["reason"], "region": r["region"],
            "mime": r["mime"], "started_at": r["started_at"], "ended_at": end, "end_reason": r["end_reason"],
            "duration": ((end if end is not None else (last["t"] or r["started_at"])) - r["started_at"]),
            "chunks": last["n"], "live": end is None,
            "acknowledged_by": r["acknowledged_by"], "acknowledged_at": r["acknowledged_at"],
            "wrapped_key": json.loads(r["wrapped_key"]),
        }

    async def chunk_frames(self, stream_id: str, after_seq: int = -1, limit: int = 500) -> list[bytes]:
        r = await self.db.fetchone("SELECT org_id, region FROM streams WHERE id = ?", (stream_id,))
        rows = await self.db.fetchall(
            "SELECT seq FROM chunks WHERE stream_id = ? AND seq > ? ORDER BY seq LIMIT ?", (stream_id, after_seq, limit))
        frames = []
        for row in rows:
            path = self.evidence.chunk_path(r["region"], r["org_id"], stream_id, row["seq"])
            frames.append(await asyncio.to_thread(self.evidence.read, path))
        return frames

    def subscribe(self, stream_id: str) -> tuple[asyncio.Queue, list[bytes]] | None:
        live = self.live.get(stream_id)
        if live is None:
            return None
        q: asyncio.Queue = asyncio.Queue(SUBSCRIBER_QUEUE)
        live.subscribers.add(q)
        return q, live.snapshot()

    def unsubscribe(self, stream_id: str, q: asyncio.Queue) -> None:
        live = self.live.get(stream_id)
        if live is not None:
            live.subscribers.discard(q)

    async def _changed(self, event: dict) -> None:
        for q in list(self.changes):
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                self.changes.discard(q)

    async def acknowledge(self, stream_id: str, operator: str, now: float) -> None:
        await self.db.execute("UPDATE streams SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ?",
                              (operator, now, stream_id))
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
        """Delete recordings that ended more than 24 hours (lab time) ago."""
        rows = await self.db.fetchall(
            "SELECT id, org_id, region FROM streams WHERE ended_at IS NOT NULL AND ended_at < ?", (now - RETENTION,))
        for r in rows:
            await asyncio.to_thread(self.evidence.remove_stream, r["region"], r["org_id"], r["id"])
            await self.db.execute("DELETE FROM streams WHERE id = ?", (r["id"],))
            self._info_cache.pop(r["id"], None)
        return len(rows)

    async def recover(self) -> None:
        """After a restart, streams that had not ended are live again (their cameras will resend)."""
        rows = await self.db.fetchall("SELECT id, org_id, region FROM streams WHERE ended_at IS NULL")
        for r in rows:
            live = LiveStream(r["id"], r["org_id"], r["region"], await self.metadata(r["id"]))
            frames = await self.chunk_frames(r["id"], -1, 100_000)
            for frame in frames[-400:] if len(frames) > 400 else frames:
                c = wire_chunk.decode(frame)
                live.add(c, frame)
            if frames and live.init is None:
                live.init = frames[0]
            self.live[r["id"]] = live
