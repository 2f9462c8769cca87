"""The camera's speaker: what an operator's talk-back sounds like on the camera (issue 16 item 3).

The hub relays ``talk_start`` / ``talk_packet`` / ``talk_stop`` (bwlab.wire.talk). The camera
derives the talk key from the content key of its live stream and the talk id
(docs/e2e-envelope.md §13), opens each packet, decodes the Opus with PyAV and "plays" it: the
speaker is active, its level (dBFS of the last packet) and the dominant frequency of what it heard
go to the Lab panel — never to the hub, which must not learn anything of the audio. The last
seconds heard are kept (``MAX_HEARD_SECONDS``) so that the lab can fetch them as a WAV
(``bwlab talk --heard``). Mouth-to-ear latency per packet: the camera clock when the packet is
decoded and playable, minus when its first sample was captured (``captured_at``, lab time).
"""

from __future__ import annotations

import base64
import io
import logging
import math
import statistics
import wave
from dataclasses import dataclass, field

import av
import numpy as np

from bwlab.wire import envelope
from bwlab.wire import talk as wire_talk

log = logging.getLogger(__name__)

MAX_HEARD_SECONDS = 30.0
SILENCE_DB = -90.0
MAX_LATENCIES = 3000


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level of float samples in [-1, 1], in dB below full scale (a floor of ``SILENCE_DB``)."""
    if samples.size == 0:
        return SILENCE_DB
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(SILENCE_DB, 20.0 * math.log10(rms)) if rms > 0 else SILENCE_DB


def dominant_frequency(samples: np.ndarray, rate: int = wire_talk.SAMPLE_RATE) -> float | None:
    """The strongest frequency (Hz) of the samples: a Hann-windowed FFT peak, refined by parabolic
    interpolation of the log magnitudes around it; None for silence or too few samples."""
    if samples.size < 1024 or not np.any(samples):
        return None
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    spectrum[0] = 0.0
    peak = int(np.argmax(spectrum))
    offset = 0.0
    if 0 < peak < spectrum.size - 1:
        a, b, c = np.log(spectrum[peak - 1 : peak + 2] + 1e-12)
        denominator = a - 2 * b + c
        offset = 0.5 * (a - c) / denominator if denominator else 0.0
    return float((peak + offset) * rate / samples.size)


def _mono(array: np.ndarray) -> np.ndarray:
    """Float mono samples of a decoded frame (planar: one row per channel, mixed down)."""
    return np.asarray(array, dtype=np.float32).reshape(array.shape[0], -1).mean(axis=0)


def wav_bytes(samples: np.ndarray, rate: int = wire_talk.SAMPLE_RATE) -> bytes:
    """16-bit mono PCM WAV of float samples."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return out.getvalue()


@dataclass
class _Talk:
    stream_id: str
    talk_id: str
    operator: str
    key: bytes
    decoder: av.audio.codeccontext.AudioCodecContext
    packets: int = 0
    failed: int = 0
    next_seq: int = 0


