"""Benchmark: a docking station of N cameras each holding M minutes of recordings offloads them to
a real OpenStack Swift (issue 13).

    python bench/bench_offload.py --cameras 8 --minutes 60            # 720p, the issue's case
    python bench/bench_offload.py --cameras 8 --minutes 5 --width 320 --height 240

Builds a real Swift on loopback (tests/swift_harness.py: tempauth, memcached, rings), writes a
connection file and a scenario whose system imports it (`content_destination`), runs the
appliance as its own process (`bwlab up --no-fleet`), writes each camera's recordings on its
storage beforehand (the camera's own recorder, clips of 300 s of real H.264/AAC from the shared
loop at the given size), then starts the cameras docked: each dock moves its camera's recordings
to the controller, which pushes them to Swift. Prints JSON: bytes, dock → every recording
Complete (s), MB/s end to end, the controller process's CPU % and RSS (start, peak, end, and a
sample every 5 s to see that memory stays flat), and per recording the time from dock to
Complete (p50, max). Needs the PyPI ``swift`` package and Debian's ``memcached``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench_streaming import _read_json_block, free_port  # noqa: E402
from swift_harness import start_swift  # noqa: E402

from bwlab.client import Session  # noqa: E402
from bwlab.clock import LabClock  # noqa: E402
from bwlab.scenario import load_scenario  # noqa: E402
from bwlab.wire import content_destination as cd  # noqa: E402
from firmware_stub.fleet import Fleet  # noqa: E402
from firmware_stub.media.shared import SharedSource  # noqa: E402
from firmware_stub.recorder import CameraStorage, Recording  # noqa: E402


def scenario_text(cameras: int, connection: Path) -> str:
    lines = [
        'name = "bench offload"',
        '[[accounts]]\nemail = "admin@bench.test"\nname = "Bench Admin"\npassword = "bench-admin-pass"',
        '[organization]\nname = "Bench"\nowner = "admin@bench.test"',
        '[[systems]]\nname = "Bench station"\nadmin_password = "bench-manager"\nregion = "eu"\nconnect = false\n'
        f'content_destination = "{connection.name}"',
        '[[systems.profiles]]\nname = "Record only"\nstreaming = false',
    ]
    for d in range((cameras + 7) // 8):
        lines.append(f'[[systems.docks]]\nname = "Dock {d + 1}"\nbays = 8')
    for i in range(cameras):
        lines.append(f'[[systems.camera_users]]\nname = "User {i + 1:03d}"\nprofile = "Record only"')
        lines.append(
            f'[[systems.cameras]]\nserial = "BF0000{i + 1:06d}"\nmodel = "W110"\n'
            f'camera_user = "User {i + 1:03d}"\ndock = "Dock {i // 8 + 1}"\nbay = {i % 8 + 1}'
        )
    return "\n\n".join(lines) + "\n"


def write_recordings(root: Path, serial: str, minutes: float, width: int, height: int) -> int:
    """An hour (or ``minutes``) of recordings on a camera's storage, as its recorder writes them."""
    storage = CameraStorage(root / "cameras" / serial, capacity=1 << 40)
    start = time.time() - minutes * 60 - 3600
    rec = Recording(
        storage,
        start,
        trigger="record",
        serial=serial,
        model="W110",
        user_id="bench",
        user_name=serial,
        timezone="UTC",
        clip_seconds=300,
        source=lambda: SharedSource(width=width, height=height, fragment_frames=3, max_catch_up=30.0),
    )
    t = start
    while t < start + minutes * 60:
        t = min(t + 1.0, start + minutes * 60)
        rec.feed(t)
    return rec.stop(t, "docked").size


