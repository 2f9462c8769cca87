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
times frame ``i`` of the chunk at ``capture_time + i / fps``); only an audio-only chunk, the
encoder's audio tail at ``close``, is stamped with its first AAC frame. If the camera
clock jumps by more than ``max_catch_up`` seconds (time travel, an NTP step, a stalled driver),
the stream does not try to catch up or wait: the media timeline carries on seamlessly and the
capture times follow the new clock.

Latency. A live fragment leaves the very ``feed`` that encodes its last video frame, at that
frame's due time: x264 (zerolatency, no B-frames) returns each picture's packet from its encode,
and nothing waits for the next frame or for audio past the cut. Each track keeps its own
timeline: a fragment takes the AAC frames the encoder has returned that start before the
fragment's end; the AAC encoder holds two frames, so a live fragment's audio ends 43-64 ms before
its video and the frames still held go, without gap or overlap, at the start of the next
fragment's audio (MSE and the WebCodecs view play per-track timelines). Media is cut in the
order it becomes due, so the chunks do not depend on how the ``feed`` calls are spaced. The
shared source releases a fragment once its last video frame is due; its pre-encoded fragments
hold the audio of their own time range. (Before, ffmpeg's MP4 muxer cut the fragments and held
each 70-90 ms: it cuts on the next packet and waits for audio past the cut.)

