"""Talk-back from Python (issue 16 item 3): what Live's talk button does, for ``bwlab talk``,
tests and the benchmark.

``load_wav`` reads any audio file PyAV opens as 48 kHz mono; ``encode_opus`` cuts it into 20 ms
Opus packets; ``talk`` takes the floor of a live stream's camera over the talk socket, seals
each packet with a fresh talk key (derived from the stream's content key, which the operator
unwraps with the system private key: docs/e2e-envelope.md §13) and sends it at the pace it would
be spoken, stamped with the lab time its first sample was "captured".
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import av
import numpy as np

from bwlab.client import Session
from bwlab.clock import Clock, monotonic
from bwlab.errors import InputError, Refused
from bwlab.wire import envelope
from bwlab.wire import messages as m
from bwlab.wire import talk as wire_talk

FRAME = int(wire_talk.SAMPLE_RATE * wire_talk.FRAME_SECONDS)  # 960 samples per Opus packet
FLOOR_TIMEOUT = 5.0
_REFUSALS = {409: "stream_ended", 403: "forbidden", 404: "no_such_stream", 429: "too_many_websockets"}


class TalkError(Refused):
    """Talk-back was refused; ``code`` is stable (floor_busy, camera_offline, stream_ended, …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


class BadAudio(InputError):
    """The audio file to say cannot be read."""

    code = "bad_audio"


@dataclass(frozen=True)
class TalkReport:
    stream_id: str
    talk_id: str
    packets: int
    seconds: float


def load_wav(path: Path) -> np.ndarray:
    """The audio of ``path`` as float32 samples, 48 kHz mono (resampled and mixed down by PyAV)."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise BadAudio(f"{path}: no audio stream")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=wire_talk.SAMPLE_RATE)
            chunks = [
                out.to_ndarray().reshape(-1) for frame in container.decode(audio=0) for out in resampler.resample(frame)
            ]
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    except (av.error.FFmpegError, OSError) as exc:
        raise BadAudio(f"{path}: not an audio file PyAV can read ({exc})") from None
    if not chunks:
        raise BadAudio(f"{path}: no audio samples")
    return np.concatenate(chunks).astype(np.float32)


def encode_opus(samples: np.ndarray, bitrate: int = 32_000) -> list[bytes]:
    """20 ms Opus packets (48 kHz mono) of the samples, the last frame padded with silence."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = wire_talk.SAMPLE_RATE
    encoder.layout = "mono"
    encoder.format = "flt"
    encoder.bit_rate = bitrate
    encoder.open()
    padded = np.concatenate([samples, np.zeros(-samples.size % FRAME, np.float32)])
    packets: list[bytes] = []
    for start in range(0, padded.size, FRAME):
        frame = av.AudioFrame.from_ndarray(padded[start : start + FRAME].reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = wire_talk.SAMPLE_RATE
        frame.pts = start
        packets += [bytes(p) for p in encoder.encode(frame)]
    packets += [bytes(p) for p in encoder.encode(None)]
    return packets


async def _floor(ws, want_mine: bool) -> wire_talk.TalkFloor:
    """The next talk_floor (raising the cloud's error instead, if one comes first)."""
    while True:
        msg = await ws.receive(timeout=FLOOR_TIMEOUT)
        if msg.type.name != "TEXT":
            raise TalkError("talk_closed", f"the talk socket closed ({msg.extra or msg.type.name})")
        message = m.decode(msg.data, (wire_talk.TalkFloor, m.Error))
        if isinstance(message, m.Error):
            raise TalkError(message.code, message.message)
        if message.mine or not want_mine:
            return message


async def talk(
    session: Session,
    org_id: str,
    stream: dict,
    system_key: envelope.LinkKey,
    packets: list[bytes],
    clock: Clock,
    *,
    realtime: bool = True,
) -> TalkReport:
    """Take the floor of ``stream``'s camera, send the packets sealed end to end, release."""
    wrapped = stream.get("wrapped_key") or {}
    if wrapped.get("key_fingerprint") != system_key.fingerprint:
        raise envelope.WrongKey(
            f"the stream is encrypted for key {wrapped.get('key_fingerprint')}, "
            f"not for this link's key {system_key.fingerprint}"
        )
    content_key = envelope.unwrap_content_key(system_key.private_key, stream["id"], wrapped)
    talk_id = os.urandom(envelope.TALK_ID_SIZE)
    key = envelope.talk_key(content_key, stream["id"], talk_id)
    talk_text = envelope.b64url_encode(talk_id)
    path = f"/api/cloud/orgs/{org_id}/streams/{stream['id']}/talk"
    try:
        ws = await session.http.ws_connect(session.base_url + path, ssl=session.ssl, headers=session.headers())
    except aiohttp.WSServerHandshakeError as exc:
        code = _REFUSALS.get(exc.status, "talk_refused")
        raise TalkError(code, f"the cloud refused the talk socket (HTTP {exc.status}, {code})") from None
    async with ws:
        await _floor(ws, want_mine=False)
        await ws.send_str(m.encode(wire_talk.TalkTake(talk_id=talk_text)))
        await _floor(ws, want_mine=True)
        start_wall, start_mono = clock.now(), monotonic()
        for seq, packet in enumerate(packets):
            due = (seq + 1) * wire_talk.FRAME_SECONDS  # the packet's last sample has been spoken
            if realtime and (wait := start_mono + due - monotonic()) > 0:
                await asyncio.sleep(wait)
            captured = start_wall + seq * wire_talk.FRAME_SECONDS if realtime else clock.now()
            sealed = envelope.seal_talk(key, stream["id"], seq, packet)
            await ws.send_str(
                m.encode(wire_talk.TalkAudio(seq=seq, data=envelope.b64url_encode(sealed), captured_at=captured))
            )
        await ws.send_str(m.encode(wire_talk.TalkRelease()))
        await _floor(ws, want_mine=False)  # the floor is free again: every packet went before the release
    return TalkReport(stream["id"], talk_text, len(packets), len(packets) * wire_talk.FRAME_SECONDS)
