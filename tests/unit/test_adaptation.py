"""The camera's stream adapts to its link (issue 16 item 7): the level chosen from the radio's link
(with hysteresis on the lab clock), and the live encoder following it — a lower-quality picture,
audio only, and back — decoded with PyAV as a viewer would, from the start and as a joiner.

covers: L2, L5, D6
"""

from __future__ import annotations

import io
import itertools
import math

import av
import numpy as np
import pytest

from firmware_stub.adaptation import (
    AUDIO_ONLY,
    FULL,
    RAISE_AFTER_S,
    REDUCED,
    AdaptiveEncoder,
    LinkAdapter,
    goodput_kbps,
    needed_kbps,
)
from firmware_stub.media import MediaChunk, TestPattern, probe
from labnet.propagation import LinkQuality

T0 = 1_700_000_000.0
TICK = 0.05
FPS = 15


def link(kbps: float, *, loss: float = 0.0, latency_ms: float = 5.0, up: bool = True) -> LinkQuality:
    return LinkQuality(up=up, latency_ms=latency_ms, loss_ratio=loss, throughput_kbps=kbps)


def test_goodput_counts_serialisation_and_retransmissions():
    assert goodput_kbps(link(math.inf, latency_ms=0.0)) == math.inf
    assert goodput_kbps(link(500.0)) == pytest.approx(500.0)
    # The cell edge of the radio model: 500 kbit/s, 10 % loss, 63 ms: a lost segment costs 126 ms.
    edge = goodput_kbps(link(500.0, loss=0.10, latency_ms=63.0))
    assert 300 < edge < needed_kbps(FULL) and edge > needed_kbps(REDUCED)
    assert goodput_kbps(link(500.0, up=False)) == 0.0
    assert goodput_kbps(link(500.0, loss=1.0)) == 0.0


def test_the_level_drops_at_once_and_rises_one_step_after_a_steady_good_link():
    adapter = LinkAdapter()
    assert adapter.level == FULL
    assert adapter.update(0.0, link(300.0)) and adapter.level == REDUCED
    assert adapter.update(0.5, link(100.0)) and adapter.level == AUDIO_ONLY
    good = link(2000.0)
    assert not adapter.update(1.0, good)  # good, but not for long enough yet
    assert not adapter.update(1.0 + RAISE_AFTER_S - 0.1, good)
    assert adapter.update(1.0 + RAISE_AFTER_S, good) and adapter.level == REDUCED  # one step
    assert not adapter.update(1.0 + RAISE_AFTER_S + 0.1, good)
    assert adapter.update(1.0 + 2 * RAISE_AFTER_S + 0.1, good) and adapter.level == FULL
    # Just above a level's need is not enough to rise to it (no flapping at a boundary).
    adapter = LinkAdapter()
    adapter.update(0.0, link(needed_kbps(REDUCED) * 1.05))
    assert adapter.level == REDUCED
    for t in range(1, 20):
        adapter.update(float(t), link(needed_kbps(FULL) * 1.05))
    assert adapter.level == REDUCED
    assert [c["to"] for c in adapter.changes] == [REDUCED]
    assert adapter.as_dict()["level"] == REDUCED


def test_after_an_outage_the_level_before_it_comes_back_at_once():
    adapter = LinkAdapter()
    assert adapter.update(0.0, link(0.0, up=False)) and adapter.level == AUDIO_ONLY  # a hand-over gap
    assert not adapter.update(1.0, link(0.0, up=False))
    assert adapter.update(2.0, link(30_000.0)) and adapter.level == FULL, "back on the new AP: no wait"
    # Back on a weaker link than before: only what fits, then the usual steps up.
    adapter = LinkAdapter()
    adapter.update(0.0, link(0.0, up=False))
    adapter.update(2.0, link(needed_kbps(REDUCED) * 1.1))
    assert adapter.level == AUDIO_ONLY
    adapter.update(2.1, link(needed_kbps(REDUCED) * 1.3))
    assert adapter.update(2.2 + RAISE_AFTER_S, link(needed_kbps(REDUCED) * 1.3)) and adapter.level == REDUCED