Decisions: no B-frames and a closed 1 s GOP, so every keyframe fragment can start a viewer; the
AAC encoder's priming packet is dropped so that both tracks start at 0 without an edit list;
the shared loop is 8 s at 48 kHz because only whole multiples of 8 s hold a whole number of
1024-sample AAC frames and of 1 s GOPs, which keeps picture and sound in step across replays.
"""

from __future__ import annotations

import functools
import io
import math
import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction
from typing import Iterable, Iterator, Mapping

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

MAX_FRAGMENT_SECONDS = 0.2
"""Upper bound of the media in one fragment (live latency; DESIGN "Media")."""

AAC_FRAME_SAMPLES = 1024
"""Samples per AAC-LC access unit."""

AAC_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)

DEFAULT_MAX_CATCH_UP = 2.0
"""A clock jump beyond this many seconds re-bases the media timeline instead of catching up."""

FRAME_CODE_BITS = 24
"""Bits of the frame counter drawn as a black/white stripe along the bottom of each picture."""

SHARED_SOURCE_LABEL = "shared source"

_TIME_SLACK = 1e-6
"""Seconds by which a camera time may fall short of a due time and still count as reaching it."""

_SAMPLE_IS_NON_SYNC = 0x00010000
_FULL_BOX_HEADER = 4


class Mp4Error(ValueError):
    """Bytes that are not the fragmented MP4 this module writes and reads."""


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


# --------------------------------------------------------------------------------------------
# MP4 boxes (ISO/IEC 14496-12): just enough to split, describe and re-time our own fragments.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """A box found in a buffer: its four-character type, and where it and its payload lie."""

    type: bytes
    start: int
    payload: int
    end: int


def iter_boxes(data: bytes | bytearray | memoryview, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """The boxes laid end to end in ``data[start:end]``; raise ``Mp4Error`` on a truncated one."""
    end = len(data) if end is None else end
    offset = start
    while offset < end:
        if end - offset < 8:
            raise Mp4Error(f"truncated box header at offset {offset}")
        size, kind = struct.unpack_from(">I4s", data, offset)
        payload = offset + 8
        if size == 1:
            if end - offset < 16:
                raise Mp4Error(f"truncated large box header at offset {offset}")
            (size,) = struct.unpack_from(">Q", data, payload)
            payload += 8
        elif size == 0:
            size = end - offset
        if size < payload - offset or offset + size > end:
            raise Mp4Error(f"box {kind!r} at offset {offset} overruns its parent")
        yield Box(kind, offset, payload, offset + size)
        offset += size


def _find(data: bytes | bytearray, path: Iterable[bytes], start: int = 0, end: int | None = None) -> list[Box]:
    """All boxes reached by following ``path`` (box types, outermost first) from a range."""
    found = [Box(b"", start, start, len(data) if end is None else end)]
    for kind in path:
        found = [box for parent in found for box in iter_boxes(data, parent.payload, parent.end) if box.type == kind]
    return found


@dataclass(frozen=True)
class TrackInfo:
    """A track declared by an init segment."""

    track_id: int
    handler: str  # "vide" or "soun"
    timescale: int
    codec: str  # RFC 6381 codecs parameter, e.g. "avc1.42C00C" or "mp4a.40.2"
    default_sample_duration: int
    default_sample_flags: int


def _sample_entries(data: bytes, stbl: Box) -> Iterator[Box]:
    for stsd in _find(data, (b"stsd",), stbl.payload, stbl.end):
        # stsd: a full box header and an entry count, then the sample entries.
        yield from iter_boxes(data, stsd.payload + _FULL_BOX_HEADER + 4, stsd.end)


def _avc1_codec(data: bytes, stbl: Box) -> str:
    """``avc1.PPCCLL`` from the profile, constraint flags and level of the avcC record."""
    for entry in _sample_entries(data, stbl):
        if entry.type == b"avc1":
            # avc1 VisualSampleEntry: 78 bytes of fields before its child boxes.
            for avcc in iter_boxes(data, entry.payload + 78, entry.end):
                if avcc.type == b"avcC":
                    profile, constraints, level = data[avcc.payload + 1 : avcc.payload + 4]
                    return f"avc1.{profile:02X}{constraints:02X}{level:02X}"
    raise Mp4Error("no avc1 sample entry with an avcC record")


def _descriptor(data: bytes, offset: int) -> tuple[int, int, int]:
    """An MPEG-4 descriptor's (tag, payload offset, payload end) at ``offset`` (ISO 14496-1)."""
    tag = data[offset]
    offset += 1
    length = 0
    for _ in range(4):
        byte = data[offset]
        offset += 1
        length = (length << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return tag, offset, offset + length


def _mp4a_codec(data: bytes, stbl: Box) -> str:
    """``mp4a.OO.A``: the esds object type (0x40, MPEG-4 audio) and the AudioSpecificConfig's
    audio object type (2, AAC-LC)."""
    for entry in _sample_entries(data, stbl):
        if entry.type != b"mp4a":
            continue
        # mp4a AudioSampleEntry: 28 bytes of fields before its child boxes.
        for esds in iter_boxes(data, entry.payload + 28, entry.end):
            if esds.type != b"esds":
                continue
            tag, offset, _ = _descriptor(data, esds.payload + _FULL_BOX_HEADER)
            if tag != 0x03:  # ES_Descriptor: ES_ID, flags, optional fields
                break
            flags = data[offset + 2]
            offset += 3 + (2 if flags & 0x80 else 0)
            if flags & 0x40:
                offset += 1 + data[offset]
            if flags & 0x20:
                offset += 2
            tag, offset, _ = _descriptor(data, offset)
            if tag != 0x04:  # DecoderConfigDescriptor: object type, then 12 bytes of rates
                break
            object_type = data[offset]
            tag, offset, end = _descriptor(data, offset + 13)
            if tag != 0x05 or end <= offset:  # DecoderSpecificInfo: the AudioSpecificConfig
                break
            return f"mp4a.{object_type:02X}.{data[offset] >> 3}"
    raise Mp4Error("no mp4a sample entry with an esds AudioSpecificConfig")


def parse_init(init: bytes) -> dict[int, TrackInfo]:
    """The tracks of an init segment (``ftyp`` + ``moov``), by track id."""
    trex_defaults: dict[int, tuple[int, int]] = {}
    for trex in _find(init, (b"moov", b"mvex", b"trex")):
        track_id, _, duration, _, flags = struct.unpack_from(">IIIII", init, trex.payload + _FULL_BOX_HEADER)
        trex_defaults[track_id] = (duration, flags)
    tracks: dict[int, TrackInfo] = {}
    for trak in _find(init, (b"moov", b"trak")):
        (tkhd,) = _find(init, (b"tkhd",), trak.payload, trak.end)
        version = init[tkhd.payload]
        (track_id,) = struct.unpack_from(">I", init, tkhd.payload + (20 if version == 1 else 12))
        (mdhd,) = _find(init, (b"mdia", b"mdhd"), trak.payload, trak.end)
        version = init[mdhd.payload]
        (timescale,) = struct.unpack_from(">I", init, mdhd.payload + (20 if version == 1 else 12))
        (hdlr,) = _find(init, (b"mdia", b"hdlr"), trak.payload, trak.end)
        handler = init[hdlr.payload + 8 : hdlr.payload + 12].decode("ascii")
        (stbl,) = _find(init, (b"mdia", b"minf", b"stbl"), trak.payload, trak.end)
        if handler == "vide":
            codec = _avc1_codec(init, stbl)
        elif handler == "soun":
            codec = _mp4a_codec(init, stbl)
        else:
            raise Mp4Error(f"unexpected {handler!r} track {track_id}")
        duration, flags = trex_defaults.get(track_id, (0, 0))
        tracks[track_id] = TrackInfo(track_id, handler, timescale, codec, duration, flags)
    if not tracks:
        raise Mp4Error("init segment declares no track")
    return tracks


def mime_type(init: bytes) -> str:
    """The MSE type of a stream, e.g. ``video/mp4; codecs="avc1.42C00C, mp4a.40.2"``."""
    tracks = sorted(parse_init(init).values(), key=lambda track: track.handler != "vide")
    return 'video/mp4; codecs="{}"'.format(", ".join(track.codec for track in tracks))


@dataclass(frozen=True)
class TrackRun:
    """What one ``traf`` of a fragment holds."""

    track_id: int
    base_decode_time: int  # in the track's timescale
    sample_count: int
    duration: int  # sum of the sample durations, in the track's timescale
    starts_with_sync_sample: bool


def parse_fragment(fragment: bytes, tracks: Mapping[int, TrackInfo]) -> list[TrackRun]:
    """The track runs of a media fragment (``moof`` + ``mdat``, optionally after styp/sidx)."""
    runs = []
    for traf in _find(fragment, (b"moof", b"traf")):
        (tfhd,) = _find(fragment, (b"tfhd",), traf.payload, traf.end)
        tf_flags = int.from_bytes(fragment[tfhd.payload + 1 : tfhd.payload + 4], "big")
        (track_id,) = struct.unpack_from(">I", fragment, tfhd.payload + 4)
        if track_id not in tracks:
            raise Mp4Error(f"fragment refers to undeclared track {track_id}")
        default_duration = tracks[track_id].default_sample_duration
        default_flags = tracks[track_id].default_sample_flags
        offset = tfhd.payload + 8
        offset += 8 if tf_flags & 0x01 else 0  # base-data-offset
        offset += 4 if tf_flags & 0x02 else 0  # sample-description-index
        if tf_flags & 0x08:
            (default_duration,) = struct.unpack_from(">I", fragment, offset)
            offset += 4
        offset += 4 if tf_flags & 0x10 else 0  # default-sample-size
        if tf_flags & 0x20:
            (default_flags,) = struct.unpack_from(">I", fragment, offset)
        tfdts = _find(fragment, (b"tfdt",), traf.payload, traf.end)
        if len(tfdts) != 1:
            raise Mp4Error(f"traf of track {track_id} has no single tfdt")
        version = fragment[tfdts[0].payload]
        base = struct.unpack_from(">Q" if version == 1 else ">I", fragment, tfdts[0].payload + 4)[0]
        count = duration = 0
        first_flags: int | None = None
        for trun in _find(fragment, (b"trun",), traf.payload, traf.end):
            tr_flags = int.from_bytes(fragment[trun.payload + 1 : trun.payload + 4], "big")
            (samples,) = struct.unpack_from(">I", fragment, trun.payload + 4)
            offset = trun.payload + 8
            offset += 4 if tr_flags & 0x001 else 0  # data-offset
            first_sample_flags = None
            if tr_flags & 0x004:
                (first_sample_flags,) = struct.unpack_from(">I", fragment, offset)
                offset += 4
            fields = [(tr_flags & bit) != 0 for bit in (0x100, 0x200, 0x400, 0x800)]
            stride = 4 * sum(fields)
            for index in range(samples):
                field = offset + index * stride
                sample_duration = default_duration
                sample_flags = default_flags
                if fields[0]:
                    (sample_duration,) = struct.unpack_from(">I", fragment, field)
                    field += 4
                field += 4 if fields[1] else 0
                if fields[2]:
                    (sample_flags,) = struct.unpack_from(">I", fragment, field)
                if index == 0 and first_sample_flags is not None:
                    sample_flags = first_sample_flags
                if first_flags is None:
                    first_flags = sample_flags
                duration += sample_duration
            count += samples
        sync = first_flags is not None and not first_flags & _SAMPLE_IS_NON_SYNC
        runs.append(TrackRun(track_id, base, count, duration, sync))
    if not runs:
        raise Mp4Error("fragment has no moof/traf")
    return runs


def restamp_fragment(fragment: bytes, *, sequence: int, shifts: Mapping[int, int]) -> bytes:
    """A copy of ``fragment`` with sequence number ``sequence`` and each track's decode times
    (``tfdt``) moved by ``shifts[track_id]`` ticks (tracks not listed keep theirs).

    Sizes do not change, so the ``trun`` data offsets stay valid.
    """
    out = bytearray(fragment)
    (mfhd,) = _find(out, (b"moof", b"mfhd"))
    struct.pack_into(">I", out, mfhd.payload + 4, sequence)
    for traf in _find(out, (b"moof", b"traf")):
        (tfhd,) = _find(out, (b"tfhd",), traf.payload, traf.end)
        (track_id,) = struct.unpack_from(">I", out, tfhd.payload + 4)
        shift = shifts.get(track_id, 0)
        for tfdt in _find(out, (b"tfdt",), traf.payload, traf.end):
            fmt = ">Q" if out[tfdt.payload] == 1 else ">I"
            (base,) = struct.unpack_from(fmt, out, tfdt.payload + 4)
            moved = base + shift
            if not 0 <= moved < 1 << (8 * struct.calcsize(fmt)):
                raise Mp4Error(f"decode time {moved} of track {track_id} does not fit its tfdt")
            struct.pack_into(fmt, out, tfdt.payload + 4, moved)
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Writing CMAF: the init segment and media fragments, from the encoders' packets.
# --------------------------------------------------------------------------------------------

VIDEO_TRACK_ID = 1
AUDIO_TRACK_ID = 2

_UNITY_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
_LANGUAGE_UND = 0x55C4  # "und", packed ISO 639-2/T
_SYNC_SAMPLE_FLAGS = 0x02000000  # depends on no other sample (an IDR picture, any AAC frame)
_NON_SYNC_SAMPLE_FLAGS = 0x01010000  # depends on others, not a sync sample (P pictures)
_TFHD_DEFAULTS = 0x020028  # default-base-is-moof, default-sample-duration, default-sample-flags
_TRUN_FIELDS = 0x000201  # data-offset, sample-size per sample
_TRUN_FIRST_SAMPLE_FLAGS = 0x000004
_NAL_SPS, _NAL_PPS, _NAL_AUD = 7, 8, 9


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24 | flags), *parts)


