"""The low-latency view's sound output (webui/js/live/audio-worklet.js, issue 16 item 6) run in
Node 20 with a stand-in AudioWorkletGlobalScope: its clock, its jitter buffer (underrun, late
audio) and the level and frequency it reports (tests/js/audio_worklet.test.mjs).

covers: D6, L5
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "tests" / "js" / "audio_worklet.test.mjs"
NODE = shutil.which("node") or "/usr/bin/node"


def test_the_worklet_plays_on_its_clock_and_measures_the_tone() -> None:
    result = subprocess.run([NODE, str(SCRIPT)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False)
    report = f"node {SCRIPT.name} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, report
    assert " 0 failed" in result.stdout and "FAIL" not in result.stdout, report
