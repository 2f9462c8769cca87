"""Cost of a camera's media (DESIGN "Scale"; firmware_stub/media/).

Prints one JSON object: the CPU that the live encoder (render + H.264 + AAC + fMP4) spends per
second of one camera's media, how many such cameras a core and a 2-core box sustain, the
one-off cost of the shared loop and its per-camera replay cost, and the stream's bit rate and
fragment sizes. Camera time is simulated (fed tick by tick as fast as the CPU allows), so the
figures are CPU-seconds per camera-second, not wall-clock behaviour.

``release`` is what a fragment's latency owes to the encoder: fed at every frame's due time
(the end of its exposure), how much camera time after the end of its media a fragment is
returned (0: by the feed that encodes its last frame), and the wall-clock milliseconds that
feed takes (rendering and encoding the last frame, writing the fragment). The live encoder is
measured with the default fragments (3 frames, 200 ms at 15 fps) and with the shorter ones of
``--low-latency-frames`` (1 frame by default).

    python bench/bench_media.py [--cameras 4] [--seconds 10] [--shared-cameras 200] [--low-latency-frames 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bwlab.clock import monotonic  # noqa: E402
from firmware_stub.media import (  # noqa: E402
    LiveEncoder,
    MediaChunk,
    SharedSource,
    TestPattern,
    iter_boxes,
    shared_loop,
)

T0 = 1_700_000_000.0
TICK = 0.1  # a fleet driver's tick, in camera seconds
UTILISATION = 0.8  # share of each core a fleet process may plan to use for media


def cpu_seconds() -> float:
    """CPU time of this process (all threads): the cost measure, not a clock for rules."""
    return time.process_time()


def run_fleet(sources: list[Any], seconds: float) -> list[list[MediaChunk]]:
    """Feed every source tick by tick, round-robin like a fleet runner, then close them."""
    chunks: list[list[MediaChunk]] = [[] for _ in sources]
    for tick in range(round(seconds / TICK)):
        now = T0 + tick * TICK
        for index, source in enumerate(sources):
            chunks[index] += source.feed(now)
    for index, source in enumerate(sources):
        chunks[index] += source.close(T0 + seconds)
    return chunks


def stream_figures(chunks: list[MediaChunk], seconds: float) -> dict[str, Any]:
    fragments = [chunk for chunk in chunks if chunk.kind == "media"]
    sizes = [len(chunk.data) for chunk in fragments]
    key_sizes = [len(chunk.data) for chunk in fragments if chunk.keyframe]
    # Box headers and sample tables: what a fragment costs on top of its media.
    overhead = [
        len(chunk.data) - sum(box.end - box.payload for box in iter_boxes(chunk.data) if box.type == b"mdat")
        for chunk in fragments
    ]
    return {
        "init_bytes": len(chunks[0].data),
        "fragments_per_second": round(len(fragments) / seconds, 2),
        "fragment_bytes_mean": round(statistics.mean(sizes)),
        "fragment_bytes_max": max(sizes),
        "keyframe_fragment_bytes_mean": round(statistics.mean(key_sizes)),
        "fragment_overhead_bytes_mean": round(statistics.mean(overhead)),
        "fragment_media_seconds_max": round(max(chunk.duration for chunk in fragments), 4),
        "kbit_per_second": round(sum(sizes) * 8 / seconds / 1000, 1),
    }


def release_figures(seconds: float, width: int, height: int, fps: int, fragment_frames: int | None) -> dict[str, Any]:
    """Feed one encoder at every frame's due time; time each fragment's release."""
    encoder = LiveEncoder("Release timing", width=width, height=height, fps=fps, fragment_frames=fragment_frames)
    encoder.feed(T0)
    lags: list[float] = []
    feed_ms: list[float] = []
    for frame in range(round(seconds * fps)):
        now = T0 + (frame + 1) / fps
        started = monotonic()
        chunks = encoder.feed(now)
        elapsed = monotonic() - started
        for chunk in chunks:
            if chunk.video_frames:
                lags.append(now - (chunk.capture_time + chunk.duration))
                feed_ms.append(elapsed * 1000)
    encoder.close(T0 + seconds)
    feed_ms.sort()
    return {
        "fragments": len(lags),
        "after_media_end_ms_max": round(max(lags) * 1000, 3),
        "feed_wall_ms_p50": round(feed_ms[len(feed_ms) // 2], 2),
        "feed_wall_ms_p95": round(feed_ms[min(len(feed_ms) - 1, round(0.95 * (len(feed_ms) - 1)))], 2),
    }


def warm_up(width: int, height: int, fps: int) -> None:
    """One second of one camera first, so that one-off costs (fonts, codec tables, imports)
    are not charged to the first variant measured."""
    run_fleet([LiveEncoder("Warm-up", width=width, height=height, fps=fps)], 1.0)


def bench_live(
    cameras: int, seconds: float, width: int, height: int, fps: int, fragment_frames: int | None = None
) -> dict[str, Any]:
    warm_up(width, height, fps)
    started = cpu_seconds()
    sources = [
        LiveEncoder(f"Camera user {n}", width=width, height=height, fps=fps, fragment_frames=fragment_frames)
        for n in range(cameras)
    ]
    setup = cpu_seconds() - started
    wall = monotonic()
    started = cpu_seconds()
    chunks = run_fleet(sources, seconds)
    cpu = cpu_seconds() - started
    wall = monotonic() - wall
    per_camera_second = cpu / (cameras * seconds)

    pattern = TestPattern(width, height, fps)
    frames = fps * round(seconds)
    started = cpu_seconds()
    for index in range(frames):
        pattern.render(index, sources[0].caption(index, T0 + index / fps))
    render = (cpu_seconds() - started) / frames

    return {
        "format": f"{width}x{height}@{fps} H.264 baseline + AAC-LC mono 48 kHz 64 kbit/s",
        "mime": sources[0].mime,
        "fragment_frames": sources[0].fragment_frames,
        "cameras": cameras,
        "media_seconds_each": seconds,
        "setup_cpu_seconds_per_camera": round(setup / cameras, 4),
        "cpu_seconds_per_camera_second": round(per_camera_second, 4),
        "render_cpu_ms_per_frame": round(render * 1000, 3),
        "render_share": round(render * fps / per_camera_second, 2),
        "cameras_per_core": round(1 / per_camera_second, 1),
        "cameras_on_2_cores": int(2 * UTILISATION / per_camera_second),
        "wall_seconds": round(wall, 2),
        "stream": stream_figures(chunks[0], seconds),
        "release": release_figures(min(seconds, 5.0), width, height, fps, fragment_frames),
    }


def bench_shared(cameras: int, seconds: float, width: int, height: int, fps: int) -> dict[str, Any]:
    started = cpu_seconds()
    loop = shared_loop(width, height, fps)
    build = cpu_seconds() - started
    sources = [SharedSource(width=width, height=height, fps=fps) for _ in range(cameras)]
    started = cpu_seconds()
    chunks = run_fleet(sources, seconds)
    cpu = cpu_seconds() - started
    per_camera_second = cpu / (cameras * seconds)
    return {
        "loop_seconds": loop.seconds,
        "loop_fragments": len(loop.fragments),
        "loop_build_cpu_seconds_once_per_process": round(build, 3),
        "cameras": cameras,
        "media_seconds_each": seconds,
        "cpu_seconds_per_camera_second": round(per_camera_second, 6),
        "cameras_per_core": int(1 / per_camera_second),
        "stream": stream_figures(chunks[0], seconds),
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=4, help="live encoders run side by side")
    parser.add_argument("--seconds", type=float, default=10.0, help="camera-seconds of media each")
    parser.add_argument("--shared-cameras", type=int, default=200, help="cameras replaying the shared loop")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument(
        "--low-latency-frames",
        type=int,
        default=1,
        help="frames per fragment of the low-latency variant of the live encoder",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = {
        "cpu_count": os.cpu_count(),
        "load_average_1min_at_start": round(os.getloadavg()[0], 2),
        "live": bench_live(args.cameras, args.seconds, args.width, args.height, args.fps),
        "live_low_latency": bench_live(
            args.cameras, args.seconds, args.width, args.height, args.fps, args.low_latency_frames
        ),
        "shared": bench_shared(args.shared_cameras, args.seconds, args.width, args.height, args.fps),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