@dataclass
class Speaker:
    """The speaker of one camera and what it heard."""

    talk: _Talk | None = None
    last_operator: str | None = None
    level_db: float = SILENCE_DB
    packets: int = 0
    failed: int = 0
    talks: int = 0
    heard: list[np.ndarray] = field(default_factory=list)
    heard_samples: int = 0
    latencies: list[float] = field(default_factory=list)

    def start(self, message: wire_talk.TalkStart, stream_id: str | None, content_key: bytes | None) -> bool:
        """An operator took the floor of our stream: derive the talk key, open a decoder. False (and
        nothing changes) when the talk is for a stream this camera does not stream now."""
        if stream_id is None or content_key is None or message.stream_id != stream_id:
            log.info("talk for stream %s ignored: not the camera's live stream", message.stream_id)
            return False
        try:
            key = envelope.talk_key(content_key, stream_id, wire_talk.talk_id_bytes(message.talk_id))
        except envelope.EnvelopeError as exc:
            log.warning("talk refused: %s", exc)
            return False
        decoder = av.CodecContext.create("opus", "r")
        decoder.sample_rate = wire_talk.SAMPLE_RATE
        decoder.layout = "mono"
        self.talk = _Talk(stream_id, message.talk_id, message.operator, key, decoder)
        self.last_operator = message.operator
        self.talks += 1
        self.heard, self.heard_samples, self.latencies = [], 0, []
        return True

    def play(self, message: wire_talk.TalkPacket, now: float) -> bool:
        """Open, decode and play one packet; False if it is not of the current talk, comes after a
        later one (a replay) or does not open (counted as failed, never played)."""
        talk = self.talk
        if talk is None or message.talk_id != talk.talk_id or message.stream_id != talk.stream_id:
            return False
        if message.seq < talk.next_seq:  # played already, or late: a replay is never played twice
            talk.failed += 1
            self.failed += 1
            log.warning("talk packet %d dropped: seq %d played already", message.seq, talk.next_seq - 1)
            return False
        try:
            opus = envelope.open_talk(talk.key, talk.stream_id, message.seq, wire_talk.packet_bytes(message.data))
            frames = talk.decoder.decode(av.Packet(opus))
        except (envelope.EnvelopeError, av.error.FFmpegError) as exc:
            talk.failed += 1
            self.failed += 1
            log.warning("talk packet %d dropped: %s", message.seq, exc)
            return False
        samples = [_mono(frame.to_ndarray()) for frame in frames]
        pcm = np.concatenate(samples) if samples else np.zeros(0, np.float32)
        talk.next_seq = message.seq + 1
        talk.packets += 1
        self.packets += 1
        self.level_db = level_dbfs(pcm)
        self._keep(pcm)
        if len(self.latencies) < MAX_LATENCIES:
            self.latencies.append(now - message.captured_at)
        return True

    def stop(self, message: wire_talk.TalkStop | None = None) -> bool:
        """The talk ended (the hub said so, or the camera's stream ended)."""
        if self.talk is None or (message is not None and message.talk_id != self.talk.talk_id):
            return False
        self.talk = None
        self.level_db = SILENCE_DB
        return True

    def _keep(self, pcm: np.ndarray) -> None:
        self.heard.append(pcm)
        self.heard_samples += pcm.size
        limit = int(MAX_HEARD_SECONDS * wire_talk.SAMPLE_RATE)
        while self.heard_samples - self.heard[0].size >= limit and len(self.heard) > 1:
            self.heard_samples -= self.heard.pop(0).size

    def samples(self) -> np.ndarray:
        return np.concatenate(self.heard) if self.heard else np.zeros(0, np.float32)

    def state(self) -> dict:
        """For the Lab panel (not the hub): whether the speaker plays, whose voice, how loud."""
        heard = self.samples()
        frequency = dominant_frequency(heard[-wire_talk.SAMPLE_RATE :])  # the last second heard
        return {
            "active": self.talk is not None,
            "operator": self.talk.operator if self.talk else None,
            "last_operator": self.last_operator,
            "level_db": round(self.level_db, 1),
            "heard_seconds": round(heard.size / wire_talk.SAMPLE_RATE, 2),
            "heard_hz": round(frequency, 1) if frequency is not None else None,
            "packets": self.packets,
            "failed": self.failed,
            "talks": self.talks,
            "latency_ms_p50": round(1000 * statistics.median(self.latencies), 1) if self.latencies else None,
        }

    def report(self, *, with_wav: bool = False) -> dict:
        """What the camera heard in the last talk: the state, the latencies, and the WAV (base64)."""
        out = {**self.state(), "latencies_ms": [round(1000 * x, 2) for x in self.latencies]}
        if with_wav:
            out["wav"] = base64.b64encode(wav_bytes(self.samples())).decode("ascii")
        return out
