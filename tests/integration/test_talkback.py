"""Talk-back end to end over real sockets (issue 16 item 3): an operator takes the floor of a
streaming camera, sends sealed Opus packets through the cloud, and the camera stub opens,
decodes and plays them; one talker at a time per camera, shown to the other viewers.

covers: S4, S14, S17 (talk-back sealed end to end; every member may talk)
"""

from __future__ import annotations

import base64
import json
import os
import wave

import numpy as np
import pytest

from bwlab.talker import TalkError, encode_opus, talk
from bwlab.wire import envelope
from bwlab.wire import messages as m
from bwlab.wire import talk as wire_talk
from firmware_stub.speaker import dominant_frequency

ANNA = "B8A44F000101"  # W100, profile "Patrol live" (live stream on record)


def tone(hz: float, seconds: float) -> np.ndarray:
    t = np.arange(int(48_000 * seconds)) / 48_000
    return (0.4 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture
async def streaming(demo_fleet, demo_viewer, poll, undock_online):
    fleet = await demo_fleet({ANNA})
    cam = fleet.cameras[ANNA]
    await undock_online(fleet, ANNA)
    await cam.press("record")
    stream = await demo_viewer.wait_for_stream(timeout=10)
    await poll(lambda: _true(cam._out is not None and cam._out.stream_id == stream["id"]), "the camera's stream")
    return cam, stream


async def _true(value):
    return value


async def _count(entries, n):
    return len(await entries) == n


def _socket(viewer, stream):
    path = f"/api/cloud/orgs/{viewer.org_id}/streams/{stream['id']}/talk"
    return viewer.session.http.ws_connect(
        viewer.session.base_url + path, ssl=viewer.session.ssl, headers=viewer.session.headers()
    )


async def _next(ws):
    return m.decode((await ws.receive(timeout=5)).data, (wire_talk.TalkFloor, m.Error))


# covers: S4, S17
async def test_the_camera_hears_the_operators_tone(streaming, demo_viewer, lab, poll):
    cam, stream = streaming
    packets = encode_opus(tone(440.0, 1.5))
    report = await talk(demo_viewer.session, demo_viewer.org_id, stream, demo_viewer.key, packets, demo_viewer.clock)
    assert report.packets == len(packets) >= 75
    await poll(
        lambda: _true(cam.speaker.packets == len(packets) and cam.speaker.talk is None),
        "every packet played and the talk over",
    )
    assert cam.speaker.failed == 0
    heard = cam.speaker.samples()
    assert abs(heard.size - 48_000 * 1.5) <= 2 * 960
    assert abs(dominant_frequency(heard[-48_000:]) - 440.0) < 3.0
    # What the lab (not the hub) sees, and the WAV the lab hands out.
    result = await lab.post(f"/api/lab/cameras/{ANNA}/actions", {"action": "speaker", "wav": True})
    speaker = result["speaker"]
    assert speaker["active"] is False and speaker["last_operator"] and speaker["talks"] == 1
    assert abs(speaker["heard_hz"] - 440.0) < 3.0 and speaker["packets"] == len(packets)
    assert base64.b64decode(speaker["wav"])[:4] == b"RIFF"
    assert "speaker" not in cam.state  # the state the hub receives says nothing of what the camera heard


# covers: S14
async def test_one_talker_at_a_time_and_every_viewer_sees_who(streaming, demo_viewer, appliance, poll):
    cam, stream = streaming
    async with _socket(demo_viewer, stream) as first, _socket(demo_viewer, stream) as second:
        assert (await _next(first)).talker is None and (await _next(second)).talker is None
        talk_id = envelope.b64url_encode(os.urandom(16))
        await first.send_str(m.encode(wire_talk.TalkTake(talk_id=talk_id)))
        granted, seen = await _next(first), await _next(second)
        assert granted.mine and granted.talker
        assert seen.talker == granted.talker and not seen.mine
        await poll(
            lambda: _true(cam.speaker.talk is not None and cam.speaker.talk.talk_id == talk_id),
            "the camera to start the talk",
        )
        await second.send_str(m.encode(wire_talk.TalkTake(talk_id=envelope.b64url_encode(os.urandom(16)))))
        refused = await _next(second)
        assert isinstance(refused, m.Error) and refused.code == "floor_busy"
        await second.send_str(m.encode(wire_talk.TalkAudio(seq=0, data="AAAA", captured_at=appliance.clock.now())))
        assert (await _next(second)).code == "floor_not_held"
        await first.send_str(m.encode(wire_talk.TalkRelease()))
        assert (await _next(first)).talker is None and (await _next(second)).talker is None
        await poll(lambda: _true(cam.speaker.talk is None), "the camera to end the talk")
        await second.send_str(m.encode(wire_talk.TalkTake(talk_id=envelope.b64url_encode(os.urandom(16)))))
        assert (await _next(second)).mine
    # issue 16 item 4: the talk is in the organization's audit trail, with when it began and ended
    # (two talks: the first socket's, released, and the second's, ended when its socket closed)
    async with appliance.session() as admin:
        await admin.sign_in_cloud("admin@demo.bwlab.test", "demo-admin-pass")

        async def talks():
            log = await admin.get(f"/api/cloud/orgs/{demo_viewer.org_id}/audit?action=talked")
            return [e for e in log["entries"] if e["stream_id"] == stream["id"]]

        await poll(lambda: _count(talks(), 2), "both talks in the audit trail")
        talked = await talks()
    assert [e["camera"]["serial"] for e in talked] == [ANNA, ANNA]
    assert all(e["details"]["from"] <= e["details"]["to"] for e in talked)


# covers: S4, S17
async def test_a_forged_or_altered_packet_is_never_played(streaming, demo_viewer, poll):
    cam, stream = streaming
    async with _socket(demo_viewer, stream) as ws:
        await _next(ws)
        talk_id = os.urandom(16)
        await ws.send_str(m.encode(wire_talk.TalkTake(talk_id=envelope.b64url_encode(talk_id))))
        assert (await _next(ws)).mine
        wrong_key = envelope.talk_key(os.urandom(32), stream["id"], talk_id)  # not derived from the stream's key
        opus = encode_opus(tone(440.0, 0.1))
        for seq, packet in enumerate(opus):
            sealed = envelope.seal_talk(wrong_key, stream["id"], seq, packet)
            await ws.send_str(
                m.encode(
                    wire_talk.TalkAudio(
                        seq=seq, data=envelope.b64url_encode(sealed), captured_at=demo_viewer.clock.now()
                    )
                )
            )
        await poll(lambda: _true(cam.speaker.failed == len(opus)), "every forged packet refused")
        assert cam.speaker.packets == 0 and cam.speaker.samples().size == 0


@pytest.mark.parametrize(
    "frame",
    [
        '{"type":"talk_take","talk_id":"short"}',
        '{"type":"talk_audio","seq":-1,"data":"AA","captured_at":1.0}',
        '{"type":"talk_audio","seq":0,"data":"' + "A" * 5000 + '","captured_at":1800000000}',
        '{"type":"stream_start"}',
        "not json",
    ],
)
async def test_bad_talk_frames_get_an_error_and_change_nothing(streaming, demo_viewer, frame):
    cam, stream = streaming
    async with _socket(demo_viewer, stream) as ws:
        await _next(ws)
        await ws.send_str(frame)
        error = await _next(ws)
        assert isinstance(error, m.Error) and error.code in {
            "invalid_message",
            "unexpected_message",
            "bad_message",
            "malformed_json",
        }
    assert cam.speaker.talks == 0


async def test_talking_to_an_ended_stream_is_a_conflict(streaming, demo_viewer, poll):
    cam, stream = streaming

    async def ended():
        return not any(s["id"] == stream["id"] for s in await demo_viewer.streams("live"))

    async with _socket(demo_viewer, stream) as ws:  # a talker whose stream ends under it
        await _next(ws)
        await ws.send_str(m.encode(wire_talk.TalkTake(talk_id=envelope.b64url_encode(os.urandom(16)))))
        assert (await _next(ws)).mine
        await cam.press("record", "long")
        await poll(lambda: _true(cam.speaker.talk is None), "the camera to end the talk with its stream", timeout=20)
        await poll(ended, "the stream to end", timeout=20)
        await ws.send_str(m.encode(wire_talk.TalkAudio(seq=0, data="AAAA", captured_at=demo_viewer.clock.now())))
        freed = await _next(ws)  # the floor is given back first, to every viewer
        assert isinstance(freed, wire_talk.TalkFloor) and freed.talker is None
        refused = await _next(ws)
        assert isinstance(refused, m.Error) and refused.code == "stream_ended"
        assert (await ws.receive(timeout=5)).type.name in ("CLOSE", "CLOSED", "CLOSING")
    with pytest.raises(TalkError) as caught:
        await talk(demo_viewer.session, demo_viewer.org_id, stream, demo_viewer.key, [b"x"], demo_viewer.clock)
    assert caught.value.code == "stream_ended"


def _write_wav(path, samples: np.ndarray, rate: int = 44_100, channels: int = 2) -> None:
    pcm = (np.repeat(samples[:, None], channels, axis=1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


# covers: S4, S17 (issue 16 item 8: `bwlab talk SERIAL --wav FILE`)
async def test_bwlab_talk_sends_a_wav_and_writes_what_the_camera_heard(streaming, appliance, demo_lab, tmp_path):
    cam, _ = streaming
    wav = tmp_path / "say.wav"  # 44.1 kHz stereo: resampled and mixed down to 48 kHz mono
    t = np.arange(int(44_100 * 1.2)) / 44_100
    _write_wav(wav, (0.4 * np.sin(2 * np.pi * 660.0 * t)).astype(np.float32))
    heard = tmp_path / "heard.wav"
    code, out, err = await appliance.bwlab(
        "talk",
        ANNA.lower(),
        "--wav",
        str(wav),
        "--email",
        "operator@demo.bwlab.test",
        "--password",
        "demo-operator-pass",
        "--link",
        demo_lab.systems[0].link,
        "--heard",
        str(heard),
        "--json",
        timeout=90,
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["serial"] == ANNA and result["packets"] >= 60
    assert abs(result["heard"]["heard_hz"] - 660.0) < 3.0 and result["heard"]["failed"] == 0
    with wave.open(str(heard)) as w:
        assert (w.getframerate(), w.getnchannels()) == (48_000, 1)
        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32767
    assert abs(samples.size - 48_000 * 1.2) <= 2 * 960
    assert abs(dominant_frequency(samples[-48_000:]) - 660.0) < 3.0
    assert cam.speaker.talks == 1


async def test_bwlab_talk_refuses_clearly(streaming, appliance, demo_lab, tmp_path):
    link = demo_lab.systems[0].link
    args = ["--email", "operator@demo.bwlab.test", "--password", "demo-operator-pass", "--link", link]
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("not a WAV")
    code, _, err = await appliance.bwlab("talk", ANNA, "--wav", str(not_audio), *args, timeout=90)
    assert code == 2 and "--wav" in err and "notes.wav" in err
    wav = tmp_path / "ok.wav"
    _write_wav(wav, np.zeros(4800, np.float32))
    code, _, err = await appliance.bwlab("talk", "B8A44F000199", "--wav", str(wav), *args, timeout=90)
    assert code == 2 and "not streaming live" in err
    code, _, err = await appliance.bwlab(
        "talk", ANNA, "--wav", str(wav), *args[:-1], "https://x/live/#k1=AAAA", timeout=90
    )
    assert code == 2 and "--link" in err