def drive(encoder: AdaptiveEncoder, plan: list[tuple[float, str]], seconds: float) -> list[MediaChunk]:
    """Feed every TICK for ``seconds``; at each (time, level) of ``plan`` ask for that level."""
    chunks: list[MediaChunk] = []
    plan = sorted(plan)
    for tick in range(round(seconds / TICK)):
        t = tick * TICK
        while plan and plan[0][0] <= t:
            encoder.want(plan.pop(0)[1])
        chunks += encoder.feed(T0 + t)
    return chunks + encoder.close(T0 + seconds)


@pytest.fixture(scope="module")
def adapted() -> list[MediaChunk]:
    return drive(AdaptiveEncoder("Tess Tester"), [(1.2, REDUCED), (3.1, AUDIO_ONLY), (4.5, FULL)], 7.0)


def test_every_picture_sent_decodes_to_its_own_frame_across_level_changes(adapted):
    init, fragments = adapted[0], adapted[1:]
    decoded = probe(init.data, [c.data for c in fragments])
    # Full until 1.2 s, reduced from the next GOP (2 s) — its own SPS/PPS in band — audio only
    # from 3.1 s (frame 45 was the first not taken), the picture back at the GOP after the link
    # asked for it (5 s, frame 75), to the end (frame 104).
    assert decoded["counters"] == [*range(45), *range(75, 105)], "each picture shows its own frame number"
    shown = pictures(init.data, fragments)
    errors = [float(np.abs(picture - source(i)).mean()) for picture, i in zip(shown, decoded["counters"], strict=True)]
    assert max(errors) < 12, "every picture decodes with the parameter sets it was encoded with"
    assert all(
        t == pytest.approx(i / FPS, abs=1e-3) for t, i in zip(decoded["video_times"], decoded["counters"], strict=True)
    )
    # The sound never stops: every AAC frame, in order, through every change.
    times = decoded["audio_times"]
    assert all(b - a == pytest.approx(1024 / 48000, abs=1e-4) for a, b in itertools.pairwise(times))
    assert times[-1] > 6.9


def test_audio_only_fragments_carry_sound_and_no_picture(adapted):
    audio_only = [c for c in adapted[1:] if c.video_frames == 0]
    assert len(audio_only) >= 8, "about 1.9 s of audio-only fragments"
    assert all(c.audio_frames >= 1 and not c.keyframe for c in audio_only)
    assert all(c.duration <= 0.2 for c in audio_only[:-1])


def pictures(init: bytes, fragments: list[MediaChunk]) -> list[np.ndarray]:
    """The decoded pictures' luma, as a viewer would show them."""
    out = []
    with av.open(io.BytesIO(init + b"".join(c.data for c in fragments)), "r", format="mp4") as container:
        for packet in container.demux(video=0):
            out += [frame.to_ndarray(format="gray").astype(float) for frame in packet.decode()]
    return out


def source(index: int) -> np.ndarray:
    """Picture ``index`` as the camera rendered it, before encoding."""
    lines = AdaptiveEncoder("Tess Tester").caption(index, T0 + index / FPS)
    return TestPattern(320, 240, FPS).render(index, lines).to_ndarray(format="gray").astype(float)


def test_a_viewer_joining_at_a_reduced_gop_sees_the_pictures_taken(adapted):
    """The init segment holds the full level's PPS: without the reduced level's in band, a joiner
    would decode its pictures with the wrong quantiser (grey levels off by about 60)."""
    init, fragments = adapted[0], adapted[1:]
    joined = [c for c in fragments if T0 + 2.0 - 1e-6 <= c.capture_time < T0 + 3.0]
    assert joined[0].keyframe
    shown = pictures(init.data, joined)
    assert len(shown) == FPS
    errors = [float(np.abs(picture - source(2 * FPS + i)).mean()) for i, picture in enumerate(shown)]
    assert max(errors) < 12, errors


def test_bit_rate_falls_with_the_level(adapted):
    def kbps(start: float, end: float) -> float:
        inside = [c for c in adapted[1:] if T0 + start <= c.capture_time < T0 + end]
        return sum(len(c.data) for c in inside) * 8 / (end - start) / 1000

    full, reduced, audio = kbps(0.0, 1.0), kbps(2.0, 3.0), kbps(3.2, 4.8)
    assert reduced < 0.8 * full and audio < 0.5 * reduced, (full, reduced, audio)


def test_unknown_level_is_refused():
    with pytest.raises(ValueError, match="need one of"):
        AdaptiveEncoder("x").want("potato")