def _write_descriptor(tag: int, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    if len(payload) > 0x7F:
        raise Mp4Error(f"descriptor {tag} of {len(payload)} bytes needs a longer size field")
    return bytes((tag, len(payload))) + payload


def annexb_nal_units(stream: bytes) -> list[bytes]:
    """The NAL units of an H.264 Annex B byte stream (what libx264 returns), without their
    start codes. A NAL unit never ends in a zero byte, so the zero of a 4-byte start code that
    follows it is not part of it."""
    units = []
    start = stream.find(b"\x00\x00\x01")
    while start >= 0:
        begin = start + 3
        start = stream.find(b"\x00\x00\x01", begin)
        unit = stream[begin : len(stream) if start < 0 else start].rstrip(b"\x00")
        if unit:
            units.append(unit)
    return units


def avc_sample(access_unit: bytes) -> bytes:
    """An H.264 access unit as an MP4 sample: each NAL unit behind a 4-byte length (the avcC
    record says so), parameter sets and delimiters left to the init segment."""
    return b"".join(
        struct.pack(">I", len(unit)) + unit
        for unit in annexb_nal_units(access_unit)
        if unit[0] & 0x1F not in (_NAL_SPS, _NAL_PPS, _NAL_AUD)
    )


def avc_decoder_configuration(parameter_sets: bytes) -> bytes:
    """The avcC record (ISO/IEC 14496-15) from the encoder's SPS and PPS (Annex B extradata).

    Baseline profile only: the High profiles' chroma and bit depth fields are not written."""
    units = annexb_nal_units(parameter_sets)
    sps = [unit for unit in units if unit[0] & 0x1F == _NAL_SPS]
    pps = [unit for unit in units if unit[0] & 0x1F == _NAL_PPS]
    if len(sps) != 1 or len(pps) != 1 or len(sps[0]) < 4:
        raise Mp4Error(f"the H.264 encoder gave {len(sps)} SPS and {len(pps)} PPS, expected one of each")
    profile, constraints, level = sps[0][1:4]
    if profile not in (66, 77, 88):
        raise Mp4Error(f"H.264 profile {profile}: only Baseline, Main and Extended are written")
    return (
        bytes((1, profile, constraints, level, 0xFC | 3, 0xE0 | 1))
        + struct.pack(">H", len(sps[0]))
        + sps[0]
        + b"\x01"
        + struct.pack(">H", len(pps[0]))
        + pps[0]
    )


def video_timescale(fps: int) -> int:
    """The video track's ticks per second: the frame rate doubled until it reaches 10 000, so
    that a frame lasts a whole number of ticks (15 fps: 15 360, 1 024 per frame)."""
    timescale = fps
    while timescale < 10_000:
        timescale *= 2
    return timescale


def _track(track_id: int, timescale: int, handler: bytes, name: bytes, media_header: bytes, sample_entry: bytes,
           *, width: int = 0, height: int = 0, volume: int = 0, alternate_group: int = 0) -> bytes:
    tkhd = _full_box(
        b"tkhd", 0, 0x000003,  # enabled, in the presentation
        struct.pack(">IIIII", 0, 0, track_id, 0, 0), bytes(8),
        struct.pack(">hhhH", 0, alternate_group, volume, 0), _UNITY_MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )
    mdhd = _full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, 0, _LANGUAGE_UND, 0))
    hdlr = _full_box(b"hdlr", 0, 0, struct.pack(">I4s", 0, handler), bytes(12), name + b"\x00")
    dinf = _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 0x000001)))
    stbl = _box(
        b"stbl",
        _full_box(b"stsd", 0, 0, struct.pack(">I", 1), sample_entry),
        _full_box(b"stts", 0, 0, struct.pack(">I", 0)),
        _full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
        _full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
        _full_box(b"stco", 0, 0, struct.pack(">I", 0)),
    )
    return _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, _box(b"minf", media_header, dinf, stbl)))


