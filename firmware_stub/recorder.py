"""The camera's local recordings and its finite storage (issue 13; SPEC D3, D5).

A camera records locally whenever the firmware says ``StartRecording`` — the record button, the
stream button, an operator's remote start — whether or not a live stream runs, until
``StopRecording`` (a long press, the dock, a full storage). This module keeps those recordings
on the camera's storage, a directory under the fleet's data directory:

    <root>/<recording id>/recording.json     the manifest (bwlab.wire.recordings.Manifest)
    <root>/<recording id>/clip-0000.mp4      the clips, fragmented MP4 (H.264 + AAC)

A recording is split into clips of ``clip_seconds`` of media; a clip is also cut when the camera
clock jumps (lab time travel, an NTP step; ``MAX_CLOCK_GAP``), so that each clip's start and
stop times are those of the media it holds. The media is the process's shared loop (``media.SharedSource``: real H.264
and AAC, encoded once and restamped), written fragment by fragment as it becomes due — never a
whole clip in memory. While recording, a GNSS reading is kept every ``GNSS_INTERVAL`` seconds on
models with GPS; the camera user's bookmarks and category go into the manifest.

The storage is finite (``capacity`` bytes): when the recordings fill it, ``Recording.feed``
says so and the driver tells the firmware (``StorageChanged``), which stops recording. Docked,
the dock moves the finished recordings to the controller and they are deleted here.

Everything here is synchronous file I/O on small pieces; the driver calls it from a worker
thread. Times are the camera clock's (``now`` passed in), never read here.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from bwlab.errors import Unavailable
from bwlab.wire.recordings import (
    MANIFEST_FILE,
    Bookmark,
    Category,
    Clip,
    Location,
    Manifest,
    ManifestError,
    check_file_name,
    check_recording_id,
)

from .media.shared import SharedSource
from .media.stream import MediaChunk

FIRMWARE_VERSION = "11.11.73-bwlab"
"""The firmware version the emulated cameras report (the recordings' ``FirmwareVersion``)."""

DEFAULT_CLIP_SECONDS = 300.0
DEFAULT_CAPACITY = 32 * 1024**3
"""A camera's storage when the scenario says nothing (bytes)."""

GNSS_INTERVAL = 5.0
MAX_CLOCK_GAP = 30.0
"""A camera clock step beyond this (seconds, either way: lab time travel, an NTP step) ends the
clip and the next starts then; a shorter one (a driver that fell behind on a loaded machine) is
caught up, so that no media is lost."""

TRIGGER_ON = {"record": "Button", "function": "LiveStream", "remote": "RemoteActivation"}
TRIGGER_OFF = {"user": "Button", "docked": "Docked", "storage_full": "StorageFull"}

Source = Callable[[], Any]  # returns a fresh media source (``SharedSource``'s API)


def shared_source() -> SharedSource:
    """The default media of a clip: the shared loop, catching up on gaps shorter than a jump."""
    return SharedSource(max_catch_up=MAX_CLOCK_GAP)


class StorageError(Unavailable, RuntimeError):
    """A recording id or file the storage does not hold (or a path that would leave it)."""


_SAVING = threading.Lock()  # manifests are saved from worker threads (the media loop, a bookmark, a stop)


def _write_json(path: Path, data: Callable[[], dict]) -> None:
    """Replace ``path`` atomically with ``data()``, read under the lock: two threads saving one
    manifest neither share a temporary file nor put an older snapshot over a newer one."""
    with _SAVING:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data(), separators=(",", ":")))
        os.replace(tmp, path)


