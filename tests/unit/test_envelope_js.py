"""The browser's envelope (webui/js/e2e.js) against the same vectors as Python, run in Node 20
(SPEC S4, S5, S6, S16, S17; CONVENTIONS 5: one wire format, tested from both ends).

covers: S4, S5, S6, S16, S17
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "tests" / "js" / "envelope.test.mjs"
NODE = shutil.which("node") or "/usr/bin/node"


def test_javascript_envelope_matches_the_shared_vectors() -> None:
    """The web client opens links, unwraps keys and opens chunks exactly as Python made them,
    and the fingerprint it shows equals the Manager's (S6)."""
    result = subprocess.run([NODE, str(SCRIPT)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=90, check=False)
    report = f"node {SCRIPT.name} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, report
    assert " 0 failed" in result.stdout, report
    assert "FAIL" not in result.stdout, report