def init_segment(*, width: int, height: int, fps: int, avcc: bytes, sample_rate: int, channels: int,
                 audio_specific_config: bytes, audio_bit_rate: int) -> bytes:
    """The CMAF init segment (``ftyp`` + ``moov`` with ``mvex``, no samples) for an H.264 track
    (id 1) and an AAC track (id 2), ``avcc`` and ``audio_specific_config`` from the encoders."""
    avc1 = _box(
        b"avc1",
        bytes(6), struct.pack(">H", 1), bytes(16),  # data reference 1; pre-defined and reserved
        struct.pack(">HHIIIH", width, height, 0x00480000, 0x00480000, 0, 1),  # 72 dpi, 1 frame per sample
        bytes(32), struct.pack(">Hh", 0x0018, -1),  # no compressor name; depth 24, no colour table
        _box(b"avcC", avcc),
    )
    esds = _full_box(
        b"esds", 0, 0,
        _write_descriptor(
            0x03, struct.pack(">HB", AUDIO_TRACK_ID, 0),  # ES_Descriptor: ES_ID, no options
            _write_descriptor(
                0x04, struct.pack(">BB", 0x40, 0x15), bytes(3),  # MPEG-4 audio, audio stream; buffer size
                struct.pack(">II", audio_bit_rate, audio_bit_rate),
                _write_descriptor(0x05, audio_specific_config),
            ),
            _write_descriptor(0x06, b"\x02"),  # SLConfigDescriptor: predefined for MP4
        ),
    )
    mp4a = _box(
        b"mp4a",
        bytes(6), struct.pack(">H", 1), bytes(8),
        struct.pack(">HHHHI", channels, 16, 0, 0, sample_rate << 16),
        esds,
    )
    mvhd = _full_box(
        b"mvhd", 0, 0,
        struct.pack(">IIIII", 0, 0, 1000, 0, 0x00010000), struct.pack(">H", 0x0100), bytes(10),
        _UNITY_MATRIX, bytes(24), struct.pack(">I", AUDIO_TRACK_ID + 1),
    )
    video = _track(VIDEO_TRACK_ID, video_timescale(fps), b"vide", b"VideoHandler",
                   _full_box(b"vmhd", 0, 0x000001, bytes(8)), avc1, width=width, height=height)
    audio = _track(AUDIO_TRACK_ID, sample_rate, b"soun", b"SoundHandler",
                   _full_box(b"smhd", 0, 0, bytes(4)), mp4a, volume=0x0100, alternate_group=1)
    mvex = _box(b"mvex", *(_full_box(b"trex", 0, 0, struct.pack(">IIIII", track_id, 1, 0, 0, 0))
                           for track_id in (VIDEO_TRACK_ID, AUDIO_TRACK_ID)))
    ftyp = _box(b"ftyp", b"iso6", struct.pack(">I", 0x200), b"iso6", b"cmfc", b"mp41")
    return ftyp + _box(b"moov", mvhd, video, audio, mvex)


@dataclass(frozen=True)
class TrackSamples:
    """One track's samples for a fragment: consecutive, of equal duration (``sample_duration``
    ticks), the first decoded at ``base_decode_time``; only the first may be a sync sample."""

    track_id: int
    base_decode_time: int
    sample_duration: int
    samples: tuple[bytes, ...]
    first_is_sync: bool
    all_sync: bool = False