async def run(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bwlab-bench-offload-", dir=args.work_dir))
    swift = start_swift(work / "swift", log_level="WARNING")
    appliance = None
    fleet = None
    try:
        connection = work / "connection.json"
        connection.write_bytes(
            cd.ConnectionFile(
                site_name="Bench",
                application_name="OpenStack Swift",
                application_version="2.x",
                authentication_token_uri=(swift.auth_url,),
                blob_api_key=swift.key,
                blob_api_user_name=swift.auth_user,
                container_type=args.container_type,
                full_store_and_read_support=True,
            ).to_json()
        )
        scen = work / "bench.toml"
        scen.write_text(scenario_text(args.cameras, connection))
        serials = [f"BF0000{i + 1:06d}" for i in range(args.cameras)]
        t = time.monotonic()
        SharedSource(width=args.width, height=args.height, fragment_frames=3)  # encode the loop once, up front
        total = sum(
            await asyncio.gather(
                *(
                    asyncio.to_thread(write_recordings, work / "fleet", s, args.minutes, args.width, args.height)
                    for s in serials
                )
            )
        )
        prepare_s = time.monotonic() - t

        port = free_port()
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
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(work / "data"),
                "--json",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        facts = json.loads(await asyncio.to_thread(_read_json_block, appliance.stdout))
        url, token = f"https://127.0.0.1:{port}", facts["lab_token"]
        ca = Path(facts["ca_certificate"]).read_text()
        system_id = facts["systems"][0]["id"]
        proc = psutil.Process(appliance.pid)
        rss = [proc.memory_info().rss]
        cpu0 = proc.cpu_times()
        scenario, _ = load_scenario(scen)
        fleet = Fleet(
            url=url, ca_pem=ca, lab_token=token, clock=LabClock(), data_dir=work / "fleet", storage_bytes=1 << 40
        )
        docked_at = time.monotonic()
        await fleet.start(scenario)  # every camera docked: the docks start moving the recordings
        completed: dict[str, float] = {}
        samples: list[dict] = []
        async with Session(url, ca, token=token, timeout=60) as lab:
            while len(completed) < args.cameras:
                recs = (await lab.get(f"/controller/{system_id}/api/recordings"))["recordings"]
                now = time.monotonic()
                for r in recs:
                    if r["state"] == "complete" and r["id"] not in completed:
                        completed[r["id"]] = now - docked_at
                    if r["state"] == "not_transferred":
                        raise RuntimeError(f"recording {r['id']} not transferred: {r['last_error']}")
                rss.append(proc.memory_info().rss)
                if not samples or now - docked_at - samples[-1]["t"] >= 5.0:
                    samples.append(
                        {"t": round(now - docked_at, 1), "rss_mb": round(rss[-1] / 1e6, 1), "complete": len(completed)}
                    )
                if now - docked_at > args.timeout:
                    raise RuntimeError(
                        f"only {len(completed)} of {args.cameras} recordings Complete after {args.timeout} s"
                    )
                await asyncio.sleep(0.5)
        elapsed = time.monotonic() - docked_at
        cpu1 = proc.cpu_times()
        cpu_s = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        times = sorted(completed.values())
        return {
            "cameras": args.cameras,
            "minutes_each": args.minutes,
            "size": f"{args.width}x{args.height}",
            "container_type": args.container_type,
            "bytes": total,
            "prepare_s": round(prepare_s, 1),
            "dock_to_all_complete_s": round(elapsed, 1),
            "mb_per_s": round(total / 1e6 / elapsed, 1),
            "controller_cpu_percent": round(100 * cpu_s / elapsed, 1),
            "controller_rss_mb": {
                "start": round(rss[0] / 1e6, 1),
                "peak": round(max(rss) / 1e6, 1),
                "end": round(rss[-1] / 1e6, 1),
            },
            "dock_to_complete_s": {"p50": round(statistics.median(times), 1), "max": round(times[-1], 1)},
            "samples": samples,
        }
    finally:
        if fleet is not None:
            await fleet.close()
        if appliance is not None:
            appliance.terminate()
            try:
                appliance.wait(20)
            except subprocess.TimeoutExpired:
                appliance.kill()
        swift.stop()
        if not args.keep:
            subprocess.run(["rm", "-rf", str(work)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--container-type", choices=("mkv", "mp4"), default="mkv")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--work-dir", default=None, help="where to put the temporary files (default: the system's)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary files")
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
