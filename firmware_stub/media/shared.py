"""The shared source: one pre-encoded loop replayed for many cameras (DESIGN "Media", "Scale").

See ``firmware_stub.media`` for how it differs from the live encoder.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

from bwlab.wire.fmp4 import Mp4Error, TrackInfo, restamp_fragment

from .live import LiveEncoder, check_format, fragment_frames_for
from .pattern import BARS_PERIOD_SECONDS
from .stream import (
    AAC_FRAME_SAMPLES,
    DEFAULT_MAX_CATCH_UP,
    MAX_FRAGMENT_SECONDS,
    SHARED_SOURCE_LABEL,
    TIME_SLACK,
    FormatError,
    MediaChunk,
)

_LOOP_LEAD_IN_SECONDS = 1
"""Seconds encoded and thrown away before the loop, so the loop's first AAC frames were encoded
with the tone before them (the tone repeats every second) and the loop closes without a click."""


def shared_loop_seconds(sample_rate: int, minimum: int = 1) -> int:
    """The shortest loop of at least ``minimum`` seconds that holds a whole number of GOPs (1 s),
    of AAC frames (1024 samples; at 48 kHz, every 8 s) and of colour-bar cycles, so that both
    tracks replay seamlessly, without drift between picture and sound."""
    seconds = max(1, minimum)
    while seconds % BARS_PERIOD_SECONDS or seconds * sample_rate % AAC_FRAME_SAMPLES:
        seconds += 1
    return seconds


@dataclass(frozen=True)
class LoopFragment:
    """A fragment of the shared loop; ``start`` is seconds from the start of the loop."""

    data: bytes
    start: float
    duration: float
    keyframe: bool
    video_frames: int
    audio_frames: int


@dataclass(frozen=True)
class SharedLoop:
    """The pre-encoded loop: an init segment and the fragments of ``seconds`` seconds of media,
    whose decode times start at ``_LOOP_LEAD_IN_SECONDS``."""

    init: bytes
    mime: str
    seconds: int
    tracks: Mapping[int, TrackInfo]
    fragments: tuple[LoopFragment, ...]

    def shifts(self, loop: int) -> dict[int, int]:
        """Per track, the ticks that move the loop's decode times to replay number ``loop``."""
        return {
            track.track_id: (loop * self.seconds - _LOOP_LEAD_IN_SECONDS) * track.timescale
            for track in self.tracks.values()
        }


class _LoopEncoder(LiveEncoder):
    # Pre-encoded: each fragment holds the audio of its own time range, both tracks start
    # together, and the loop's first fragment holds no audio from before the loop.
    _audio_completes_fragments = True

    def caption(self, index: int, capture_time: float) -> tuple[str, ...]:
        return (SHARED_SOURCE_LABEL, f"loop {capture_time - _LOOP_LEAD_IN_SECONDS:.3f} s", f"frame {index}")


def shared_loop(
    width: int = 320,
    height: int = 240,
    fps: int = 15,
    sample_rate: int = 48000,
    seconds: int | None = None,
    fragment_frames: int | None = None,
) -> SharedLoop:
    """The shared loop for a format, encoded on first use and kept for the life of the process.

    ``seconds`` defaults to the shortest seamless loop (8 s at 48 kHz, see
    ``shared_loop_seconds``); other lengths must be seamless too. ``fragment_frames`` as for
    ``LiveEncoder``.
    """
    check_format(width, height, fps, sample_rate)
    fragment_frames = fragment_frames_for(fps, fragment_frames)
    if seconds is None:
        seconds = shared_loop_seconds(sample_rate)
    elif seconds != shared_loop_seconds(sample_rate, seconds):
        raise FormatError(
            f"a shared loop of {seconds} s does not replay seamlessly; "
            f"try {shared_loop_seconds(sample_rate, seconds)} s"
        )
    return _encode_shared_loop(width, height, fps, sample_rate, seconds, fragment_frames)