def media_fragment(sequence: int, tracks: Iterable[TrackSamples]) -> bytes:
    """A CMAF fragment (``moof`` + ``mdat``) holding ``tracks`` (those without samples are
    left out): per track a ``traf`` with ``tfhd`` (defaults), ``tfdt`` and one ``trun``."""
    runs = [track for track in tracks if track.samples]
    if not runs:
        raise Mp4Error("a fragment needs at least one sample")
    mfhd = _full_box(b"mfhd", 0, 0, struct.pack(">I", sequence))

    def traf(run: TrackSamples, data_offset: int) -> bytes:
        flags = _NON_SYNC_SAMPLE_FLAGS if not run.all_sync else _SYNC_SAMPLE_FLAGS
        tfhd = _full_box(b"tfhd", 0, _TFHD_DEFAULTS, struct.pack(">III", run.track_id, run.sample_duration, flags))
        tfdt = _full_box(b"tfdt", 1, 0, struct.pack(">Q", run.base_decode_time))
        fields = [struct.pack(">Ii", len(run.samples), data_offset)]
        trun_flags = _TRUN_FIELDS
        if not run.all_sync:
            trun_flags |= _TRUN_FIRST_SAMPLE_FLAGS
            fields.append(struct.pack(">I", _SYNC_SAMPLE_FLAGS if run.first_is_sync else _NON_SYNC_SAMPLE_FLAGS))
        fields.extend(struct.pack(">I", len(sample)) for sample in run.samples)
        return _box(b"traf", tfhd, tfdt, _full_box(b"trun", 0, trun_flags, *fields))

    # The sizes do not depend on the offsets: lay the moof out once to learn where mdat begins.
    offset = len(_box(b"moof", mfhd, *(traf(run, 0) for run in runs))) + 8
    trafs = []
    for run in runs:
        trafs.append(traf(run, offset))
        offset += sum(len(sample) for sample in run.samples)
    return _box(b"moof", mfhd, *trafs) + _box(b"mdat", *(sample for run in runs for sample in run.samples))


# --------------------------------------------------------------------------------------------
# The test pattern and the tone.
# --------------------------------------------------------------------------------------------

