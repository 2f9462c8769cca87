"""The constants the web client shares with Python are defined once (bwlab/wire/constants.py),
written to the test vectors, and every JS module exports the same values (CONVENTIONS 5).

covers: S1, D7, D9, S4
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MAKE = REPO_ROOT / "tests" / "vectors" / "make_constants.py"
SCRIPT = REPO_ROOT / "tests" / "js" / "constants.test.mjs"
NODE = shutil.which("node") or "/usr/bin/node"


def test_the_vectors_hold_the_python_constants() -> None:
    """tests/vectors/constants.json is what bwlab/wire/constants.py says (regenerate it on a change)."""
    result = subprocess.run(
        [sys.executable, str(MAKE), "--check"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_web_client_exports_the_same_constants() -> None:
    """The S1 threshold the browser's player applies, the group size it enforces, the map's trail
    and the wire limits equal Python's."""
    result = subprocess.run([NODE, str(SCRIPT)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False)
    report = f"node {SCRIPT.name} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, report
    assert " 0 failed" in result.stdout, report
    assert "FAIL" not in result.stdout, report
