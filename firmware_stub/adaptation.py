"""The camera's live stream adapts to its link (issue 16 item 7; SPEC L2, L5, T3 row 5).

What the radio model and the lab's impairments give the uplink (``CameraNetwork.link``: up,
latency, loss, rate) is turned into the rate a stream can count on, the **goodput**: one TCP
segment's serialisation at the link's rate plus, with the link's loss, the round trips of its
retransmissions — the same model the uplink applies (uplink.py). Three levels:

* ``full``: the camera's picture as ever (x264's default quality, about 265 kbit/s with sound);
* ``reduced``: the same picture at a lower quality (``REDUCED_CRF``, about 190 kbit/s with sound);
* ``audio_only``: no picture, the sound alone in audio-only fragments (about 76 kbit/s).

A level needs ``HEADROOM`` times its stream's rate. The level drops as soon as the goodput falls
below what the current one needs, and rises one step once the goodput has stayed above the next
level's need, with ``RAISE_MARGIN`` more, for ``RAISE_AFTER_S`` seconds of lab time: a link
flapping at a boundary does not make the picture flap. A link down (a hand-over gap, a cut) is an
outage rather than a weak link: it goes straight to audio only, so that little piles up in the
uplink while nothing passes, and when the link is back with room for the level it had before,
that level comes back at once.

``AdaptiveEncoder`` is the live encoder (media/live.py) that follows the level: a change of picture
quality takes effect at the next GOP (a new x264 encoder whose first picture is an IDR, its
SPS/PPS sent in band before every IDR from the first change on, so that a viewer joining later,
or one that saw another level's, decodes with the right ones); audio only starts at once (the open fragment is closed) and the
picture comes back at the next GOP. Timestamps run on through every change, so players keep one
timeline. The shared source (pre-encoded) does not adapt.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import av

from labnet.propagation import LinkQuality

from .media.live import LiveEncoder, _video_encoder
from .media.mp4_writer import annexb_nal_units
from .uplink import MIN_RTT_S, SEGMENT_BYTES

FULL, REDUCED, AUDIO_ONLY = "full", "reduced", "audio_only"
LEVELS = (AUDIO_ONLY, REDUCED, FULL)  # lowest first
STREAM_KBPS = {FULL: 265.0, REDUCED: 190.0, AUDIO_ONLY: 76.0}
"""What each level sends, audio and chunk overhead included (320x240 at 15 fps, as received: bench_poor_links.py)."""
HEADROOM = 1.5
RAISE_MARGIN = 1.25
RAISE_AFTER_S = 3.0
REDUCED_CRF = 40
AUDIO_ONLY_FRAMES = 6
"""AAC frames (128 ms at 48 kHz) per audio-only fragment."""


def goodput_kbps(link: LinkQuality) -> float:
    """The rate a stream can count on over ``link`` (see the module docstring)."""
    if not link.up or link.loss_ratio >= 1.0 or link.throughput_kbps <= 0:
        return 0.0
    retransmit = link.loss_ratio * max(MIN_RTT_S, 2 * link.latency_ms / 1000)
    if not math.isfinite(link.throughput_kbps):
        return math.inf if retransmit <= 0 else SEGMENT_BYTES * 8 / retransmit / 1000
    serialise = SEGMENT_BYTES * 8 / (link.throughput_kbps * 1000)
    return SEGMENT_BYTES * 8 / (serialise + retransmit) / 1000


def needed_kbps(level: str) -> float:
    return STREAM_KBPS[level] * HEADROOM


class LinkAdapter:
    """Chooses the stream's level from the link, with the hysteresis of the module docstring.
    Sans-I/O: ``update(now, link)`` with the lab time."""

    def __init__(self) -> None:
        self.level = FULL
        self.goodput = math.inf
        self._better_since: float | None = None
        self._before_outage: str | None = None  # the level the link had before it went down
        self.changes: list[dict[str, Any]] = []  # the level changes, latest last (bounded)

    def update(self, now: float, link: LinkQuality) -> bool:
        """Follow ``link`` at lab time ``now``; True when the level changed."""
        self.goodput = goodput_kbps(link)
        if not link.up:
            if self._before_outage is None:
                self._before_outage = self.level
            return self._set(now, AUDIO_ONLY) if self.level != AUDIO_ONLY else False
        if self._before_outage is not None:
            before, self._before_outage = self._before_outage, None
            if before != self.level and self.goodput >= needed_kbps(before) * RAISE_MARGIN:
                return self._set(now, before)
        rank = LEVELS.index(self.level)
        fits = max((i for i, level in enumerate(LEVELS) if self.goodput >= needed_kbps(level)), default=0)
        if fits < rank:
            return self._set(now, LEVELS[fits])
        if rank + 1 < len(LEVELS) and self.goodput >= needed_kbps(LEVELS[rank + 1]) * RAISE_MARGIN:
            if self._better_since is None:
                self._better_since = now
            elif now - self._better_since >= RAISE_AFTER_S:
                return self._set(now, LEVELS[rank + 1])
        else:
            self._better_since = None
        return False

    def _set(self, now: float, level: str) -> bool:
        self.changes.append(
            {"at": round(now, 3), "from": self.level, "to": level, "goodput_kbps": _rounded(self.goodput)}
        )
        del self.changes[:-20]
        self.level = level
        self._better_since = None
        return True

    def as_dict(self) -> dict[str, Any]:
        """The ``stream_quality`` part of the camera's state."""
        return {
            "level": self.level,
            "goodput_kbps": _rounded(self.goodput),
            "stream_kbps": STREAM_KBPS[self.level],
            "changes": list(self.changes[-5:]),
        }


def _rounded(kbps: float) -> float | None:
    return None if not math.isfinite(kbps) else round(kbps, 1)


def _length_prefixed(annexb: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(unit)) + unit for unit in annexb_nal_units(annexb))


class AdaptiveEncoder(LiveEncoder):
    """The live encoder at the level ``want`` asks for (see the module docstring)."""

    def __init__(self, user_name: str, **kwargs: Any) -> None:
        super().__init__(user_name, **kwargs)
        self.level = FULL  # what the stream carries now
        self.wanted = FULL
        self._in_band = b""  # length-prefixed SPS/PPS put before every IDR once the encoder changed

    def want(self, level: str) -> None:
        if level not in LEVELS:
            raise ValueError(f"stream level {level!r}: need one of {LEVELS}")
        self.wanted = level

    def _encode_frame(self, index: int) -> None:
        if self.wanted != self.level:
            if self.wanted == AUDIO_ONLY:
                if self._pictures:
                    self._close_fragment()
                self.level = AUDIO_ONLY
            elif index % self.fps == 0:
                self._open_video(self.wanted)
        if self.level == AUDIO_ONLY:
            self._video_out = index + 1  # the picture is not taken; the timeline runs on
            return
        super()._encode_frame(index)

    def _open_video(self, level: str) -> None:
        self._video = _video_encoder(self.width, self.height, self.fps, REDUCED_CRF if level == REDUCED else None)
        # In band from the first change on, even when they are the init segment's again: a viewer
        # that saw another level's must be told to drop them.
        self._in_band = _length_prefixed(bytes(self._video.extradata or b""))
        self.level = level

    def _sample(self, packet: av.Packet) -> bytes:
        sample = super()._sample(packet)
        return self._in_band + sample if packet.is_keyframe else sample

    def _add_audio(self, packet: av.Packet) -> None:
        super()._add_audio(packet)
        if self.level == AUDIO_ONLY and not self._cuts and not self._pictures and len(self._aac) >= AUDIO_ONLY_FRAMES:
            self._emit([], len(self._aac))
