"""The live encoder's sound sent ahead of the video in audio-only fragments (issue 16 item 6).

covers: L5, D6, D8
"""

from __future__ import annotations

import pytest

from firmware_stub import media
from firmware_stub.media import LiveEncoder, MediaChunk, probe

T0 = 1_700_000_000.0
AAC = 1024 / 48000  # seconds per AAC frame


def drive_on_timer(encoder: LiveEncoder, seconds: float) -> list[tuple[float, MediaChunk]]:
    """Feed the encoder only when ``get_timer()`` asks (as the camera driver does), then close it."""
    out = [(T0, chunk) for chunk in encoder.feed(T0)]
    for _ in range(10_000):
        due = encoder.get_timer()
        assert due is not None
        if due > T0 + seconds:
            break
        out.extend((due, chunk) for chunk in encoder.feed(due))
    out.extend((T0 + seconds, chunk) for chunk in encoder.close(T0 + seconds))
    return out


def audio_lags(out: list[tuple[float, MediaChunk]]) -> list[float]:
    """Per AAC frame: the camera time its fragment left minus the frame's first sample's capture."""
    lags, first = [], 0
    for sent, chunk in out[:-1]:  # the last one is the close's flush
        lags += [sent - (T0 + (first + k) * AAC) for k in range(chunk.audio_frames)]
        first += chunk.audio_frames
    return lags


@pytest.mark.parametrize("frames", [1, 2, 3])
def test_sound_leaves_as_soon_as_n_frames_are_encoded(frames: int) -> None:
    """covers: L5 — with audio chunks of N AAC frames the sound no longer waits for the video's
    fragment: fed only when ``get_timer()`` asks, no AAC frame leaves later than the encoder's
    delay (64 ms) + N - 1 frames after its capture, where inside 1-frame video fragments it waits
    up to 128 ms."""
    chunked = drive_on_timer(LiveEncoder("Erin", fragment_frames=1, audio_chunk_frames=frames), 2.0)
    plain = drive_on_timer(LiveEncoder("Erin", fragment_frames=1), 2.0)
    assert max(audio_lags(chunked)) <= 3 * AAC + (frames - 1) * AAC + 1e-6
    assert max(audio_lags(plain)) > 5 * AAC
    audio_only = [c for _, c in chunked if c.kind == "media" and not c.video_frames]
    assert audio_only and all(1 <= c.audio_frames <= frames for c in audio_only[:-1])


def test_audio_chunks_keep_both_timelines_whole() -> None:
    """covers: D8, D6 — every picture and every AAC frame once, in order, with audio-only fragments
    between the video's; a video fragment carries no empty audio run."""
    out = drive_on_timer(LiveEncoder("Erin", fragment_frames=2, audio_chunk_frames=2), 2.0)
    chunks = [c for _, c in out]
    tracks = media.parse_init(chunks[0].data)
    expected = {1: 0, 2: 0}
    first_audio = 0
    for chunk in chunks[1:]:
        runs = {r.track_id: r for r in media.parse_fragment(chunk.data, tracks)}
        assert set(runs) == ({1} if chunk.audio_frames == 0 else {2} if chunk.video_frames == 0 else {1, 2})
        for track_id, r in runs.items():
            assert r.sample_count > 0 and r.base_decode_time == expected[track_id]
            expected[track_id] += r.duration
        if not chunk.video_frames:  # an audio-only fragment is stamped with its first sample's capture
            assert chunk.capture_time == pytest.approx(T0 + first_audio * AAC)
        first_audio += chunk.audio_frames
    decoded = probe(chunks[0].data, [c.data for c in chunks[1:]])
    assert decoded["counters"] == list(range(30))
    assert decoded["audio_times"] == pytest.approx([k * AAC for k in range(93)])


def test_bad_audio_chunk_sizes_are_refused() -> None:
    assert LiveEncoder("A").audio_chunk_frames == 0
    for bad in (-1, 10, 1.5):
        with pytest.raises(ValueError, match="audio chunks of"):
            LiveEncoder("A", audio_chunk_frames=bad)  # type: ignore[arg-type]


def test_low_latency_viewers_switch_the_chunking_and_back_without_a_gap() -> None:
    """covers: L5, D8 — the hub's ``viewer_latency``: while low-latency viewers watch, 1-frame
    fragments and the sound ahead in audio-only fragments of 2 AAC frames; before and after, the
    chunking the camera was set up with; both timelines stay whole across each switch."""
    encoder = LiveEncoder("Erin", fragment_frames=2)
    out = [(T0, chunk) for chunk in encoder.feed(T0)]
    phases: list[tuple[bool, MediaChunk]] = []
    for phase, end in enumerate([1.0, 2.0, 3.0]):
        encoder.set_low_latency(phase == 1)
        for _ in range(10_000):
            due = encoder.get_timer()
            assert due is not None
            if due > T0 + end:
                break
            for chunk in encoder.feed(due):
                out.append((due, chunk))
                phases.append((encoder.low_latency, chunk))
    out.extend((T0 + 3.0, chunk) for chunk in encoder.close(T0 + 3.0))
    low = [c for on, c in phases if on]
    plain = [c for on, c in phases if not on]
    assert max(c.video_frames for c in low) == 1
    assert any(c.video_frames == 0 and c.audio_frames for c in low)  # the sound ahead
    assert max(c.video_frames for c in plain) == 2
    assert not any(c.video_frames == 0 for c in plain)  # the sound rides in the video's fragments
    assert encoder.fragment_frames == 2 and encoder.audio_chunk_frames == 0  # back as set up
    chunks = [c for _, c in out]
    decoded = probe(chunks[0].data, [c.data for c in chunks[1:]])
    assert decoded["counters"] == list(range(45))
    assert decoded["audio_times"] == pytest.approx([k * AAC for k in range(140)])
