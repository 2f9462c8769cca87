"""The camera's media: H.264 + AAC test pattern in fragmented MP4, live and from the shared loop
(DESIGN "Media", "Scale"; SPEC D6, D8, S1, L5).

Every stream here is decoded back with PyAV, as a viewer would play it: a user notices missing or
reordered pictures, a stall at a loop seam, a chunk a viewer cannot start from, or latency.

covers: D6, D8, S1, L5
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from itertools import pairwise

import av
import pytest

from firmware_stub import media
from firmware_stub.media import LiveEncoder, MediaChunk, SharedSource, probe

T0 = 1_700_000_000.0  # camera clock at stream start (POSIX seconds)
TICK = 0.05


@dataclass
class Run:
    mime: str
    chunks: list[MediaChunk]
    released_at: list[float]  # camera time of the feed() call that returned each chunk

    @property
    def init(self) -> MediaChunk:
        return self.chunks[0]

    @property
    def fragments(self) -> list[MediaChunk]:
        return self.chunks[1:]


def drive(source: LiveEncoder | SharedSource, seconds: float, *, start: float = T0) -> Run:
    """Feed ``source`` every TICK of camera time for ``seconds``, then close it."""
    run = Run(source.mime, [], [])
    ticks = round(seconds / TICK)
    for tick in range(ticks):
        now = start + tick * TICK
        for chunk in source.feed(now):
            run.chunks.append(chunk)
            run.released_at.append(now)
    for chunk in source.close(start + seconds):
        run.chunks.append(chunk)
        run.released_at.append(start + seconds)
    return run


def decode(run: Run) -> dict:
    return probe(run.init.data, [chunk.data for chunk in run.fragments])


def top_level_boxes(data: bytes) -> list[bytes]:
    return [box.type for box in media.iter_boxes(data)]


@pytest.fixture(scope="module")
def live() -> Run:
    return drive(LiveEncoder("Alice Martin"), 3.0)


@pytest.fixture(scope="module")
def live_decoded(live: Run) -> dict:
    return decode(live)


@pytest.fixture(scope="module")
def shared() -> Run:
    # Longer than one 8 s loop, so playback crosses the seam.
    return drive(SharedSource(), 9.6)


def test_init_chunk_declares_h264_and_aac(live: Run) -> None:
    """covers: D6 — the viewer's MSE SourceBuffer needs ftyp + moov with both tracks first."""
    init = live.init
    assert init.kind == "init"
    assert init.capture_time == T0
    assert (init.duration, init.video_frames, init.audio_frames, init.keyframe) == (0.0, 0, 0, False)
    assert top_level_boxes(init.data) == [b"ftyp", b"moov"]
    assert b"avc1" in init.data and b"avcC" in init.data and b"mp4a" in init.data
    tracks = media.parse_init(init.data)
    assert sorted((t.handler, t.timescale) for t in tracks.values()) == [("soun", 48000), ("vide", 15360)]
    assert all(chunk.kind == "media" for chunk in live.fragments)


def test_mime_names_the_codecs_from_the_stream() -> None:
    """covers: D6 — the codecs string is what the browser is asked to play."""
    assert LiveEncoder("A").mime == 'video/mp4; codecs="avc1.42C00C, mp4a.40.2"'
    # Constrained Baseline (0x42, flags 0xC0); x264 picks the level from size and rate.
    assert LiveEncoder("A", width=640, height=480, fps=30).mime == 'video/mp4; codecs="avc1.42C01E, mp4a.40.2"'


def test_codecs_match_the_decoder_view(live: Run) -> None:
    """covers: D6 — the avc1 string carries the SPS profile/level that the decoder reports."""
    with av.open(io.BytesIO(live.init.data + live.fragments[0].data), format="mp4") as container:
        video = container.streams.video[0].codec_context
        audio = container.streams.audio[0].codec_context
        avcc = video.extradata
        assert avcc is not None
        assert f"avc1.{avcc[1]:02X}{avcc[2]:02X}{avcc[3]:02X}" in live.mime
        assert video.profile == "Constrained Baseline"
        assert audio.profile == "LC" and audio.sample_rate == 48000 and audio.layout.nb_channels == 1