class CameraStorage:
    """The recordings on one camera's storage (finished ones and the one being made)."""

    def __init__(self, root: Path, capacity: int = DEFAULT_CAPACITY) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.capacity = int(capacity)
        self._used = sum(f.stat().st_size for f in self.root.rglob("*.mp4"))

    # ------------------------------------------------------------------ paths

    def directory(self, recording: str) -> Path:
        try:
            check_recording_id(recording)
        except ManifestError as exc:
            raise StorageError(str(exc)) from None
        path = (self.root / recording).resolve()
        if path.parent != self.root:
            raise StorageError(f"recording {recording!r} is outside the camera's storage")
        return path

    def file(self, recording: str, name: str) -> Path:
        try:
            check_file_name(name)
        except ManifestError as exc:
            raise StorageError(str(exc)) from None
        return self.directory(recording) / name

    # ------------------------------------------------------------------ facts

    @property
    def used(self) -> int:
        return self._used

    @property
    def full(self) -> bool:
        return self._used >= self.capacity

    def manifest(self, recording: str) -> Manifest:
        path = self.directory(recording) / MANIFEST_FILE
        if not path.exists():
            raise StorageError(f"no recording {recording!r} on this camera")
        return Manifest.from_mapping(json.loads(path.read_text()))

    def manifests(self) -> list[Manifest]:
        """Every recording on the storage, oldest first."""
        out = []
        for path in self.root.glob(f"*/{MANIFEST_FILE}"):
            try:
                out.append(Manifest.from_mapping(json.loads(path.read_text())))
            except (ValueError, OSError):
                continue  # a manifest being replaced; the next look sees it
        return sorted(out, key=lambda m: (m.trigger_on_time, m.id))

    def finished(self) -> list[Manifest]:
        return [m for m in self.manifests() if m.complete]

    def summary(self) -> dict[str, Any]:
        """The storage as the camera's state shows it (Lab panel, Manager)."""
        manifests = self.manifests()
        return {
            "capacity": self.capacity,
            "used": self._used,
            "full": self.full,
            "recordings": len(manifests),
            "finished": sum(1 for m in manifests if m.complete),
        }

    # ------------------------------------------------------------------ changes

    def save(self, manifest: Manifest) -> None:
        _write_json(self.directory(manifest.id) / MANIFEST_FILE, manifest.as_dict)

    def delete(self, recording: str) -> None:
        """Remove a recording (the controller holds it now)."""
        directory = self.directory(recording)
        freed = sum(f.stat().st_size for f in directory.glob("*.mp4"))
        shutil.rmtree(directory, ignore_errors=True)
        self._used = max(0, self._used - freed)

    def account(self, nbytes: int) -> None:
        self._used += nbytes

    def annotate(
        self, recording: str, *, bookmark: Bookmark | None = None, category: Category | None = None
    ) -> Manifest:
        """Add a bookmark or set the category of a recording still on the camera."""
        manifest = self.manifest(recording)
        if bookmark is not None:
            manifest = replace(manifest, bookmarks=manifest.bookmarks + (bookmark,))
        if category is not None:
            manifest = replace(manifest, category=category)
        self.save(manifest)
        return manifest

    def recover(self, now: float) -> list[str]:
        """Finish the recordings a power loss left unfinished: the clips the manifest lists are
        whole; a clip being written is dropped. Returns the recordings finished so."""
        done = []
        for manifest in self.manifests():
            if manifest.complete:
                continue
            directory = self.directory(manifest.id)
            listed = {c.file for c in manifest.clips}
            for f in directory.glob("*.mp4"):
                if f.name not in listed:
                    self._used -= f.stat().st_size
                    f.unlink()
            stop = manifest.clips[-1].stop_time if manifest.clips else manifest.trigger_on_time
            self.save(replace(manifest, complete=True, trigger_off="Interrupted", trigger_off_time=stop))
            done.append(manifest.id)
        return done


