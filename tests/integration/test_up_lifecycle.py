"""How `bwlab up` and its fleet start and stop (issue 12): a taken port is a clear error and a
non-zero exit; `bwlab up` killed with SIGKILL takes its fleet with it; a fleet left running
reconnects its control link to the next appliance, which starts no second fleet for the same data
directory; stopping while a camera streams prints no traceback and says "stopped".

covers: L1, D3
"""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.conftest import free_port, run_bwlab_sync, wait_until

REPO = Path(__file__).resolve().parents[2]
DAVID = "B8A44F000104"  # the demo's camera out of its dock, ready to stream

pytestmark = pytest.mark.timeout(240)


def _start(log: Path, *args: str) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bwlab", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )


def _up(log: Path, port: int, data: Path, *more: str) -> subprocess.Popen:
    up = _start(
        log,
        "up",
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--data-dir",
        str(data),
        "--no-zeroconf",
        "--media",
        "shared",
        *more,
    )
    wait_until(lambda: "bwlab is up." in log.read_text() or up.poll() is not None, "bwlab up", 90)
    assert up.poll() is None, log.read_text()[-3000:]
    return up


def _running(data: Path) -> set[str]:
    """The cameras a fleet runs now, as the lab sees them (its control link is up)."""
    try:
        facts = json.loads((data / "lab.json").read_text())
        request = urllib.request.Request(
            facts["url"] + "/api/lab/cameras", headers={"Authorization": f"Bearer {facts['lab_token']}"}
        )
        ctx = ssl.create_default_context(cafile=facts["ca_path"])
        with urllib.request.urlopen(request, context=ctx, timeout=5) as response:
            return {c["serial"] for c in json.loads(response.read())["cameras"] if c["running"]}
    except (OSError, ValueError, KeyError):
        return set()


def _fleets(data: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "fleet" in cmd and str(data) in cmd:
            found.append(proc)
    return found


def test_up_on_a_taken_port_says_so_and_exits_non_zero(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = run_bwlab_sync(
            "up",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--data-dir",
            str(tmp_path / "data"),
            "--no-zeroconf",
            "--no-fleet",
            timeout=60,
        )
    assert run.returncode == 2, run.stderr[-2000:]
    assert f"cannot listen on 127.0.0.1:{port}" in run.stderr and "--port" in run.stderr
    assert "Traceback" not in run.stderr


def test_up_killed_with_sigkill_takes_its_fleet_with_it(tmp_path):
    port, data = free_port(), tmp_path / "data"
    up = _up(tmp_path / "up.log", port, data)
    try:
        wait_until(lambda: "cameras running against" in (tmp_path / "up.log").read_text(), "the fleet started", 60)
        fleets = _fleets(data)
        assert len(fleets) == 1 and fleets[0].ppid() == up.pid
        up.send_signal(signal.SIGKILL)
        up.wait(10)
        gone, alive = psutil.wait_procs(fleets, timeout=20)
        assert not alive, "the fleet outlived the `bwlab up` that started it"
    finally:
        if up.poll() is None:
            up.kill()
            up.wait(10)
        for proc in _fleets(data):  # never leave a camera process behind, even when the test fails
            proc.kill()


def test_a_fleet_left_running_reconnects_and_the_next_up_starts_no_second_fleet(tmp_path):
    port, data = free_port(), tmp_path / "data"
    first = _up(tmp_path / "up1.log", port, data, "--no-fleet")
    fleet = _start(tmp_path / "fleet.log", "fleet", "--data-dir", str(data), "--media", "shared")
    second = None
    try:
        wait_until(lambda: "cameras running against" in (tmp_path / "fleet.log").read_text(), "the fleet started", 60)
        first.send_signal(signal.SIGKILL)  # the appliance dies; the fleet (not its child) stays
        first.wait(10)
        time.sleep(1.0)
        assert fleet.poll() is None
        second = _up(tmp_path / "up2.log", port, data)
        log = (tmp_path / "up2.log").read_text()
        assert f"a fleet (pid {fleet.pid}) already runs" in log
        assert [p.pid for p in _fleets(data)] == [fleet.pid], "a second fleet for the same data directory"
        again = run_bwlab_sync("fleet", "--data-dir", str(data), "--media", "shared")
        assert again.returncode == 2 and f"a fleet (pid {fleet.pid}) already runs" in again.stderr
        # the control link is back: a press reaches the camera
        press = wait_until(
            lambda: (r := run_bwlab_sync("press", DAVID, "record", "--data-dir", str(data))).returncode == 0 and r,
            "a press through the fleet's reconnected control link",
            60,
        )
        assert "did nothing" not in press.stderr

        def live():
            run = run_bwlab_sync("status", "--json", "--data-dir", str(data))
            cams = json.loads(run.stdout)["systems"][0]["cameras"] if run.returncode == 0 else []
            return any(c["serial"] == DAVID and c["stream"] == "live" for c in cams)

        wait_until(live, "David streaming", 60)
        time.sleep(1.0)
        second.send_signal(signal.SIGTERM)  # stop while David streams
        assert second.wait(30) == 0
        out = (tmp_path / "up2.log").read_text()
        assert "Traceback" not in out and "Error handling request" not in out, out[-3000:]
        assert out.rstrip().endswith("bwlab: stopped.")
    finally:
        for proc in (first, second, fleet):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(30)
    assert "Traceback" not in (tmp_path / "fleet.log").read_text()