_BARS = np.array(
    [(191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191), (191, 0, 0), (0, 0, 191)],
    dtype=np.uint8,
)
_BARS_PERIOD_SECONDS = 8
"""The colour bars scroll one picture width in this many seconds (a whole shared loop)."""


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def frame_code_geometry(width: int, height: int) -> tuple[int, int, int]:
    """(block width, stripe top, stripe height) of the frame-counter stripe."""
    stripe = max(8, height // 20) & ~1
    return width // FRAME_CODE_BITS, height - stripe, stripe


def read_frame_code(luma: np.ndarray) -> int:
    """The frame counter encoded in the stripe of a decoded picture's luma plane (H × W)."""
    height, width = luma.shape
    block, top, stripe = frame_code_geometry(width, height)
    row = luma[top + stripe // 4 : top + stripe - stripe // 4]
    value = 0
    for bit in range(FRAME_CODE_BITS):
        centre = bit * block + block // 2
        cell = row[:, max(0, centre - block // 4) : centre + block // 4 + 1]
        value = (value << 1) | int(cell.mean() > 128)
    return value


class TestPattern:
    """Renders the camera's pictures: scrolling colour bars, a box that sweeps the picture once a
    second, text lines (user, clock, counter) on a dark band, and the frame counter as a stripe
    of ``FRAME_CODE_BITS`` black/white blocks that ``read_frame_code`` reads back."""

    __test__ = False  # not a pytest class, despite the name

    def __init__(self, width: int, height: int, fps: int) -> None:
        self.width, self.height, self.fps = width, height, fps
        self._font_size = max(10, height // 15)
        self._line_height = self._font_size + 2
        bar_width = -(-width // len(_BARS))
        row = np.repeat(_BARS, bar_width, axis=0)[:width]
        self._bars = np.tile(np.concatenate([row, row]), (height, 1, 1))
        self._block, self._code_top, self._code_height = frame_code_geometry(width, height)

    def render(self, index: int, lines: Iterable[str]) -> av.VideoFrame:
        width, height, fps = self.width, self.height, self.fps
        scroll = (index * width // (fps * _BARS_PERIOD_SECONDS)) % width
        picture = self._bars[:, scroll : scroll + width].copy()
        box = max(8, height // 10)
        x = (index % fps) * (width - box) // max(1, fps - 1)
        top = self._code_top - box - 2
        picture[top : top + box, x : x + box] = 255
        code = picture[self._code_top :]
        code[:] = 0
        for bit in range(FRAME_CODE_BITS):
            if index >> (FRAME_CODE_BITS - 1 - bit) & 1:
                code[:, bit * self._block : (bit + 1) * self._block] = 255
        image = Image.fromarray(picture)
        draw = ImageDraw.Draw(image)
        lines = list(lines)
        draw.rectangle((0, 0, width, 4 + self._line_height * len(lines)), fill=(16, 16, 16))
        font = _font(self._font_size)
        for number, line in enumerate(lines):
            draw.text((4, 3 + number * self._line_height), line, fill=(235, 235, 235), font=font)
        return av.VideoFrame.from_image(image)


class Tone:
    """A 1 kHz sine, quiet, rising to a 100 ms beep at the start of every second (the beep and
    the keyframe share the second, so a viewer can check lip sync)."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        t = np.arange(sample_rate) / sample_rate
        envelope = np.full(sample_rate, 0.08)
        beep = int(0.1 * sample_rate)
        ramp = int(0.005 * sample_rate)
        envelope[:beep] = 0.5
        envelope[beep - ramp : beep] = np.linspace(0.5, 0.08, ramp)
        envelope[:ramp] = np.linspace(0.08, 0.5, ramp)
        second = (envelope * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
        self._two_seconds = np.concatenate([second, second])

    def frame(self, index: int) -> av.AudioFrame:
        """AAC frame ``index``: samples ``[1024 index, 1024 (index + 1))`` of the tone."""
        start = index * AAC_FRAME_SAMPLES % self.sample_rate
        samples = self._two_seconds[None, start : start + AAC_FRAME_SAMPLES]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = index * AAC_FRAME_SAMPLES
        frame.time_base = Fraction(1, self.sample_rate)
        return frame


def format_camera_clock(seconds: float) -> str:
    """The camera clock as drawn on the picture: UTC date and time to the millisecond."""
    whole, millis = divmod(round(seconds * 1000), 1000)
    stamp = datetime.fromtimestamp(whole, tz=timezone.utc)
    return f"{stamp:%Y-%m-%d %H:%M:%S}.{millis:03d} UTC"


# --------------------------------------------------------------------------------------------
# The live encoder.
# --------------------------------------------------------------------------------------------


def _check_format(width: int, height: int, fps: int, sample_rate: int) -> None:
    if width < 64 or height < 64 or width % 2 or height % 2:
        raise ValueError(f"picture size {width}x{height}: need even sizes of at least 64")
    if not 1 <= fps <= 60 or int(fps) != fps:
        raise ValueError(f"frame rate {fps}: need a whole number of frames per second, 1 to 60")
    if sample_rate not in AAC_SAMPLE_RATES:
        raise ValueError(f"sample rate {sample_rate}: need one of {AAC_SAMPLE_RATES}")


def fragment_frames_for(fps: int, fragment_frames: int | None = None) -> int:
    """Video frames per fragment: by default as many as fit in ``MAX_FRAGMENT_SECONDS`` (3 at
    15 fps, 200 ms); fewer (down to 1) for a lower latency at the cost of more, smaller chunks."""
    most = max(1, math.floor(MAX_FRAGMENT_SECONDS * fps + 1e-9))
    if fragment_frames is None:
        return most
    if int(fragment_frames) != fragment_frames or not 1 <= fragment_frames <= most:
        raise ValueError(
            f"fragments of {fragment_frames} frames: need 1 to {most} at {fps} fps "
            f"(at most {MAX_FRAGMENT_SECONDS * 1000:.0f} ms of media)"
        )
    return int(fragment_frames)


def _video_encoder(width: int, height: int, fps: int, crf: int | None = None) -> av.VideoCodecContext:
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = Fraction(1, fps)
    codec.framerate = Fraction(fps)
    # SPS and PPS once, in the extradata (for the avcC record), not in front of every IDR.
    codec.flags |= av.codec.context.Flags.global_header
    codec.options = {
        "preset": "ultrafast",
        # No lookahead and no frame threads: x264 returns each picture's packet from its encode.
        "tune": "zerolatency",
        "profile": "baseline",
        "threads": "1",
        # GOP = 1 s, every GOP closed and starting with an IDR, no scene-cut keyframes.
        "x264-params": f"keyint={fps}:min-keyint={fps}:scenecut=0:open-gop=0:bframes=0" + (f":crf={crf}" if crf else ""),
    }
    codec.open()
    return codec


def _audio_encoder(sample_rate: int, bit_rate: int) -> av.AudioCodecContext:
    codec = av.CodecContext.create("aac", "w")
    codec.sample_rate, codec.layout, codec.format = sample_rate, "mono", "fltp"
    codec.bit_rate = bit_rate
    codec.time_base = Fraction(1, sample_rate)
    codec.flags |= av.codec.context.Flags.global_header  # the AudioSpecificConfig, for esds
    codec.open()
    return codec


@dataclass(frozen=True)
class _Picture:
    """An encoded video frame waiting for its fragment to close."""

    index: int
    capture_time: float
    sample: bytes  # length-prefixed NAL units
    sync: bool


class LiveEncoder:
    """Renders and encodes one camera's stream as it is captured (see the module docstring).

    ``fragment_frames`` sets the video frames per fragment (``fragment_frames_for``)."""

    _audio_completes_fragments = False
    """Hold each fragment until the AAC encoder has returned every audio frame that starts within
    its time range (the shared loop's pre-encode, where latency does not count). A live camera
    sends a fragment at once and the audio frames still inside the encoder go in the next one."""

    def __init__(
        self,
        user_name: str,
        *,
        width: int = 320,
        height: int = 240,
        fps: int = 15,
        sample_rate: int = 48000,
        audio_bit_rate: int = 64000,
        max_catch_up: float = DEFAULT_MAX_CATCH_UP,
        fragment_frames: int | None = None,
    ) -> None:
        _check_format(width, height, fps, sample_rate)
        self.user_name = user_name
        self.width, self.height, self.fps, self.sample_rate = width, height, fps, sample_rate
        self.max_catch_up = max_catch_up
        self.fragment_frames = fragment_frames_for(fps, fragment_frames)
        self._pattern = TestPattern(width, height, fps)
        self._tone = Tone(sample_rate)
        self._video = _video_encoder(width, height, fps)
        self._audio = _audio_encoder(sample_rate, audio_bit_rate)
        self._frame_ticks = video_timescale(fps) // fps
        self._init = init_segment(
            width=width,
            height=height,
            fps=fps,
            avcc=avc_decoder_configuration(bytes(self._video.extradata or b"")),
            sample_rate=sample_rate,
            channels=1,
            audio_specific_config=bytes(self._audio.extradata or b""),
            audio_bit_rate=audio_bit_rate,
        )
        self.tracks = parse_init(self._init)
        self.mime = mime_type(self._init)
        self._start: float | None = None  # camera time of media time 0
        self._next_frame = 0  # the next picture to render and encode
        self._next_audio = 0  # the next AAC frame of the tone to encode
        self._video_out = 0  # the next picture whose packet the encoder returns
        self._audio_out = 0  # the next AAC frame whose packet the encoder returns
        self._frame_capture: dict[int, float] = {}
        self._audio_capture: dict[int, float] = {}
        self._pictures: list[_Picture] = []  # the open fragment's video
        self._cuts: list[list[_Picture]] = []  # closed fragments' video, waiting for their audio
        self._aac: list[bytes] = []  # AAC frames returned, not yet in a fragment ...
        self._aac_first = 0  # ... the first of which is this one
        self._sequence = 0
        self._ready: list[MediaChunk] = []
        self._closed = False

    @property
    def init(self) -> bytes:
        """The init segment (``ftyp`` + ``moov``), the same bytes as the first chunk's."""
        return self._init

    def caption(self, index: int, capture_time: float) -> tuple[str, ...]:
        """The text lines drawn on picture ``index``, captured at ``capture_time``."""
        return (self.user_name, format_camera_clock(capture_time), f"frame {index}")

    def feed(self, now: float) -> list[MediaChunk]:
        """Render and encode all frames and samples due up to camera time ``now``; the first call
        starts the stream and returns the init chunk first. Return the chunks completed: a
        fragment is complete as soon as its last video frame is encoded."""
        if self._closed:
            raise RuntimeError("the encoder is closed")
        chunks: list[MediaChunk] = []
        if self._start is None:
            self._start = now
            chunks.append(MediaChunk("init", self._init, now, False, 0.0, 0, 0))
        self._rebase(now)
        # A microsecond of slack: camera times are POSIX seconds, whose doubles are only good
        # to a quarter of a microsecond, and a frame fed at its due time must be due.
        elapsed = now - self._start + _TIME_SLACK
        frames_due = math.floor(elapsed * self.fps)
        audio_due = math.floor(elapsed * self.sample_rate) // AAC_FRAME_SAMPLES
        # In the order the media becomes due (audio first on a tie), so that a fragment holds
        # the same audio however the calls are spaced.
        while self._next_frame < frames_due or self._next_audio < audio_due:
            frame_due_at = (self._next_frame + 1) * self.sample_rate  # in 1 / (fps * sample rate) s
            audio_due_at = (self._next_audio + 1) * AAC_FRAME_SAMPLES * self.fps
            if self._next_audio < audio_due and (self._next_frame >= frames_due or audio_due_at <= frame_due_at):
                self._encode_audio(self._next_audio)
                self._next_audio += 1
            else:
                self._encode_frame(self._next_frame)
                self._next_frame += 1
        chunks.extend(self._ready)
        self._ready = []
        return chunks

    def close(self, now: float) -> list[MediaChunk]:
        """Encode what is due up to ``now``, flush the encoders and return the remaining chunks
        (the last fragment may be shorter, and holds the audio left in the encoder; without
        video left it is audio only). Closing again returns nothing."""
        if self._closed:
            return []
        chunks = self.feed(now)
        for packet in self._video.encode(None):
            self._add_picture(packet)
        for packet in self._audio.encode(None):
            self._add_audio(packet)
        if self._pictures:
            self._cuts.append(self._pictures)
            self._pictures = []
        self._release(final=True)
        self._closed = True
        chunks.extend(self._ready)
        self._ready = []
        return chunks

    def get_timer(self) -> float | None:
        """The camera time at which the open fragment's last video frame is due, that is when
        ``feed`` will return the next fragment: a driver can wake then rather than poll. None
        before the first ``feed`` and after ``close``."""
        if self._start is None or self._closed:
            return None
        first = self._video_out - len(self._pictures)
        end = min(first + self.fragment_frames, (first // self.fps + 1) * self.fps)
        return self._start + end / self.fps

    def _rebase(self, now: float) -> None:
        assert self._start is not None
        due_at = self._start + (self._next_frame + 1) / self.fps
        if abs(now - due_at) > self.max_catch_up:
            self._start = now - (self._next_frame + 1) / self.fps

    def _encode_frame(self, index: int) -> None:
        assert self._start is not None
        captured = self._start + index / self.fps
        self._frame_capture[index] = captured
        frame = self._pattern.render(index, self.caption(index, captured))
        frame.pts = index
        frame.time_base = Fraction(1, self.fps)
        for packet in self._video.encode(frame):
            self._add_picture(packet)

    def _encode_audio(self, index: int) -> None:
        assert self._start is not None
        self._audio_capture[index] = self._start + index * AAC_FRAME_SAMPLES / self.sample_rate
        for packet in self._audio.encode(self._tone.frame(index)):
            self._add_audio(packet)

    def _add_picture(self, packet: av.Packet) -> None:
        """A picture's packet (no B-frames: in capture order) joins the open fragment, which
        closes after ``fragment_frames`` pictures or at the end of the GOP."""
        index = self._video_out
        self._video_out += 1
        if packet.is_keyframe and self._pictures:
            self._close_fragment()  # an IDR always starts a fragment
        captured = self._frame_capture.pop(index)
        self._pictures.append(_Picture(index, captured, self._sample(packet), packet.is_keyframe))
        if len(self._pictures) == self.fragment_frames or (index + 1) % self.fps == 0:
            self._close_fragment()

    def _sample(self, packet: av.Packet) -> bytes:
        """A picture's MP4 sample (firmware_stub/adaptation.py adds parameter sets)."""
        return avc_sample(bytes(packet))

    def _add_audio(self, packet: av.Packet) -> None:
        # The AAC encoder's first packet is its priming delay (negative time stamp); it is
        # dropped so both tracks start at 0 and AAC frame k is the packet stamped 1024 k.
        if packet.pts is not None and packet.pts < 0:
            return
        if packet.pts != self._audio_out * AAC_FRAME_SAMPLES:
            expected = self._audio_out * AAC_FRAME_SAMPLES
            raise Mp4Error(f"the AAC encoder returned a packet at {packet.pts}, expected {expected}")
        self._aac.append(bytes(packet))
        self._audio_out += 1
        if self._cuts:
            self._release()

    def _close_fragment(self) -> None:
        self._cuts.append(self._pictures)
        self._pictures = []
        self._release()

    def _release(self, *, final: bool = False) -> None:
        """Turn closed fragments into chunks. Each takes the AAC frames returned so far that
        start before its end; on ``final`` the last one takes all the audio that is left."""
        while self._cuts:
            pictures = self._cuts[0]
            end = pictures[-1].index + 1
            # The first AAC frame that starts at or after the end of the fragment's video.
            audio_end = -(-end * self.sample_rate // (AAC_FRAME_SAMPLES * self.fps))
            if self._audio_completes_fragments and not final and self._audio_out < audio_end:
                return
            take = len(self._aac) if final and len(self._cuts) == 1 else max(0, audio_end - self._aac_first)
            self._cuts.pop(0)
            self._emit(pictures, min(take, len(self._aac)))
        if final and self._aac:
            self._emit([], len(self._aac))

    def _emit(self, pictures: list[_Picture], audio_frames: int) -> None:
        first_audio = self._aac_first
        audio = tuple(self._aac[:audio_frames])
        del self._aac[:audio_frames]
        self._aac_first += audio_frames
        audio_captures = [self._audio_capture.pop(k) for k in range(first_audio, first_audio + audio_frames)]
        self._sequence += 1
        runs = [
            TrackSamples(
                AUDIO_TRACK_ID, first_audio * AAC_FRAME_SAMPLES, AAC_FRAME_SAMPLES, audio, True, all_sync=True
            )
        ]
        if pictures:
            first = pictures[0]
            video = tuple(picture.sample for picture in pictures)
            base = first.index * self._frame_ticks
            runs.insert(0, TrackSamples(VIDEO_TRACK_ID, base, self._frame_ticks, video, first.sync))
            # A chunk's capture time is its first video frame's: viewers time frame i of the
            # chunk at capture time + i / fps (docs/decisions.md, glass-to-glass latency).
            chunk = MediaChunk(
                "media", media_fragment(self._sequence, runs), first.capture_time, first.sync,
                len(pictures) / self.fps, len(pictures), audio_frames,
            )
        else:
            chunk = MediaChunk(
                "media", media_fragment(self._sequence, runs), audio_captures[0], False,
                audio_frames * AAC_FRAME_SAMPLES / self.sample_rate, 0, audio_frames,
            )
        self._ready.append(chunk)


# --------------------------------------------------------------------------------------------
# The shared source: one pre-encoded loop replayed for many cameras.
# --------------------------------------------------------------------------------------------

_LOOP_LEAD_IN_SECONDS = 1
"""Seconds encoded and thrown away before the loop, so the loop's first AAC frames were encoded
with the tone before them (the tone repeats every second) and the loop closes without a click."""


def shared_loop_seconds(sample_rate: int, minimum: int = 1) -> int:
    """The shortest loop of at least ``minimum`` seconds that holds a whole number of GOPs (1 s),
    of AAC frames (1024 samples; at 48 kHz, every 8 s) and of colour-bar cycles, so that both
    tracks replay seamlessly, without drift between picture and sound."""
    seconds = max(1, minimum)
    while seconds % _BARS_PERIOD_SECONDS or seconds * sample_rate % AAC_FRAME_SAMPLES:
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
    _check_format(width, height, fps, sample_rate)
    fragment_frames = fragment_frames_for(fps, fragment_frames)
    if seconds is None:
        seconds = shared_loop_seconds(sample_rate)
    elif seconds != shared_loop_seconds(sample_rate, seconds):
        raise ValueError(
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
        if chunk.kind == "media" and _LOOP_LEAD_IN_SECONDS - 1e-6 <= chunk.capture_time < _LOOP_LEAD_IN_SECONDS + seconds - 1e-6
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
        while now - self._start >= self._media_end(self._next) - _TIME_SLACK:
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


# --------------------------------------------------------------------------------------------
# Decoding check.
# --------------------------------------------------------------------------------------------


def probe(init: bytes, chunks: Iterable[bytes]) -> dict:
    """Decode ``init`` followed by ``chunks`` from memory, as a player would.

    Returns ``video_frames`` and ``audio_frames`` (decoded pictures and AAC frames),
    ``audio_samples``, ``video_times`` and ``audio_times`` (presentation times in seconds, in
    decoding order), ``keyframes`` (indices of the key pictures), ``counters`` (the frame counter
    read back from each picture's stripe), and ``width``, ``height``, ``sample_rate``.
    """
    data = init + b"".join(chunks)
    result: dict = {
        "video_frames": 0,
        "audio_frames": 0,
        "audio_samples": 0,
        "video_times": [],
        "audio_times": [],
        "keyframes": [],
        "counters": [],
        "width": 0,
        "height": 0,
        "sample_rate": 0,
    }
    with av.open(io.BytesIO(data), "r", format="mp4") as container:
        for packet in container.demux():
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    plane = frame.planes[0]
                    luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
                    luma = luma[: frame.height, : frame.width]
                    if frame.key_frame:
                        result["keyframes"].append(result["video_frames"])
                    result["video_frames"] += 1
                    result["video_times"].append(float(frame.time))
                    result["counters"].append(read_frame_code(luma))
                    result["width"], result["height"] = frame.width, frame.height
                elif isinstance(frame, av.AudioFrame):
                    result["audio_frames"] += 1
                    result["audio_samples"] += frame.samples
                    result["audio_times"].append(float(frame.time))
                    result["sample_rate"] = frame.sample_rate
    return result