def test_media_chunks_are_short_whole_fragments(live: Run) -> None:
    """covers: L5 — at most 200 ms of media per chunk keeps live latency low."""
    for chunk in live.fragments:
        boxes = top_level_boxes(chunk.data)
        assert boxes[-2:] == [b"moof", b"mdat"] and set(boxes[:-2]) <= {b"styp", b"sidx"}
        assert 0 < chunk.duration <= media.MAX_FRAGMENT_SECONDS + 1e-9
        assert chunk.video_frames <= 3
        assert chunk.audio_frames * media.AAC_FRAME_SAMPLES / 48000 <= media.MAX_FRAGMENT_SECONDS + 0.022
    sizes = [len(chunk.data) for chunk in live.fragments]
    assert max(sizes) < 20_000


def test_every_second_starts_a_chunk_with_an_idr(live: Run, live_decoded: dict) -> None:
    """covers: D6 — a viewer joining mid-stream starts at the next keyframe chunk, within 1 s."""
    keyframe_times = [round(chunk.capture_time - T0, 6) for chunk in live.fragments if chunk.keyframe]
    assert keyframe_times == [0.0, 1.0, 2.0]
    # The flag agrees with what the decoder sees: key pictures exactly at 0, 15, 30.
    assert live_decoded["keyframes"] == [0, 15, 30]
    frame = 0
    for chunk in live.fragments:
        if chunk.video_frames:
            assert chunk.keyframe == (frame % 15 == 0)
        else:  # the audio left in the AAC encoder at the end: no picture, nowhere to start
            assert not chunk.keyframe and chunk is live.fragments[-1]
        frame += chunk.video_frames


def test_decoding_yields_every_frame_and_sample_in_order(live: Run, live_decoded: dict) -> None:
    """covers: D8 — 3 s at 15 fps is 45 pictures and 140 AAC frames, none lost, none reordered."""
    assert live_decoded["video_frames"] == 45
    assert live_decoded["counters"] == list(range(45))  # read back from the pictures
    assert live_decoded["audio_frames"] == 3 * 48000 // 1024 == 140
    assert sum(chunk.video_frames for chunk in live.fragments) == 45
    assert sum(chunk.audio_frames for chunk in live.fragments) == 140
    video_times = live_decoded["video_times"]
    assert video_times == pytest.approx([n / 15 for n in range(45)])
    audio_times = live_decoded["audio_times"]
    assert audio_times == pytest.approx([k * 1024 / 48000 for k in range(140)])
    assert (live_decoded["width"], live_decoded["height"], live_decoded["sample_rate"]) == (320, 240, 48000)


def test_chunks_carry_capture_times_and_arrive_promptly(live: Run) -> None:
    """covers: S1, L5 — each chunk is stamped with the camera clock of its first video frame,
    and is released by the very feed that encodes its last video frame (the driver's ticks fall
    on fragment ends here), not after the next frame or the audio encoder's delay."""
    tracks = media.parse_init(live.init.data)
    frame = 0
    for chunk, released in zip(live.fragments, live.released_at[1:], strict=True):
        end = chunk.capture_time + chunk.duration
        if chunk.video_frames:
            assert chunk.capture_time == pytest.approx(T0 + frame / 15, abs=1e-6)
            assert released == pytest.approx(end, abs=1e-6)
        else:  # the audio-only tail at close: stamped with its first AAC frame
            (audio,) = media.parse_fragment(chunk.data, tracks)
            assert chunk.capture_time == pytest.approx(T0 + audio.base_decode_time / 48000, abs=1e-6)
            assert released == T0 + 3.0
        frame += chunk.video_frames


def frame_due(frame: int, fps: int = 15) -> float:
    """Camera time at which picture ``frame`` is due: the end of its exposure."""
    return T0 + (frame + 1) / fps


