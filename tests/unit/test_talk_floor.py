"""Talk-back's pure parts (issue 16 item 3): the floor (one talker per camera) and the camera
speaker's level, tone and WAV.

covers: S14, S17
"""

from __future__ import annotations

import io
import os
import wave

import numpy as np
import pytest

from appliance.cloud.talk import TalkFloors
from appliance.devices import DeviceId
from bwlab.talker import encode_opus
from bwlab.wire import envelope
from bwlab.wire import talk as wire_talk
from firmware_stub.speaker import (
    SILENCE_DB,
    Speaker,
    dominant_frequency,
    level_dbfs,
    wav_bytes,
)

CAM = DeviceId("sys-1", "B8A44F000101")
OTHER_CAM = DeviceId("sys-2", "B8A44F000101")  # the same serial in another system: another camera


def test_one_talker_per_camera_and_only_the_holder_releases() -> None:
    floors = TalkFloors()
    a, b = object(), object()
    assert floors.take(CAM, a, "Anna", "s1", "t1") is not None
    assert floors.take(CAM, b, "Ben", "s1", "t2") is None
    assert floors.holder(CAM).talker == "Anna"
    assert floors.take(OTHER_CAM, b, "Ben", "s2", "t3") is not None  # another system's camera is free
    assert floors.release(CAM, b) is None and floors.holder(CAM).owner is a
    again = floors.take(CAM, a, "Anna", "s1", "t4")  # the holder starts a new talk
    assert again is not None and again.talk_id == "t4"
    assert floors.release(CAM, a).talk_id == "t4" and floors.holder(CAM) is None
    assert floors.take(CAM, b, "Ben", "s1", "t5") is not None


def test_watchers_are_forgotten_when_the_last_leaves() -> None:
    floors = TalkFloors()
    a, b = object(), object()
    floors.watch(CAM, a)
    floors.watch(CAM, b)
    floors.unwatch(CAM, a)
    assert floors.watchers[CAM] == {b}
    floors.unwatch(CAM, b)
    assert CAM not in floors.watchers


def test_level_and_dominant_frequency() -> None:
    t = np.arange(48_000) / 48_000
    tone = (0.5 * np.sin(2 * np.pi * 1234.5 * t)).astype(np.float32)
    assert abs(level_dbfs(tone) - 20 * np.log10(0.5 / np.sqrt(2))) < 0.1
    assert level_dbfs(np.zeros(960, np.float32)) == SILENCE_DB
    assert abs(dominant_frequency(tone) - 1234.5) < 0.5
    assert dominant_frequency(np.zeros(48_000, np.float32)) is None
    with wave.open(io.BytesIO(wav_bytes(tone))) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (48_000, 1, 48_000)


def _start(speaker: Speaker, content_key: bytes, talk_id: bytes, stream_id: str = "s1") -> bool:
    return speaker.start(
        wire_talk.TalkStart(stream_id="s1", talk_id=envelope.b64url_encode(talk_id), operator="Op"),
        stream_id,
        content_key,
    )


def _packet(key: bytes, talk_id: bytes, seq: int, opus: bytes) -> wire_talk.TalkPacket:
    sealed = envelope.seal_talk(key, "s1", seq, opus)
    return wire_talk.TalkPacket(
        stream_id="s1",
        talk_id=envelope.b64url_encode(talk_id),
        seq=seq,
        data=envelope.b64url_encode(sealed),
        captured_at=1_800_000_000.0,
    )


def test_the_speaker_plays_what_opens_and_drops_the_rest() -> None:
    content_key, talk_id = os.urandom(32), os.urandom(16)
    speaker = Speaker()
    assert not _start(speaker, content_key, talk_id, stream_id="another")  # not our stream: nothing changes
    assert speaker.talk is None and speaker.talks == 0
    assert _start(speaker, content_key, talk_id)
    key = envelope.talk_key(content_key, "s1", talk_id)
    t = np.arange(24_000) / 48_000
    opus = encode_opus((0.4 * np.sin(2 * np.pi * 500 * t)).astype(np.float32))
    for seq, packet in enumerate(opus):
        assert speaker.play(_packet(key, talk_id, seq, packet), 1_800_000_000.05)
    assert not speaker.play(_packet(key, talk_id, 1, opus[1]), 1_800_000_000.05)  # a replay of seq 1
    forged = envelope.talk_key(os.urandom(32), "s1", talk_id)
    assert not speaker.play(_packet(forged, talk_id, 99, opus[0]), 1_800_000_000.05)  # not the stream's key
    altered = _packet(key, talk_id, 100, opus[0])
    raw = bytearray(wire_talk.packet_bytes(altered.data))
    raw[3] ^= 1
    altered = wire_talk.TalkPacket(**{**altered.__dict__, "data": envelope.b64url_encode(bytes(raw))})
    assert not speaker.play(altered, 1_800_000_000.05)
    state = speaker.state()
    assert state["active"] and state["packets"] == len(opus) and state["failed"] == 3
    assert abs(state["heard_hz"] - 500.0) < 3.0 and state["latency_ms_p50"] == pytest.approx(50.0, abs=0.01)
    assert speaker.stop() and not speaker.state()["active"] and speaker.state()["level_db"] == SILENCE_DB
