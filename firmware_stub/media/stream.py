"""What every camera media source produces and shares: the ``MediaChunk`` and the stream's limits (DESIGN "Media").

See ``firmware_stub.media`` for the timing model.
"""

from __future__ import annotations

from dataclasses import dataclass

from bwlab.errors import InputError

MAX_FRAGMENT_SECONDS = 0.2
"""Upper bound of the media in one fragment (live latency; DESIGN "Media")."""

AAC_FRAME_SAMPLES = 1024
"""Samples per AAC-LC access unit."""

MAX_AUDIO_CHUNK_FRAMES = 9
"""Upper bound of the AAC frames in an audio-only fragment sent ahead of the video (192 ms at 48 kHz)."""

LOW_LATENCY_AUDIO_CHUNK_FRAMES = 2
"""AAC frames per audio-only fragment while low-latency viewers watch (43 ms at 48 kHz): with the AAC
encoder's delay no sound leaves later than 85 ms after its capture (docs/benchmarks.md)."""

AAC_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)

DEFAULT_MAX_CATCH_UP = 2.0
"""A clock jump beyond this many seconds re-bases the media timeline instead of catching up."""

SHARED_SOURCE_LABEL = "shared source"


class FormatError(InputError, ValueError):
    """A picture size, frame rate, sample rate, fragment or loop length the camera cannot encode."""

    code = "bad_media_format"


TIME_SLACK = 1e-6
"""Seconds by which a camera time may fall short of a due time and still count as reaching it."""


@dataclass(frozen=True)
class MediaChunk:
    """One unit of the camera's media stream, as the uplink sends it.

    ``kind`` is ``"init"`` (``ftyp`` + ``moov``; sent once per stream, before any media) or
    ``"media"`` (``moof`` + ``mdat``). ``capture_time`` is the camera clock (POSIX seconds) of the
    chunk's first video frame (in a chunk without video, of its first audio sample); for the init
    chunk, the time the stream started. ``keyframe`` is true when the chunk begins with an IDR
    picture, so a viewer may start there. ``duration`` is the seconds of media in the chunk: of
    its video (of its audio without video; 0 for init); ``video_frames`` and ``audio_frames``
    count the pictures and the AAC access units in it.
    """

    kind: str
    data: bytes
    capture_time: float
    keyframe: bool
    duration: float
    video_frames: int
    audio_frames: int
