"""A camera's recording as the dock hands it to the controller (issue 13; SPEC D3, D5).

The camera keeps each recording on its own storage as a directory: a manifest (``Manifest``,
stored as ``recording.json``) and its clip files, fragmented MP4 (H.264 + AAC). When the camera
is docked, the dock moves each finished recording to the system controller:

1. ``PUT …/docks/{dock}/bays/{bay}/recordings/{id}`` with the manifest as JSON: the controller
   answers with the files it already holds whole (a transfer cut by an undock resumes);
2. ``PUT …/recordings/{id}/files/{name}`` per clip, the body streamed, its SHA-256 in
   ``X-Content-SHA256``: the controller stores it durably (fsync, rename) or refuses a mismatch;
3. ``POST …/recordings/{id}/done``: the controller checks every clip is there and buffers the
   recording for its content destination; only then does the camera delete it.

Both ends import this module: the camera writes ``Manifest.as_dict()``, the controller parses it
with ``Manifest.from_mapping`` (unknown keys refused, the bad key named) and checks file names
with ``check_file_name`` (paths stay under the recording's directory).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bwlab.errors import WireError
from bwlab.schema import as_json, from_mapping

MANIFEST_FILE = "recording.json"
CLIP_NAME = re.compile(r"^clip-\d{4}\.mp4$")
RECORDING_ID = re.compile(r"^[0-9a-f]{32}$")

TRIGGERS_ON = ("Button", "LiveStream", "RemoteActivation")
"""Why a camera started recording: the record button, the stream button (a function double
press), an operator's remote start (D3, D4)."""

TRIGGERS_OFF = ("Button", "Docked", "StorageFull", "Interrupted")
"""Why it stopped: a long press (D5), the dock, a full storage, a power loss (a recording the
camera found unfinished when it started again)."""


class ManifestError(WireError, ValueError):
    """A manifest or a file name the controller must refuse (the message names the field)."""


def check_file_name(name: str) -> str:
    """A clip's file name, or ``ManifestError``: only ``clip-NNNN.mp4``, never a path."""
    if not CLIP_NAME.match(name):
        raise ManifestError(f"file name: expected clip-NNNN.mp4, got {name[:40]!r}")
    return name


def check_recording_id(value: str) -> str:
    if not RECORDING_ID.match(value):
        raise ManifestError(f"recording id: expected 32 lowercase hex digits, got {value[:40]!r}")
    return value


@dataclass(frozen=True)
class Location:
    """Where the camera was (WGS 84), how sure it was (metres) and when (epoch seconds)."""

    lat: float = field(metadata={"min": -90, "max": 90})
    lon: float = field(metadata={"min": -180, "max": 180})
    accuracy: float | None = None
    t: float = 0.0


@dataclass(frozen=True)
class Clip:
    """One clip file: its media's start and stop (camera epoch seconds, UTC), size and SHA-256."""

    index: int = field(metadata={"min": 0, "max": 9999})
    file: str = field(metadata={"max_len": 16})
    start_time: float
    stop_time: float
    size: int = field(metadata={"min": 0})
    sha256: str = field(metadata={"max_len": 64})


@dataclass(frozen=True)
class Bookmark:
    """A bookmark (and its free-text description) the camera user added, as in the Assistant app."""

    id: str = field(metadata={"max_len": 32})
    at: float
    text: str = field(default="", metadata={"max_len": 1024})
    start: float | None = None
    end: float | None = None
    tags: str = field(default="", metadata={"max_len": 256})


@dataclass(frozen=True)
class Category:
    id: str = field(metadata={"max_len": 64})
    name: str = field(metadata={"max_len": 64})


@dataclass(frozen=True)
class Manifest:
    """Everything the camera knows about one recording (what the content destination's
    container metadata, clip objects, GNSS trail and bookmarks are made from)."""

    id: str = field(metadata={"max_len": 32})
    recording_id: str = field(metadata={"max_len": 10})  # the API's short random RecordingID
    serial: str = field(metadata={"max_len": 32})
    model: str = field(metadata={"max_len": 32})
    firmware_version: str = field(metadata={"max_len": 32})
    user_id: str = field(metadata={"max_len": 100})
    user_name: str = field(metadata={"max_len": 100})
    timezone: str = field(metadata={"max_len": 64})
    trigger_on: str = field(metadata={"max_len": 32})
    trigger_on_time: float
    trigger_on_location: Location | None = None
    trigger_off: str | None = None
    trigger_off_time: float | None = None
    trigger_off_location: Location | None = None
    clips: tuple[Clip, ...] = ()
    gnss: tuple[Location, ...] = ()
    bookmarks: tuple[Bookmark, ...] = ()
    category: Category | None = None
    complete: bool = False

    @classmethod
    def from_mapping(cls, data: object, path: str = "manifest") -> Manifest:
        manifest = from_mapping(cls, data, path)
        check_recording_id(manifest.id)
        if manifest.trigger_on not in TRIGGERS_ON:
            raise ManifestError(f"{path}.trigger_on: expected one of {', '.join(TRIGGERS_ON)}")
        if manifest.trigger_off is not None and manifest.trigger_off not in TRIGGERS_OFF:
            raise ManifestError(f"{path}.trigger_off: expected one of {', '.join(TRIGGERS_OFF)}")
        for i, clip in enumerate(manifest.clips):
            if clip.file != f"clip-{clip.index:04d}.mp4":
                raise ManifestError(f"{path}.clips[{i}].file: expected clip-{clip.index:04d}.mp4")
            if clip.stop_time < clip.start_time:
                raise ManifestError(f"{path}.clips[{i}].stop_time: before its start_time")
        return manifest

    @property
    def start_time(self) -> float:
        """When the recording's media starts (its first clip), else when it was triggered."""
        return self.clips[0].start_time if self.clips else self.trigger_on_time

    @property
    def size(self) -> int:
        return sum(c.size for c in self.clips)

    def as_dict(self) -> dict:
        return as_json(self)
