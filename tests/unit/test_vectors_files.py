"""The committed test vectors are what their generators make (the JS tests read the same files),
and the generators' shared ``--check`` tells a stale file from a current one.

covers: S1, S4, S5, S6, S17, D7, D9
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

VECTORS_DIR = Path(__file__).resolve().parents[1] / "vectors"


@pytest.mark.parametrize("script", ["make_constants.py", "make_e2e_vectors.py", "make_talk_vectors.py"])
def test_the_committed_vectors_are_what_the_generator_makes(script: str) -> None:
    """Reproducible from fixed keys, nonces and constants (regenerate the file on a change)."""
    result = subprocess.run(
        [sys.executable, str(VECTORS_DIR / script), "--check"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_fails_on_a_stale_file_and_writing_brings_it_up_to_date(tmp_path: Path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("vectors_file", VECTORS_DIR / "vectors_file.py")
    assert spec is not None and spec.loader is not None
    vectors_file = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vectors_file)
    path, script = tmp_path / "v.json", str(VECTORS_DIR / "make_e2e_vectors.py")

    def run(*argv: str) -> int:
        return vectors_file.write_or_check(path, '{"v": 1}\n', list(argv), "Make v.json.", script)

    assert run("--check") == 1 and not path.exists()  # missing
    assert "tests/vectors/make_e2e_vectors.py" in capsys.readouterr().err
    assert run() == 0 and path.read_text(encoding="utf-8") == '{"v": 1}\n'
    assert run("--check") == 0
    path.write_text('{"v": 2}\n', encoding="utf-8")
    assert run("--check") == 1 and path.read_text(encoding="utf-8") == '{"v": 2}\n'  # checking writes nothing
