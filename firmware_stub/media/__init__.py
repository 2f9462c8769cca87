"""The camera's media source: H.264 + AAC in fragmented MP4 (DESIGN "Media", "Scale"; SPEC D6, D8, S1, L5).

A camera streams real video and audio. This module renders the camera's test pattern (moving
colour bars, the camera user's name, the camera clock and a frame counter, plus the counter as a
machine-readable stripe), a tone with a beep on every second, encodes them with PyAV (libx264 and
ffmpeg's native AAC-LC encoder) and writes the packets as a CMAF-style fragmented stream itself:
one init segment (``ftyp`` + ``moov``, with the encoders' avcC and esds configuration) and then
media fragments (``moof`` + ``mdat``; per track a ``traf`` with ``tfhd``, ``tfdt`` and ``trun``),
each at most 200 ms of video (``fragment_frames``, 3 frames at 15 fps by default, down to 1),
each GOP (1 s, closed, IDR) starting a fragment. The concatenation of the init segment and the
fragments plays in a browser's Media Source Extensions with ``mime``.

Everything here is sans-I/O and synchronous: ``feed(now)`` takes the camera clock (an injected
time, never the system time), renders and encodes what is due up to ``now`` and returns the
chunks that became complete. A driver calls it per tick (or from a worker thread).

Two sources share one API (``mime``, ``feed(now)``, ``close(now)`` → ``MediaChunk``):

* ``LiveEncoder`` renders and encodes per camera: the picture shows that camera's user and clock.
  It costs real CPU per camera (see ``bench/bench_media.py``).
* ``SharedSource`` encodes one loop of a few seconds once per process and replays its fragments
  for any number of cameras, rewriting each fragment's decode times (``tfdt``) and sequence
  number (``mfhd``) so that playback runs on monotonically, and stamping each chunk with the
  camera's own capture time. The picture then shows "shared source" and a loop time instead of a
  user and a clock; it costs next to nothing per camera.

Timing model. The first ``feed(now)`` starts the stream: ``now`` becomes media time 0. Video frame
``n`` is captured at ``start + n / fps`` and is due once its exposure has ended, that is when
``now >= start + (n + 1) / fps``; AAC frame ``k`` (1024 samples) is due once its last sample has
been captured. A chunk's ``capture_time`` is the capture time of its first video frame (a viewer
times frame ``i`` of the chunk at ``capture_time + i / fps``); only an audio-only chunk (the
encoder's audio tail at ``close``, or the sound sent ahead with ``audio_chunk_frames``) is
stamped with its first AAC frame. If the camera
clock jumps by more than ``max_catch_up`` seconds (time travel, an NTP step, a stalled driver),
the stream does not try to catch up or wait: the media timeline carries on seamlessly and the
capture times follow the new clock.

Latency. A live fragment leaves the very ``feed`` that encodes its last video frame, at that
frame's due time: x264 (zerolatency, no B-frames) returns each picture's packet from its encode,
and nothing waits for the next frame or for audio past the cut. Each track keeps its own
timeline: a fragment takes the AAC frames the encoder has returned that start before the
fragment's end; the AAC encoder holds two frames, so a live fragment's audio ends 43-64 ms before
its video and the frames still held go, without gap or overlap, at the start of the next
fragment's audio (MSE and the WebCodecs view play per-track timelines). With
``audio_chunk_frames`` N the sound does not wait for the video's cut: every N AAC frames the
encoder returns leave at once in an audio-only fragment (at most 64 ms + N - 1 frames after the
capture of their first sample), and ``get_timer`` wakes the driver for them too. Media is cut in the
order it becomes due, so the chunks do not depend on how the ``feed`` calls are spaced. The
shared source releases a fragment once its last video frame is due; its pre-encoded fragments
hold the audio of their own time range. (Before, ffmpeg's MP4 muxer cut the fragments and held
each 70-90 ms: it cuts on the next packet and waits for audio past the cut.)

Modules: ``stream`` (``MediaChunk``, limits), ``mp4_writer`` (init segment and fragments),
``pattern`` (test pattern and tone), ``live`` (``LiveEncoder``), ``shared`` (``SharedSource``).
Reading fMP4, the frame-counter stripe and the decoding check are wire formats the viewers share:
``bwlab.wire.fmp4``, ``bwlab.wire.frame_code``, ``bwlab.wire.media_probe``. This package
re-exports the public names.

Decisions: no B-frames and a closed 1 s GOP, so every keyframe fragment can start a viewer; the
AAC encoder's priming packet is dropped so that both tracks start at 0 without an edit list;
the shared loop is 8 s at 48 kHz because only whole multiples of 8 s hold a whole number of
1024-sample AAC frames and of 1 s GOPs, which keeps picture and sound in step across replays.
"""

from __future__ import annotations

from bwlab.wire.fmp4 import (
    Mp4Error,
    TrackInfo,
    TrackRun,
    iter_boxes,
    mime_type,
    parse_fragment,
    parse_init,
    restamp_fragment,
)
from bwlab.wire.frame_code import FRAME_CODE_BITS, read_frame_code
from bwlab.wire.media_probe import probe

from .live import LiveEncoder, fragment_frames_for
from .pattern import TestPattern, Tone, format_camera_clock
from .shared import SharedLoop, SharedSource, shared_loop, shared_loop_seconds
from .stream import AAC_FRAME_SAMPLES, DEFAULT_MAX_CATCH_UP, MAX_FRAGMENT_SECONDS, MediaChunk

__all__ = [
    "AAC_FRAME_SAMPLES",
    "DEFAULT_MAX_CATCH_UP",
    "FRAME_CODE_BITS",
    "MAX_FRAGMENT_SECONDS",
    "LiveEncoder",
    "MediaChunk",
    "Mp4Error",
    "SharedLoop",
    "SharedSource",
    "TestPattern",
    "Tone",
    "TrackInfo",
    "TrackRun",
    "format_camera_clock",
    "fragment_frames_for",
    "iter_boxes",
    "mime_type",
    "parse_fragment",
    "parse_init",
    "probe",
    "read_frame_code",
    "restamp_fragment",
    "shared_loop",
    "shared_loop_seconds",
]
