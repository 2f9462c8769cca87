"""The live encoder: one camera's pictures and sound rendered, encoded and cut as they are captured (DESIGN "Media").

See ``firmware_stub.media`` for the timing model and the latency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import av

from bwlab.wire.fmp4 import Mp4Error, mime_type, parse_init

from .mp4_writer import (
    AUDIO_TRACK_ID,
    VIDEO_TRACK_ID,
    TrackSamples,
    avc_decoder_configuration,
    avc_sample,
    init_segment,
    media_fragment,
    video_timescale,
)
from .pattern import TestPattern, Tone, format_camera_clock
from .stream import (
    AAC_FRAME_SAMPLES,
    AAC_SAMPLE_RATES,
    DEFAULT_MAX_CATCH_UP,
    LOW_LATENCY_AUDIO_CHUNK_FRAMES,
    MAX_AUDIO_CHUNK_FRAMES,
    MAX_FRAGMENT_SECONDS,
    TIME_SLACK,
    FormatError,
    MediaChunk,
)


def check_format(width: int, height: int, fps: int, sample_rate: int) -> None:
    if width < 64 or height < 64 or width % 2 or height % 2:
        raise FormatError(f"picture size {width}x{height}: need even sizes of at least 64")
    if not 1 <= fps <= 60 or int(fps) != fps:
        raise FormatError(f"frame rate {fps}: need a whole number of frames per second, 1 to 60")
    if sample_rate not in AAC_SAMPLE_RATES:
        raise FormatError(f"sample rate {sample_rate}: need one of {AAC_SAMPLE_RATES}")


def fragment_frames_for(fps: int, fragment_frames: int | None = None) -> int:
    """Video frames per fragment: by default as many as fit in ``MAX_FRAGMENT_SECONDS`` (3 at
    15 fps, 200 ms); fewer (down to 1) for a lower latency at the cost of more, smaller chunks."""
    most = max(1, math.floor(MAX_FRAGMENT_SECONDS * fps + 1e-9))
    if fragment_frames is None:
        return most
    if int(fragment_frames) != fragment_frames or not 1 <= fragment_frames <= most:
        raise FormatError(
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
        "x264-params": f"keyint={fps}:min-keyint={fps}:scenecut=0:open-gop=0:bframes=0"
        + (f":crf={crf}" if crf else ""),
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

    ``fragment_frames`` sets the video frames per fragment (``fragment_frames_for``). With
    ``audio_chunk_frames`` N > 0 the sound does not wait for the video: as soon as N AAC frames
    are returned and no video fragment is ready, they leave in an audio-only fragment (a video
    fragment still takes the audio returned before it closes)."""

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
        audio_chunk_frames: int = 0,
    ) -> None:
        check_format(width, height, fps, sample_rate)
        if int(audio_chunk_frames) != audio_chunk_frames or not 0 <= audio_chunk_frames <= MAX_AUDIO_CHUNK_FRAMES:
            raise FormatError(
                f"audio chunks of {audio_chunk_frames} AAC frames: need 0 (none) to {MAX_AUDIO_CHUNK_FRAMES}"
            )
        self.audio_chunk_frames = int(audio_chunk_frames)
        self.low_latency = False
        self.user_name = user_name
        self.width, self.height, self.fps, self.sample_rate = width, height, fps, sample_rate
        self.max_catch_up = max_catch_up
        self.fragment_frames = fragment_frames_for(fps, fragment_frames)
        self._chunking = (self.fragment_frames, self.audio_chunk_frames)  # as set up, without low-latency viewers
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

    def set_low_latency(self, on: bool) -> None:
        """Low-latency viewers are watching (the hub's ``viewer_latency``): 1-frame fragments and
        the sound ahead in audio-only fragments of ``LOW_LATENCY_AUDIO_CHUNK_FRAMES`` (or the
        smaller size set up); off, the chunking set up. Takes effect from the open fragment on,
        without a gap or a repeat in either track."""
        fragment_frames, audio_chunk_frames = self._chunking
        if on:
            fragment_frames = 1
            audio_chunk_frames = min(
                audio_chunk_frames or LOW_LATENCY_AUDIO_CHUNK_FRAMES, LOW_LATENCY_AUDIO_CHUNK_FRAMES
            )
        self.low_latency = bool(on)
        self.fragment_frames, self.audio_chunk_frames = fragment_frames, audio_chunk_frames

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
        elapsed = now - self._start + TIME_SLACK
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
        due = self._start + end / self.fps
        if self.audio_chunk_frames:
            # Each AAC frame fed from now on returns one packet (the encoder's delay is already in).
            fed = self._next_audio + max(1, self.audio_chunk_frames - len(self._aac))
            due = min(due, self._start + fed * AAC_FRAME_SAMPLES / self.sample_rate)
        return due

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
        if len(self._pictures) >= self.fragment_frames or (index + 1) % self.fps == 0:
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
        elif self.audio_chunk_frames and len(self._aac) >= self.audio_chunk_frames:
            self._emit([], len(self._aac))

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
        runs = (
            [
                TrackSamples(
                    AUDIO_TRACK_ID, first_audio * AAC_FRAME_SAMPLES, AAC_FRAME_SAMPLES, audio, True, all_sync=True
                )
            ]
            if audio or not pictures
            else []
        )  # no empty audio run when the sound went ahead (audio_chunk_frames)
        if pictures:
            first = pictures[0]
            video = tuple(picture.sample for picture in pictures)
            base = first.index * self._frame_ticks
            runs.insert(0, TrackSamples(VIDEO_TRACK_ID, base, self._frame_ticks, video, first.sync))
            # A chunk's capture time is its first video frame's: viewers time frame i of the
            # chunk at capture time + i / fps (docs/decisions.md, glass-to-glass latency).
            chunk = MediaChunk(
                "media",
                media_fragment(self._sequence, runs),
                first.capture_time,
                first.sync,
                len(pictures) / self.fps,
                len(pictures),
                audio_frames,
            )
        else:
            chunk = MediaChunk(
                "media",
                media_fragment(self._sequence, runs),
                audio_captures[0],
                False,
                audio_frames * AAC_FRAME_SAMPLES / self.sample_rate,
                0,
                audio_frames,
            )
        self._ready.append(chunk)
