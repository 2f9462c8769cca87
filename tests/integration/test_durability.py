"""Nothing acknowledged is lost, and nothing recorded is lost, across a SIGKILL of the appliance
(DESIGN "Storage"; issue 3 "must show").

The appliance runs as its own process (``bwlab up``) so that it can really be killed; the camera
runs here. Mid-stream the appliance gets SIGKILL, stays down for about a second while the camera
keeps encoding and buffering what the hub has not acknowledged, and comes back on the same port
and data directory. The camera reconnects on its own (its back-off is 1, 2, 4… s), resumes the
stream and resends what was not acknowledged; after the long press, the recording holds every
chunk the camera made exactly once, every video frame in order, and the sound. A second run
stops the stream (long press, D5) while the appliance is down: the stop and the chunks the
camera kept reach the cloud once it is back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bwlab.client import Session
from bwlab.clock import LabClock, monotonic
from bwlab.scenario import load_scenario
from bwlab.viewer import Viewer
from firmware_stub.fleet import Fleet
from tests.conftest import free_port

ANNA = "B8A44F000101"  # W100, profile "Patrol live" (live stream on record)


class ApplianceProcess:
    """``bwlab up --no-fleet`` in a subprocess, on a fixed port and data directory."""

    def __init__(self, data_dir: Path, port: int, logs: Path):
        self.data_dir, self.port, self.logs = data_dir, port, logs
        self.url = f"https://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        (self.data_dir / "lab.json").unlink(missing_ok=True)
        self.stdout = self.logs / f"appliance-{self.runs}.out"
        cmd = [
            sys.executable,
            "-m",
            "bwlab",
            "up",
            "--no-fleet",
            "--no-zeroconf",
            "--json",
            "--port",
            str(self.port),
            "--host",
            "127.0.0.1",
            "--public-url",
            self.url,
            "--data-dir",
            str(self.data_dir),
        ]
        with open(self.stdout, "wb") as out, open(self.logs / f"appliance-{self.runs}.err", "wb") as err:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env={**os.environ, "PYTHONUNBUFFERED": "1"}
            )

    async def ready(self, poll, timeout: float = 25.0) -> dict:
        """Wait for lab.json, /healthz and the scenario applied (the --json facts printed)."""

        async def up():
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(
                    f"the appliance exited with {self.proc.returncode}: "
                    f"{(self.logs / f'appliance-{self.runs}.err').read_text()[-2000:]}"
                )
            if not (self.data_dir / "lab.json").exists():
                return None
            try:
                facts = json.loads(self.stdout.read_text())
            except ValueError:
                return None
            ca = (self.data_dir / "tls" / "lab-ca.pem").read_text()
            async with Session(self.url, ca) as s:
                health = await s.get("/healthz")
            return facts if health["status"] == "ok" else None

        return await poll(up, f"the appliance (run {self.runs}) to be up", timeout=timeout, step=0.1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def appliance_process(tmp_path):
    data_dir = tmp_path / "lab"
    data_dir.mkdir()
    process = ApplianceProcess(data_dir, free_port(), tmp_path)
    yield process
    process.stop()


async def _online(url: str, ca: str, token: str, serial: str) -> bool:
    try:
        async with Session(url, ca, token=token) as lab:
            status = await lab.get("/api/lab/status")
    except (aiohttp.ClientError, OSError):
        return False
    return any(c["serial"] == serial and c["online"] for s in status["systems"] for c in s["cameras"])


# covers: D3, D5, D8, S17
@pytest.mark.parametrize("stop_while_down", [False, True], ids=["stop-after-restart", "stop-while-down"])
async def test_recording_survives_sigkill_of_the_appliance(appliance_process, poll, stop_while_down):
    appliance = appliance_process
    appliance.start()
    facts = await appliance.ready(poll)
    lab_json = json.loads((appliance.data_dir / "lab.json").read_text())
    url, token = lab_json["url"], lab_json["lab_token"]
    ca = Path(lab_json["ca_path"]).read_text()
    assert url == appliance.url
    system = facts["systems"][0]

    scenario, _ = load_scenario(None)
    fleet = Fleet(url=url, ca_pem=ca, lab_token=token, clock=LabClock())
    try:
        await fleet.start(scenario, only={ANNA})
        cam = fleet.cameras[ANNA]
        await fleet.undock(ANNA)
        await poll(lambda: _online(url, ca, token, ANNA), "the camera to connect to the device hub")
        await cam.press("record")
        await poll(lambda: cam.state.get("streaming") == "live", "the stream to go live")
        await poll(lambda: cam.chunks_acked >= 10, "about two seconds of media stored", timeout=8)

        appliance.kill()
        killed_at, sent_at_kill = monotonic(), cam.chunks_sent
        # The camera goes on recording while the cloud is gone, and keeps what is not acknowledged.
        await poll(
            lambda: cam.chunks_sent >= sent_at_kill + 4 and monotonic() - killed_at >= 1.0,
            "the camera to record on while the appliance is down",
        )
        assert cam.unacked >= 4
        assert cam.state["recording"] is True

        stream_id = cam.state["stream_id"]
        if stop_while_down:
            # D5 during the outage: the camera ends stream and recording at once and tells the
            # cloud, with the rest of what it kept, once it is back.
            await cam.press("record", "long")
            assert cam.state["recording"] is False and cam.unacked >= 4
        appliance.start()
        await appliance.ready(poll)
        if not stop_while_down:
            # The camera reconnects by itself, resumes the same stream and resends what it kept.
            acked_before = cam.chunks_acked
            await poll(
                lambda: cam.state.get("streaming") == "live" and cam.chunks_acked > acked_before + 4,
                "the camera to reconnect and resume",
                timeout=15,
                step=0.1,
            )
            assert cam.state["stream_id"] == stream_id
            await cam.press("record", "long")
        await poll(lambda: cam.unacked == 0, "every chunk acknowledged", timeout=15, step=0.1)
        assert cam.state["recording"] is False and cam.state["streaming"] is None
    finally:
        await fleet.close()

    async with Viewer(
        url,
        ca,
        email="operator@demo.bwlab.test",
        password="demo-operator-pass",
        link=system["link_with_key"],
        clock=LabClock(),
    ) as viewer:
        await poll(lambda: _ended(viewer, stream_id), "the stream to be a recording")
        streams = await viewer.streams("all")
        assert [s["id"] for s in streams] == [stream_id], "one stream, resumed, not a second one"
        rec = await viewer.watch(stream_id, recording=True)
    assert rec.ended
    assert rec.seqs == list(range(cam.chunks_sent)), "every chunk the camera made, exactly once, in order"
    assert rec.chunks == cam.chunks_sent == cam.chunks_acked
    assert rec.video_frames >= 15 * 2
    assert rec.frame_counters == list(range(rec.video_frames)), "every video frame, in order"
    audio_seconds = rec.audio_frames * 1024 / 48000
    assert abs(audio_seconds - rec.video_frames / 15) < 0.5, (rec.audio_frames, rec.video_frames)
    evidence = list((appliance.data_dir / "evidence").rglob(f"{stream_id}/*"))
    assert sorted(p.name for p in evidence) == [f"{seq:012d}.bwc" for seq in range(cam.chunks_sent)]


async def _ended(viewer: Viewer, stream_id: str) -> bool:
    return any(s["id"] == stream_id for s in await viewer.streams("recorded"))