@functools.lru_cache(maxsize=4)
def _encode_shared_loop(
    width: int, height: int, fps: int, sample_rate: int, seconds: int, fragment_frames: int
) -> SharedLoop:
    encoder = _LoopEncoder(
        SHARED_SOURCE_LABEL,
        width=width,
        height=height,
        fps=fps,
        sample_rate=sample_rate,
        fragment_frames=fragment_frames,
    )
    end = _LOOP_LEAD_IN_SECONDS + seconds + 2 * MAX_FRAGMENT_SECONDS
    chunks = encoder.feed(0.0)
    steps = math.ceil(end / 0.5)
    for step in range(1, steps):
        chunks += encoder.feed(step * 0.5)
    chunks += encoder.close(end)
    fragments = tuple(
        LoopFragment(
            chunk.data,
            chunk.capture_time - _LOOP_LEAD_IN_SECONDS,
            chunk.duration,
            chunk.keyframe,
            chunk.video_frames,
            chunk.audio_frames,
        )
        for chunk in chunks
        if chunk.kind == "media"
        and _LOOP_LEAD_IN_SECONDS - 1e-6 <= chunk.capture_time < _LOOP_LEAD_IN_SECONDS + seconds - 1e-6
    )
    video_frames = sum(fragment.video_frames for fragment in fragments)
    audio_frames = sum(fragment.audio_frames for fragment in fragments)
    if (
        not fragments
        or not fragments[0].keyframe
        or video_frames != seconds * fps
        or audio_frames * AAC_FRAME_SAMPLES != seconds * sample_rate
    ):
        raise Mp4Error(
            f"the shared loop is not seamless: {video_frames} frames and {audio_frames} AAC frames "
            f"in {seconds} s at {fps} fps and {sample_rate} Hz"
        )
    return SharedLoop(encoder.init, encoder.mime, seconds, encoder.tracks, fragments)


class SharedSource:
    """One camera's stream replayed from the process-wide shared loop (see the module docstring).

    Same API as ``LiveEncoder``: ``mime``, ``init``, ``feed(now)``, ``close(now)``. A fragment is
    released once the camera clock has passed its last video frame, as if it had just been
    captured (its audio is that of the same time range, and may end up to one AAC frame later).
    """

    def __init__(
        self,
        *,
        width: int = 320,
        height: int = 240,
        fps: int = 15,
        sample_rate: int = 48000,
        seconds: int | None = None,
        max_catch_up: float = DEFAULT_MAX_CATCH_UP,
        fragment_frames: int | None = None,
    ) -> None:
        self.loop = shared_loop(width, height, fps, sample_rate, seconds, fragment_frames)
        self.mime = self.loop.mime
        self.max_catch_up = max_catch_up
        self._start: float | None = None
        self._next = 0  # index of the next fragment over all replays
        self._closed = False

    @property
    def init(self) -> bytes:
        return self.loop.init

    def feed(self, now: float) -> list[MediaChunk]:
        """Release the fragments whose media has been captured by camera time ``now``; the first
        call starts the stream and returns the init chunk first."""
        if self._closed:
            raise RuntimeError("the source is closed")
        chunks: list[MediaChunk] = []
        if self._start is None:
            self._start = now
            chunks.append(MediaChunk("init", self.loop.init, now, False, 0.0, 0, 0))
        if abs(now - (self._start + self._media_end(self._next))) > self.max_catch_up:
            self._start = now - self._media_end(self._next)
        while now - self._start >= self._media_end(self._next) - TIME_SLACK:
            chunks.append(self._release(self._next))
            self._next += 1
        return chunks

    def close(self, now: float) -> list[MediaChunk]:
        """Release what is due by ``now`` and end the stream. Closing again returns nothing."""
        if self._closed:
            return []
        chunks = self.feed(now)
        self._closed = True
        return chunks

    def get_timer(self) -> float | None:
        """The camera time at which ``feed`` will release the next fragment (see
        ``LiveEncoder.get_timer``); None before the first ``feed`` and after ``close``."""
        if self._start is None or self._closed:
            return None
        return self._start + self._media_end(self._next)

    def _media_end(self, index: int) -> float:
        loop, position = divmod(index, len(self.loop.fragments))
        fragment = self.loop.fragments[position]
        return loop * self.loop.seconds + fragment.start + fragment.duration

    def _release(self, index: int) -> MediaChunk:
        assert self._start is not None
        loop, position = divmod(index, len(self.loop.fragments))
        fragment = self.loop.fragments[position]
        data = restamp_fragment(fragment.data, sequence=index + 1, shifts=self.loop.shifts(loop))
        return MediaChunk(
            "media",
            data,
            self._start + loop * self.loop.seconds + fragment.start,
            fragment.keyframe,
            fragment.duration,
            fragment.video_frames,
            fragment.audio_frames,
        )
