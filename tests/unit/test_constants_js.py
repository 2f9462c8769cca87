"""The constants the web client shares with Python are defined once (bwlab/wire/constants.py),
written to the test vectors (tests/unit/test_vectors_files.py checks them), and every JS module
exports the same values (CONVENTIONS 5).

covers: S1, D7, D9, S4
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "tests" / "js" / "constants.test.mjs"
NODE = shutil.which("node") or "/usr/bin/node"


def test_the_web_client_exports_the_same_constants() -> None:
    """The S1 threshold the browser's player applies, the group size it enforces, the map's trail
    and the wire limits equal Python's."""
    result = subprocess.run([NODE, str(SCRIPT)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False)
    report = f"node {SCRIPT.name} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, report
    assert " 0 failed" in result.stdout, report
    assert "FAIL" not in result.stdout, report