@pytest.mark.parametrize("fragment_frames", [1, 2, 3])
def test_fragment_leaves_with_its_last_frame(fragment_frames: int) -> None:
    """covers: L5 — fed at each frame's due time, the encoder returns a fragment from the feed
    that encodes its last frame: no wait for the next frame or for audio past the cut."""
    encoder = LiveEncoder("Dana", fragment_frames=fragment_frames)
    assert encoder.fragment_frames == fragment_frames
    assert [chunk.kind for chunk in encoder.feed(T0)] == ["init"]
    frame = 0
    for due in range(31):
        chunks = encoder.feed(frame_due(due))
        for chunk in chunks:
            assert chunk.capture_time == pytest.approx(T0 + frame / 15, abs=1e-6)
            frame += chunk.video_frames
        # Every fragment ends on a frame of its own size, or at the end of a GOP (15 frames).
        closes = (due + 1) % 15 == 0 or ((due % 15) + 1) % fragment_frames == 0
        assert frame == due + 1 if closes else not chunks, (due, frame)
        assert all(0 < chunk.video_frames <= fragment_frames for chunk in chunks)
    encoder.close(frame_due(30))


@pytest.mark.parametrize("fragment_frames", [2, None])
@pytest.mark.parametrize("kind", ["live", "shared"])
def test_timer_says_when_the_next_fragment_is_complete(kind: str, fragment_frames: int | None) -> None:
    """covers: L5 — a driver that sleeps until ``get_timer()`` sends each fragment the moment it
    is complete, instead of up to a polling tick later."""
    if kind == "live":
        source: LiveEncoder | SharedSource = LiveEncoder("Faye", fragment_frames=fragment_frames)
    else:
        source = SharedSource(fragment_frames=fragment_frames)
    assert source.get_timer() is None
    source.feed(T0)
    frames = 0
    while frames < 32:
        due = source.get_timer()
        assert due is not None
        assert source.feed(due - 0.001) == []
        (chunk,) = source.feed(due)
        assert chunk.capture_time == pytest.approx(T0 + frames / 15, abs=1e-6)
        assert chunk.capture_time + chunk.duration == pytest.approx(due, abs=1e-6)
        assert chunk.keyframe == (frames % 15 == 0)
        frames += chunk.video_frames
    source.close(due)
    assert source.get_timer() is None


def track_runs(run: Run) -> dict[int, list[media.TrackRun]]:
    tracks = media.parse_init(run.init.data)
    runs: dict[int, list[media.TrackRun]] = {track_id: [] for track_id in tracks}
    for chunk in run.fragments:
        for track_run in media.parse_fragment(chunk.data, tracks):
            runs[track_run.track_id].append(track_run)
    return runs


def assert_contiguous(runs: list[media.TrackRun], start: int = 0) -> None:
    """Each run starts where the one before it ended: no gap, no overlap."""
    expected = start
    for run in runs:
        assert run.sample_count > 0
        assert run.base_decode_time == expected
        expected += run.duration


@pytest.mark.parametrize("fragment_frames", [1, 2, None])
def test_tracks_run_on_without_gaps_or_overlaps(fragment_frames: int | None) -> None:
    """covers: D8, L5 — per track, each fragment continues the timeline where the last one ended
    (an AAC frame still in the encoder at a cut goes in the next fragment, never twice, never
    lost), and a fragment's audio lags its video by less than the encoder's delay."""
    run = drive(LiveEncoder("Erin", fragment_frames=fragment_frames), 2.0)
    runs = track_runs(run)
    assert_contiguous(runs[1])
    assert_contiguous(runs[2])
    assert sum(r.sample_count for r in runs[1]) == 30
    assert sum(r.sample_count for r in runs[2]) == 2 * 48000 // 1024
    tracks = media.parse_init(run.init.data)
    for chunk in run.fragments:
        by_track = {r.track_id: r for r in media.parse_fragment(chunk.data, tracks)}
        assert set(by_track) == ({1, 2} if chunk.video_frames else {2})
        assert by_track[2].sample_count == chunk.audio_frames and chunk.audio_frames > 0
        if chunk.video_frames and chunk is not run.fragments[-1]:
            video_end = (by_track[1].base_decode_time + by_track[1].duration) / 15360
            audio_end = (by_track[2].base_decode_time + by_track[2].duration) / 48000
            assert 0 <= video_end - audio_end <= 3 * 1024 / 48000
    decoded = decode(run)
    assert decoded["counters"] == list(range(30))
    assert decoded["video_times"] == pytest.approx([n / 15 for n in range(30)])
    assert decoded["audio_times"] == pytest.approx([k * 1024 / 48000 for k in range(93)])
    assert decoded["keyframes"] == [0, 15]


