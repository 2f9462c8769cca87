"""Writing CMAF (ISO/IEC 14496-12, -15): the init segment and media fragments from the encoders' packets (DESIGN "Media").

Reading is ``bwlab.wire.fmp4``, shared with the viewers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from bwlab.wire.fmp4 import Mp4Error

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


def _track(
    track_id: int,
    timescale: int,
    handler: bytes,
    name: bytes,
    media_header: bytes,
    sample_entry: bytes,
    *,
    width: int = 0,
    height: int = 0,
    volume: int = 0,
    alternate_group: int = 0,
) -> bytes:
    tkhd = _full_box(
        b"tkhd",
        0,
        0x000003,  # enabled, in the presentation
        struct.pack(">IIIII", 0, 0, track_id, 0, 0),
        bytes(8),
        struct.pack(">hhhH", 0, alternate_group, volume, 0),
        _UNITY_MATRIX,
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


def init_segment(
    *,
    width: int,
    height: int,
    fps: int,
    avcc: bytes,
    sample_rate: int,
    channels: int,
    audio_specific_config: bytes,
    audio_bit_rate: int,
) -> bytes:
    """The CMAF init segment (``ftyp`` + ``moov`` with ``mvex``, no samples) for an H.264 track
    (id 1) and an AAC track (id 2), ``avcc`` and ``audio_specific_config`` from the encoders."""
    avc1 = _box(
        b"avc1",
        bytes(6),
        struct.pack(">H", 1),
        bytes(16),  # data reference 1; pre-defined and reserved
        struct.pack(">HHIIIH", width, height, 0x00480000, 0x00480000, 0, 1),  # 72 dpi, 1 frame per sample
        bytes(32),
        struct.pack(">Hh", 0x0018, -1),  # no compressor name; depth 24, no colour table
        _box(b"avcC", avcc),
    )
    esds = _full_box(
        b"esds",
        0,
        0,
        _write_descriptor(
            0x03,
            struct.pack(">HB", AUDIO_TRACK_ID, 0),  # ES_Descriptor: ES_ID, no options
            _write_descriptor(
                0x04,
                struct.pack(">BB", 0x40, 0x15),
                bytes(3),  # MPEG-4 audio, audio stream; buffer size
                struct.pack(">II", audio_bit_rate, audio_bit_rate),
                _write_descriptor(0x05, audio_specific_config),
            ),
            _write_descriptor(0x06, b"\x02"),  # SLConfigDescriptor: predefined for MP4
        ),
    )
    mp4a = _box(
        b"mp4a",
        bytes(6),
        struct.pack(">H", 1),
        bytes(8),
        struct.pack(">HHHHI", channels, 16, 0, 0, sample_rate << 16),
        esds,
    )
    mvhd = _full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIIII", 0, 0, 1000, 0, 0x00010000),
        struct.pack(">H", 0x0100),
        bytes(10),
        _UNITY_MATRIX,
        bytes(24),
        struct.pack(">I", AUDIO_TRACK_ID + 1),
    )
    video = _track(
        VIDEO_TRACK_ID,
        video_timescale(fps),
        b"vide",
        b"VideoHandler",
        _full_box(b"vmhd", 0, 0x000001, bytes(8)),
        avc1,
        width=width,
        height=height,
    )
    audio = _track(
        AUDIO_TRACK_ID,
        sample_rate,
        b"soun",
        b"SoundHandler",
        _full_box(b"smhd", 0, 0, bytes(4)),
        mp4a,
        volume=0x0100,
        alternate_group=1,
    )
    mvex = _box(
        b"mvex",
        *(
            _full_box(b"trex", 0, 0, struct.pack(">IIIII", track_id, 1, 0, 0, 0))
            for track_id in (VIDEO_TRACK_ID, AUDIO_TRACK_ID)
        ),
    )
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