class Recording:
    """The recording being made: clips written as the media becomes due (see the module)."""

    def __init__(
        self,
        storage: CameraStorage,
        now: float,
        *,
        trigger: str,
        serial: str,
        model: str,
        user_id: str,
        user_name: str,
        timezone: str,
        location: Location | None = None,
        clip_seconds: float = DEFAULT_CLIP_SECONDS,
        source: Source = shared_source,
        firmware_version: str = FIRMWARE_VERSION,
    ) -> None:
        if clip_seconds <= 0:
            raise ValueError("clip_seconds: expected a positive number of seconds")
        self.storage = storage
        self.clip_seconds = float(clip_seconds)
        self._source_factory = source
        self.manifest = Manifest(
            id=uuid.uuid4().hex,
            recording_id=str(secrets.randbelow(900_000) + 100_000),
            serial=serial,
            model=model,
            firmware_version=firmware_version,
            user_id=user_id,
            user_name=user_name,
            timezone=timezone,
            trigger_on=TRIGGER_ON.get(trigger, "Button"),
            trigger_on_time=now,
            trigger_on_location=location,
        )
        storage.directory(self.manifest.id).mkdir()
        storage.save(self.manifest)
        self._source: Any = None
        self._file: BinaryIO | None = None
        self._hash: Any = None
        self._clip_start = 0.0
        self._clip_size = 0
        self._media_end = 0.0
        self._fed_at = now
        self._last_gnss: float | None = None
        self._open_clip(now)

    @property
    def id(self) -> str:
        return self.manifest.id

    # ------------------------------------------------------------------ the media

    def feed(self, now: float) -> bool:
        """Write the media due by ``now``; returns ``False`` once the storage is full."""
        if now - self._fed_at > MAX_CLOCK_GAP or now < self._fed_at - MAX_CLOCK_GAP:
            self._close_clip(None)
            self._open_clip(now)
        while now >= self._clip_start + self.clip_seconds:
            boundary = self._clip_start + self.clip_seconds
            self._close_clip(boundary)
            self._open_clip(boundary)
        self._write(self._source.feed(now))
        self._fed_at = now
        return not self.storage.full

    def get_timer(self) -> float | None:
        """When the next fragment is due (the driver feeds then)."""
        return None if self._source is None else self._source.get_timer()

    def gnss_due(self, now: float) -> bool:
        return self._last_gnss is None or now - self._last_gnss >= GNSS_INTERVAL

    def add_position(self, location: Location) -> None:
        self._last_gnss = location.t
        self.manifest = replace(self.manifest, gnss=self.manifest.gnss + (location,))
        self.storage.save(self.manifest)

    def annotate(self, *, bookmark: Bookmark | None = None, category: Category | None = None) -> None:
        if bookmark is not None:
            self.manifest = replace(self.manifest, bookmarks=self.manifest.bookmarks + (bookmark,))
        if category is not None:
            self.manifest = replace(self.manifest, category=category)
        self.storage.save(self.manifest)

    def stop(self, now: float, trigger: str, location: Location | None = None) -> Manifest:
        """End the recording at ``now``: the last clip holds the media due by then."""
        if self._source is not None:
            if abs(now - self._fed_at) <= MAX_CLOCK_GAP:
                self._close_clip(now)
            else:
                self._close_clip(None)
        self.manifest = replace(
            self.manifest,
            trigger_off=TRIGGER_OFF.get(trigger, "Button"),
            trigger_off_time=now,
            trigger_off_location=location,
            complete=True,
        )
        self.storage.save(self.manifest)
        return self.manifest

    def power_off(self) -> None:
        """The camera loses power mid-recording: the open clip's file is closed as it is, the
        manifest keeps only whole clips (``CameraStorage.recover`` finishes it later)."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self._source = None

    # ------------------------------------------------------------------ clips

    def _open_clip(self, start: float) -> None:
        index = len(self.manifest.clips)
        path = self.storage.file(self.id, f"clip-{index:04d}.mp4")
        self._file = open(path, "wb")  # noqa: SIM115 -- the clip stays open across frames until it is closed
        self._hash = hashlib.sha256()
        self._clip_start = start
        self._media_end = start
        self._clip_size = 0
        self._source = self._source_factory()
        self._write(self._source.feed(start))

    def _write(self, chunks: list[MediaChunk]) -> None:
        assert self._file is not None
        for chunk in chunks:
            self._file.write(chunk.data)
            self._hash.update(chunk.data)
            self._clip_size += len(chunk.data)
            self.storage.account(len(chunk.data))
            if chunk.kind == "media":
                self._media_end = max(self._media_end, chunk.capture_time + chunk.duration)
        self._file.flush()

    def _close_clip(self, at: float | None) -> None:
        """Close the open clip with the media due by ``at`` (None: only what is written)."""
        assert self._file is not None and self._source is not None
        self._write(self._source.close(at if at is not None else self._fed_at) if at is not None else [])
        self._file.close()
        self._file = None
        self._source = None
        index = len(self.manifest.clips)
        if self._media_end <= self._clip_start:  # no media at all: no clip
            path = self.storage.file(self.id, f"clip-{index:04d}.mp4")
            self.storage.account(-path.stat().st_size)
            path.unlink()
            return
        clip = Clip(
            index=index,
            file=f"clip-{index:04d}.mp4",
            start_time=self._clip_start,
            stop_time=self._media_end,
            size=self._clip_size,
            sha256=self._hash.hexdigest(),
        )
        self.manifest = replace(self.manifest, clips=self.manifest.clips + (clip,))
        self.storage.save(self.manifest)
