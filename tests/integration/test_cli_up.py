"""`bwlab up` and `bwlab status` as a user runs them (issue 2 "Must show"), and the appliance's
zeroconf advertisement found by discovery inside a network namespace this test creates.

covers: S3, D1, L1
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import ntplib
import pytest

from tests.conftest import free_port, run_bwlab_sync, wait_until

REPO = Path(__file__).resolve().parents[2]


def _free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


DAVID = "B8A44F000104"  # the demo's camera out of its dock, ready to stream
ANNA = "B8A44F000101"  # docked
FELIX = "B8A44F000106"  # docked, profile "Record only": no help gesture


def test_up_builds_the_demo_and_status_lists_its_cameras_one_ready_to_stream(tmp_path):
    """The demo: five cameras docked, David's provisioned and out of its dock. A press on a docked
    camera does nothing and says why (exit status 1, the firmware's reason, `bwlab doctor`); a
    record press on David's camera starts a stream that `bwlab status` shows (issue 12)."""
    # covers: D1, D3
    port, ntp_port = free_port(), _free_udp_port()
    data_dir = tmp_path / "lab"
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bwlab",
            "up",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--data-dir",
            str(data_dir),
            "--no-zeroconf",
            "--public-url",
            f"https://127.0.0.1:{port}",
            "--media",
            "shared",
            "--ntp-port",
            str(ntp_port),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
    )
    try:

        def status():
            run = run_bwlab_sync("status", "--json", "--data-dir", str(data_dir))
            if run.returncode != 0:
                return None
            lab = json.loads(run.stdout)
            cams = lab["systems"][0]["cameras"] if lab["systems"] else []
            ready = len(cams) == 6 and all(c["docked"] == (c["serial"] != DAVID) and c["cert_valid"] for c in cams)
            return lab if ready else None

        lab = wait_until(status, "five docked cameras and David's out in `bwlab status --json`", 90)
        system = lab["systems"][0]
        assert system["name"] == "Main station" and system["connected"] and system["organization"] == "Demo Security"
        assert sorted(c["model"] for c in system["cameras"]) == ["W100", "W101", "W102", "W102", "W110", "W120"]
        assert all(c["cert_not_after"] > lab["lab_time"] + 5.9 * 86400 for c in system["cameras"])
        human = run_bwlab_sync("status", "--data-dir", str(data_dir))
        assert human.returncode == 0 and "connected to Demo Security" in human.stdout
        # S1: the lab's NTP server answers on the port asked for, with lab time (no travel yet)
        answer = ntplib.NTPClient().request("127.0.0.1", port=ntp_port, version=4, timeout=2)
        assert abs(answer.offset) < 1.0 and answer.stratum >= 1
        # a press that does nothing says why: the CLI, the doctor
        press = run_bwlab_sync("press", ANNA, "record", "--data-dir", str(data_dir))
        assert press.returncode == 1, press.stdout + press.stderr
        assert "did nothing" in press.stderr and "in its dock" in press.stderr and "(docked)" in press.stderr
        doctor = run_bwlab_sync("doctor", "--data-dir", str(data_dir))
        assert doctor.returncode == 0 and f"{ANNA} (W100)" in doctor.stdout
        assert "record press did nothing" in doctor.stdout and "in its dock" in doctor.stdout
        # the camera ready to stream streams on a record press
        press = run_bwlab_sync("press", DAVID, "record", "--data-dir", str(data_dir))
        assert press.returncode == 0, press.stdout + press.stderr

        def streaming():
            run = run_bwlab_sync("status", "--json", "--data-dir", str(data_dir))
            cams = json.loads(run.stdout)["systems"][0]["cameras"] if run.returncode == 0 else []
            return any(c["serial"] == DAVID and c["stream"] == "live" for c in cams)

        wait_until(streaming, "David's stream live in `bwlab status`", 60)
        # issue 16: `bwlab press SERIAL help` makes the help gesture of the camera's profile
        press = run_bwlab_sync("press", DAVID, "help", "--data-dir", str(data_dir))
        assert press.returncode == 0 and "help requested (long press of the function button)" in press.stdout, (
            press.stdout + press.stderr
        )
        press = run_bwlab_sync("press", FELIX, "help", "--data-dir", str(data_dir))
        assert press.returncode == 2 and "profile has no help gesture" in press.stderr, press.stderr
    finally:
        up.send_signal(signal.SIGTERM)
        out, _ = up.communicate(timeout=30)
    assert up.returncode == 0, out[-2000:]
    assert "bwlab is up." in out and "link with key:" in out and "operator@demo.bwlab.test" in out


def test_status_without_a_running_lab_says_what_to_do(tmp_path):
    run = run_bwlab_sync("status", "--data-dir", str(tmp_path / "nothing"), "--url", "https://127.0.0.1:9")
    assert run.returncode == 2
    assert "no lab token" in run.stderr


NETNS = "bwlab-test-zeroconf"


@pytest.fixture
def namespace():
    """A network namespace of the test's own, with only a multicast-capable loopback."""
    subprocess.run(["ip", "netns", "del", NETNS], capture_output=True)
    for cmd in (
        ["ip", "netns", "add", NETNS],
        ["ip", "-n", NETNS, "link", "set", "lo", "up"],
        ["ip", "-n", NETNS, "link", "set", "lo", "multicast", "on"],
        ["ip", "-n", NETNS, "route", "add", "224.0.0.0/4", "dev", "lo"],
    ):
        subprocess.run(cmd, check=True, capture_output=True)
    yield ["ip", "netns", "exec", NETNS]
    subprocess.run(["ip", "netns", "del", NETNS], check=True, capture_output=True)


def test_the_appliance_advertises_itself_and_discovery_finds_it(tmp_path, namespace):
    """DESIGN "Lab network": the fleet and the CLI find the appliance by zeroconf when no URL is
    given. Everything runs inside a namespace this test made, so mDNS never leaves it."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    up = subprocess.Popen(
        [
            *namespace,
            sys.executable,
            "-m",
            "bwlab",
            "up",
            "--no-fleet",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--data-dir",
            str(tmp_path / "lab"),
            "--public-url",
            f"https://127.0.0.1:{port}",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        env=env,
    )
    try:
        wait_until(lambda: (tmp_path / "lab" / "lab.json").exists(), "the lab to come up", 60)
        probe = subprocess.run(
            [
                *namespace,
                sys.executable,
                "-c",
                "from bwlab.discovery import discover_url; print(discover_url(timeout=3.0))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
            env=env,
        )
        assert probe.returncode == 0, probe.stderr
        assert probe.stdout.strip() == f"https://127.0.0.1:{port}"
    finally:
        up.send_signal(signal.SIGTERM)
        up.communicate(timeout=30)
