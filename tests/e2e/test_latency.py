"""The browser latency benchmark runs (SPEC L5, D6): bench/bench_browser_latency.py starts the lab
(appliance and fleet in their own processes) and headless Chromium, and measures the per-frame
glass-to-glass latency of the view with sound (MSE) and of the low-latency view (WebCodecs).

Latency figures are never asserted here (the machines are noisy): they come from the benchmark
and are kept in docs/benchmarks.md with the command that made them. What is asserted is that the
measurement itself works: both views decode frames, the view with sound plays sound, and every
figure the benchmark documents is present.

covers: L5, D6
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_browser_latency_benchmark_measures_both_views():
    run = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "bench_browser_latency.py"), "--seconds", "6", "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(run.stdout)
    mse, low = figures["with_sound_mse_ms"], figures["low_latency_webcodecs_ms"]
    for view in (mse, low):
        assert view["samples"] > 0, figures
        assert {"p50", "chunk_delivery_p50", "frames_per_second"} <= set(view), figures
    assert mse["sound_level"] > 0.01, "the view with sound plays sound"
    # Issue 16 item 6: the low-latency view plays sound too, the camera's 1 kHz tone, and its
    # frames are presented against the sound's clock (the offsets are measured, not asserted).
    assert low["sound_level"] > 0.01 and 900 < low["sound_frequency"] < 1100, figures
    assert low["audio_delay"] > 0 and low["av_offset"]["samples"] > 0 and "abs_p95" in low["av_offset"], figures