def test_shorter_fragments_are_refused_beyond_200_ms() -> None:
    assert LiveEncoder("A").fragment_frames == 3
    assert LiveEncoder("A", fps=30).fragment_frames == 6
    with pytest.raises(ValueError, match="need 1 to 3 at 15 fps"):
        LiveEncoder("A", fragment_frames=4)
    with pytest.raises(ValueError, match="fragments of 0 frames"):
        LiveEncoder("A", fragment_frames=0)


def test_feeding_in_one_go_or_per_tick_gives_the_same_media() -> None:
    """covers: D8 — a driver that ticks late still gets every frame (within the catch-up window)."""
    encoder = LiveEncoder("Bob")
    chunks = encoder.feed(T0) + encoder.feed(T0 + 1.0) + encoder.close(T0 + 1.0)
    decoded = probe(chunks[0].data, [chunk.data for chunk in chunks[1:]])
    assert decoded["counters"] == list(range(15))
    assert decoded["audio_frames"] == 48000 // 1024
    # Media is cut in the order it becomes due, so the tick pattern does not change a byte.
    per_tick = drive(LiveEncoder("Bob"), 1.0).chunks
    assert [(c.data, c.capture_time, c.keyframe, c.duration) for c in chunks] == [
        (c.data, c.capture_time, c.keyframe, c.duration) for c in per_tick
    ]


def test_clock_jump_rebases_capture_times_without_a_burst() -> None:
    """covers: S1 — time travel or an NTP step moves the camera clock: capture times follow it,
    playback carries on seamlessly, and the camera does not encode the skipped hour."""
    encoder = LiveEncoder("Carol")
    chunks = []
    for tick in range(20):
        chunks += encoder.feed(T0 + tick * TICK)
    later = T0 + 3600
    for tick in range(20):
        chunks += encoder.feed(later + tick * TICK)
    chunks += encoder.close(later + 1.0)
    decoded = probe(chunks[0].data, [chunk.data for chunk in chunks[1:]])
    assert decoded["video_frames"] < 40
    assert decoded["counters"] == list(range(decoded["video_frames"]))
    assert decoded["video_times"] == pytest.approx([n / 15 for n in range(decoded["video_frames"])])
    captures = [chunk.capture_time for chunk in chunks[1:]]
    assert captures == sorted(captures)
    assert captures[0] == T0 and captures[-1] > later
    assert not any(T0 + 2 < capture < later - 1 for capture in captures)


def test_shared_source_replays_a_seamless_loop(shared: Run) -> None:
    """covers: D6, D8 — the shared loop plays on across its seam, with rising time stamps."""
    loop = media.shared_loop()
    assert loop.seconds == 8
    assert shared.mime == 'video/mp4; codecs="avc1.42C00C, mp4a.40.2"'
    decoded = decode(shared)
    frames = sum(chunk.video_frames for chunk in shared.fragments)
    assert frames == decoded["video_frames"] == 9.6 * 15
    assert sum(chunk.audio_frames for chunk in shared.fragments) == decoded["audio_frames"]
    video_times = decoded["video_times"]
    assert video_times == pytest.approx([n / 15 for n in range(frames)])
    audio_times = decoded["audio_times"]
    steps = [b - a for a, b in pairwise(audio_times)]
    assert min(steps) == pytest.approx(1024 / 48000) and max(steps) == pytest.approx(1024 / 48000)
    runs = track_runs(shared)
    assert_contiguous(runs[1], start=runs[1][0].base_decode_time)
    assert_contiguous(runs[2], start=runs[2][0].base_decode_time)
    assert abs(audio_times[0] - video_times[0]) < 1024 / 48000
    # The loop holds frames 15..134 of the pre-encode; after the seam they come round again.
    assert decoded["counters"][:120] == list(range(15, 135))
    assert decoded["counters"][120:] == list(range(15, 15 + frames - 120))
    assert decoded["keyframes"] == list(range(0, frames, 15))


