"""The reference viewer (``bwlab view``): what the web client does, in Python.

It signs in as an operator account, opens the key from the link with key (the private key
stays here, S5), receives a stream's ciphertext frames over the live or recording WebSocket,
unwraps the content key, opens every chunk, decodes the media with PyAV and reports frames,
audio packets and glass-to-glass latency.

Latency is measured per video frame: the time this viewer holds the frame decrypted minus the
frame's capture time (the chunk's capture time is its first sample's; later frames in the chunk
are one frame duration apart), plus the mean decode time per frame measured on the same media.
S1: when the newest chunk's capture time and the viewer's clock differ by more than
``CLOCK_TOLERANCE_S`` seconds, the viewer refuses to play and says why, as the web client does.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

from bwlab.client import Session
from bwlab.clock import Clock, LabClock, monotonic
from bwlab.errors import Refused
from bwlab.wire import chunk as wire_chunk
from bwlab.wire import envelope
from bwlab.wire.constants import CLOCK_TOLERANCE_S
from bwlab.wire.fmp4 import parse_fragment, parse_init
from bwlab.wire.media_probe import probe


class ClockMismatch(Refused):
    """S1: the camera's clock and the viewer's disagree; the stream is refused."""


@dataclass
class ViewReport:
    stream_id: str
    user_name: str = ""
    chunks: int = 0
    bytes: int = 0
    video_frames: int = 0
    audio_frames: int = 0
    frame_counters: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    capture_times: list[float] = field(default_factory=list)  # of the frames in latencies_ms, same order
    decode_ms_per_frame: float = 0.0
    ended: bool = False
    seqs: list[int] = field(default_factory=list)
    live_bytes: int = 0  # of the chunks received live (after the catch-up a joiner gets first)
    live_audio_frames: int = 0
    live_chunk_pictures: list[int] = field(default_factory=list)  # per live media chunk, its video frames

    def percentile(self, p: float) -> float | None:
        if not self.latencies_ms:
            return None
        data = sorted(self.latencies_ms)
        k = min(len(data) - 1, max(0, round(p / 100 * (len(data) - 1))))
        return data[k]

    def as_dict(self) -> dict:
        return {
            "stream_id": self.stream_id,
            "user_name": self.user_name,
            "chunks": self.chunks,
            "bytes": self.bytes,
            "video_frames": self.video_frames,
            "audio_frames": self.audio_frames,
            "ended": self.ended,
            "latency_ms": {
                "p50": self.percentile(50),
                "p95": self.percentile(95),
                "p99": self.percentile(99),
                "mean": statistics.fmean(self.latencies_ms) if self.latencies_ms else None,
                "samples": len(self.latencies_ms),
            },
            "decode_ms_per_frame": round(self.decode_ms_per_frame, 3),
        }


class Viewer:
    def __init__(
        self,
        url: str,
        ca_pem: str | None,
        *,
        email: str,
        password: str,
        link: str,
        passphrase: str | None = None,
        clock: Clock | None = None,
    ):
        self.session = Session(url, ca_pem)
        self.email, self.password = email, password
        self.key = envelope.read_link(link, passphrase)  # raises WrongPassphrase / PassphraseRequired
        self.clock = clock or LabClock()
        self.org_id: str | None = None

    async def __aenter__(self) -> Viewer:
        await self.sign_in()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.session.close()

    async def sign_in(self) -> None:
        await self.session.sign_in_cloud(self.email, self.password)
        me = await self.session.get("/api/cloud/me")
        if not me["organizations"]:
            raise RuntimeError(f"{self.email} belongs to no organization")
        self.org_id = me["org_id"] or me["organizations"][0]["id"]
        await self.session.put("/api/cloud/sessions/current", {"org_id": self.org_id})

    async def streams(self, state: str = "live") -> list[dict]:
        return (await self.session.get(f"/api/cloud/orgs/{self.org_id}/streams?state={state}"))["streams"]

    async def wait_for_stream(self, timeout: float = 10.0, user_name: str | None = None) -> dict:
        deadline = monotonic() + timeout
        while monotonic() < deadline:
            for s in await self.streams("live"):
                if user_name is None or s["user_name"] == user_name:
                    return s
            await asyncio.sleep(0.05)
        raise TimeoutError("no live stream appeared")

    async def watch(
        self,
        stream_id: str,
        *,
        seconds: float | None = None,
        recording: bool = False,
        check_clock: bool = True,
        low_latency: bool = False,
    ) -> ViewReport:
        """Receive, decrypt and decode a stream: live for ``seconds`` (or until it ends), or a
        whole recording. ``low_latency``: watch as the low-latency view does (``latency=low``)."""
        path = f"/api/cloud/orgs/{self.org_id}/streams/{stream_id}/{'recording' if recording else 'live'}"
        if low_latency and not recording:
            path += "?latency=low"
        report = ViewReport(stream_id)
        plain: list[tuple[wire_chunk.Chunk, bytes, float | None]] = []
        content_key: bytes | None = None
        at_live_edge = recording
        deadline = None if seconds is None else monotonic() + seconds
        async with self.session.http.ws_connect(
            self.session.base_url + path,
            ssl=self.session.ssl,
            headers=self.session.headers(),
            max_msg_size=8 * 1024 * 1024,
        ) as ws:
            while True:
                timeout = None if deadline is None else max(0.0, deadline - monotonic())
                if timeout == 0.0:
                    break
                try:
                    msg = await ws.receive(timeout=timeout)
                except TimeoutError:
                    break
                if msg.type.name == "TEXT":
                    data = msg.json()
                    if data["type"] == "stream":
                        meta = data["stream"]
                        report.user_name = meta["user_name"]
                        content_key = envelope.unwrap_content_key(self.key.private_key, stream_id, meta["wrapped_key"])
                    elif data["type"] == "live_edge":
                        at_live_edge = True
                    elif data["type"] in ("ended", "end"):
                        report.ended = True
                        break
                    continue
                if msg.type.name != "BINARY":
                    break
                c = wire_chunk.decode(msg.data)
                assert content_key is not None
                payload = envelope.open_chunk(content_key, stream_id, c.kind, c.seq, c.payload)
                received = self.clock.now()
                if check_clock and not recording and c.kind == wire_chunk.KIND_MEDIA:
                    skew = received - (c.capture_time + c.duration)
                    if abs(skew) > CLOCK_TOLERANCE_S:
                        raise ClockMismatch(
                            f"the camera's clock and this viewer's clock differ by {skew:+.1f} s, more than the "
                            f"{CLOCK_TOLERANCE_S:.0f} s allowed (S1): the stream is refused. Set the body-worn system "
                            "and this computer to the same NTP server."
                        )
                plain.append((c, payload, received if at_live_edge else None))
                report.chunks += 1
                report.bytes += len(msg.data)
                report.live_bytes += len(msg.data) if at_live_edge else 0
                report.seqs.append(c.seq)
        await asyncio.to_thread(self._decode, plain, report, not recording)
        return report

    def _decode(
        self, plain: list[tuple[wire_chunk.Chunk, bytes, float | None]], report: ViewReport, live: bool
    ) -> None:
        inits = [p for c, p, _ in plain if c.kind == wire_chunk.KIND_INIT]
        media = [(c, p, t) for c, p, t in plain if c.kind == wire_chunk.KIND_MEDIA]
        if not inits or not media:
            return
        tracks = parse_init(inits[0])
        started = time.perf_counter()
        result = probe(inits[0], [p for _, p, _ in media])
        elapsed = time.perf_counter() - started
        report.video_frames = result["video_frames"]
        report.audio_frames = result["audio_frames"]
        report.frame_counters = result["counters"]
        report.decode_ms_per_frame = 1000 * elapsed / max(1, result["video_frames"])
        if not live:
            return
        video = next(t for t in tracks.values() if t.handler == "vide")
        for c, payload, received in media:
            if received is None:  # catch-up from the GOP cache, not live
                continue
            runs = parse_fragment(payload, tracks)
            report.live_audio_frames += sum(r.sample_count for r in runs if r.track_id != video.track_id)
            run = next((r for r in runs if r.track_id == video.track_id), None)
            report.live_chunk_pictures.append(0 if run is None else run.sample_count)
            if run is None or run.sample_count == 0:
                continue
            dt = run.duration / run.sample_count / video.timescale
            for i in range(run.sample_count):
                capture = c.capture_time + i * dt
                report.latencies_ms.append(1000 * (received - capture) + report.decode_ms_per_frame)
                report.capture_times.append(capture)
