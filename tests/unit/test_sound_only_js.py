"""The view with sound through a period in which the camera sends sound only (issue 16 item 7):
webui/js/live/sound-only.js, run in Node over a stream of the camera's adaptive encoder
(firmware_stub/adaptation.py) going full → sound only → full (tests/js/sound_only.mjs), keeps the
video track as long as the sound with held pictures, which FFmpeg (PyAV) decodes into the last
picture; a stream whose sound is merely sent ahead of its video gets none.

covers: D6, L5
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np

from bwlab.wire.fmp4 import parse_fragment, parse_init
from firmware_stub.adaptation import AUDIO_ONLY, FULL, AdaptiveEncoder

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "tests" / "js" / "sound_only.mjs"
NODE = shutil.which("node") or "/usr/bin/node"
START = 1_800_000_000.0
STEP = 1 / 30


def _stream(levels: list[tuple[str, float]], **kwargs) -> tuple[bytes, list[bytes]]:
    """The camera's chunks (init, fragments) through ``levels``: (level, seconds) in turn."""
    encoder = AdaptiveEncoder("Anna Berg", **kwargs)
    chunks, now = [], START
    for level, seconds in levels:
        encoder.want(level)
        for _ in range(round(seconds / STEP)):
            chunks += [c.data for c in encoder.feed(now)]
            now += STEP
    chunks += [c.data for c in encoder.close(now)]
    return chunks[0], chunks[1:]


def _appended(init: bytes, fragments: list[bytes]) -> dict:
    request = json.dumps({"chunks": [c.hex() for c in [init, *fragments]]})
    result = subprocess.run(
        [NODE, str(SCRIPT)], input=request, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _covered(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def test_the_picture_is_held_through_sound_only_and_what_a_player_decodes_is_the_last_picture() -> None:
    init, fragments = _stream([(FULL, 2.0), (AUDIO_ONLY, 3.0), (FULL, 3.0)])
    tracks = parse_init(init)
    video = next(t for t in tracks.values() if t.handler == "vide")
    audio = next(t for t in tracks.values() if t.handler == "soun")
    out = _appended(init, fragments)
    assert [a["data"] for a in out["appended"] if not a["held"]] == [f.hex() for f in fragments]
    held = [a for a in out["appended"] if a["held"]]
    assert held, "pictures held while the camera sends sound only"

    # Every held fragment is well-formed fMP4 of the video track alone (the Python reader agrees).
    for a in held:
        (run,) = parse_fragment(bytes.fromhex(a["data"]), tracks)
        assert run.track_id == video.track_id and not run.starts_with_sync_sample
        assert run.sample_count == len(a["video"]) and run.base_decode_time == a["video"][0]["decodeTime"]

    # Media Source Extensions play where both tracks have media: the video (the camera's and the
    # held pictures) covers the sound up to the end of the camera's last picture.
    video_spans = [(s["decodeTime"], s["decodeTime"] + s["duration"]) for a in out["appended"] for s in a["video"]]
    covered = _covered([(round(a / video.timescale, 6), round(b / video.timescale, 6)) for a, b in video_spans])
    camera_spans = [
        (s["decodeTime"], s["decodeTime"] + s["duration"]) for a in out["appended"] if not a["held"] for s in a["video"]
    ]
    last_picture = max(end for _, end in camera_spans)
    assert covered[0][0] == 0 and covered[0][1] >= last_picture / video.timescale - 1e-6, covered
    audio_end = sum(r.duration for f in fragments for r in parse_fragment(f, tracks) if r.track_id == audio.track_id)
    assert audio_end / audio.timescale > 7.5, "the sound ran all along"

    # Held pictures lie in the sound-only period only: from the last picture before it to the
    # first IDR after it (which replaces those it overlaps).
    held_times = [s["decodeTime"] / video.timescale for a in held for s in a["video"]]
    assert min(held_times) > 1.9 and max(held_times) < 5.3, (min(held_times), max(held_times))
    ranges = out["ranges"]
    assert len(ranges) == 1 and ranges[0][0] == min(held_times), ranges

    # What the decoder gets, as MSE resolves overlaps (a later-appended picture replaces the held
    # ones from its time on), decodes: each held picture is the last picture before it.
    samples: list[dict] = []
    for a in out["appended"]:
        if not a["held"] and a["video"]:
            samples = [s for s in samples if s["decodeTime"] < a["video"][0]["decodeTime"]]
        samples += [{**s, "held": a["held"]} for s in a["video"]]
    assert [s["decodeTime"] for s in samples] == sorted(s["decodeTime"] for s in samples)
    codec = av.CodecContext.create("h264", "r")
    codec.extradata = _avcc(init)
    codec.options = {"err_detect": "explode"}
    pictures = []
    for s in samples:
        for frame in codec.decode(av.Packet(bytes.fromhex(s["data"]))):
            pictures.append(np.concatenate([np.asarray(p).ravel() for p in frame.planes]))
    for frame in codec.decode(None):
        pictures.append(np.concatenate([np.asarray(p).ravel() for p in frame.planes]))
    assert len(pictures) == len(samples)
    kept = [i for i, s in enumerate(samples) if s["held"]]
    assert kept and all(np.array_equal(pictures[i], pictures[kept[0] - 1]) for i in kept)
    assert not np.array_equal(pictures[kept[-1] + 1], pictures[kept[0] - 1]), "the camera's picture is back"


def test_sound_sent_ahead_of_the_video_holds_no_picture() -> None:
    # The sound in its own fragments as soon as encoded, the video in the longest fragments: the
    # sound leads each video fragment by the most it ever does while the picture comes.
    init, fragments = _stream([(FULL, 4.0)], audio_chunk_frames=1, fragment_frames=3)
    tracks = parse_init(init)
    video_id = next(t.track_id for t in tracks.values() if t.handler == "vide")
    assert any(all(r.track_id != video_id for r in parse_fragment(f, tracks)) for f in fragments), "audio-only chunks"
    out = _appended(init, fragments)
    assert not [a for a in out["appended"] if a["held"]]
    assert out["ranges"] == []


def _avcc(init: bytes) -> bytes:
    start = init.index(b"avcC") + 4
    size = int.from_bytes(init[start - 8 : start - 4], "big")
    return init[start : start - 8 + size]
