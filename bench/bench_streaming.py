"""Benchmark: N cameras streaming to the appliance, V viewers watching, for T seconds.

    python bench/bench_streaming.py --cameras 20 --viewers 5 --seconds 30
    python bench/bench_streaming.py --cameras 100 --viewers 5 --seconds 30 --media shared
    sudo python bench/bench_streaming.py --cameras 20 --viewers 5 --seconds 30 --network real

Runs the appliance (`bwlab up --no-fleet`) and the fleet (`bwlab fleet`, split over --fleets
processes) as subprocesses on 127.0.0.1 with a generated scenario, starts every camera's
stream through the lab API (undock, press record), attaches V viewers (bwlab.viewer) to the
streams round-robin, then stops the streams and checks the evidence store. Prints JSON:
glass-to-glass latency p50/p95/p99 over every video frame the viewers received, chunks lost
(seq gaps in storage plus chunks a camera still holds unacknowledged at the end), the
appliance's CPU % per stream and its peak RSS. With ``--network real`` (root) the lab runs on its
own network (docs/network.md): every camera in its namespace, one fleet process each, reaching the
appliance by the T5 names through the lab DNS; the viewers stay on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bwlab.client import Session  # noqa: E402
from bwlab.viewer import Viewer  # noqa: E402

MODELS = ["W100", "W101", "W102", "W110", "W120"]


def scenario_text(cameras: int) -> str:
    lines = [
        'name = "bench"',
        '[[accounts]]\nemail = "admin@bench.test"\nname = "Bench Admin"\npassword = "bench-admin-pass"',
        '[[accounts]]\nemail = "viewer@bench.test"\nname = "Bench Viewer"\npassword = "bench-viewer-pass"',
        '[organization]\nname = "Bench"\nowner = "admin@bench.test"\n'
        'members = [{ email = "viewer@bench.test", role = "operator" }]',
        '[[systems]]\nname = "Bench station"\nadmin_password = "bench-manager"\nregion = "eu"\n'
        'key = { generate = true, name = "Bench key" }',
        '[[systems.profiles]]\nname = "Live"\nstreaming = true\nlive_stream_on_record = true',
    ]
    docks = (cameras + 7) // 8
    for d in range(docks):
        lines.append(f'[[systems.docks]]\nname = "Dock {d + 1}"\nbays = 8')
    for i in range(cameras):
        lines.append(f'[[systems.camera_users]]\nname = "User {i + 1:03d}"\nprofile = "Live"')
        lines.append(
            f'[[systems.cameras]]\nserial = "BE0000{i + 1:06d}"\nmodel = "{MODELS[i % len(MODELS)]}"\n'
            f'camera_user = "User {i + 1:03d}"\ndock = "Dock {i // 8 + 1}"\nbay = {i % 8 + 1}'
        )
    return "\n\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for(predicate, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await predicate()
        if result:
            return result
        await asyncio.sleep(step)
    raise TimeoutError("benchmark setup did not complete in time")


async def run(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bwlab-bench-"))
    data_dir = work / "data"
    scen = work / "bench.toml"
    scen.write_text(scenario_text(args.cameras))
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    real = (
        ["--network", "real", "--net-prefix", "bwbench", "--net-subnet", "10.79.0.0/24"]
        if args.network == "real"
        else []
    )
    appliance = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bwlab",
            "up",
            str(scen),
            "--no-fleet",
            "--no-zeroconf",
            "--host",
            "0.0.0.0" if real else "127.0.0.1",
            *real,
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--json",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    fleets: list[subprocess.Popen] = []
    try:
        line = await asyncio.to_thread(_read_json_block, appliance.stdout)
        facts = json.loads(line)
        url = f"https://127.0.0.1:{port}"
        ca = Path(facts["ca_certificate"]).read_text()
        token = facts["lab_token"]
        system = facts["systems"][0]
        serials = [f"BE0000{i + 1:06d}" for i in range(args.cameras)]
        per = (len(serials) + args.fleets - 1) // args.fleets
        fleet_cmd = [
            sys.executable,
            "-m",
            "bwlab",
            "fleet",
            str(scen),
            "--data-dir",
            str(data_dir),
            "--media",
            args.media,
            "--fragment-frames",
            str(args.fragment_frames),
            "--audio-chunk-frames",
            str(args.audio_chunk_frames),
        ]
        for k in range(args.fleets if not real else 0):
            part = serials[k * per : (k + 1) * per]
            if part:
                fleets.append(
                    subprocess.Popen(
                        [*fleet_cmd, "--only", ",".join(part)],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        env=env,
                    )
                )
        for serial in serials if real else ():  # one fleet per camera, inside its namespace
            fleets.append(
                subprocess.Popen(
                    [
                        "ip",
                        "netns",
                        "exec",
                        f"bwbench-camera-{serial}",
                        *fleet_cmd,
                        "--only",
                        serial,
                        "--url",
                        f"https://10.79.0.1:{port}",
                        "--token",
                        token,
                        "--network",
                        "real",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
            )
        lab = Session(url, ca, token=token, timeout=60)
        try:

            async def all_docked():
                status = await lab.get("/api/lab/status")
                cams = status["systems"][0]["cameras"]
                return sum(c["docked"] and c["cert_valid"] for c in cams) == args.cameras

            await wait_for(all_docked, 120)

            async def running():
                cams = (await lab.get("/api/lab/cameras"))["cameras"]
                return sum(c["running"] for c in cams) == args.cameras

            await wait_for(running, 60)
            for serial in serials:
                await lab.post(f"/api/lab/cameras/{serial}/actions", {"action": "undock"})
            for serial in serials:
                await lab.post(f"/api/lab/cameras/{serial}/actions", {"action": "press", "button": "record"})
            viewers = [
                Viewer(url, ca, email="viewer@bench.test", password="bench-viewer-pass", link=system["link_with_key"])
                for _ in range(args.viewers)
            ]
            for v in viewers:
                await v.sign_in()

            async def all_live():
                streams = await viewers[0].streams("live")
                return streams if len(streams) == args.cameras else None

            streams = await wait_for(all_live, 180 if real else 60)
            proc = psutil.Process(appliance.pid)
            await asyncio.sleep(1.0)  # let the first GOPs land before measuring
            cpu0, t0 = proc.cpu_times(), time.monotonic()
            rss_peak = 0

            async def sample_rss():
                nonlocal rss_peak
                while True:
                    rss_peak = max(rss_peak, proc.memory_info().rss)
                    await asyncio.sleep(0.5)

            sampler = asyncio.create_task(sample_rss())
            reports = await asyncio.gather(
                *(
                    v.watch(
                        streams[i % len(streams)]["id"],
                        seconds=args.seconds,
                        check_clock=False,
                        low_latency=args.low_latency,
                    )
                    for i, v in enumerate(viewers)
                )
            )
            cpu1, t1 = proc.cpu_times(), time.monotonic()
            sampler.cancel()
            # issue 16 item 5: every streaming camera reports its health to the hub meanwhile
            status_cams = [c for s in (await lab.get("/api/lab/status"))["systems"] for c in s["cameras"]]
            health_reported = sum(1 for c in status_cams if c["serial"] in serials and c.get("health"))
            for serial in serials:
                await lab.post(
                    f"/api/lab/cameras/{serial}/actions", {"action": "press", "button": "record", "gesture": "long"}
                )

            async def drained():
                left = 0
                for serial in serials:
                    r = await lab.post(f"/api/lab/cameras/{serial}/actions", {"action": "stats"})
                    left += r["stats"]["unacked"]
                return left == 0

            try:
                await wait_for(drained, 30, 0.5)
            except TimeoutError:
                pass
            sent = acked = unacked = 0
            for serial in serials:
                r = await lab.post(f"/api/lab/cameras/{serial}/actions", {"action": "stats"})
                sent += r["stats"]["chunks_sent"]
                acked += r["stats"]["chunks_acked"]
                unacked += r["stats"]["unacked"]
            for v in viewers:
                await v.session.close()
        finally:
            await lab.close()
        stored, gaps = _storage(data_dir / "cloud.sqlite3")
        latencies = sorted(x for r in reports for x in r.latencies_ms)

        def pct(p: float) -> float | None:
            return (
                round(latencies[min(len(latencies) - 1, round(p / 100 * (len(latencies) - 1)))], 1)
                if latencies
                else None
            )

        cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
        return {
            "cameras": args.cameras,
            "viewers": args.viewers,
            "seconds": args.seconds,
            "media": args.media,
            "fragment_frames": args.fragment_frames,
            "audio_chunk_frames": args.audio_chunk_frames,
            "low_latency_viewers": args.low_latency,
            "fleet_processes": len(fleets),
            "network": args.network,
            "glass_to_glass_ms": {"p50": pct(50), "p95": pct(95), "p99": pct(99), "frames": len(latencies)},
            "viewer_video_frames": sum(r.video_frames for r in reports),
            "cameras_reporting_health": health_reported,
            "decode_ms_per_frame": round(sum(r.decode_ms_per_frame for r in reports) / max(1, len(reports)), 2),
            "chunks_sent": sent,
            "chunks_stored": stored,
            "chunks_lost": gaps + unacked,
            "seq_gaps": gaps,
            "unacked_at_end": unacked,
            "appliance_cpu_percent_total": round(100 * cpu / (t1 - t0), 1),
            "appliance_cpu_percent_per_stream": round(100 * cpu / (t1 - t0) / args.cameras, 2),
            "appliance_rss_mb_peak": round(rss_peak / 2**20, 1),
            "cpu_count": os.cpu_count(),
        }
    finally:
        for p in fleets:
            p.terminate()
        appliance.terminate()
        for p in fleets + [appliance]:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


def _read_json_block(stream) -> str:
    """The JSON object `bwlab up --json` prints once the lab is built."""
    buf, depth = [], 0
    for raw in stream:
        line = raw.decode()
        if not buf and not line.startswith("{"):
            continue
        buf.append(line)
        depth += line.count("{") - line.count("}")
        if depth == 0:
            return "".join(buf)
    raise RuntimeError("the appliance exited before printing its facts")


def _storage(db_path: Path) -> tuple[int, int]:
    con = sqlite3.connect(db_path)
    try:
        stored = gaps = 0
        for _stream_id, n, top in con.execute("SELECT stream_id, COUNT(*), MAX(seq) FROM chunks GROUP BY stream_id"):
            stored += n
            gaps += (top + 1) - n
        return stored, gaps
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=20)
    parser.add_argument("--viewers", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--media", choices=("live", "shared"), default="live")
    parser.add_argument("--fleets", type=int, default=2, help="fleet processes (default 2: one per core)")
    parser.add_argument(
        "--network",
        choices=("loopback", "real"),
        default="loopback",
        help="real (root): cameras in namespaces on the lab bridge, one fleet each (docs/network.md)",
    )
    parser.add_argument(
        "--fragment-frames",
        type=int,
        choices=(1, 2, 3),
        default=2,
        help="video frames per fragment (default 2 = 133 ms, as the lab's cameras)",
    )
    parser.add_argument(
        "--audio-chunk-frames",
        type=int,
        default=0,
        help="AAC frames per audio-only chunk; 0 (default) = the sound rides in the video fragments",
    )
    parser.add_argument(
        "--low-latency",
        action="store_true",
        help="the viewers watch as the low-latency view does (latency=low): their cameras send small chunks",
    )
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
