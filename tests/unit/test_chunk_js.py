"""The web client's chunk and fMP4 parsers (webui/js/chunk.js, webui/js/fmp4.js) read frames
and media made by the Python side, run in Node 20 (CONVENTIONS 5: one wire format, tested from
both ends; vectors from tests/js/make_chunk_vectors.py).

covers: D6, D8, S1, S17, L5
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "tests" / "js" / "chunk.test.mjs"
NODE = shutil.which("node") or "/usr/bin/node"


def test_javascript_reads_chunks_and_media_as_python_wrote_them() -> None:
    """Every frame's header, sealed payload and fMP4 samples come out in the browser's code as
    the camera put them in; malformed frames fail with Python's error codes."""
    result = subprocess.run([NODE, str(SCRIPT)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=90, check=False)
    report = f"node {SCRIPT.name} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, report
    assert " 0 failed" in result.stdout, report
    assert "FAIL" not in result.stdout, report
