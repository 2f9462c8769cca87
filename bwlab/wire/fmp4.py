"""Reading fragmented MP4 (ISO/IEC 14496-12): what a camera sends and a viewer plays (DESIGN "Media"; SPEC D6, L5).

Just enough of the box structure to split, describe and re-time the CMAF streams the cameras
write (``firmware_stub.media``): the boxes of a buffer, the tracks an init segment declares
(with their RFC 6381 codecs and the MSE type), the track runs of a media fragment, and a copy of
a fragment with another sequence number and shifted decode times. Pure and synchronous; the
camera (writing, replaying its shared loop) and the reference viewer (``bwlab.viewer``) both
use it. The browser's counterpart is ``webui/js/fmp4.js``, tested against the same vectors.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from bwlab.errors import WireError

_SAMPLE_IS_NON_SYNC = 0x00010000
_FULL_BOX_HEADER = 4


class Mp4Error(WireError, ValueError):
    """Bytes that are not the fragmented MP4 the cameras write and the viewers read."""

    code = "bad_mp4"


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