def test_shared_source_stamps_each_camera_with_its_own_clock(shared: Run) -> None:
    """covers: S1 — replayed chunks carry the replaying camera's capture times and fresh
    sequence numbers, while the bytes come from one loop encoded once per process."""
    assert [round(chunk.capture_time - T0, 6) for chunk in shared.fragments[:3]] == [0.0, 0.2, 0.4]
    assert shared.fragments[40].capture_time == pytest.approx(T0 + 8.0)
    assert shared.fragments[40].keyframe and shared.fragments[0].keyframe
    sequences = [struct.unpack_from(">I", chunk.data, 20)[0] for chunk in shared.fragments]
    assert sequences == list(range(1, len(shared.fragments) + 1))
    for chunk, released in zip(shared.fragments, shared.released_at[1:], strict=True):
        assert chunk.duration <= media.MAX_FRAGMENT_SECONDS + 1e-9
        assert chunk.capture_time + chunk.duration - 1e-6 <= released <= chunk.capture_time + chunk.duration + TICK

    other = SharedSource()
    assert other.loop is media.shared_loop()
    later = other.feed(T0 + 100) + other.feed(T0 + 100.2)
    assert [chunk.kind for chunk in later] == ["init", "media"]
    assert later[1].capture_time == T0 + 100
    assert later[1].data == shared.fragments[0].data


def test_restamp_moves_decode_times_and_sequence(live: Run) -> None:
    """covers: D8 — rewriting tfdt and mfhd keeps the fragment decodable at its new place."""
    tracks = media.parse_init(live.init.data)
    fragment = live.fragments[5].data
    before = {run.track_id: run for run in media.parse_fragment(fragment, tracks)}
    moved = media.restamp_fragment(fragment, sequence=77, shifts={1: 15360 * 10, 2: 48000 * 10})
    after = {run.track_id: run for run in media.parse_fragment(moved, tracks)}
    assert len(moved) == len(fragment)
    assert struct.unpack_from(">I", moved, 20)[0] == 77
    assert after[1].base_decode_time == before[1].base_decode_time + 153600
    assert after[2].base_decode_time == before[2].base_decode_time + 480000
    assert (after[1].sample_count, after[1].starts_with_sync_sample) == (3, True)
    with pytest.raises(media.Mp4Error):
        media.restamp_fragment(fragment, sequence=1, shifts={1: -(10**9)})


def test_bad_formats_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="frame rate"):
        LiveEncoder("A", fps=0)
    with pytest.raises(ValueError, match="picture size"):
        LiveEncoder("A", width=321)
    with pytest.raises(ValueError, match="sample rate"):
        LiveEncoder("A", sample_rate=12345)
    with pytest.raises(ValueError, match="try 8 s"):
        SharedSource(seconds=2)
    with pytest.raises(media.Mp4Error):
        media.parse_init(b"\x00\x00\x00\x10ftypiso6")


def test_closed_sources_stay_closed() -> None:
    encoder = LiveEncoder("A")
    encoder.feed(T0)
    encoder.close(T0 + 0.3)
    assert encoder.close(T0 + 0.4) == []
    with pytest.raises(RuntimeError):
        encoder.feed(T0 + 0.5)


def test_picture_shows_user_clock_and_counter() -> None:
    """covers: S1 — an operator reads the camera user, the camera clock and the frame counter
    off the picture (a clock mismatch is visible on the image itself)."""
    encoder = LiveEncoder("Alice Martin")
    assert encoder.caption(7, T0 + 7 / 15) == ("Alice Martin", "2023-11-14 22:13:20.467 UTC", "frame 7")
    pattern = media.TestPattern(320, 240, 15)
    alice = pattern.render(7, encoder.caption(7, T0)).to_ndarray(format="rgb24")
    bob = pattern.render(7, LiveEncoder("Bob").caption(7, T0)).to_ndarray(format="rgb24")
    later = pattern.render(7, encoder.caption(7, T0 + 1)).to_ndarray(format="rgb24")
    band = slice(0, 58)  # the dark text band: three lines
    assert (alice[band] != bob[band]).any() and (alice[band] != later[band]).any()
    assert (alice[60:] == bob[60:]).all()
    luma = pattern.render(123456, ()).to_ndarray(format="gray")
    assert media.read_frame_code(luma) == 123456
