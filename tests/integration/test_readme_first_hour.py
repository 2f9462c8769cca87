"""A new user's first hour (issue 12): the README's two commands, as written, on Debian 12's own
Python — ``/usr/bin/python3``, which refuses ``pip install`` outside a virtualenv (PEP 668) — with
no pyenv on the PATH and none of this test run's PYTHONPATH.

The checkout is copied to a temporary folder so that the virtualenv the commands make (.venv) and
everything they write stay out of the repository. There:

* the README's first command runs as written, with options appended for `bwlab up` only so that it
  listens on a free loopback port with its data in the temporary folder; the test waits for
  "bwlab is up.", checks that it serves (``/healthz``, the landing page, ``bwlab status`` from the
  virtualenv), stops it with SIGTERM and expects exit status 0;
* the README's test command (``bash .ci/run``) runs as written with one unit test file as its
  selection: its every step (Debian packages, python3-venv, the virtualenv with the test extras,
  pytest) runs for real, but it does not recurse into the whole suite this test is part of.

The installs come from the machine's package index through pip; pip's cache makes a second run fast.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = "/usr/bin/python3"

pytestmark = pytest.mark.timeout(900)


def _readme_commands() -> list[str]:
    """The shell commands of the README's Quick start, in order."""
    text = (REPO / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", quick, re.S)]


def _debian_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a shell on a fresh Debian 12: no pyenv, no virtualenv, no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYENV", "PYTHON", "VIRTUAL_ENV", "BWLAB_"))}
    env["PATH"] = ":".join(p for p in os.environ["PATH"].split(":") if "pyenv" not in p and ".venv" not in p)
    env["HOME"] = os.environ.get("HOME", str(tmp_path))
    return env


def _copy_checkout(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True, capture_output=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src = REPO / os.fsdecode(name)
        if src.is_file():
            target = dest / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


def _get(url: str, ca: Path) -> tuple[int, str]:
    ctx = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(url, context=ctx, timeout=10) as response:
        return response.status, response.read().decode()


def test_the_readme_commands_work_with_debian_python_as_written(tmp_path):
    # covers: L1
    first, test_command = _readme_commands()
    assert first == "bash scripts/up.sh" and test_command == "bash .ci/run"
    env = _debian_env(tmp_path)
    assert shutil.which("python3", path=env["PATH"]) == DEBIAN_PYTHON
    src = tmp_path / "bwlab"
    _copy_checkout(src)
    # what the README said before: refused by Debian's Python (PEP 668)
    refused = subprocess.run(
        ["python3", "-m", "pip", "install", "-e", "."],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr

    port, data = free_port(), tmp_path / "data"
    up = subprocess.Popen(
        [
            "bash",
            "-c",
            f"{first} --port {port} --host 127.0.0.1 --data-dir {data} --no-zeroconf --ntp-port 0 --media shared",
        ],
        cwd=src,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 600
        assert up.stdout is not None
        while time.monotonic() < deadline:
            line = up.stdout.readline()
            if not line:
                break
            output.append(line)
            if "bwlab is up." in line:
                break
        assert "bwlab is up.\n" in output, "".join(output)[-3000:]
        venv = src / ".venv"
        assert "home = /usr/bin" in (venv / "pyvenv.cfg").read_text()  # made by Debian's python3
        ca = data / "tls" / "lab-ca.pem"
        status, body = _get(f"https://127.0.0.1:{port}/healthz", ca)
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, body = _get(f"https://127.0.0.1:{port}/", ca)
        assert status == 200 and 'href="/manager/"' in body
        run = subprocess.run(
            [str(venv / "bin" / "bwlab"), "status", "--json", "--data-dir", str(data)],
            cwd=src,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["systems"][0]["name"] == "Main station"
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        rest, _ = up.communicate(timeout=60)
        output.append(rest)
    assert up.returncode == 0, "".join(output)[-3000:]

    ci = subprocess.run(
        ["bash", "-c", f"{test_command} tests/unit/test_clock.py"],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert ci.returncode == 0, (ci.stdout + ci.stderr)[-3000:]
    assert re.search(r"\d+ passed", ci.stdout), ci.stdout[-2000:]
    assert "test" in (src / ".venv" / ".bwlab-installed").read_text().split()
