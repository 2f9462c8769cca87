"""The controller's buffer of docked cameras' recordings, on its own disk (issue 13).

``<data dir>/controllers/<system id>/recordings/<recording id>/``: the clips as the dock moved
them (``clip-NNNN.mp4``, fragmented MP4), and ``out/`` with each clip written in the container
the destination wants (mkv or mp4, remuxed with PyAV: the packets are copied, nothing is
re-encoded). Every path is checked to stay under the buffer. A clip arrives as a stream: it is
written to a ``.part`` file block by block with its SHA-256, synced, and renamed only when the
hash is the manifest's — so a cut transfer leaves nothing that looks whole. Synchronous: called
from worker threads.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import av

from bwlab.wire.recordings import ManifestError, check_file_name, check_recording_id

from ...errors import InvalidInput

FORMATS = {"mkv": "matroska", "mp4": "mp4"}


class Buffer:
    def __init__(self, data_dir: Path, system_id: str) -> None:
        base = (data_dir / "controllers").resolve()
        self.root = (base / system_id / "recordings").resolve()
        if self.root.parent.parent != base:
            raise InvalidInput(f"system id {system_id!r} is not a directory name")

    def directory(self, recording: str) -> Path:
        try:
            check_recording_id(recording)
        except ManifestError as exc:
            raise InvalidInput(str(exc), path="recording") from None
        path = (self.root / recording).resolve()
        if path.parent != self.root:
            raise InvalidInput("recording: outside the controller's buffer", path="recording")
        return path

    def clip(self, recording: str, name: str) -> Path:
        try:
            check_file_name(name)
        except ManifestError as exc:
            raise InvalidInput(str(exc), path="file") from None
        return self.directory(recording) / name

    def have(self, recording: str) -> list[str]:
        directory = self.directory(recording)
        return sorted(p.name for p in directory.glob("clip-*.mp4")) if directory.exists() else []

    def open_part(self, recording: str, name: str):
        path = self.clip(recording, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path.with_name(path.name + ".part"), "wb")

    def commit_part(self, recording: str, name: str, handle, sha256: str, expected: str) -> None:
        """Sync and rename a received clip, or drop it if its hash is not ``expected``."""
        path = self.clip(recording, name)
        part = path.with_name(path.name + ".part")
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        if sha256 != expected:
            part.unlink(missing_ok=True)
            raise InvalidInput(f"{name}: the SHA-256 of what arrived is not the one announced", path="X-Content-SHA256")
        os.replace(part, path)

    def verify(self, recording: str, name: str, size: int) -> bool:
        path = self.clip(recording, name)
        return path.exists() and path.stat().st_size == size

    def prepared(self, recording: str, name: str, container_type: str) -> Path:
        """The clip in the destination's container type (remuxed once, kept until the end)."""
        src = self.clip(recording, name)
        out_dir = self.directory(recording) / "out"
        out_dir.mkdir(exist_ok=True)
        dst = out_dir / f"{name.removesuffix('.mp4')}.{container_type}"
        if dst.exists():
            return dst
        tmp = dst.with_name(dst.name + ".part")
        with av.open(str(src)) as inp, av.open(str(tmp), "w", format=FORMATS[container_type]) as out:
            streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
            for packet in inp.demux():
                if packet.dts is None:
                    continue
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
        os.replace(tmp, dst)
        return dst

    def discard_prepared(self, recording: str, name: str, container_type: str) -> None:
        """The destination has the clip: its remuxed copy is no longer needed (disk stays bounded)."""
        (self.directory(recording) / "out" / f"{name.removesuffix('.mp4')}.{container_type}").unlink(missing_ok=True)

    def delete(self, recording: str) -> None:
        shutil.rmtree(self.directory(recording), ignore_errors=True)
