"""The view with sound holds the picture while the camera sends sound only (issue 16 item 7):
webui/js/h264.js makes skipped pictures — every macroblock P_Skip, non-reference — after the
camera's own H.264 (x264 as firmware_stub/media/live.py and adaptation.py configure it), run in
Node (tests/js/hold_picture.mjs) and decoded here by FFmpeg (PyAV), the decoder Chromium uses.

covers: D6, L5
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np

from firmware_stub.adaptation import REDUCED_CRF
from firmware_stub.media.live import _video_encoder
from firmware_stub.media.mp4_writer import avc_decoder_configuration, avc_sample

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "tests" / "js" / "hold_picture.mjs"
NODE = shutil.which("node") or "/usr/bin/node"
WIDTH, HEIGHT, FPS = 320, 240, 15


def _encode(frames: int, crf: int | None) -> tuple[bytes, list[bytes]]:
    """A moving picture through the camera's x264 settings: (avcC, MP4 samples)."""
    codec = _video_encoder(WIDTH, HEIGHT, FPS, crf)
    samples = []
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    for i in range(frames):
        plane = ((x * 3 + y + 9 * i) % 256).astype(np.uint8)
        rgb = np.stack([plane, np.roll(plane, 7 * i, axis=1), 255 - plane], axis=2)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        samples += [avc_sample(bytes(p)) for p in codec.encode(frame)]
    samples += [avc_sample(bytes(p)) for p in codec.encode(None)]
    return avc_decoder_configuration(bytes(codec.extradata or b"")), samples


def _skipped(avcc: bytes, samples: list[bytes], count: int) -> list[bytes | None]:
    request = json.dumps({"avcc": avcc.hex(), "samples": [s.hex() for s in samples], "count": count})
    result = subprocess.run(
        [NODE, str(SCRIPT)], input=request, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return [None if s is None else bytes.fromhex(s) for s in json.loads(result.stdout)["skipped"]]


def _decode(avcc: bytes, samples: list[bytes]) -> list[np.ndarray]:
    codec = av.CodecContext.create("h264", "r")
    codec.extradata = avcc
    codec.options = {"err_detect": "explode"}
    pictures = []
    for sample in [*samples, None]:
        for frame in codec.decode(None if sample is None else av.Packet(sample)):
            pictures.append(np.concatenate([np.asarray(p).ravel() for p in frame.planes]))
    return pictures


def _with_in_band_parameter_sets(avcc: bytes, sample: bytes) -> bytes:
    """An IDR sample with its SPS and PPS in band, as adaptation.py sends them after a change."""
    sps_len = int.from_bytes(avcc[6:8], "big")
    sps = avcc[8 : 8 + sps_len]
    pps = avcc[8 + sps_len + 3 :]
    return b"".join(len(u).to_bytes(4, "big") + u for u in (sps, pps)) + sample


def test_a_skipped_picture_repeats_the_last_one_and_leaves_what_follows_unchanged() -> None:
    avcc, samples = _encode(20, None)
    assert len(samples) == 20
    plain = _decode(avcc, samples)
    held = [s for s in _skipped(avcc, samples[:10], 3) if s]
    assert len(held) == 3, "a skipped picture for the camera's stream"
    decoded = _decode(avcc, [*samples[:10], *held, *samples[10:]])
    assert len(decoded) == 23
    for picture in decoded[10:13]:
        assert np.array_equal(picture, plain[9]), "the skipped pictures show the last one"
    for got, want in zip(decoded[13:], plain[10:], strict=True):
        assert np.array_equal(got, want), "the pictures after decode as if nothing had been between"
    assert not np.array_equal(plain[9], plain[10]), "the picture moves (the test can fail)"


def test_the_parameter_sets_sent_in_band_after_a_change_of_quality_are_followed() -> None:
    avcc, _ = _encode(1, None)
    reduced_avcc, reduced = _encode(20, REDUCED_CRF)
    # The viewer's init segment has the first encoder's parameter sets; the stream then changes
    # to the reduced quality's, sent in band before each IDR.
    stream = [_with_in_band_parameter_sets(reduced_avcc, reduced[0]), *reduced[1:]]
    plain = _decode(avcc, stream)
    held = [s for s in _skipped(avcc, stream[:4], 2) if s]
    decoded = _decode(avcc, [*stream[:4], *held, *stream[4:]])
    assert np.array_equal(decoded[4], plain[3]) and np.array_equal(decoded[5], plain[3])
    assert all(np.array_equal(g, w) for g, w in zip(decoded[6:], plain[4:], strict=True))


def test_no_skipped_picture_before_a_picture() -> None:
    """Nothing to repeat yet (a viewer joining while the camera sends sound only)."""
    avcc, _ = _encode(1, None)
    assert _skipped(avcc, [], 1) == [None]
